//! The sim config file as written (TOML, unknown keys rejected), with spans for diagnostics.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// Top level: `[sim]`, `[[endpoint]]`, `[[drive]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SimFile {
    #[serde(default)]
    pub(super) sim: SimSection,
    #[serde(default)]
    pub(super) endpoint: Vec<Spanned<EndpointEntry>>,
    #[serde(default)]
    pub(super) drive: Vec<Spanned<DriveEntry>>,
}

/// `[sim]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SimSection {
    /// Integration step of the motion model, 1–100 ms (default 1).
    pub(super) step_ms: Option<Spanned<u64>>,
    /// Extra profile folders, relative to the sim config file (shipped profiles always count).
    #[serde(default)]
    pub(super) profile_dirs: Vec<Spanned<String>>,
}

/// `[[endpoint]]`: exactly one of `tcp`, `pty` and `serial_pty`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EndpointEntry {
    /// Modbus TCP listen address, `ip:port` (port 0: any free port).
    pub(super) tcp: Option<Spanned<String>>,
    /// Modbus RTU on a new pseudo-terminal; its path is printed.
    pub(super) pty: Option<Spanned<bool>>,
    /// A plain serial line on a new pseudo-terminal; its path is printed.
    pub(super) serial_pty: Option<Spanned<bool>>,
    /// Baud rate of a pty line (RTU: its t3.5 timing); default 115200.
    pub(super) baud: Option<Spanned<u32>>,
    /// The serial drives on a `serial_pty` line, by unit; default every serial drive.
    pub(super) units: Option<Spanned<Vec<u8>>>,
}

/// `[[drive]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DriveEntry {
    /// Modbus unit id 1–247, or CANopen node id 1–127 for a CANopen profile.
    pub(super) unit: Spanned<u8>,
    /// Profile by name and exact version.
    pub(super) profile: Spanned<ProfileRef>,
    /// Serial number in the identity point; default the unit id.
    pub(super) serial_number: Option<u32>,
    /// Ramp limit, profile velocity unit per second.
    pub(super) acceleration: Option<Spanned<f64>>,
    /// Quick-stop and fault-reaction deceleration.
    pub(super) quick_stop_deceleration: Option<Spanned<f64>>,
    /// Speed of position moves.
    pub(super) profile_velocity: Option<Spanned<f64>>,
    /// Factory values of profile parameters (engineering units).
    #[serde(default)]
    pub(super) factory: BTreeMap<String, Spanned<f64>>,
}

/// `{ name, version }`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ProfileRef {
    pub(super) name: String,
    pub(super) version: String,
}
