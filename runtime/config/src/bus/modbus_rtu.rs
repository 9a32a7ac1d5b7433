//! `type = "modbus_rtu"`: Modbus RTU on a serial line, shared by several units.

use std::fmt::Write as _;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{
    Parity, Resource, default_data_bits, default_response_timeout_ms, default_retries,
    default_stop_bits, non_empty, rc, serial_line,
};
use super::modbus::{
    check_breaker, default_demote_after, default_probe_ms, modbus_poll_reads, response_data_bytes,
    silent_hold,
};
use super::{AddressRange, BusKindConfig, DriveLoad};
use crate::diag::{Finding, Path};
use crate::feasibility::BusLoad;
use crate::model::Protocol;

/// `type = "modbus_rtu"`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModbusRtuBus {
    /// Unique bus id.
    pub id: String,
    /// Serial device, e.g. `/dev/ttyUSB0` or `/dev/serial/by-id/...`. Claimed exclusively.
    pub port: String,
    /// Line speed in bit/s; one of 1200, 2400, 4800, 9600, 14400, 19200, 38400, 57600, 115200,
    /// 230400, 460800, 921600.
    pub baud: u32,
    /// Parity (default `even`, as the Modbus serial-line spec asks).
    #[serde(default = "default_parity")]
    pub parity: Parity,
    /// Data bits: 7 or 8 (RTU needs 8). Default 8.
    #[serde(default = "default_data_bits")]
    pub data_bits: u8,
    /// Stop bits: 1 or 2. Default 1.
    #[serde(default = "default_stop_bits")]
    pub stop_bits: u8,
    /// How long to wait for a response, in milliseconds (1–10000). Default 100.
    #[serde(default = "default_response_timeout_ms")]
    pub response_timeout_ms: u32,
    /// Retries after a timeout or a CRC error (0–10). Default 1.
    #[serde(default = "default_retries")]
    pub retries: u8,
    /// Override of the silent interval between frames, in microseconds (100–100000). Default:
    /// 3.5 character times, fixed at 1750 µs above 19200 baud.
    pub inter_frame_gap_us: Option<u32>,
    /// Discard the local echo of our own transmission (2-wire adapters without echo suppression).
    #[serde(default)]
    pub echo_suppression: bool,
    /// Wait after a broadcast (unit 0) write before the next request, in milliseconds (0–1000).
    #[serde(default = "default_turnaround_ms")]
    pub broadcast_turnaround_ms: u32,
    /// Consecutive timeouts after which a unit is demoted to probing (1–100). Default 3.
    #[serde(default = "default_demote_after")]
    pub demote_after_timeouts: u32,
    /// How often a demoted unit is probed, in milliseconds (10–600000). Default 1000.
    #[serde(default = "default_probe_ms")]
    pub probe_interval_ms: u32,
}

fn default_parity() -> Parity {
    Parity::Even
}
fn default_turnaround_ms() -> u32 {
    100
}

/// Modbus RTU silent interval t3.5 in seconds: 3.5 characters of 11 bits, fixed at 1.75 ms
/// above 19200 baud (protocol reference §2.1), unless overridden.
pub fn rtu_t35_s(baud: u32, override_us: Option<u32>) -> f64 {
    match override_us {
        Some(us) => f64::from(us) / 1e6,
        None if baud > 19_200 => 1.75e-3,
        None => 3.5 * 11.0 / f64::from(baud),
    }
}

impl BusKindConfig for ModbusRtuBus {
    fn id(&self) -> &str {
        &self.id
    }

    fn protocol(&self) -> Protocol {
        Protocol::Modbus
    }

    fn addresses(&self) -> AddressRange {
        AddressRange {
            lo: 1,
            hi: 247,
            what: "Modbus unit id",
        }
    }

    fn check(&self, p: &Path, f: &mut Vec<Finding>) {
        serial_line(f, p, self.baud, self.data_bits, self.stop_bits);
        if self.data_bits == 7 {
            f.push(Finding::error(
                0,
                p.key("data_bits"),
                "Modbus RTU needs 8 data bits",
            ));
        }
        if self.parity == Parity::None && self.stop_bits == 1 {
            f.push(
                Finding::warning(0, p.key("stop_bits"), "no parity with 1 stop bit")
                    .hint("the Modbus serial-line spec asks for 2 stop bits without parity"),
            );
        }
        let timeout = self.response_timeout_ms;
        rc(f, p, "response_timeout_ms", timeout, 1, 10_000, "ms");
        rc(f, p, "retries", self.retries, 0, 10, "");
        if let Some(g) = self.inter_frame_gap_us {
            rc(f, p, "inter_frame_gap_us", g, 100, 100_000, "µs");
        }
        let turnaround = self.broadcast_turnaround_ms;
        rc(f, p, "broadcast_turnaround_ms", turnaround, 0, 1000, "ms");
        check_breaker(f, p, self.demote_after_timeouts, self.probe_interval_ms);
        non_empty(f, p.key("port"), &self.port);
    }

    fn resources(&self, p: &Path) -> Vec<(Resource, Path)> {
        vec![(Resource::SerialPort(self.port.clone()), p.key("port"))]
    }

    fn load(&self, drives: &[DriveLoad<'_>], out: &mut BusLoad) {
        let t35 = rtu_t35_s(self.baud, self.inter_frame_gap_us);
        let mut busy = 0.0;
        for d in drives {
            for r in modbus_poll_reads(d.profile) {
                // Request 8 bytes, response 5 + 2n bytes (n registers; 5 + ⌈n/8⌉ for n bits),
                // 11 bits a character, t3.5 after each.
                let bytes = 8 + 5 + response_data_bytes(&r);
                let tx = f64::from(bytes) * 11.0 / f64::from(self.baud) + 2.0 * t35;
                busy += tx * d.per_s();
                out.per_second += d.per_s();
            }
        }
        out.percent = Some(busy * 100.0);
        let _ = write!(
            out.detail,
            "{} drives, {:.1} reads/s at {} baud (t3.5 {:.2} ms)",
            drives.len(),
            out.per_second,
            self.baud,
            t35 * 1e3
        );
        out.silent_hold = silent_hold(drives, self.response_timeout_ms, self.retries);
    }

    fn unit_response_timeout(&self) -> bool {
        true
    }

    fn describe(&self) -> String {
        format!("modbus_rtu {} {} baud", self.port, self.baud)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
