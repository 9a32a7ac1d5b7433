//! `[northbound]`: how the line reaches the plant's systems. Today one way: `[northbound.sparkplug]`,
//! an MQTT Sparkplug B 3.0 edge node (the line) with a device per drive.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `[northbound]`. Optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NorthboundSection {
    /// Publish the line as a Sparkplug B edge node.
    pub sparkplug: Option<SparkplugSection>,
}

impl NorthboundSection {
    /// True when nothing northbound is configured.
    pub fn is_empty(&self) -> bool {
        self.sparkplug.is_none()
    }
}

/// Metrics a drive can publish.
pub const DRIVE_METRICS: [&str; 10] = [
    "state",
    "velocity",
    "position",
    "current",
    "torque",
    "fault_code",
    "cycles",
    "missed_cycles",
    "restarts",
    "link_up",
];

/// `[northbound.sparkplug]`: an MQTT Sparkplug B 3.0 edge node. File paths are relative to the
/// config file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SparkplugSection {
    /// Broker URLs, tried in order: `mqtt://host:port` or `mqtts://host:port` (TLS). At least one.
    pub brokers: Vec<String>,
    /// Sparkplug group id.
    pub group_id: String,
    /// Edge node id. Default: the line's name.
    pub edge_node_id: Option<String>,
    /// MQTT client id. Default `linevisor-<edge node id>`.
    pub client_id: Option<String>,
    /// MQTT user name.
    pub username: Option<String>,
    /// File holding the MQTT password (first line), so the config carries no secret.
    pub password_file: Option<String>,
    /// `mqtts`: CA certificate(s) (PEM) the broker's certificate is checked against.
    pub ca_file: Option<String>,
    /// `mqtts`: client certificate (PEM), with `client_key`.
    pub client_cert: Option<String>,
    /// `mqtts`: the client certificate's private key (PEM).
    pub client_key: Option<String>,
    /// QoS of NDATA/DDATA: 0 or 1. Births, deaths and STATE are always QoS 1. Default 0.
    #[serde(default)]
    pub data_qos: u8,
    /// MQTT keep-alive in seconds (5–3600). Default 30.
    #[serde(default = "default_keep_alive")]
    pub keep_alive_s: u32,
    /// A metric is published at least this often even unchanged, in milliseconds (0: only on
    /// change; else 100–86400000). Default 60000.
    #[serde(default = "default_max_interval")]
    pub max_interval_ms: u32,
    /// Report-by-exception deadband per metric, in its engineering unit (≥ 0); unlisted: 0
    /// (any change is published).
    #[serde(default)]
    pub deadband: BTreeMap<String, f64>,
    /// Which drive metrics are published. Default: all of them.
    #[serde(default = "default_metrics")]
    pub metrics: Vec<String>,
    /// Per drive (by id): other metrics or deadbands than the line's.
    #[serde(default)]
    pub drives: BTreeMap<String, SparkplugDrive>,
    /// Primary host application id: births wait until its `STATE` says online.
    pub primary_host: Option<String>,
    /// Accept DCMD commands for the drives. Default false: every DCMD is refused and journalled.
    #[serde(default)]
    pub allow_commands: bool,
    /// The control-plane role of this MQTT identity (`username`, else `client_id`): `viewer`
    /// (every DCMD refused) or `operator` (drive commands). Who may publish a DCMD at all is the
    /// broker's ACL to decide: MQTT does not tell a subscriber who published. Default operator.
    #[serde(default)]
    pub role: CommandRole,
    /// Store and forward while the broker is unreachable: bytes kept at most (4096–1073741824).
    /// Default 16777216.
    #[serde(default = "default_buffer_bytes")]
    pub buffer_max_bytes: u64,
    /// …and age of the oldest kept sample, in seconds (1–604800). Default 3600.
    #[serde(default = "default_buffer_age")]
    pub buffer_max_age_s: u32,
    /// Keep the buffer in this file, so it survives a restart. Default: in memory.
    pub buffer_path: Option<String>,
}

/// `[northbound.sparkplug.drives.<id>]`: one drive's own selection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SparkplugDrive {
    /// Metrics this drive publishes instead of the line's `metrics`.
    pub metrics: Option<Vec<String>>,
    /// Deadbands of this drive, over the line's.
    #[serde(default)]
    pub deadband: BTreeMap<String, f64>,
}

/// The role commands from the plant run with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CommandRole {
    /// Sees everything, commands nothing.
    Viewer,
    /// Drive commands (enable … home), within the drives' limits.
    #[default]
    Operator,
}

impl CommandRole {
    /// Its name, as the journal records it.
    pub fn name(self) -> &'static str {
        match self {
            CommandRole::Viewer => "viewer",
            CommandRole::Operator => "operator",
        }
    }
}

fn default_keep_alive() -> u32 {
    30
}
fn default_max_interval() -> u32 {
    60_000
}
fn default_metrics() -> Vec<String> {
    DRIVE_METRICS.iter().map(|m| (*m).to_owned()).collect()
}
fn default_buffer_bytes() -> u64 {
    16 << 20
}
fn default_buffer_age() -> u32 {
    3600
}

impl SparkplugSection {
    /// The edge node id: `edge_node_id`, else the line's name.
    pub fn edge_node<'a>(&'a self, line: &'a str) -> &'a str {
        self.edge_node_id.as_deref().unwrap_or(line)
    }

    /// The MQTT identity the broker knows this node by: `username`, else the client id.
    pub fn identity(&self, line: &str) -> String {
        self.username
            .clone()
            .unwrap_or_else(|| self.client_id(line))
    }

    /// The MQTT client id: `client_id`, else `linevisor-<edge node id>`.
    pub fn client_id(&self, line: &str) -> String {
        self.client_id
            .clone()
            .unwrap_or_else(|| format!("linevisor-{}", self.edge_node(line)))
    }

    /// The metrics `drive` publishes.
    pub fn metrics_of(&self, drive: &str) -> &[String] {
        self.drives
            .get(drive)
            .and_then(|d| d.metrics.as_deref())
            .unwrap_or(&self.metrics)
    }

    /// The deadband of `metric` (a `DRIVE_METRICS` key) on `drive`.
    pub fn deadband_of(&self, drive: &str, metric: &str) -> f64 {
        self.drives
            .get(drive)
            .and_then(|d| d.deadband.get(metric))
            .or_else(|| self.deadband.get(metric))
            .copied()
            .unwrap_or(0.0)
    }
}
