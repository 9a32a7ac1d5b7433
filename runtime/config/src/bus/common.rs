//! What several bus kinds share: serial line options and their checks, and the exclusive
//! resources (ports, interfaces) a bus claims.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::BusConfig;
use crate::check::{STANDARD_BAUDS, range};
use crate::diag::{Finding, Path};

/// Serial parity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Parity {
    /// No parity bit (Modbus then wants 2 stop bits).
    None,
    /// Even parity (the Modbus default).
    Even,
    /// Odd parity.
    Odd,
}

/// A resource only one bus may own.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Resource {
    SerialPort(String),
    CanInterface(String),
}

impl Resource {
    fn describe(&self) -> String {
        match self {
            Resource::SerialPort(p) => format!("serial port \"{p}\""),
            Resource::CanInterface(i) => format!("CAN interface \"{i}\""),
        }
    }
}

/// Two buses claiming one port or interface is an error on the second claim.
pub(crate) fn check_resources(buses: &[(usize, BusConfig)], f: &mut Vec<Finding>) {
    let mut claimed: BTreeMap<Resource, (String, usize)> = BTreeMap::new();
    for (i, bus) in buses {
        let path = Path::root().key("bus").index(*i);
        for (res, at) in bus.options().resources(&path) {
            match claimed.get(&res) {
                Some((other, j)) => f.push(
                    Finding::error(
                        0,
                        at,
                        format!(
                            "{} is already claimed by bus \"{other}\" (bus[{j}])",
                            res.describe()
                        ),
                    )
                    .hint("one bus owns a port; put every drive on that line under one [[bus]]"),
                ),
                None => {
                    claimed.insert(res, (bus.id().to_owned(), *i));
                }
            }
        }
    }
}

/// Baud rate, data bits and stop bits of a serial line.
pub(super) fn serial_line(f: &mut Vec<Finding>, p: &Path, baud: u32, data_bits: u8, stop_bits: u8) {
    if !STANDARD_BAUDS.contains(&baud) {
        let near = STANDARD_BAUDS
            .iter()
            .min_by_key(|b| b.abs_diff(baud))
            .copied()
            .unwrap_or(9600);
        f.push(
            Finding::error(
                0,
                p.key("baud"),
                format!("{baud} is not a standard baud rate"),
            )
            .hint(format!("did you mean {near}?")),
        );
    }
    if !(7..=8).contains(&data_bits) {
        f.push(Finding::error(
            0,
            p.key("data_bits"),
            format!("{data_bits} data bits; use 7 or 8"),
        ));
    }
    if !(1..=2).contains(&stop_bits) {
        f.push(Finding::error(
            0,
            p.key("stop_bits"),
            format!("{stop_bits} stop bits; use 1 or 2"),
        ));
    }
}

/// Bits on the wire per character: start, data, parity, stop.
pub(super) fn serial_char_bits(data_bits: u8, parity: Parity, stop_bits: u8) -> f64 {
    let parity = if parity == Parity::None { 0 } else { 1 };
    f64::from(1 + data_bits + parity + stop_bits)
}

/// A range check of one option of a bus.
pub(super) fn rc<T: PartialOrd + std::fmt::Display + Copy>(
    f: &mut Vec<Finding>,
    p: &Path,
    key: &str,
    value: T,
    lo: T,
    hi: T,
    unit: &str,
) {
    range(f, 0, p.key(key), value, lo, hi, unit);
}

pub(super) fn non_empty(f: &mut Vec<Finding>, path: Path, s: &str) {
    if s.trim().is_empty() {
        f.push(Finding::error(0, path, "must not be empty"));
    }
}

pub(super) fn default_data_bits() -> u8 {
    8
}
pub(super) fn default_stop_bits() -> u8 {
    1
}
pub(super) fn default_response_timeout_ms() -> u32 {
    100
}
pub(super) fn default_retries() -> u8 {
    1
}
