//! Per-bus checks: ranges of every option, and the exclusive resources each bus claims.

use std::collections::BTreeMap;

use super::{CAN_BITRATES, STANDARD_BAUDS, range};
use crate::diag::{Finding, Path};
use crate::model::{BusConfig, CanAdapter, Parity, Protocol};

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

/// The resources a bus claims, with the path of the key that claims each.
pub(crate) fn resources(bus: &BusConfig, path: &Path) -> Vec<(Resource, Path)> {
    match bus {
        BusConfig::ModbusRtu(b) => vec![(Resource::SerialPort(b.port.clone()), path.key("port"))],
        BusConfig::Serial(b) => vec![(Resource::SerialPort(b.port.clone()), path.key("port"))],
        BusConfig::Canopen(b) => {
            let mut v = Vec::new();
            if let Some(i) = &b.interface {
                v.push((Resource::CanInterface(i.clone()), path.key("interface")));
            }
            if let Some(p) = &b.port {
                v.push((Resource::SerialPort(p.clone()), path.key("port")));
            }
            v
        }
        BusConfig::ModbusTcp(_) | BusConfig::Simulated(_) => Vec::new(),
    }
}

/// Two buses claiming one port or interface is an error on the second claim.
pub(crate) fn check_resources(buses: &[(usize, BusConfig)], f: &mut Vec<Finding>) {
    let mut claimed: BTreeMap<Resource, (String, usize)> = BTreeMap::new();
    for (i, bus) in buses {
        let path = Path::root().key("bus").index(*i);
        for (res, at) in resources(bus, &path) {
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

fn serial_line(f: &mut Vec<Finding>, p: &Path, baud: u32, data_bits: u8, stop_bits: u8) {
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

/// Checks the options of one bus.
pub(crate) fn check(bus: &BusConfig, p: &Path, f: &mut Vec<Finding>) {
    match bus {
        BusConfig::ModbusRtu(b) => {
            serial_line(f, p, b.baud, b.data_bits, b.stop_bits);
            if b.data_bits == 7 {
                f.push(Finding::error(
                    0,
                    p.key("data_bits"),
                    "Modbus RTU needs 8 data bits",
                ));
            }
            if b.parity == Parity::None && b.stop_bits == 1 {
                f.push(
                    Finding::warning(0, p.key("stop_bits"), "no parity with 1 stop bit")
                        .hint("the Modbus serial-line spec asks for 2 stop bits without parity"),
                );
            }
            rc(
                f,
                p,
                "response_timeout_ms",
                b.response_timeout_ms,
                1,
                10_000,
                "ms",
            );
            rc(f, p, "retries", b.retries, 0, 10, "");
            if let Some(g) = b.inter_frame_gap_us {
                rc(f, p, "inter_frame_gap_us", g, 100, 100_000, "µs");
            }
            rc(
                f,
                p,
                "broadcast_turnaround_ms",
                b.broadcast_turnaround_ms,
                0,
                1000,
                "ms",
            );
            breaker(f, p, b.demote_after_timeouts, b.probe_interval_ms);
            non_empty(f, p.key("port"), &b.port);
        }
        BusConfig::ModbusTcp(b) => {
            if !host_port_ok(&b.address) {
                f.push(
                    Finding::error(
                        0,
                        p.key("address"),
                        format!("\"{}\" is not host:port", b.address),
                    )
                    .hint("e.g. \"192.168.10.20:502\""),
                );
            }
            rc(
                f,
                p,
                "connect_timeout_ms",
                b.connect_timeout_ms,
                1,
                60_000,
                "ms",
            );
            rc(
                f,
                p,
                "response_timeout_ms",
                b.response_timeout_ms,
                1,
                10_000,
                "ms",
            );
            rc(f, p, "retries", b.retries, 0, 10, "");
            rc(f, p, "max_in_flight", b.max_in_flight, 1, 16, "");
            breaker(f, p, b.demote_after_timeouts, b.probe_interval_ms);
        }
        BusConfig::Canopen(b) => {
            if !CAN_BITRATES.contains(&b.bitrate) {
                let list: Vec<String> = CAN_BITRATES.iter().map(u32::to_string).collect();
                f.push(
                    Finding::error(
                        0,
                        p.key("bitrate"),
                        format!("{} is not a CAN bitrate", b.bitrate),
                    )
                    .hint(format!("use one of: {}", list.join(", "))),
                );
            }
            match (b.adapter, &b.interface, &b.port) {
                (CanAdapter::Socketcan, None, _) => f.push(
                    Finding::error(0, p.key("adapter"), "adapter \"socketcan\" needs interface")
                        .hint("e.g. interface = \"can0\""),
                ),
                (CanAdapter::Socketcan, Some(_), Some(_)) => f.push(Finding::error(
                    0,
                    p.key("port"),
                    "port is for adapter \"slcan\"; a socketcan bus takes only interface",
                )),
                (CanAdapter::Slcan, _, None) => f.push(
                    Finding::error(0, p.key("adapter"), "adapter \"slcan\" needs port")
                        .hint("e.g. port = \"/dev/ttyACM0\""),
                ),
                (CanAdapter::Slcan, Some(_), Some(_)) => f.push(Finding::error(
                    0,
                    p.key("interface"),
                    "interface is for adapter \"socketcan\"; an slcan bus takes port",
                )),
                _ => {}
            }
            if let Some(sb) = b.serial_baud
                && !STANDARD_BAUDS.contains(&sb)
                && sb < 1_000_000
            {
                f.push(Finding::error(
                    0,
                    p.key("serial_baud"),
                    format!("{sb} is not a standard baud rate"),
                ));
            }
            rc(f, p, "sync_period_ms", b.sync_period_ms, 1, 1000, "ms");
            rc(
                f,
                p,
                "node_heartbeat_ms",
                b.node_heartbeat_ms,
                10,
                10_000,
                "ms",
            );
            if let Some(t) = b.heartbeat_timeout_ms
                && t <= b.node_heartbeat_ms
            {
                f.push(
                    Finding::error(
                        0,
                        p.key("heartbeat_timeout_ms"),
                        format!(
                            "{t} ms is not longer than node_heartbeat_ms ({} ms)",
                            b.node_heartbeat_ms
                        ),
                    )
                    .hint("use about 1.5 × node_heartbeat_ms"),
                );
            }
            if b.master_heartbeat_ms != 0 {
                rc(
                    f,
                    p,
                    "master_heartbeat_ms",
                    b.master_heartbeat_ms,
                    10,
                    10_000,
                    "ms",
                );
            }
            rc(f, p, "sdo_timeout_ms", b.sdo_timeout_ms, 10, 10_000, "ms");
        }
        BusConfig::Serial(b) => {
            serial_line(f, p, b.baud, b.data_bits, b.stop_bits);
            rc(
                f,
                p,
                "response_timeout_ms",
                b.response_timeout_ms,
                1,
                10_000,
                "ms",
            );
            non_empty(f, p.key("port"), &b.port);
        }
        BusConfig::Simulated(b) => {
            rc(f, p, "latency_us", b.latency_us, 0, 100_000, "µs");
            if b.protocol == Protocol::Serial {
                f.push(
                    Finding::error(
                        0,
                        p.key("protocol"),
                        "simulated buses speak modbus or canopen",
                    )
                    .hint("use protocol = \"modbus\" or \"canopen\""),
                );
            }
        }
    }
}

/// A range check of one option of this bus.
fn rc<T: PartialOrd + std::fmt::Display + Copy>(
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

/// The circuit-breaker options both Modbus kinds share.
fn breaker(f: &mut Vec<Finding>, p: &Path, demote_after: u32, probe_ms: u32) {
    rc(f, p, "demote_after_timeouts", demote_after, 1, 100, "");
    rc(f, p, "probe_interval_ms", probe_ms, 10, 600_000, "ms");
}

fn non_empty(f: &mut Vec<Finding>, path: Path, s: &str) {
    if s.trim().is_empty() {
        f.push(Finding::error(0, path, "must not be empty"));
    }
}

fn host_port_ok(s: &str) -> bool {
    match s.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p != 0),
        None => false,
    }
}
