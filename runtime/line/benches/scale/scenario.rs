//! What one scenario is, how it is passed to its process, and how its figures are printed.

use serde::{Deserialize, Serialize};

/// Env var naming a process's role: `line` (one scenario) or `sim` (its simulated drives).
pub(crate) const ROLE: &str = "LINEVISOR_SCALE_ROLE";
/// Env var carrying a [`Scenario`] (JSON) to a `line` process.
pub(crate) const SCENARIO: &str = "LINEVISOR_SCALE_SCENARIO";
/// Env var carrying a `SimSpec` (JSON) to a `sim` process.
pub(crate) const SIM_SPEC: &str = "LINEVISOR_SCALE_SIM";

/// Modbus TCP: unit ids per connection (one bus), as a multi-axis controller or a gateway
/// would serve them. With one request in flight (the default) a connection's units are polled
/// one after the other, so this also bounds the chain of round trips in a cycle.
pub(crate) const MODBUS_PER_CONNECTION: usize = 32;
/// CANopen: nodes per segment at most; fewer when the segment's wire load (linevisor's own
/// load model at 1 Mbit/s) would pass the line's warning threshold.
pub(crate) const CAN_NODES_MAX: usize = 32;
/// CAN bitrate of every segment.
pub(crate) const CAN_BITRATE: u32 = 1_000_000;

/// The kind of bus the drives are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Kind {
    ModbusTcp,
    Canopen,
    /// Half the drives on Modbus TCP, half on CANopen.
    Mixed,
}

impl Kind {
    pub(crate) const ALL: [Kind; 3] = [Kind::ModbusTcp, Kind::Canopen, Kind::Mixed];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::ModbusTcp => "modbus_tcp",
            Kind::Canopen => "canopen",
            Kind::Mixed => "mixed",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        Kind::ALL.into_iter().find(|k| k.name() == s.trim())
    }

    /// Drives on Modbus TCP and on CANopen.
    pub(crate) fn split(self, drives: usize) -> (usize, usize) {
        match self {
            Kind::ModbusTcp => (drives, 0),
            Kind::Canopen => (0, drives),
            Kind::Mixed => (drives / 2, drives - drives / 2),
        }
    }
}

/// The poll set of the Modbus drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Points {
    /// The shipped `linevisor-sim-servo` (6 points polled).
    Stock,
    /// The same servo reading 10 points a cycle, for NeuronEX's points/s scenarios.
    Ten,
}

/// One line to run and measure.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Scenario {
    /// `scale`, or the NeuronEX scenario's name.
    pub(crate) name: String,
    pub(crate) kind: Kind,
    pub(crate) drives: usize,
    pub(crate) cycle_ms: u32,
    /// Measuring window.
    pub(crate) seconds: u64,
    pub(crate) points: Points,
}

impl Scenario {
    /// One figure as a JSON line.
    pub(crate) fn emit(&self, metric: &str, value: f64, unit: &str) {
        let value = if value.is_finite() {
            format!("{value:.3}")
        } else {
            "null".to_owned()
        };
        println!(
            r#"{{"bench":"scale","metric":"{metric}","value":{value},"unit":"{unit}","scenario":"{}","kind":"{}","drives":{},"cycle_ms":{}}}"#,
            self.name,
            self.kind.name(),
            self.drives,
            self.cycle_ms
        );
    }
}

/// A figure of no single scenario (knees, totals).
pub(crate) fn emit_plain(metric: &str, value: f64, unit: &str, extra: &str) {
    let value = if value.is_finite() {
        format!("{value:.3}")
    } else {
        "null".to_owned()
    };
    println!(r#"{{"bench":"scale","metric":"{metric}","value":{value},"unit":"{unit}"{extra}}}"#);
}
