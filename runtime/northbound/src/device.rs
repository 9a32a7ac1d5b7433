//! A drive as a Sparkplug device, sans-IO: the metrics its DBIRTH declares (with the profile's
//! engineering units), the values a telemetry sample carries, and a DCMD's drive command.

use std::collections::BTreeMap;
use std::sync::Arc;

use linevisor_config::model::{SparkplugSection, Units};
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

/// What each device publishes: the section's metrics and deadbands, line-wide and per drive.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub(crate) section: Arc<SparkplugSection>,
    /// The command metrics are declared (commands allowed, for a role that may use them).
    pub(crate) commands: bool,
}

impl Layout {
    /// The DBIRTH metrics of drive `s.drive` whose profile has `units`, with the sample's values.
    pub(crate) fn birth(&self, units: &Units, s: &TelemetrySample) -> Vec<DeviceMetric> {
        let drive = s.drive.as_ref();
        let values: BTreeMap<&str, MetricValue> = self.values(s).into_iter().collect();
        let mut out: Vec<DeviceMetric> = self
            .section
            .metrics_of(drive)
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
                    deadband: self.section.deadband_of(drive, k),
                }
            })
            .collect();
        out.extend(outcome(None, "none", "", 0));
        if self.commands {
            out.extend(command_metrics());
        }
        out
    }

    /// The deadband of a metric of `drive`, by its Sparkplug name.
    pub(crate) fn deadband_of(&self, drive: &str, name: &str) -> f64 {
        self.section
            .metrics_of(drive)
            .iter()
            .find(|k| metric_name(k) == name)
            .map_or(0.0, |k| self.section.deadband_of(drive, k))
    }

    /// The metric values of a sample, by Sparkplug name.
    pub(crate) fn values(&self, s: &TelemetrySample) -> Vec<(&'static str, MetricValue)> {
        let keys = self.section.metrics_of(s.drive.as_ref());
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
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

/// The engineering units of a running drive's profile.
pub(crate) fn units_of(line: &linevisor_line::RunningLine, drive: &str) -> Option<Units> {
    let entry = line.drive(drive)?;
    let (name, version) = entry.version.split_once('@')?;
    let config = line.config();
    let p = config
        .profiles
        .get(&(name.to_owned(), version.to_owned()))?;
    Some(p.profile.units.clone())
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
