//! Cyclic reads, motion setpoints, telemetry, downloadable parameters and homing.

use serde::{Deserialize, Serialize};

/// `[poll]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PollSection {
    /// Point names read every cycle.
    pub points: Vec<String>,
}

/// `[setpoints]`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct HomingSection {
    /// Mode value for homing (CiA 402: 6); required with `cia402` command encoding.
    pub mode: Option<i32>,
    /// Command code that starts homing, written to `[command] point`; required with
    /// `enumerated` command encoding (a serial drive's `SH`, `RFS` as a `write_values` code).
    pub code: Option<u32>,
    /// Homing method point (CiA 402 0x6098), written before starting.
    pub method_point: Option<String>,
    /// Homing method number.
    pub method: Option<i32>,
}
