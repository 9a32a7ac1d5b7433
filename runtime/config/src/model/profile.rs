//! Drive profiles: data files an integrator writes for a drive model (`configs/profiles/*.toml`).
//! Decoding a status and encoding a command are driven by this data, never by Rust per model.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A drive profile file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
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
    /// ASCII request templates (protocol `serial`).
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// Modbus registers (RTU or TCP).
    Modbus,
    /// CANopen objects (SDO/PDO).
    Canopen,
    /// ASCII over a plain serial line.
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Units {
    /// Position unit, e.g. `mm`, `deg`, `counts`.
    pub position: String,
    /// Velocity unit, e.g. `rpm`, `hz`, `mm/s`.
    pub velocity: String,
    /// Acceleration unit, e.g. `rpm/s`.
    pub acceleration: String,
}

/// A register (Modbus) or object (CANopen).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Point {
    /// Modbus register number as written in the drive's manual (see `modbus.address_base`).
    pub register: Option<u32>,
    /// Modbus table: `holding` (FC3/6/16) or `input` (FC4, read-only). Default `holding`.
    #[serde(default)]
    pub table: PointTable,
    /// CANopen object index, e.g. 0x6041.
    pub index: Option<u16>,
    /// CANopen sub-index. Default 0.
    #[serde(default)]
    pub subindex: u8,
    /// Raw data type on the wire.
    #[serde(rename = "type")]
    pub data_type: DataType,
    /// Engineering value = raw × scale + offset. Default 1.
    #[serde(default = "one")]
    pub scale: f64,
    /// Engineering value = raw × scale + offset. Default 0.
    #[serde(default)]
    pub offset: f64,
    /// Word order of 32-bit Modbus values; default `modbus.word_order`.
    pub word_order: Option<WordOrder>,
    /// `r`, `w` or `rw`. Default `r`.
    #[serde(default)]
    pub access: Access,
    /// Serial: request that reads the point; `{address}` is replaced by the drive address.
    pub read: Option<String>,
    /// Serial: request that writes the point; `{address}` and `{value}` (raw) are replaced.
    pub write: Option<String>,
    /// Serial: length of the response to `read` in bytes, terminator included.
    pub response_bytes: Option<u32>,
}

fn one() -> f64 {
    1.0
}

/// Modbus register table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PointTable {
    /// Holding registers.
    #[default]
    Holding,
    /// Input registers (read-only).
    Input,
}

/// Raw wire types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DataType {
    /// Unsigned 8 bit (CANopen).
    U8,
    /// Signed 8 bit (CANopen).
    I8,
    /// Unsigned 16 bit.
    U16,
    /// Signed 16 bit.
    I16,
    /// Unsigned 32 bit.
    U32,
    /// Signed 32 bit.
    I32,
    /// IEEE-754 single precision.
    F32,
}

impl DataType {
    /// Size in bits.
    pub fn bits(self) -> u32 {
        match self {
            DataType::U8 | DataType::I8 => 8,
            DataType::U16 | DataType::I16 => 16,
            DataType::U32 | DataType::I32 | DataType::F32 => 32,
        }
    }
    /// Number of 16-bit Modbus registers.
    pub fn registers(self) -> u32 {
        self.bits().div_ceil(16)
    }
}

/// Word order of 32-bit values split over two registers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WordOrder {
    /// High word in the lower register (Modbus convention, "big endian").
    #[default]
    HighFirst,
    /// Low word in the lower register ("word swapped").
    LowFirst,
}

/// Access rights of a point.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// Read only.
    #[default]
    R,
    /// Write only.
    W,
    /// Read and write.
    Rw,
}

impl Access {
    /// Can be read.
    pub fn readable(self) -> bool {
        matches!(self, Access::R | Access::Rw)
    }
    /// Can be written.
    pub fn writable(self) -> bool {
        matches!(self, Access::W | Access::Rw)
    }
}

/// `[modbus]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModbusSection {
    /// 0 if the manual's register numbers are protocol addresses, 1 if they are 1-based.
    #[serde(default)]
    pub address_base: u8,
    /// Default word order of 32-bit values.
    #[serde(default)]
    pub word_order: WordOrder,
    /// `multiple` (FC16) or `single` (FC6; some drives reject FC16 on command words).
    #[serde(default)]
    pub write_function: WriteFunction,
    /// Most registers the drive returns in one read (1–125). Default 125.
    #[serde(default = "max_regs")]
    pub max_registers_per_read: u32,
}

fn max_regs() -> u32 {
    125
}

/// Modbus write function for single-register points.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WriteFunction {
    /// FC16 write multiple registers.
    #[default]
    Multiple,
    /// FC6 write single register.
    Single,
}

/// `[canopen]`: PDO mapping written by SDO at boot (CiA 301 re-mapping procedure).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CanopenSection {
    /// RPDO1..4 contents (master → drive), each a list of point names, at most 8 bytes.
    pub rpdo: Vec<Vec<String>>,
    /// TPDO1..4 contents (drive → master), each a list of point names, at most 8 bytes.
    pub tpdo: Vec<Vec<String>>,
    /// Expected device type (object 0x1000); low word 0x0192 means CiA 402.
    pub device_type: Option<u32>,
}

/// `[serial]`: an ASCII request/response protocol; points carry their `read`/`write` templates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SerialSection {
    /// Line terminator of requests and responses. Default `"\r"`.
    #[serde(default = "cr")]
    pub terminator: String,
}

fn cr() -> String {
    "\r".to_owned()
}

/// `[command]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandSection {
    /// `cia402` (controlword bits, §3.6) or `enumerated` (vendor command codes).
    pub encoding: CommandEncoding,
    /// The point commands are written to (controlword or command register).
    pub point: String,
    /// Enumerated codes per uniform command: `enable`, `enable_reverse`, `disable`, `stop`,
    /// `quick_stop`. `enable` and `stop` are required for `enumerated`.
    #[serde(default)]
    pub codes: BTreeMap<String, u32>,
    /// Point selecting the mode of operation (CiA 402 0x6060), if the drive has modes.
    pub mode_point: Option<String>,
    /// Mode value for velocity commands (e.g. 3, profile velocity).
    pub velocity_mode: Option<i32>,
    /// Mode value for position commands (e.g. 1, profile position).
    pub position_mode: Option<i32>,
}

/// Command encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CommandEncoding {
    /// CiA 402 controlword bit patterns.
    Cia402,
    /// One code per command, written to a command register.
    Enumerated,
}

/// The uniform drive states a status decodes to (CiA 402 power states).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UniformState {
    /// Not ready to switch on.
    NotReadyToSwitchOn,
    /// Switch on disabled.
    SwitchOnDisabled,
    /// Ready to switch on.
    ReadyToSwitchOn,
    /// Switched on.
    SwitchedOn,
    /// Operation enabled.
    OperationEnabled,
    /// Quick stop active.
    QuickStopActive,
    /// Fault reaction active.
    FaultReactionActive,
    /// Fault.
    Fault,
}

/// `[status]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusSection {
    /// The point decoded by default (statusword or status register).
    pub point: String,
    /// Rules tried in order; the first match gives the state.
    pub states: Vec<StateRule>,
}

/// One decoding rule: `(raw & mask) == value` (or `!=` with `negate`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StateRule {
    /// The state this rule decodes to.
    pub state: UniformState,
    /// Point to test; default `status.point`.
    pub point: Option<String>,
    /// Bit mask.
    pub mask: u32,
    /// Value after masking.
    pub value: u32,
    /// Match when the masked value differs from `value`.
    #[serde(default)]
    pub negate: bool,
}

/// `[fault]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultSection {
    /// Point holding the fault (error) code, e.g. 0x603F.
    pub code: Option<String>,
    /// Mask applied to the fault code point (e.g. 0x00FF when the high byte is a warning).
    pub code_mask: Option<u32>,
    /// How a fault is reset.
    pub reset: FaultReset,
}

/// How a fault is reset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultReset {
    /// `controlword_edge` (CiA 402 bit 7 rising edge), `pulse_bit` (set then clear `bit` of
    /// `point`) or `write_value` (write `value` to `point`).
    pub method: FaultResetMethod,
    /// Point for `pulse_bit` and `write_value`.
    pub point: Option<String>,
    /// Bit number (0–31) for `pulse_bit`.
    pub bit: Option<u8>,
    /// Value for `write_value`.
    pub value: Option<u32>,
}

/// Fault reset methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FaultResetMethod {
    /// CiA 402: rising edge of controlword bit 7.
    ControlwordEdge,
    /// Set a bit, then clear it.
    PulseBit,
    /// Write a value.
    WriteValue,
}

/// `[poll]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PollSection {
    /// Point names read every cycle.
    pub points: Vec<String>,
}

/// `[setpoints]`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Setpoints {
    /// Target velocity point.
    pub velocity: Option<String>,
    /// Target position point.
    pub position: Option<String>,
    /// Profile velocity used for position moves.
    pub profile_velocity: Option<String>,
}

/// `[telemetry]`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Telemetry {
    /// Actual velocity point.
    pub velocity: Option<String>,
    /// Actual position point.
    pub position: Option<String>,
    /// Actual current point.
    pub current: Option<String>,
    /// Actual torque point.
    pub torque: Option<String>,
}

/// A downloadable parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParameterDef {
    /// The point written and read back.
    pub point: String,
    /// Smallest allowed engineering value.
    pub min: Option<f64>,
    /// Largest allowed engineering value.
    pub max: Option<f64>,
    /// Unit shown to the integrator.
    #[serde(default)]
    pub unit: String,
}

/// `[homing]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HomingSection {
    /// Mode value for homing (CiA 402: 6).
    pub mode: i32,
    /// Homing method point (CiA 402 0x6098), written before starting.
    pub method_point: Option<String>,
    /// Homing method number.
    pub method: Option<i32>,
}
