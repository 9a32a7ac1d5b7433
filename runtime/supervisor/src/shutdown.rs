//! Planned stop of one child: its shutdown policy (stop, wait, kill) then its safe-stop step.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use ractor::{ActorCell, RactorErr};

use crate::events::{EventBus, EventKind};
use crate::instance::panic_message;
use crate::spec::{ChildId, SafeStop, Shutdown, StopCause};

/// How long to wait for a kill to land. A kill interrupts a handler at its next await point;
/// a handler that never awaits cannot be interrupted in async Rust.
pub(crate) const KILL_WAIT: Duration = Duration::from_secs(1);

pub(crate) struct Reporter<'a> {
    pub(crate) events: &'a EventBus,
    pub(crate) supervisor: &'a Arc<str>,
    pub(crate) child: &'a ChildId,
}

impl Reporter<'_> {
    pub(crate) fn emit(&self, kind: EventKind) {
        self.events.emit(self.supervisor, self.child, kind);
    }
}

/// Stop `cell` per `shutdown`; returns once it is gone (or the kill timed out).
pub(crate) async fn stop_instance(
    cell: &ActorCell,
    shutdown: Shutdown,
    reason: &str,
    report: &Reporter<'_>,
) {
    match shutdown {
        Shutdown::BrutalKill => kill(cell, report).await,
        Shutdown::Timeout(timeout) => {
            // Ok, or an error because it is already gone, both mean stopped.
            if let Err(RactorErr::Timeout) = cell
                .stop_and_wait(Some(reason.to_owned()), Some(timeout))
                .await
            {
                report.emit(EventKind::ShutdownTimeout { timeout });
                kill(cell, report).await;
            }
        }
        Shutdown::Infinity => {
            let _ = cell.stop_and_wait(Some(reason.to_owned()), None).await;
        }
    }
}

async fn kill(cell: &ActorCell, report: &Reporter<'_>) {
    match cell.kill_and_wait(Some(KILL_WAIT)).await {
        Err(RactorErr::Timeout) => report.emit(EventKind::KillTimedOut),
        _ => report.emit(EventKind::Killed),
    }
}

/// Run the safe-stop step, bounded by its timeout; panics and errors become events.
pub(crate) async fn safe_stop(step: &SafeStop, cause: StopCause, report: &Reporter<'_>) {
    let run = AssertUnwindSafe(async { (step.step)(cause).await }).catch_unwind();
    let failure = match tokio::time::timeout(step.timeout, run).await {
        Ok(Ok(Ok(()))) => None,
        Ok(Ok(Err(err))) => Some(err.to_string()),
        Ok(Err(payload)) => Some(panic_message(&*payload)),
        Err(_) => Some(format!("timed out after {:?}", step.timeout)),
    };
    match failure {
        None => report.emit(EventKind::SafeStopped),
        Some(reason) => report.emit(EventKind::SafeStopFailed { reason }),
    }
}
