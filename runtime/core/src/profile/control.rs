//! How uniform commands become writes, how a status decodes to a power state, how a fault is
//! read and reset.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::PowerState;

/// `[command]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum CommandEncoding {
    /// CiA 402 controlword bit patterns.
    Cia402,
    /// One code per command, written to a command register.
    Enumerated,
}

/// `[status]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct StatusSection {
    /// The point decoded by default (statusword or status register).
    pub point: String,
    /// Rules tried in order; the first match gives the state.
    pub states: Vec<StateRule>,
}

/// One decoding rule: `(raw & mask) == value` (or `!=` with `negate`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct StateRule {
    /// The state this rule decodes to.
    pub state: PowerState,
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum FaultResetMethod {
    /// CiA 402: rising edge of controlword bit 7.
    ControlwordEdge,
    /// Set a bit, then clear it.
    PulseBit,
    /// Write a value.
    WriteValue,
}
