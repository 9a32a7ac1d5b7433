use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    BusConfig, ControlSection, DriveConfig, NorthboundSection, RealtimeSection, SafeState,
};

/// A whole line: the file an integrator writes.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LineConfig {
    /// Line-wide settings.
    pub line: LineSection,
    /// The physical buses, one adapter actor each. Written as `[[bus]]` tables.
    #[serde(default)]
    pub bus: Vec<BusConfig>,
    /// The physical drives, one supervised actor each. Written as `[[drive]]` tables.
    #[serde(default)]
    pub drive: Vec<DriveConfig>,
    /// The HTTP API and the journal: address, tokens, TLS, retention. Optional.
    #[serde(default)]
    pub control: ControlSection,
    /// Northbound: the plant's systems (MQTT Sparkplug B). Optional.
    #[serde(default, skip_serializing_if = "NorthboundSection::is_empty")]
    pub northbound: NorthboundSection,
    /// Cycle threads, real-time priority, CPU affinity, memory locking. Optional.
    #[serde(default, skip_serializing_if = "RealtimeSection::is_default")]
    pub realtime: RealtimeSection,
}

impl LineConfig {
    /// The address the API listens on: `control.listen`, else `line.api_listen`.
    pub fn api_listen(&self) -> &str {
        self.control
            .listen
            .as_deref()
            .unwrap_or(&self.line.api_listen)
    }
}

/// `[line]`: settings that apply to the whole line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LineSection {
    /// Name of the line, used in logs (`line` span field) and metrics. 1–64 characters.
    pub name: String,
    /// Default cycle time of every drive, in milliseconds (1–60000). A drive may override it.
    #[serde(default = "default_cycle_ms")]
    #[schemars(range(min = 1, max = 60000))]
    pub cycle_ms: u32,
    /// Default safe state of every drive, applied on a planned stop, an actor crash and comm loss.
    #[serde(default = "default_safe_state")]
    pub safe_state: SafeState,
    /// Address the HTTP API listens on. Anything other than loopback needs API tokens. The older
    /// spelling of `control.listen`, still accepted; set one or the other.
    #[serde(default = "default_api_listen")]
    pub api_listen: String,
    /// Folders searched for drive profile files (`*.toml`), relative to this config file.
    /// The profiles shipped with linevisor are always available as well.
    #[serde(default = "default_profile_dirs")]
    pub profile_dirs: Vec<String>,
    /// A bus whose computed load exceeds this share of the wire's capacity gets a warning
    /// (percent, 1–100). Over 100 % is always an error.
    #[serde(default = "default_load_warn_percent")]
    #[schemars(range(min = 1, max = 100))]
    pub load_warn_percent: u8,
}

pub(crate) fn default_cycle_ms() -> u32 {
    10
}
fn default_safe_state() -> SafeState {
    SafeState::QuickStop
}
fn default_api_listen() -> String {
    "127.0.0.1:7010".to_owned()
}
fn default_profile_dirs() -> Vec<String> {
    vec!["profiles".to_owned()]
}
fn default_load_warn_percent() -> u8 {
    70
}
