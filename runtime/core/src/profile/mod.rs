//! Drive profiles: data files an integrator writes for a drive model (`configs/profiles/*.toml`).
//! Decoding a status and encoding a command are driven by this data, never by Rust per model.
//! Split by section: points, bus addressing, command/status/fault, motion and parameters.

mod control;
mod motion;
mod point;
mod serial;
mod transport;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use control::{
    CommandEncoding, CommandSection, FaultReset, FaultResetMethod, FaultSection, StateRule,
    StatusSection,
};
pub use motion::{HomingSection, ParameterDef, PollSection, Setpoints, Telemetry};
pub use point::{Access, DataType, Point, PointTable, WordOrder};
pub use serial::{
    Checksum, ChecksumAlgorithm, Endian, FieldName, FrameField, FrameLayout, NumberFormat,
    PLACEHOLDERS, SerialFraming, SerialRequest, SerialSection, placeholders,
};
pub use transport::{CanopenSection, ModbusSection, PdoMappingPolicy, WriteFunction};

/// A drive profile file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Name, version and protocol.
    pub profile: ProfileHeader,
    /// Engineering units of the motion quantities; limits and commands use them.
    pub units: Units,
    /// Named data points (registers or objects). Every other section refers to these names.
    pub points: BTreeMap<String, Point>,
    /// Modbus addressing conventions (protocol `modbus`).
    pub modbus: Option<ModbusSection>,
    /// PDO mapping (protocol `canopen`).
    pub canopen: Option<CanopenSection>,
    /// Serial framing: ASCII lines or binary frames (protocol `serial`).
    pub serial: Option<SerialSection>,
    /// How uniform commands become writes.
    pub command: CommandSection,
    /// How the uniform state is decoded.
    pub status: StatusSection,
    /// Where the fault code is and how a fault is reset.
    pub fault: FaultSection,
    /// Points read every cycle (Modbus). Contiguous registers are read in one request.
    pub poll: Option<PollSection>,
    /// Points written to command motion.
    #[serde(default)]
    pub setpoints: Setpoints,
    /// Points published in every telemetry sample.
    #[serde(default)]
    pub telemetry: Telemetry,
    /// Parameters a drive config may download (`[drive.parameters]`).
    #[serde(default)]
    pub parameters: BTreeMap<String, ParameterDef>,
    /// Points whose values identify the physical unit (a different value means it was swapped).
    #[serde(default)]
    pub identity: Vec<String>,
    /// Homing, where the drive supports it.
    pub homing: Option<HomingSection>,
}

/// `[profile]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ProfileHeader {
    /// Profile name (letters, digits, `-`, `_`, `.`).
    pub name: String,
    /// Version, `MAJOR[.MINOR[.PATCH]]`. Name + version identify one content.
    pub version: String,
    /// Protocol the drive speaks.
    pub protocol: Protocol,
    /// Free text: vendor, model, firmware the map was written for.
    #[serde(default)]
    pub description: String,
}

/// Protocol of a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// Modbus registers (RTU or TCP).
    Modbus,
    /// CANopen objects (SDO/PDO).
    Canopen,
    /// A plain serial protocol (ASCII lines or binary frames).
    Serial,
}

impl Protocol {
    /// Lower-case name as written in files.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Modbus => "modbus",
            Protocol::Canopen => "canopen",
            Protocol::Serial => "serial",
        }
    }
}

/// `[units]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Units {
    /// Position unit, e.g. `mm`, `deg`, `counts`.
    pub position: String,
    /// Velocity unit, e.g. `rpm`, `hz`, `mm/s`.
    pub velocity: String,
    /// Acceleration unit, e.g. `rpm/s`.
    pub acceleration: String,
}
