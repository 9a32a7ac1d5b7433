//! Semantic checks, run after decoding. Each check produces findings with a field path; the
//! loader resolves them to line and column.

pub(crate) mod control;
pub(crate) mod cyclic;
pub(crate) mod endpoints;
pub(crate) mod homing;
pub(crate) mod line;
pub(crate) mod modbus;
pub(crate) mod northbound;
pub(crate) mod profile;
pub(crate) mod realtime;
pub(crate) mod serial;

use crate::diag::{Finding, Path};

/// Standard serial line speeds, bit/s.
pub const STANDARD_BAUDS: [u32; 12] = [
    1200, 2400, 4800, 9600, 14400, 19200, 38400, 57600, 115200, 230400, 460800, 921600,
];

/// CAN bitrates of the CiA 301 bit-timing table (and slcan `S0`–`S8`), bit/s.
pub const CAN_BITRATES: [u32; 9] = [
    10_000, 20_000, 50_000, 100_000, 125_000, 250_000, 500_000, 800_000, 1_000_000,
];

/// Reports `value` outside `lo..=hi`.
pub(crate) fn range<T: PartialOrd + std::fmt::Display + Copy>(
    f: &mut Vec<Finding>,
    file: usize,
    path: Path,
    value: T,
    lo: T,
    hi: T,
    unit: &str,
) {
    if value < lo || value > hi {
        let unit = if unit.is_empty() {
            String::new()
        } else {
            format!(" {unit}")
        };
        f.push(Finding::error(
            file,
            path,
            format!("{value}{unit} is out of range; allowed {lo}–{hi}{unit}"),
        ));
    }
}

/// Ids are used in logs, metrics and URLs: keep them to a safe alphabet.
pub(crate) fn id_ok(f: &mut Vec<Finding>, file: usize, path: Path, id: &str) {
    let good = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if !good {
        f.push(
            Finding::error(file, path, format!("invalid id \"{id}\""))
                .hint("use 1–64 letters, digits, '-', '_' or '.'"),
        );
    }
}
