//! Bus kinds. Each kind is one file here holding its `[[bus]]` options, their checks, the
//! exclusive resources it claims, drive address rules and its load model, behind
//! [`BusKindConfig`]. The [`bus_kinds!`] invocation below is the registry: the one line that
//! names a kind. Everything else in the config crate works through the trait.

mod canopen;
mod common;
mod modbus;
mod modbus_rtu;
mod modbus_tcp;
mod registry;
mod serial;
mod simulated;

use crate::diag::{Finding, Path};
use crate::feasibility::BusLoad;
use crate::model::{DriveConfig, Profile, Protocol};
use registry::bus_kinds;

pub use canopen::{CanAdapter, CanopenBus, can_frame_bits};
pub use common::Parity;
pub(crate) use common::{Resource, check_resources};
pub use modbus::{modbus_poll_reads, modbus_reads};
pub use modbus_rtu::{ModbusRtuBus, rtu_t35_s};
pub use modbus_tcp::ModbusTcpBus;
pub use serial::SerialBus;
pub use simulated::SimulatedBus;

bus_kinds! {
    /// Modbus RTU on a serial line (usually RS-485), shared by several drives.
    ModbusRtu = "modbus_rtu" => ModbusRtuBus,
    /// Modbus TCP to a drive or a gateway.
    ModbusTcp = "modbus_tcp" => ModbusTcpBus,
    /// CANopen, on a SocketCAN interface or a serial-line CAN (slcan) adapter.
    Canopen = "canopen" => CanopenBus,
    /// A plain serial line with an ASCII request/response protocol.
    Serial = "serial" => SerialBus,
    /// In-process simulated drives: no hardware needed.
    Simulated = "simulated" => SimulatedBus,
}

impl BusConfig {
    /// The bus id.
    pub fn id(&self) -> &str {
        self.options().id()
    }
}

/// Drive addresses a bus accepts, and what the field calls them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressRange {
    /// Lowest address.
    pub lo: u32,
    /// Highest address.
    pub hi: u32,
    /// e.g. "Modbus unit id", "CANopen node id".
    pub what: &'static str,
}

/// One drive on a bus, as the bus's drive rules see it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DriveOnBus<'a> {
    /// Its cycle in milliseconds (its own or the line's).
    pub(crate) cycle_ms: Option<u32>,
    /// Its profile, when it resolved.
    pub(crate) profile: Option<&'a Profile>,
    /// Drives on the same bus, this one included.
    pub(crate) drives_on_bus: usize,
    /// The first drive before this one on the same bus whose profile resolved: its id and
    /// profile (what this drive must agree with on a shared line).
    pub(crate) first: Option<(&'a str, &'a Profile)>,
}

/// One drive on a bus, as its load model sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DriveLoad<'a> {
    pub(crate) drive: &'a DriveConfig,
    pub(crate) profile: &'a Profile,
    /// Its cycle in milliseconds (at least 1).
    pub(crate) cycle_ms: f64,
}

impl DriveLoad<'_> {
    /// Cycles per second.
    pub(crate) fn per_s(&self) -> f64 {
        1000.0 / self.cycle_ms
    }
}

/// What every bus kind tells the checks, the load model and `linevisor check`.
pub(crate) trait BusKindConfig {
    fn id(&self) -> &str;
    /// The protocol of the profiles the bus carries.
    fn protocol(&self) -> Protocol;
    /// Drive addresses it accepts.
    fn addresses(&self) -> AddressRange;
    /// Ranges and combinations of its own options.
    fn check(&self, p: &Path, f: &mut Vec<Finding>);
    /// Ports and interfaces only one bus may own, with the key claiming each.
    fn resources(&self, _p: &Path) -> Vec<(Resource, Path)> {
        Vec::new()
    }
    /// Rules a drive on this bus must follow beyond its address (`p` is the drive's path).
    fn check_drive(&self, _drive: &DriveOnBus<'_>, _p: &Path, _f: &mut Vec<Finding>) {}
    /// Fills in the load of its drives: percent of the wire, per second, detail.
    fn load(&self, drives: &[DriveLoad<'_>], out: &mut BusLoad);
    /// The key a load finding points at.
    fn load_key(&self) -> &'static str {
        "baud"
    }
    /// Whether its drives may set their own `response_timeout_ms`.
    fn unit_response_timeout(&self) -> bool {
        false
    }
    /// One line for the tree view: port or address and speed.
    fn describe(&self) -> String;
    /// How a profile-mismatch message names the bus, when not by its `type`.
    fn label(&self) -> Option<String> {
        None
    }
    /// The hint for a profile of the wrong protocol.
    fn fit_hint(&self) -> &'static str {
        "choose a profile of the bus's protocol"
    }
}
