//! Physical feasibility: the load each bus would carry, from its wire speed, the profiles' poll
//! sets or PDO maps, and the drives' cycle times (protocol reference §2.3 and §3.8).

use std::fmt::Write as _;

use crate::diag::{Finding, Path};
use crate::load::ProfileSet;
use crate::model::{BusConfig, DriveConfig, LineConfig, Parity, PointTable, Profile};
use crate::registers::{RegisterRun, merge_register_runs};

/// The computed load of one bus.
#[derive(Debug, Clone, PartialEq)]
pub struct BusLoad {
    /// Bus id.
    pub bus: String,
    /// Share of the wire's capacity in percent; `None` where the wire is not the limit
    /// (Modbus TCP, simulated).
    pub percent: Option<f64>,
    /// Share of a UART-bound slcan adapter's serial line, percent, busiest direction.
    pub serial_percent: Option<f64>,
    /// Transactions (Modbus, serial) or frames (CAN) per second.
    pub per_second: f64,
    /// How the figure was computed, for the operator.
    pub detail: String,
}

/// Worst-case bits of a classic CAN data frame with an 11-bit id and `n` data bytes, including
/// the 3-bit interframe space and worst-case stuffing (§3.8): 47 + 8n + ⌊(34 + 8n − 1)/4⌋.
pub fn can_frame_bits(n: u32) -> u32 {
    47 + 8 * n + (34 + 8 * n - 1) / 4
}

/// Modbus RTU silent interval t3.5 in seconds: 3.5 characters of 11 bits, fixed at 1.75 ms
/// above 19200 baud (§2.1), unless overridden.
pub fn rtu_t35_s(baud: u32, override_us: Option<u32>) -> f64 {
    match override_us {
        Some(us) => f64::from(us) / 1e6,
        None if baud > 19_200 => 1.75e-3,
        None => 3.5 * 11.0 / f64::from(baud),
    }
}

/// Register reads per cycle for a Modbus poll set (the rule of [`merge_register_runs`]).
/// Returns the register count of each read.
pub fn modbus_reads(profile: &Profile) -> Vec<u32> {
    let max = profile
        .modbus
        .as_ref()
        .map_or(125, |m| m.max_registers_per_read);
    let mut names: Vec<&String> = profile.poll.iter().flat_map(|p| &p.points).collect();
    names.sort();
    names.dedup();
    let runs = names
        .into_iter()
        .filter_map(|n| {
            let pt = profile.points.get(n)?;
            Some(RegisterRun {
                input: pt.table == PointTable::Input,
                start: pt.register?,
                len: pt.data_type.registers(),
                key: n,
            })
        })
        .collect();
    merge_register_runs(runs, max)
        .into_iter()
        .map(|r| r.len)
        .collect()
}

fn cycle_ms(line: &LineConfig, d: &DriveConfig) -> f64 {
    f64::from(d.cycle_ms.unwrap_or(line.line.cycle_ms).max(1))
}

fn profile_of<'a>(profiles: &'a ProfileSet, d: &DriveConfig) -> Option<&'a Profile> {
    profiles
        .get(&(d.profile.name.clone(), d.profile.version.clone()))
        .map(|lp| &lp.profile)
}

fn serial_char_bits(data_bits: u8, parity: Parity, stop_bits: u8) -> f64 {
    let parity = if parity == Parity::None { 0 } else { 1 };
    f64::from(1 + data_bits + parity + stop_bits)
}

/// Computes the load of every bus.
pub(crate) fn compute(line: &LineConfig, profiles: &ProfileSet) -> Vec<BusLoad> {
    line.bus
        .iter()
        .map(|b| bus_load(line, b, profiles))
        .collect()
}

fn bus_load(line: &LineConfig, bus: &BusConfig, profiles: &ProfileSet) -> BusLoad {
    let drives: Vec<(&DriveConfig, &Profile)> = line
        .drive
        .iter()
        .filter(|d| d.bus == bus.id())
        .filter_map(|d| profile_of(profiles, d).map(|p| (d, p)))
        .collect();
    let mut out = BusLoad {
        bus: bus.id().to_owned(),
        percent: None,
        serial_percent: None,
        per_second: 0.0,
        detail: String::new(),
    };
    match bus {
        BusConfig::ModbusRtu(b) => {
            let t35 = rtu_t35_s(b.baud, b.inter_frame_gap_us);
            let mut busy = 0.0;
            for (d, p) in &drives {
                let per_s = 1000.0 / cycle_ms(line, d);
                for n in modbus_reads(p) {
                    // Request 8 bytes, response 5 + 2n bytes, 11 bits a character, t3.5 after each.
                    let tx = f64::from(8 + 5 + 2 * n) * 11.0 / f64::from(b.baud) + 2.0 * t35;
                    busy += tx * per_s;
                    out.per_second += per_s;
                }
            }
            out.percent = Some(busy * 100.0);
            let _ = write!(
                out.detail,
                "{} drives, {:.1} reads/s at {} baud (t3.5 {:.2} ms)",
                drives.len(),
                out.per_second,
                b.baud,
                t35 * 1e3
            );
        }
        BusConfig::ModbusTcp(_) | BusConfig::Simulated(_) => {
            for (d, p) in &drives {
                let reads = if p.poll.is_some() {
                    modbus_reads(p).len()
                } else {
                    p.canopen
                        .as_ref()
                        .map_or(0, |c| c.tpdo.len() + c.rpdo.len())
                };
                out.per_second += reads as f64 * 1000.0 / cycle_ms(line, d);
            }
            let _ = write!(
                out.detail,
                "{} drives, {:.1} transactions/s; the wire is not the limit",
                drives.len(),
                out.per_second
            );
        }
        BusConfig::Canopen(b) => {
            let sync_per_s = 1000.0 / f64::from(b.sync_period_ms.max(1));
            let mut bits = f64::from(can_frame_bits(0)) * sync_per_s;
            let mut frames = sync_per_s;
            // slcan chars each way: 't' + 3 id + 1 dlc + 2n data + CR; TX is acknowledged by "z\r".
            let mut to_adapter = 6.0 * sync_per_s;
            let mut from_adapter = 2.0 * sync_per_s;
            let hb_per_s = 1000.0 / f64::from(b.node_heartbeat_ms.max(1));
            for (d, p) in &drives {
                let per_s = 1000.0 / cycle_ms(line, d);
                let Some(co) = &p.canopen else { continue };
                for (pdos, outbound) in [(&co.rpdo, true), (&co.tpdo, false)] {
                    for pdo in pdos {
                        let bytes: u32 = pdo
                            .iter()
                            .filter_map(|n| p.points.get(n))
                            .map(|pt| pt.data_type.bits() / 8)
                            .sum();
                        bits += f64::from(can_frame_bits(bytes)) * per_s;
                        frames += per_s;
                        let chars = f64::from(6 + 2 * bytes) * per_s;
                        if outbound {
                            to_adapter += chars;
                            from_adapter += 2.0 * per_s;
                        } else {
                            from_adapter += chars;
                        }
                    }
                }
                bits += f64::from(can_frame_bits(1)) * hb_per_s;
                frames += hb_per_s;
                from_adapter += 8.0 * hb_per_s;
            }
            if b.master_heartbeat_ms > 0 {
                let per_s = 1000.0 / f64::from(b.master_heartbeat_ms);
                bits += f64::from(can_frame_bits(1)) * per_s;
                frames += per_s;
                to_adapter += 8.0 * per_s;
            }
            out.per_second = frames;
            out.percent = Some(bits / f64::from(b.bitrate.max(1)) * 100.0);
            if let Some(sb) = b.serial_baud {
                // 8N1: 10 bits a character.
                let busiest = to_adapter.max(from_adapter) * 10.0;
                out.serial_percent = Some(busiest / f64::from(sb) * 100.0);
            }
            let _ = write!(
                out.detail,
                "{} drives, {:.0} frames/s (worst-case stuffing) at {} bit/s",
                drives.len(),
                frames,
                b.bitrate
            );
        }
        BusConfig::Serial(b) => {
            let char_bits = serial_char_bits(b.data_bits, b.parity, b.stop_bits);
            let mut busy = 0.0;
            for (d, p) in &drives {
                let per_s = 1000.0 / cycle_ms(line, d);
                let term = p.serial.as_ref().map_or(1, |s| s.terminator.len());
                let polled = p
                    .poll
                    .iter()
                    .flat_map(|p| &p.points)
                    .filter_map(|n| p.points.get(n));
                for pt in polled {
                    let Some(read) = &pt.read else { continue };
                    let req = read.replace("{address}", &d.address.to_string()).len() + term;
                    let chars = req as f64 + f64::from(pt.response_bytes.unwrap_or(0));
                    busy += chars * char_bits / f64::from(b.baud) * per_s;
                    out.per_second += per_s;
                }
            }
            out.percent = Some(busy * 100.0);
            let _ = write!(
                out.detail,
                "{} drives, {:.1} requests/s at {} baud",
                drives.len(),
                out.per_second,
                b.baud
            );
        }
    }
    out
}

/// Over 100 % is an error that prints the numbers; over the line's threshold, a warning.
/// A bus whose own options are already in error (say, a non-standard baud rate) is skipped: its
/// load would be computed from a value the integrator must change anyway.
pub(crate) fn judge(line: &LineConfig, loads: &[BusLoad], f: &mut Vec<Finding>) {
    let warn = f64::from(line.line.load_warn_percent);
    for (i, (load, bus)) in loads.iter().zip(&line.bus).enumerate() {
        let p = Path::root().key("bus").index(i);
        let in_error = |f: &Finding| {
            f.file == 0 && f.path.0.starts_with(&p.0) && f.severity == crate::diag::Severity::Error
        };
        if f.iter().any(in_error) {
            continue;
        }
        let key = match bus {
            BusConfig::Canopen(_) => "bitrate",
            _ => "baud",
        };
        let checks = [
            (load.percent, key, "wire"),
            (load.serial_percent, "serial_baud", "adapter's serial line"),
        ];
        for (pct, key, what) in checks {
            let Some(pct) = pct else { continue };
            let msg = format!(
                "bus \"{}\" needs {pct:.1}% of the {what}: {}",
                load.bus, load.detail
            );
            if pct > 100.0 {
                f.push(Finding::error(0, p.key(key), msg).hint("lengthen cycle_ms, raise the speed, trim the poll set or split the drives over more buses"));
            } else if pct > warn {
                f.push(Finding::warning(
                    0,
                    p.key(key),
                    format!("{msg} (over the {warn}% threshold)"),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn can_frame_sizes_match_the_reference() {
        // §3.8: 8 bytes → 135 bits worst case, 6 bytes → 115, heartbeat (1 byte) → 65, SYNC → 55.
        assert_eq!(can_frame_bits(8), 135);
        assert_eq!(can_frame_bits(6), 115);
        assert_eq!(can_frame_bits(1), 65);
        assert_eq!(can_frame_bits(0), 55);
    }

    #[test]
    fn rtu_transaction_time_matches_the_reference_table() {
        // §2.3: FC3 × 10 registers at 19200 baud is a 22.92 ms cycle → 43.6 tx/s; at 115200, 150.4.
        for (baud, tx_per_s) in [(19_200u32, 43.6), (115_200, 150.4), (9_600, 21.8)] {
            let t =
                f64::from(8 + 5 + 2 * 10) * 11.0 / f64::from(baud) + 2.0 * rtu_t35_s(baud, None);
            assert!((1.0 / t - tx_per_s).abs() < 0.1, "{baud}: {}", 1.0 / t);
        }
    }
}
