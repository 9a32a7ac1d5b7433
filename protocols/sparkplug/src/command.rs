//! Commands from the plant: NCMD (`Node Control/Rebirth`) and DCMD metrics naming the drive's
//! uniform commands. A payload that does not decode, a metric that is unknown (by name or
//! alias), of the wrong datatype or not a finite number is refused as a whole, with the reason:
//! nothing of it reaches a drive. Limits are the drive's to enforce, as for the API.

use prost::Message as _;

use crate::node::{DeviceMetric, REBIRTH};
use crate::proto::Payload;
use crate::proto::payload::Metric;
use crate::value::{DataType, MetricValue};

/// A node command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeCommand {
    Rebirth,
}

/// A drive command from a DCMD.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DeviceCommand {
    Enable,
    EnableReverse,
    Disable,
    Stop,
    QuickStop,
    FaultReset,
    Home,
    SetVelocity(f64),
    MoveTo {
        position: f64,
        velocity: Option<f64>,
    },
}

/// Why a command payload was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CommandError {
    #[error("the payload is not a Sparkplug B payload: {0}")]
    Decode(String),
    #[error("the payload carries no command metric")]
    Empty,
    #[error("unknown command metric {0:?}")]
    Unknown(String),
    #[error("unknown metric alias {0}")]
    UnknownAlias(u64),
    #[error("a metric without a name or an alias")]
    Unnamed,
    #[error("metric {metric:?}: datatype {got} where {expected} is expected")]
    DataType {
        metric: String,
        expected: &'static str,
        got: u32,
    },
    #[error("metric {metric:?}: {why}")]
    Value { metric: String, why: &'static str },
}

const PREFIX: &str = "Command/";
/// Trigger commands: written `true` to run.
const TRIGGERS: [(&str, DeviceCommand); 7] = [
    ("Enable", DeviceCommand::Enable),
    ("Enable Reverse", DeviceCommand::EnableReverse),
    ("Disable", DeviceCommand::Disable),
    ("Stop", DeviceCommand::Stop),
    ("Quick Stop", DeviceCommand::QuickStop),
    ("Fault Reset", DeviceCommand::FaultReset),
    ("Home", DeviceCommand::Home),
];
const SET_VELOCITY: &str = "Set Velocity";
const MOVE_TO: &str = "Move To";
const MOVE_VELOCITY: &str = "Move Velocity";

/// The command metrics a device declares in its DBIRTH (writable by a host).
pub fn command_metrics() -> Vec<DeviceMetric> {
    let trigger = |name: &str| DeviceMetric {
        name: format!("{PREFIX}{name}"),
        value: MetricValue::Boolean(false),
        unit: None,
        deadband: 0.0,
    };
    let number = |name: &str| DeviceMetric {
        name: format!("{PREFIX}{name}"),
        value: MetricValue::Double(0.0),
        unit: None,
        deadband: 0.0,
    };
    let mut out: Vec<DeviceMetric> = TRIGGERS.iter().map(|(n, _)| trigger(n)).collect();
    out.extend([SET_VELOCITY, MOVE_TO, MOVE_VELOCITY].map(number));
    out
}

fn decode(bytes: &[u8]) -> Result<Payload, CommandError> {
    Payload::decode(bytes).map_err(|e| CommandError::Decode(e.to_string()))
}

/// The node commands of an NCMD payload.
pub fn parse_ncmd(bytes: &[u8]) -> Result<Vec<NodeCommand>, CommandError> {
    let payload = decode(bytes)?;
    let mut out = Vec::new();
    for m in &payload.metrics {
        let name = m.name.clone().ok_or(CommandError::Unnamed)?;
        if name != REBIRTH {
            return Err(CommandError::Unknown(name));
        }
        if boolean(&name, m)? {
            out.push(NodeCommand::Rebirth);
        }
    }
    Ok(out)
}

/// The drive commands of a DCMD payload, in payload order; `alias` resolves a metric alias of
/// the device's birth to its name.
pub fn parse_dcmd(
    bytes: &[u8],
    alias: impl Fn(u64) -> Option<String>,
) -> Result<Vec<DeviceCommand>, CommandError> {
    let payload = decode(bytes)?;
    let mut named = Vec::with_capacity(payload.metrics.len());
    for m in &payload.metrics {
        let name = match (&m.name, m.alias) {
            (Some(n), _) => n.clone(),
            (None, Some(a)) => alias(a).ok_or(CommandError::UnknownAlias(a))?,
            (None, None) => return Err(CommandError::Unnamed),
        };
        named.push((name, m));
    }
    let move_velocity = named
        .iter()
        .find(|(n, _)| n.strip_prefix(PREFIX) == Some(MOVE_VELOCITY))
        .map(|(n, m)| number(n, m))
        .transpose()?;
    let mut out = Vec::new();
    for (name, m) in &named {
        let Some(short) = name.strip_prefix(PREFIX) else {
            return Err(CommandError::Unknown(name.clone()));
        };
        if let Some((_, c)) = TRIGGERS.iter().find(|(n, _)| *n == short) {
            if boolean(name, m)? {
                out.push(*c);
            }
        } else if short == SET_VELOCITY {
            out.push(DeviceCommand::SetVelocity(number(name, m)?));
        } else if short == MOVE_TO {
            out.push(DeviceCommand::MoveTo {
                position: number(name, m)?,
                velocity: move_velocity,
            });
        } else if short != MOVE_VELOCITY {
            return Err(CommandError::Unknown(name.clone()));
        }
    }
    if out.is_empty() {
        return Err(CommandError::Empty);
    }
    Ok(out)
}

fn value(name: &str, m: &Metric) -> Result<MetricValue, CommandError> {
    let v = m.value.as_ref().ok_or(CommandError::Value {
        metric: name.to_owned(),
        why: "no value",
    })?;
    // Sparkplug 3.0 lets a command omit the datatype (the birth declared it): take the value's.
    let code = match m.datatype {
        None | Some(0) => inferred(v),
        Some(c) => c,
    };
    let mismatch = |expected| CommandError::DataType {
        metric: name.to_owned(),
        expected,
        got: code,
    };
    let dt = DataType::from_code(code).ok_or_else(|| mismatch("a known datatype"))?;
    MetricValue::from_proto(dt, v).ok_or_else(|| mismatch("the value's own type"))
}

/// The datatype a value's own encoding implies (signed, as commands carry setpoints).
fn inferred(v: &crate::proto::payload::metric::Value) -> u32 {
    use crate::proto::payload::metric::Value;
    match v {
        Value::IntValue(_) => DataType::Int32.code(),
        Value::LongValue(_) => DataType::Int64.code(),
        Value::FloatValue(_) => DataType::Float.code(),
        Value::DoubleValue(_) => DataType::Double.code(),
        Value::BooleanValue(_) => DataType::Boolean.code(),
        Value::StringValue(_) => DataType::String.code(),
        Value::BytesValue(_) => 0,
    }
}

fn boolean(name: &str, m: &Metric) -> Result<bool, CommandError> {
    match value(name, m)? {
        MetricValue::Boolean(b) => Ok(b),
        other => Err(CommandError::DataType {
            metric: name.to_owned(),
            expected: "Boolean",
            got: other.datatype().code(),
        }),
    }
}

fn number(name: &str, m: &Metric) -> Result<f64, CommandError> {
    let v = value(name, m)?;
    let x = v.as_f64().ok_or(CommandError::DataType {
        metric: name.to_owned(),
        expected: "a number",
        got: v.datatype().code(),
    })?;
    if !x.is_finite() {
        return Err(CommandError::Value {
            metric: name.to_owned(),
            why: "not a finite number",
        });
    }
    Ok(x)
}
