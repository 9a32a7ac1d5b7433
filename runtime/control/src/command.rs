//! The JSON body of `POST /api/v1/drives/{id}/commands`, its mapping to drive commands, and
//! the command's journal record.

use linevisor_drive::{Command, CommandResult, Direction};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::state::AppState;

/// One command as sent by a client.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case", deny_unknown_fields)]
pub enum CommandBody {
    /// `{"command":"enable"}`, optionally `"direction":"reverse"` for enumerated drives.
    Enable {
        /// `forward` (default) or `reverse`.
        #[serde(default)]
        direction: Option<DirectionBody>,
    },
    /// Power stage off.
    Disable,
    /// Ramp to standstill.
    Stop,
    /// Quick-stop ramp.
    QuickStop,
    /// Clear a latched fault.
    FaultReset,
    /// `{"command":"set_velocity","value":120.0}`.
    SetVelocity {
        /// In the profile's velocity unit.
        value: f64,
    },
    /// `{"command":"move_to","position":10.0,"velocity":50.0}`.
    MoveTo {
        /// Target position.
        position: f64,
        /// Optional profile velocity.
        #[serde(default)]
        velocity: Option<f64>,
    },
    /// Start homing.
    Home,
}

/// Enable direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DirectionBody {
    /// `enable`.
    Forward,
    /// `enable_reverse`.
    Reverse,
}

impl CommandBody {
    /// Parses a request body; the error names the problem with its line and column.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let body: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| format!("invalid command body: {e}"))?;
        let cmd: Self = serde_json::from_value(body.clone())
            .map_err(|e| format!("invalid command body: {e}"))?;
        // serde ignores extra keys next to a unit variant's tag: refuse them here, so a typo
        // (`"velocty"`) is never silently dropped.
        let allowed: &[&str] = match cmd {
            CommandBody::Enable { .. } => &["direction"],
            CommandBody::SetVelocity { .. } => &["value"],
            CommandBody::MoveTo { .. } => &["position", "velocity"],
            _ => &[],
        };
        if let Some(extra) = body.as_object().and_then(|o| {
            o.keys()
                .find(|k| *k != "command" && !allowed.contains(&k.as_str()))
        }) {
            return Err(format!(
                "invalid command body: unknown field `{extra}` for command `{}` (expected {})",
                cmd.name(),
                if allowed.is_empty() {
                    "no other field".to_owned()
                } else {
                    allowed.join(", ")
                }
            ));
        }
        Ok(cmd)
    }

    /// The drive command.
    pub fn to_command(self) -> Command {
        match self {
            CommandBody::Enable { direction } => Command::Enable(match direction {
                Some(DirectionBody::Reverse) => Direction::Reverse,
                _ => Direction::Forward,
            }),
            CommandBody::Disable => Command::Disable,
            CommandBody::Stop => Command::Stop,
            CommandBody::QuickStop => Command::QuickStop,
            CommandBody::FaultReset => Command::FaultReset,
            CommandBody::SetVelocity { value } => Command::SetVelocity(value),
            CommandBody::MoveTo { position, velocity } => Command::MoveTo { position, velocity },
            CommandBody::Home => Command::Home,
        }
    }

    /// The command's wire name.
    pub fn name(self) -> &'static str {
        match self {
            CommandBody::Enable { .. } => "enable",
            CommandBody::Disable => "disable",
            CommandBody::Stop => "stop",
            CommandBody::QuickStop => "quick_stop",
            CommandBody::FaultReset => "fault_reset",
            CommandBody::SetVelocity { .. } => "set_velocity",
            CommandBody::MoveTo { .. } => "move_to",
            CommandBody::Home => "home",
        }
    }
}

/// Journals a command that ran, with who asked and its outcome, and waits until the record is
/// on disk. A command is never refused or held back for the journal: a stop on a full disk
/// must still stop. Returns what the answer says about the record (`{"ok": true, "seq": n}`
/// or `{"ok": false, "error": …}`); a failure is also logged, counted in `/metrics` and shown
/// in the line's status.
pub(crate) async fn journal(
    s: &AppState,
    caller: &Caller,
    drive: &str,
    sent: Command,
    outcome: &CommandResult,
) -> Value {
    let mut record = json!({
        "kind": "command", "drive": drive, "command": format!("{sent:?}"),
        "by": caller.name, "role": caller.role.name(),
        "peer": caller.peer.map(|p| p.to_string()),
    });
    match outcome {
        Ok(_) => record["outcome"] = json!("ok"),
        Err(reason) => {
            record["outcome"] = json!("failed");
            record["reason"] = json!(reason.to_string());
        }
    }
    s.journal_synced(record).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies() {
        assert_eq!(
            CommandBody::parse(br#"{"command":"set_velocity","value":120.0}"#)
                .map(|c| c.to_command()),
            Ok(Command::SetVelocity(120.0))
        );
        assert_eq!(
            CommandBody::parse(br#"{"command":"enable","direction":"reverse"}"#)
                .map(|c| c.to_command()),
            Ok(Command::Enable(Direction::Reverse))
        );
        assert_eq!(
            CommandBody::parse(br#"{"command":"move_to","position":2.5}"#).map(|c| c.to_command()),
            Ok(Command::MoveTo {
                position: 2.5,
                velocity: None
            })
        );
        for bad in [
            &br#"{"command":"launch"}"#[..],
            br#"{"command":"set_velocity"}"#,
            br#"{"command":"set_velocity","value":"fast"}"#,
            br#"{"command":"stop","extra":1}"#,
            b"not json",
        ] {
            assert!(
                CommandBody::parse(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
