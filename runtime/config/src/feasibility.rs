//! Physical feasibility: the load each bus would carry, from its wire speed, the profiles' poll
//! sets or PDO maps, and the drives' cycle times. Each bus kind computes its own (see `bus/`).

use crate::bus::DriveLoad;
use crate::diag::{Finding, Path};
use crate::load::ProfileSet;
use crate::model::{BusConfig, DriveConfig, LineConfig, Profile};

/// The computed load of one bus.
#[derive(Debug, Clone, PartialEq)]
pub struct BusLoad {
    pub bus: String,
    /// Share of the wire's capacity in percent; `None` where the wire is not the limit
    /// (Modbus TCP, simulated).
    pub percent: Option<f64>,
    /// Share of a UART-bound slcan adapter's serial line, percent, busiest direction.
    pub serial_percent: Option<f64>,
    /// Transactions (Modbus, serial) or frames (CAN) per second.
    pub per_second: f64,
    /// Modbus: the drive whose silence would hold the line longest in one of its cycles.
    pub silent_hold: Option<SilentHold>,
    /// How the figure was computed, for the operator.
    pub detail: String,
}

/// How long a drive that stopped answering holds a Modbus line in each of its cycles until it
/// is demoted: its reads × attempts (retries + 1) × its response timeout (its own
/// `response_timeout_ms`, else the bus's). The other drives' cycles wait that long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SilentHold {
    pub drive: String,
    pub ms: u64,
}

fn cycle_ms(line: &LineConfig, d: &DriveConfig) -> f64 {
    f64::from(d.cycle_ms.unwrap_or(line.line.cycle_ms).max(1))
}

fn profile_of<'a>(profiles: &'a ProfileSet, d: &DriveConfig) -> Option<&'a Profile> {
    profiles
        .get(&(d.profile.name.clone(), d.profile.version.clone()))
        .map(|lp| &lp.profile)
}

/// Computes the load of every bus.
pub(crate) fn compute(line: &LineConfig, profiles: &ProfileSet) -> Vec<BusLoad> {
    line.bus
        .iter()
        .map(|b| bus_load(line, b, profiles))
        .collect()
}

fn bus_load(line: &LineConfig, bus: &BusConfig, profiles: &ProfileSet) -> BusLoad {
    let drives: Vec<DriveLoad<'_>> = line
        .drive
        .iter()
        .filter(|d| d.bus == bus.id())
        .filter_map(|d| {
            profile_of(profiles, d).map(|profile| DriveLoad {
                drive: d,
                profile,
                cycle_ms: cycle_ms(line, d),
            })
        })
        .collect();
    let mut out = BusLoad {
        bus: bus.id().to_owned(),
        percent: None,
        serial_percent: None,
        per_second: 0.0,
        silent_hold: None,
        detail: String::new(),
    };
    bus.options().load(&drives, &mut out);
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
        let key = bus.options().load_key();
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
