//! What reaches the publisher from the line: every drive's samples and events, forwarded from
//! their broadcast channels (a drive never waits for the publisher: a lagging forwarder skips),
//! and the outcome of a command from the plant.

use std::sync::Arc;

use linevisor_drive::{DriveEventKind, TelemetrySample};
use linevisor_line::{DriveEntry, RunningLine};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

#[derive(Debug)]
pub(crate) enum Feed {
    Sample(Box<TelemetrySample>),
    Event(String, DriveEventKind),
    Outcome {
        drive: String,
        last: String,
        result: String,
        reason: String,
    },
}

/// Forwarders for every drive running now.
pub(crate) fn spawn_forwarders(line: &Arc<RunningLine>, tx: &mpsc::Sender<Feed>) {
    for entry in line.drives().values() {
        forward(entry, tx);
    }
}

/// A drive's forwarders; they end when the drive's channels close or the publisher is gone.
pub(crate) fn forward(entry: &DriveEntry, tx: &mpsc::Sender<Feed>) {
    let mut samples = entry.channels.telemetry.subscribe();
    let mut events = entry.channels.events.subscribe();
    let t = tx.clone();
    tokio::spawn(async move {
        loop {
            match samples.recv().await {
                // try_send: a full feed drops the sample; the next one supersedes it.
                Ok(s) => {
                    if let Err(mpsc::error::TrySendError::Closed(_)) =
                        t.try_send(Feed::Sample(Box::new(s)))
                    {
                        return;
                    }
                }
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            }
        }
    });
    let t = tx.clone();
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(e) => {
                    if t.send(Feed::Event(e.drive.to_string(), e.kind))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            }
        }
    });
}
