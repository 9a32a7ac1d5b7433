//! Commands from the plant, once parsed: each runs through the drive's acknowledged command
//! path (limits enforced there, as for the API), is journalled, and its outcome goes back to
//! the publisher to be published as `Command/*` metrics. A refused command ends the DCMD.

use linevisor_drive::send_command;
use linevisor_line::DriveEntry;
use linevisor_sparkplug::DeviceCommand;
use tokio::sync::mpsc;

use crate::Journal;
use crate::device::drive_command;
use crate::feed::Feed;

/// Runs the commands of one DCMD in order; `by` names who asked in the journal.
pub(crate) async fn run(
    entry: DriveEntry,
    cmds: Vec<DeviceCommand>,
    tx: mpsc::Sender<Feed>,
    journal: Journal,
    by: String,
) {
    let drive = entry.id.clone();
    for c in cmds {
        let cmd = drive_command(c);
        let outcome = send_command(&entry.handle, cmd).await;
        let (result, reason) = match &outcome {
            Ok(_) => ("ok".to_owned(), String::new()),
            Err(e) => ("refused".to_owned(), e.to_string()),
        };
        journal(serde_json::json!({
            "kind": "command", "drive": drive, "command": format!("{cmd:?}"),
            "by": by, "role": "operator",
            "outcome": if outcome.is_ok() { "ok" } else { "failed" },
            "reason": reason,
        }));
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
