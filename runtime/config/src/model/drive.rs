use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `[[drive]]`: one physical drive, run by one supervised actor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DriveConfig {
    /// Unique id of the drive on this line (letters, digits, `-`, `_`; 1–64 characters).
    pub id: String,
    /// Id of the `[[bus]]` the drive is wired to.
    pub bus: String,
    /// Address on the bus: Modbus unit id (1–247 on RTU, 1–255 on TCP), CANopen node id (1–127) or serial address
    /// (1–255), depending on the bus type.
    pub address: u32,
    /// The drive profile (a data file describing the drive model) and its version.
    pub profile: ProfileRef,
    /// Cycle time in milliseconds (1–60000); defaults to `line.cycle_ms`. On a CANopen bus it
    /// must be a multiple of the bus's `sync_period_ms`.
    #[schemars(range(min = 1, max = 60000))]
    pub cycle_ms: Option<u32>,
    /// Modbus: how long to wait for this drive's responses, in milliseconds (1–10000),
    /// overriding the bus's `response_timeout_ms` for its exchanges (a slow drive on a fast
    /// line, or the other way round). Default: the bus's.
    #[schemars(range(min = 1, max = 10000))]
    pub response_timeout_ms: Option<u32>,
    /// What a new actor does with a drive that is already running after an actor restart.
    #[serde(default)]
    pub restart: RestartPolicy,
    /// Motion limits, enforced before anything is sent to the drive.
    #[serde(default)]
    pub limits: Limits,
    /// Safe state per situation; each defaults to `line.safe_state`.
    #[serde(default)]
    pub safe_state: SafeStatePolicy,
    /// Parameters downloaded to the drive and verified by reading back, at start and whenever
    /// the unit is replaced. Keys are parameter names from the profile's `[parameters]`; values
    /// are in the parameter's engineering unit.
    #[serde(default)]
    pub parameters: BTreeMap<String, f64>,
}

/// Which profile, by name and exact version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileRef {
    /// Profile name, as in the profile file's `[profile] name`.
    pub name: String,
    /// Profile version, as in the profile file's `[profile] version` (e.g. "1.2").
    pub version: String,
}

/// Behaviour of a restarted drive actor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RestartPolicy {
    /// Bumpless: read the drive's current state and keep supervising it; no disable pulse.
    #[default]
    Adopt,
    /// Download parameters again; the drive stays disabled until commanded.
    Reinit,
}

/// Motion limits in the profile's engineering units (see the profile's `[units]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Largest commanded speed magnitude, in the profile's velocity unit. Must be > 0.
    pub velocity_max: Option<f64>,
    /// Lowest commanded position, in the profile's position unit.
    pub position_min: Option<f64>,
    /// Highest commanded position, in the profile's position unit.
    pub position_max: Option<f64>,
    /// Largest acceleration, in the profile's acceleration unit. Must be > 0.
    pub acceleration_max: Option<f64>,
}

/// The state a drive is brought to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SafeState {
    /// CiA 402 quick stop: decelerate on the quick-stop ramp, then hold or disable.
    QuickStop,
    /// Disable the power stage (the motor coasts unless a brake engages).
    Disable,
    /// Keep the last state and setpoint (for axes that must not stop on a gateway fault).
    Hold,
}

/// Safe state per situation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SafeStatePolicy {
    /// On a planned stop of the drive or the line.
    pub on_stop: Option<SafeState>,
    /// When the drive's actor crashes (applied by its supervisor, through the bus).
    pub on_crash: Option<SafeState>,
    /// When communication with the drive is lost.
    pub on_comm_loss: Option<SafeState>,
}
