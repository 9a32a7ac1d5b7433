//! A drive as a Sparkplug device, sans-IO: the metrics its DBIRTH declares (with the profile's
//! engineering units), the values a telemetry sample carries, and a DCMD's drive command.

use std::collections::BTreeMap;

use linevisor_config::model::Units;
use linevisor_drive::{Command, TelemetrySample};
use linevisor_sparkplug::{DeviceCommand, DeviceMetric, MetricValue, command_metrics};

/// Sparkplug metric name of each `[northbound.sparkplug] metrics` entry.
pub(crate) fn metric_name(key: &str) -> &'static str {
    match key {
        "state" => "State",
        "velocity" => "Velocity",
        "position" => "Position",
        "current" => "Current",
        "torque" => "Torque",
        "fault_code" => "Fault Code",
        "cycles" => "Cycles",
        "missed_cycles" => "Missed Cycles",
        "restarts" => "Restarts",
        _ => "Link Up",
    }
}

/// Outcome metrics of the last DCMD (Sparkplug has no reply).
pub(crate) const COMMAND_LAST: &str = "Command/Last";
pub(crate) const COMMAND_RESULT: &str = "Command/Result";
pub(crate) const COMMAND_REASON: &str = "Command/Reason";
pub(crate) const COMMAND_SEQ: &str = "Command/Seq";

/// What a device publishes.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    /// `metrics` keys.
    pub(crate) keys: Vec<String>,
    pub(crate) deadband: BTreeMap<String, f64>,
    pub(crate) commands: bool,
}

impl Layout {
    /// The DBIRTH metrics of a drive whose profile has `units`, with current `sample` values.
    pub(crate) fn birth(
        &self,
        units: &Units,
        sample: Option<&TelemetrySample>,
    ) -> Vec<DeviceMetric> {
        let values: BTreeMap<&str, MetricValue> = sample
            .map(|s| self.values(s))
            .unwrap_or_default()
            .into_iter()
            .collect();
        let mut out: Vec<DeviceMetric> = self
            .keys
            .iter()
            .map(|k| {
                let name = metric_name(k);
                let unit = match k.as_str() {
                    "velocity" => Some(units.velocity.clone()),
                    "position" => Some(units.position.clone()),
                    "current" => Some("A".to_owned()),
                    "torque" => Some("%".to_owned()),
                    _ => None,
                };
                DeviceMetric {
                    name: name.to_owned(),
                    value: values.get(name).cloned().unwrap_or_else(|| zero(k)),
                    unit,
                    deadband: self.deadband.get(k).copied().unwrap_or(0.0),
                }
            })
            .collect();
        out.extend(outcome(None, "none", "", 0));
        if self.commands {
            out.extend(command_metrics());
        }
        out
    }

    /// The deadband of a metric by its Sparkplug name.
    pub(crate) fn deadband_of(&self, name: &str) -> f64 {
        self.keys
            .iter()
            .find(|k| metric_name(k) == name)
            .and_then(|k| self.deadband.get(k))
            .copied()
            .unwrap_or(0.0)
    }

    /// The metric values of a sample, by Sparkplug name.
    pub(crate) fn values(&self, s: &TelemetrySample) -> Vec<(&'static str, MetricValue)> {
        let mut out = Vec::with_capacity(self.keys.len());
        for k in &self.keys {
            let v = match k.as_str() {
                "state" => MetricValue::String(s.state.name().to_owned()),
                "velocity" => MetricValue::Double(s.velocity.unwrap_or(0.0)),
                "position" => MetricValue::Double(s.position.unwrap_or(0.0)),
                "current" => MetricValue::Double(s.current.unwrap_or(0.0)),
                "torque" => MetricValue::Double(s.torque.unwrap_or(0.0)),
                "fault_code" => MetricValue::UInt32(s.fault_code.unwrap_or(0)),
                "cycles" => MetricValue::UInt64(s.stats.cycles),
                "missed_cycles" => MetricValue::UInt64(s.stats.missed),
                "restarts" => MetricValue::UInt64(s.generation.saturating_sub(1)),
                _ => MetricValue::Boolean(true),
            };
            out.push((metric_name(k), v));
        }
        out
    }
}

/// The type-correct zero of a metric before its first sample.
fn zero(key: &str) -> MetricValue {
    match key {
        "state" => MetricValue::String("offline".into()),
        "fault_code" => MetricValue::UInt32(0),
        "cycles" | "missed_cycles" | "restarts" => MetricValue::UInt64(0),
        "link_up" => MetricValue::Boolean(false),
        _ => MetricValue::Double(0.0),
    }
}

/// The outcome metrics: last command, its result (`ok`, `refused`, `none`), the reason, and a
/// sequence number a host can wait on.
pub(crate) fn outcome(
    last: Option<&str>,
    result: &str,
    reason: &str,
    seq: u64,
) -> Vec<DeviceMetric> {
    let m = |name: &str, value| DeviceMetric {
        name: name.to_owned(),
        value,
        unit: None,
        deadband: 0.0,
    };
    vec![
        m(
            COMMAND_LAST,
            MetricValue::String(last.unwrap_or("").to_owned()),
        ),
        m(COMMAND_RESULT, MetricValue::String(result.to_owned())),
        m(COMMAND_REASON, MetricValue::String(reason.to_owned())),
        m(COMMAND_SEQ, MetricValue::UInt64(seq)),
    ]
}

/// The drive command of a DCMD command.
pub(crate) fn drive_command(c: DeviceCommand) -> Command {
    use linevisor_drive::Direction;
    match c {
        DeviceCommand::Enable => Command::Enable(Direction::Forward),
        DeviceCommand::EnableReverse => Command::Enable(Direction::Reverse),
        DeviceCommand::Disable => Command::Disable,
        DeviceCommand::Stop => Command::Stop,
        DeviceCommand::QuickStop => Command::QuickStop,
        DeviceCommand::FaultReset => Command::FaultReset,
        DeviceCommand::Home => Command::Home,
        DeviceCommand::SetVelocity(v) => Command::SetVelocity(v),
        DeviceCommand::MoveTo { position, velocity } => Command::MoveTo { position, velocity },
    }
}
