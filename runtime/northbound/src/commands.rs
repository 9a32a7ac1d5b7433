//! Commands from the plant. A DCMD is taken in whole or refused whole before any drive sees it
//! (unknown drive, commands not allowed, a viewer identity, a payload that does not decode);
//! the commands it carries then run through the drive's acknowledged command path (limits
//! enforced there, as for the API), each is journalled, and its outcome goes back to the
//! publisher to be published as `Command/*` metrics. A refused command ends the DCMD.

use linevisor_config::model::CommandRole;
use linevisor_drive::send_command;
use linevisor_line::{DriveEntry, RunningLine};
use linevisor_sparkplug::{DeviceCommand, EdgeNode, parse_dcmd};
use tokio::sync::mpsc;

use crate::Journal;
use crate::device::drive_command;
use crate::feed::Feed;
use crate::settings::Settings;

/// Who asked, as the journal records it.
#[derive(Debug, Clone)]
pub(crate) struct Asker {
    /// `sparkplug:<client id>`.
    pub(crate) by: String,
    /// The MQTT user name, when the node logs in with one.
    pub(crate) user: Option<String>,
    pub(crate) role: CommandRole,
}

impl Asker {
    pub(crate) fn of(s: &Settings) -> Self {
        Self {
            by: format!("sparkplug:{}", s.client_id),
            user: s.credentials.as_ref().map(|(u, _)| u.clone()),
            role: s.role,
        }
    }

    /// A journal record of a command `what` on `drive` with its outcome.
    pub(crate) fn record(
        &self,
        drive: Option<&str>,
        what: &str,
        outcome: &str,
        reason: &str,
    ) -> serde_json::Value {
        serde_json::json!({
            "kind": "command", "drive": drive, "command": what, "by": self.by,
            "mqtt_user": self.user, "role": self.role.name(), "outcome": outcome, "reason": reason,
        })
    }
}

/// The commands of a DCMD for `drive`, or why it is refused.
pub(crate) fn intake(
    line: &RunningLine,
    s: &Settings,
    node: &EdgeNode,
    drive: &str,
    payload: &[u8],
) -> Result<(DriveEntry, Vec<DeviceCommand>), String> {
    let entry = line
        .drive(drive)
        .ok_or_else(|| "unknown drive".to_owned())?;
    if !s.allow_commands {
        return Err("commands are not allowed (allow_commands = false)".into());
    }
    if s.role != CommandRole::Operator {
        return Err(format!(
            "the MQTT identity {} has role {}",
            s.identity,
            s.role.name()
        ));
    }
    let cmds = parse_dcmd(payload, |a| {
        node.metric_of_alias(drive, a).map(str::to_owned)
    })
    .map_err(|e| e.to_string())?;
    Ok((entry, cmds))
}

/// Runs the commands of one DCMD in order.
pub(crate) async fn run(
    entry: DriveEntry,
    cmds: Vec<DeviceCommand>,
    tx: mpsc::Sender<Feed>,
    journal: Journal,
    asker: Asker,
) {
    let drive = entry.id.clone();
    for c in cmds {
        let cmd = drive_command(c);
        let outcome = send_command(&entry.handle, cmd).await;
        let (result, reason) = match &outcome {
            Ok(_) => ("ok".to_owned(), String::new()),
            Err(e) => ("refused".to_owned(), e.to_string()),
        };
        let ok = if outcome.is_ok() { "ok" } else { "failed" };
        journal(asker.record(Some(&drive), &format!("{cmd:?}"), ok, &reason));
        let outcome_feed = Feed::Outcome {
            drive: drive.clone(),
            last: format!("{cmd:?}"),
            result,
            reason,
        };
        if tx.send(outcome_feed).await.is_err() || outcome.is_err() {
            return;
        }
    }
}
