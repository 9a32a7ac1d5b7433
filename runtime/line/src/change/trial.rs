//! An added or restarted drive's trial, seen from outside: good samples on its telemetry
//! within the trial's time, else the step fails with what the drive reports.

use linevisor_drive::{TelemetrySample, TrialRule, snapshot};
use tokio::sync::broadcast::{self, error::RecvError};

use crate::LineError;
use crate::line::DriveEntry;

pub(crate) async fn wait_good_samples(
    entry: &DriveEntry,
    mut samples: broadcast::Receiver<TelemetrySample>,
    rule: TrialRule,
) -> Result<(), LineError> {
    let mut good = 0u32;
    let count = async {
        while good < rule.samples {
            match samples.recv().await {
                Ok(_) => good += 1,
                // Fell behind: samples came, which is what counts.
                Err(RecvError::Lagged(n)) => good = good.saturating_add(n as u32),
                Err(RecvError::Closed) => break,
            }
        }
    };
    if tokio::time::timeout(rule.within, count).await.is_ok() && good >= rule.samples {
        return Ok(());
    }
    let state = match snapshot(&entry.handle).await {
        Ok(s) => format!("state {}, link up {:?}", s.state, s.link_up),
        Err(e) => format!("no snapshot: {e}"),
    };
    Err(LineError::Trial {
        drive: entry.id.clone(),
        reason: format!(
            "{good} of {} good samples within {:?} ({state})",
            rule.samples, rule.within
        ),
    })
}
