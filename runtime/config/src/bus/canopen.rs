//! `type = "canopen"`: CANopen on a SocketCAN interface or a serial-line CAN (slcan) adapter.

use std::fmt::Write as _;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{Resource, rc};
use super::{AddressRange, BusKindConfig, DriveLoad, DriveOnBus};
use crate::check::{CAN_BITRATES, STANDARD_BAUDS};
use crate::diag::{Finding, Path};
use crate::feasibility::BusLoad;
use crate::model::Protocol;

/// How the gateway reaches the CAN bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CanAdapter {
    /// A native SocketCAN interface such as `can0` (set `interface`).
    Socketcan,
    /// A USB serial-line CAN adapter (Lawicel/slcan: CANable, USBtin, CANUSB; set `port`).
    Slcan,
}

/// `type = "canopen"`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CanopenBus {
    /// Unique bus id.
    pub id: String,
    /// `socketcan` or `slcan`.
    pub adapter: CanAdapter,
    /// SocketCAN interface name (adapter `socketcan`), e.g. `can0`. Claimed exclusively.
    pub interface: Option<String>,
    /// Serial device of the slcan adapter (adapter `slcan`), e.g. `/dev/ttyACM0`.
    pub port: Option<String>,
    /// UART speed of a UART-bound slcan adapter in bit/s. Leave out for USB-CDC adapters, which
    /// are not limited by the tty speed; when set, the serial line's load is checked too.
    pub serial_baud: Option<u32>,
    /// CAN bitrate in bit/s: 10000, 20000, 50000, 100000, 125000, 250000, 500000, 800000 or
    /// 1000000.
    pub bitrate: u32,
    /// SYNC period in milliseconds (1–1000); cyclic PDOs are exchanged on SYNC.
    pub sync_period_ms: u32,
    /// Heartbeat period the nodes are configured to produce (object 0x1017), in ms (10–10000).
    #[serde(default = "default_node_heartbeat_ms")]
    pub node_heartbeat_ms: u32,
    /// A node is lost after this long without a heartbeat, in ms. Default 1.5 × node heartbeat.
    pub heartbeat_timeout_ms: Option<u32>,
    /// The master's own heartbeat period in ms (0 = off, 10–10000).
    #[serde(default)]
    pub master_heartbeat_ms: u32,
    /// SDO response timeout in milliseconds (10–10000). Default 300.
    #[serde(default = "default_sdo_timeout_ms")]
    pub sdo_timeout_ms: u32,
}

fn default_node_heartbeat_ms() -> u32 {
    100
}
fn default_sdo_timeout_ms() -> u32 {
    300
}

/// Worst-case bits of a classic CAN data frame with an 11-bit id and `n` data bytes, including
/// the 3-bit interframe space and worst-case stuffing (protocol reference §3.8):
/// 47 + 8n + ⌊(34 + 8n − 1)/4⌋.
pub fn can_frame_bits(n: u32) -> u32 {
    47 + 8 * n + (34 + 8 * n - 1) / 4
}

impl CanopenBus {
    fn check_adapter(&self, p: &Path, f: &mut Vec<Finding>) {
        match (self.adapter, &self.interface, &self.port) {
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
        if let Some(sb) = self.serial_baud
            && !STANDARD_BAUDS.contains(&sb)
            && sb < 1_000_000
        {
            f.push(Finding::error(
                0,
                p.key("serial_baud"),
                format!("{sb} is not a standard baud rate"),
            ));
        }
    }
}

impl BusKindConfig for CanopenBus {
    fn id(&self) -> &str {
        &self.id
    }

    fn protocol(&self) -> Protocol {
        Protocol::Canopen
    }

    fn addresses(&self) -> AddressRange {
        AddressRange {
            lo: 1,
            hi: 127,
            what: "CANopen node id",
        }
    }

    fn check(&self, p: &Path, f: &mut Vec<Finding>) {
        if !CAN_BITRATES.contains(&self.bitrate) {
            let list: Vec<String> = CAN_BITRATES.iter().map(u32::to_string).collect();
            f.push(
                Finding::error(
                    0,
                    p.key("bitrate"),
                    format!("{} is not a CAN bitrate", self.bitrate),
                )
                .hint(format!("use one of: {}", list.join(", "))),
            );
        }
        self.check_adapter(p, f);
        rc(f, p, "sync_period_ms", self.sync_period_ms, 1, 1000, "ms");
        let heartbeat = self.node_heartbeat_ms;
        rc(f, p, "node_heartbeat_ms", heartbeat, 10, 10_000, "ms");
        if let Some(t) = self.heartbeat_timeout_ms
            && t <= heartbeat
        {
            f.push(
                Finding::error(
                    0,
                    p.key("heartbeat_timeout_ms"),
                    format!("{t} ms is not longer than node_heartbeat_ms ({heartbeat} ms)"),
                )
                .hint("use about 1.5 × node_heartbeat_ms"),
            );
        }
        if self.master_heartbeat_ms != 0 {
            let master = self.master_heartbeat_ms;
            rc(f, p, "master_heartbeat_ms", master, 10, 10_000, "ms");
        }
        rc(
            f,
            p,
            "sdo_timeout_ms",
            self.sdo_timeout_ms,
            10,
            10_000,
            "ms",
        );
    }

    fn resources(&self, p: &Path) -> Vec<(Resource, Path)> {
        let mut v = Vec::new();
        if let Some(i) = &self.interface {
            v.push((Resource::CanInterface(i.clone()), p.key("interface")));
        }
        if let Some(port) = &self.port {
            v.push((Resource::SerialPort(port.clone()), p.key("port")));
        }
        v
    }

    /// Cyclic PDOs go on SYNC: a drive's cycle must be a whole number of SYNC periods.
    fn check_drive(&self, drive: &DriveOnBus<'_>, p: &Path, f: &mut Vec<Finding>) {
        if let Some(cycle) = drive.cycle_ms
            && cycle % self.sync_period_ms.max(1) != 0
        {
            f.push(Finding::error(
                0,
                p.key("cycle_ms"),
                format!(
                    "cycle {cycle} ms is not a multiple of bus \"{}\" sync_period_ms ({} ms)",
                    self.id, self.sync_period_ms
                ),
            ));
        }
    }

    fn load(&self, drives: &[DriveLoad<'_>], out: &mut BusLoad) {
        let sync_per_s = 1000.0 / f64::from(self.sync_period_ms.max(1));
        let mut bits = f64::from(can_frame_bits(0)) * sync_per_s;
        let mut frames = sync_per_s;
        // slcan chars each way: 't' + 3 id + 1 dlc + 2n data + CR; TX is acknowledged by "z\r".
        let mut to_adapter = 6.0 * sync_per_s;
        let mut from_adapter = 2.0 * sync_per_s;
        let hb_per_s = 1000.0 / f64::from(self.node_heartbeat_ms.max(1));
        for d in drives {
            let (p, per_s) = (d.profile, d.per_s());
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
        if self.master_heartbeat_ms > 0 {
            let per_s = 1000.0 / f64::from(self.master_heartbeat_ms);
            bits += f64::from(can_frame_bits(1)) * per_s;
            frames += per_s;
            to_adapter += 8.0 * per_s;
        }
        out.per_second = frames;
        out.percent = Some(bits / f64::from(self.bitrate.max(1)) * 100.0);
        if let Some(sb) = self.serial_baud {
            // 8N1: 10 bits a character.
            let busiest = to_adapter.max(from_adapter) * 10.0;
            out.serial_percent = Some(busiest / f64::from(sb) * 100.0);
        }
        let _ = write!(
            out.detail,
            "{} drives, {:.0} frames/s (worst-case stuffing) at {} bit/s",
            drives.len(),
            frames,
            self.bitrate
        );
    }

    fn load_key(&self) -> &'static str {
        "bitrate"
    }

    fn describe(&self) -> String {
        let at = self
            .interface
            .as_deref()
            .or(self.port.as_deref())
            .unwrap_or("?");
        format!(
            "canopen {at} {} bit/s, SYNC {} ms",
            self.bitrate, self.sync_period_ms
        )
    }

    fn fit_hint(&self) -> &'static str {
        "choose a canopen profile"
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
}
