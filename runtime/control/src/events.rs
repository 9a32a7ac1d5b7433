//! The event collector: one task per drive event broadcast and one on the tree's lifecycle
//! events. Each event becomes one JSON object that goes to the drive's bounded ring (for
//! `GET /api/v1/drives/{id}`), to the live feed (SSE) and, for faults, comm and lifecycle
//! changes, to the journal.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use linevisor_drive::{DriveEvent, DriveEventKind};
use linevisor_line::RunningLine;
use linevisor_supervisor::{Event, EventKind};
use serde_json::{Value, json};
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::warn;

use crate::journal::Journal;

/// Recent events and the last fault of one drive.
#[derive(Debug, Default)]
pub(crate) struct DriveLog {
    pub(crate) events: VecDeque<Value>,
    pub(crate) last_fault: Option<Value>,
}

/// Per-drive logs, bounded to `capacity` events each.
#[derive(Debug)]
pub(crate) struct Recent {
    capacity: usize,
    drives: BTreeMap<String, Mutex<DriveLog>>,
}

impl Recent {
    pub(crate) fn with<R>(&self, drive: &str, f: impl FnOnce(&DriveLog) -> R) -> Option<R> {
        let log = self.drives.get(drive)?;
        Some(f(&log.lock().unwrap_or_else(|e| e.into_inner())))
    }

    fn push(&self, drive: &str, event: &Value, fault: bool) {
        if let Some(log) = self.drives.get(drive) {
            let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
            if log.events.len() == self.capacity {
                log.events.pop_front();
            }
            log.events.push_back(event.clone());
            if fault {
                log.last_fault = Some(event.clone());
            }
        }
    }
}

/// The running collector tasks; dropping it stops them, [`Collector::finish`] drains them.
#[derive(Debug)]
pub(crate) struct Collector {
    tasks: Vec<JoinHandle<()>>,
    finish: watch::Sender<bool>,
}

impl Collector {
    /// Handles every event already broadcast, then stops the tasks.
    pub(crate) async fn finish(mut self) {
        self.finish.send_replace(true);
        for t in std::mem::take(&mut self.tasks) {
            let _ = t.await;
        }
    }
}

/// Next event, or `None` once `finish` is set and nothing is left in the buffer.
async fn next<T: Clone>(
    rx: &mut broadcast::Receiver<T>,
    finish: &mut watch::Receiver<bool>,
) -> Option<Result<T, RecvError>> {
    tokio::select! {
        biased;
        r = rx.recv() => Some(r),
        _ = finish.wait_for(|f| *f) => match rx.try_recv() {
            Ok(e) => Some(Ok(e)),
            Err(TryRecvError::Lagged(n)) => Some(Err(RecvError::Lagged(n))),
            Err(_) => None,
        },
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Subscribes to every broadcast now (so nothing after this call is missed) and spawns the
/// tasks that fan each event out.
pub(crate) fn collect(
    line: &RunningLine,
    capacity: usize,
    feed: broadcast::Sender<Arc<str>>,
    journal: Option<Arc<Journal>>,
) -> (Arc<Recent>, Collector) {
    let recent = Arc::new(Recent {
        capacity: capacity.max(1),
        drives: line
            .drives
            .keys()
            .map(|id| (id.clone(), Mutex::new(DriveLog::default())))
            .collect(),
    });
    let mut tasks = Vec::new();
    let (finish, _) = watch::channel(false);
    for d in line.drives.values() {
        let mut rx = d.channels.events.subscribe();
        let mut fin = finish.subscribe();
        let (recent, feed, journal) = (recent.clone(), feed.clone(), journal.clone());
        let drive = d.id.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(r) = next(&mut rx, &mut fin).await {
                match r {
                    Ok(e) => {
                        let (v, fault, journalled) = drive_event(&e);
                        recent.push(&drive, &v, fault);
                        if journalled {
                            write(journal.as_deref(), &v);
                        }
                        let _ = feed.send(v.to_string().into());
                    }
                    Err(RecvError::Lagged(n)) => {
                        let v = json!({"source": "drive", "drive": drive, "kind": "lagged", "missed": n});
                        let _ = feed.send(v.to_string().into());
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        }));
    }
    let mut rx = line.tree.subscribe();
    let mut fin = finish.subscribe();
    tasks.push(tokio::spawn(async move {
        while let Some(r) = next(&mut rx, &mut fin).await {
            match r {
                Ok(e) => {
                    let v = supervisor_event(&e);
                    write(journal.as_deref(), &v);
                    let _ = feed.send(v.to_string().into());
                }
                Err(RecvError::Lagged(n)) => {
                    let v = json!({"source": "supervisor", "kind": "lagged", "missed": n});
                    let _ = feed.send(v.to_string().into());
                }
                Err(RecvError::Closed) => return,
            }
        }
    }));
    (recent, Collector { tasks, finish })
}

fn write(journal: Option<&Journal>, v: &Value) {
    if let Some(j) = journal
        && let Err(e) = j.append(v.clone())
    {
        warn!(error = %e, "journal write failed");
    }
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The event as JSON, whether it is a fault, and whether the journal keeps it.
fn drive_event(e: &DriveEvent) -> (Value, bool, bool) {
    let (kind, detail, fault, journalled) = match &e.kind {
        DriveEventKind::StateChanged {
            from,
            to,
            fault_code,
        } => (
            "state_changed",
            json!({"from": from.name(), "to": to.name(), "fault_code": fault_code}),
            to.is_fault(),
            to.is_fault() || from.is_fault(),
        ),
        DriveEventKind::CommandCompleted { command, outcome } => (
            "command_completed",
            json!({"command": format!("{command:?}"), "ok": outcome.is_ok(),
                   "reason": outcome.as_ref().err().map(ToString::to_string)}),
            false,
            false,
        ),
        DriveEventKind::CommLost { reason } => {
            ("comm_lost", json!({"reason": reason}), false, true)
        }
        DriveEventKind::CommRestored => ("comm_restored", json!({}), false, true),
        DriveEventKind::Ready { startup } => (
            "ready",
            json!({"startup": format!("{startup:?}")}),
            false,
            false,
        ),
        DriveEventKind::StartupFailed { startup, reason } => (
            "startup_failed",
            json!({"startup": format!("{startup:?}"), "reason": reason}),
            false,
            true,
        ),
        DriveEventKind::Reparameterised { reason, parameters } => (
            "reparameterised",
            json!({"reason": format!("{reason:?}"), "parameters": parameters}),
            false,
            true,
        ),
        DriveEventKind::UnitReplaced { old, new } => (
            "unit_replaced",
            json!({"old": old, "new": new}),
            false,
            true,
        ),
        DriveEventKind::ParametersDiffer { mismatches } => (
            "parameters_differ",
            json!({"mismatches": mismatches.iter().map(|m| json!({
                "parameter": m.parameter, "expected": m.expected, "got": m.got})).collect::<Vec<_>>()}),
            false,
            true,
        ),
        DriveEventKind::SafeStateApplied {
            situation,
            safe_state,
            state,
        } => (
            "safe_state_applied",
            json!({"situation": format!("{situation:?}"), "safe_state": format!("{safe_state:?}"),
                   "state": state.name()}),
            false,
            true,
        ),
        DriveEventKind::SafeStateFailed {
            situation,
            safe_state,
            reason,
        } => (
            "safe_state_failed",
            json!({"situation": format!("{situation:?}"), "safe_state": format!("{safe_state:?}"),
                   "reason": reason}),
            true,
            true,
        ),
    };
    let mut v = json!({"source": "drive", "drive": &*e.drive, "kind": kind, "ts_ms": now_ms()});
    if let (Value::Object(v), Value::Object(d)) = (&mut v, detail) {
        v.extend(d);
    }
    (v, fault, journalled)
}

fn supervisor_event(e: &Event) -> Value {
    let (kind, detail) = match &e.kind {
        EventKind::Started => ("started", json!({})),
        EventKind::Restarted { count, backoff } => (
            "restarted",
            json!({"count": count, "backoff_ms": backoff.as_secs_f64() * 1e3}),
        ),
        EventKind::Failed { reason } => ("failed", json!({"reason": reason})),
        EventKind::Stopped { reason } => ("stopped", json!({"reason": reason})),
        EventKind::StartFailed { reason } => ("start_failed", json!({"reason": reason})),
        EventKind::ShutdownTimeout { timeout } => (
            "shutdown_timeout",
            json!({"timeout_ms": timeout.as_secs_f64() * 1e3}),
        ),
        EventKind::Killed => ("killed", json!({})),
        EventKind::KillTimedOut => ("kill_timed_out", json!({})),
        EventKind::SafeStopped => ("safe_stopped", json!({})),
        EventKind::SafeStopFailed { reason } => ("safe_stop_failed", json!({"reason": reason})),
        EventKind::Escalated {
            restarts,
            max,
            period,
        } => (
            "escalated",
            json!({"restarts": restarts, "max": max, "period_ms": period.as_secs_f64() * 1e3}),
        ),
        EventKind::Replaced { from, to } => ("replaced", json!({"from": &**from, "to": &**to})),
        EventKind::Promoted { version } => ("promoted", json!({"version": &**version})),
        EventKind::RolledBack { from, to, reason } => (
            "rolled_back",
            json!({"from": &**from, "to": &**to, "reason": reason}),
        ),
    };
    let mut v = json!({"source": "supervisor", "supervisor": &*e.supervisor,
                       "child": e.child.as_str(), "kind": kind, "ts_ms": now_ms()});
    if let (Value::Object(v), Value::Object(d)) = (&mut v, detail) {
        v.extend(d);
    }
    v
}
