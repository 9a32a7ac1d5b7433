//! Lifecycle events: every change is logged with tracing and broadcast to subscribers
//! (metrics, the API later, tests).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;

use crate::spec::ChildId;

/// One lifecycle change of one child of one supervisor.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Path of the supervisor that reports it (`root/drives/x1`).
    pub supervisor: Arc<str>,
    /// The child concerned (for `Escalated`, the child whose failure exceeded the intensity).
    pub child: ChildId,
    /// What happened.
    pub kind: EventKind,
}

/// What happened to a child.
#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    /// First start, or a start through `restart_child` / `add_child`.
    Started,
    /// Running again after a failure: `count` restarts so far, after `backoff`.
    Restarted { count: u32, backoff: Duration },
    /// Exited abnormally (panic, handler error, kill by someone else).
    Failed { reason: String },
    /// Stopped by plan or exited normally.
    Stopped { reason: String },
    /// The factory or start step failed; handled like a failure.
    StartFailed { reason: String },
    /// Did not stop within its shutdown timeout; it is killed next.
    ShutdownTimeout { timeout: Duration },
    /// Killed (brutal kill, or after its shutdown timeout).
    Killed,
    /// The kill did not complete either (a handler that never reaches an await point).
    KillTimedOut,
    /// The safe-stop step ran to completion.
    SafeStopped,
    /// The safe-stop step failed or timed out.
    SafeStopFailed { reason: String },
    /// Restart intensity exceeded: all children stopped, the supervisor escalates to its parent.
    Escalated {
        restarts: u32,
        max: u32,
        period: Duration,
    },
    /// A new version replaced the old one (hand-over done); probation starts.
    Replaced { from: Arc<str>, to: Arc<str> },
    /// The new version passed probation.
    Promoted { version: Arc<str> },
    /// The new version failed during probation; the previous one runs again.
    RolledBack {
        from: Arc<str>,
        to: Arc<str>,
        reason: String,
    },
}

/// Broadcast channel of [`Event`]s shared by a whole tree.
///
/// A subscriber that falls more than the capacity behind gets `RecvError::Lagged` (tokio
/// broadcast semantics); the tracing log still has every event.
#[derive(Debug, Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Event>,
}

impl EventBus {
    /// A bus keeping up to `capacity` events per slow subscriber.
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(1));
        Self { tx }
    }

    /// Receive every event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }

    pub(crate) fn emit(&self, supervisor: &Arc<str>, child: &ChildId, kind: EventKind) {
        log(supervisor, child, &kind);
        if self.tx.receiver_count() > 0 {
            let _ = self.tx.send(Event {
                supervisor: supervisor.clone(),
                child: child.clone(),
                kind,
            });
        }
    }
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new(1024)
    }
}

fn log(supervisor: &str, child: &ChildId, kind: &EventKind) {
    let child = child.as_str();
    match kind {
        EventKind::Started => tracing::info!(supervisor, child, "child started"),
        EventKind::Restarted { count, backoff } => {
            tracing::info!(
                supervisor,
                child,
                count,
                backoff_ms = backoff.as_secs_f64() * 1e3,
                "child restarted"
            )
        }
        EventKind::Failed { reason } => tracing::warn!(supervisor, child, reason, "child failed"),
        EventKind::Stopped { reason } => tracing::info!(supervisor, child, reason, "child stopped"),
        EventKind::StartFailed { reason } => {
            tracing::warn!(supervisor, child, reason, "child failed to start")
        }
        EventKind::ShutdownTimeout { timeout } => tracing::warn!(
            supervisor,
            child,
            timeout_ms = timeout.as_secs_f64() * 1e3,
            "child ignored stop within its shutdown timeout; killing"
        ),
        EventKind::Killed => tracing::warn!(supervisor, child, "child killed"),
        EventKind::KillTimedOut => tracing::error!(
            supervisor,
            child,
            "kill did not complete: the handler never reaches an await point"
        ),
        EventKind::SafeStopped => tracing::debug!(supervisor, child, "safe-stop step done"),
        EventKind::SafeStopFailed { reason } => {
            tracing::error!(supervisor, child, reason, "safe-stop step failed")
        }
        EventKind::Escalated {
            restarts,
            max,
            period,
        } => tracing::error!(
            supervisor,
            child,
            restarts,
            max,
            period_ms = period.as_secs_f64() * 1e3,
            "restart intensity exceeded; stopping all children and escalating"
        ),
        EventKind::Replaced { from, to } => {
            tracing::info!(
                supervisor,
                child,
                from = &**from,
                to = &**to,
                "child replaced; probation starts"
            )
        }
        EventKind::Promoted { version } => {
            tracing::info!(
                supervisor,
                child,
                version = &**version,
                "new version passed probation"
            )
        }
        EventKind::RolledBack { from, to, reason } => tracing::warn!(
            supervisor,
            child,
            from = &**from,
            to = &**to,
            reason,
            "new version failed during probation; rolled back"
        ),
    }
}
