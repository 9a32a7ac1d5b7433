//! An added or restarted drive's trial, seen from outside: its start-up procedure completes
//! (`Ready`), then good samples arrive, all within the trial's time; a failed start-up or the
//! clock ends it, with what the drive reports. A line that starts stopping ends it at once.

use linevisor_drive::{DriveEvent, DriveEventKind, TelemetrySample, TrialRule, snapshot};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::watch;

use crate::LineError;
use crate::line::{DriveEntry, STOPPING};

pub(crate) async fn wait_good_samples(
    entry: &DriveEntry,
    mut events: broadcast::Receiver<DriveEvent>,
    mut samples: broadcast::Receiver<TelemetrySample>,
    rule: TrialRule,
    mut stopping: watch::Receiver<bool>,
) -> Result<(), LineError> {
    let (mut ready, mut good) = (false, 0u32);
    let watch = async {
        while good < rule.samples {
            tokio::select! {
                e = events.recv() => match e {
                    Ok(e) => match e.kind {
                        DriveEventKind::Ready { .. } => ready = true,
                        DriveEventKind::StartupFailed { reason, .. } => return Some(reason),
                        _ => {}
                    },
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return Some("the drive's events ended".into()),
                },
                s = samples.recv() => match s {
                    Ok(_) if ready => good += 1,
                    // Fell behind after start-up: samples came, which is what counts.
                    Err(RecvError::Lagged(n)) if ready => good = good.saturating_add(n as u32),
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return Some("the drive's telemetry ended".into()),
                },
            }
        }
        None
    };
    let outcome = tokio::select! {
        o = tokio::time::timeout(rule.within, watch) => {
            o.map(|failed| failed.map(|reason| format!("start-up failed: {reason}")))
        }
        Ok(_) = stopping.wait_for(|s| *s) => Ok(Some(STOPPING.to_owned())),
    };
    let failure = match outcome {
        Ok(None) => return Ok(()),
        Ok(Some(reason)) => reason,
        Err(_) => {
            let state = match snapshot(&entry.handle).await {
                Ok(s) => format!("state {}, link up {:?}", s.state, s.link_up),
                Err(e) => format!("no snapshot: {e}"),
            };
            let start = if ready {
                "started"
            } else {
                "start-up not done"
            };
            format!(
                "{good} of {} good samples within {:?} ({start}; {state})",
                rule.samples, rule.within
            )
        }
    };
    Err(LineError::Trial {
        drive: entry.id.clone(),
        reason: failure,
    })
}
