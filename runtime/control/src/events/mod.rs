//! The event collector: one task per drive event broadcast and one on the tree's lifecycle
//! events. Each event becomes one JSON object that goes to the drive's bounded ring (for
//! `GET /api/v1/drives/{id}`), to the live feed (SSE) and, for faults, comm and lifecycle
//! changes, to the journal.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use linevisor_line::{DriveEntry, LineNotice, RunningLine};
use serde_json::{Value, json};
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::warn;

use crate::journal::Journal;

mod json;

use json::{drive_event, supervisor_event};

/// Recent events and the last fault of one drive.
#[derive(Debug, Default)]
pub(crate) struct DriveLog {
    pub(crate) events: VecDeque<Value>,
    pub(crate) last_fault: Option<Value>,
}

/// Per-drive logs, bounded to `capacity` events each. A removed drive's log stays (its id
/// may come back, e.g. a drive restarted afresh by a change).
#[derive(Debug)]
pub(crate) struct Recent {
    capacity: usize,
    drives: Mutex<BTreeMap<String, DriveLog>>,
}

impl Recent {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, DriveLog>> {
        self.drives.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn with<R>(&self, drive: &str, f: impl FnOnce(&DriveLog) -> R) -> Option<R> {
        self.lock().get(drive).map(f)
    }

    fn push(&self, drive: &str, event: &Value, fault: bool) {
        let mut drives = self.lock();
        let log = drives.entry(drive.to_owned()).or_default();
        if log.events.len() == self.capacity {
            log.events.pop_front();
        }
        log.events.push_back(event.clone());
        if fault {
            log.last_fault = Some(event.clone());
        }
    }
}

/// One task per drive and the signal that ends it once its buffer is drained.
type DriveTasks = Arc<Mutex<BTreeMap<String, (JoinHandle<()>, Arc<watch::Sender<bool>>)>>>;

/// The running collector tasks; dropping it stops them, [`Collector::finish`] drains them.
#[derive(Debug)]
pub(crate) struct Collector {
    tasks: Vec<JoinHandle<()>>,
    drives: DriveTasks,
    finish: watch::Sender<bool>,
}

impl Collector {
    /// Handles every event already broadcast, then stops the tasks.
    pub(crate) async fn finish(mut self) {
        self.finish.send_replace(true);
        for t in std::mem::take(&mut self.tasks) {
            let _ = t.await;
        }
        let drives = std::mem::take(&mut *lock(&self.drives));
        for (_, (t, _)) in drives {
            let _ = t.await;
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
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
        for (t, _) in lock(&self.drives).values() {
            t.abort();
        }
    }
}

/// Where every event goes.
#[derive(Debug, Clone)]
struct Sinks {
    recent: Arc<Recent>,
    feed: broadcast::Sender<Arc<str>>,
    journal: Option<Arc<Journal>>,
    finish: watch::Sender<bool>,
}

/// Subscribes to every broadcast now (so nothing after this call is missed) and spawns the
/// tasks that fan each event out. Drives added later (live changes) are followed too.
pub(crate) fn collect(
    line: &RunningLine,
    capacity: usize,
    feed: broadcast::Sender<Arc<str>>,
    journal: Option<Arc<Journal>>,
) -> (Arc<Recent>, Collector) {
    let recent = Arc::new(Recent {
        capacity: capacity.max(1),
        drives: Mutex::default(),
    });
    let (finish, _) = watch::channel(false);
    let sinks = Sinks {
        recent: recent.clone(),
        feed,
        journal,
        finish: finish.clone(),
    };
    let drives: DriveTasks = Arc::default();
    let mut notices = line.subscribe();
    for d in line.drives().values() {
        follow(&sinks, &drives, d);
    }
    let mut tasks = vec![tree_task(line, &sinks)];
    let (s, map) = (sinks.clone(), drives.clone());
    let mut fin = finish.subscribe();
    tasks.push(tokio::spawn(async move {
        while let Some(r) = next(&mut notices, &mut fin).await {
            match r {
                Ok(LineNotice::DriveAdded(d)) => follow(&s, &map, &d),
                // Its last events (the safe state of its removal) are still buffered: the
                // task drains them, then ends.
                Ok(LineNotice::DriveRemoved(id)) => {
                    if let Some((_, done)) = lock(&map).remove(&id) {
                        done.send_replace(true);
                    }
                }
                Err(RecvError::Lagged(n)) => warn!(missed = n, "line notices lagged"),
                Err(RecvError::Closed) => return,
            }
        }
    }));
    (
        recent,
        Collector {
            tasks,
            drives,
            finish,
        },
    )
}

/// Starts (or restarts, for a re-created drive) the task following one drive's events.
fn follow(sinks: &Sinks, tasks: &DriveTasks, d: &DriveEntry) {
    let mut rx = d.channels.events.subscribe();
    // Ends with the collector, or alone when the drive is removed; either way once drained.
    let done = Arc::new(watch::channel(false).0);
    let mut fin = done.subscribe();
    let mut all = sinks.finish.subscribe();
    let relay = done.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = all.wait_for(|f| *f) => { relay.send_replace(true); }
            () = relay.closed() => {}
        }
    });
    let s = sinks.clone();
    let drive = d.id.clone();
    let task = tokio::spawn(async move {
        while let Some(r) = next(&mut rx, &mut fin).await {
            match r {
                Ok(e) => {
                    let (v, fault, journalled) = drive_event(&e);
                    s.recent.push(&drive, &v, fault);
                    if journalled {
                        write(s.journal.as_deref(), &v);
                    }
                    let _ = s.feed.send(v.to_string().into());
                }
                Err(RecvError::Lagged(n)) => {
                    let v =
                        json!({"source": "drive", "drive": drive, "kind": "lagged", "missed": n});
                    let _ = s.feed.send(v.to_string().into());
                }
                Err(RecvError::Closed) => return,
            }
        }
    });
    if let Some((old, old_done)) = lock(tasks).insert(d.id.clone(), (task, done)) {
        // A re-created drive: the old follower drains what it has, then ends.
        old_done.send_replace(true);
        drop(old);
    }
}

fn tree_task(line: &RunningLine, sinks: &Sinks) -> JoinHandle<()> {
    let mut rx = line.tree.subscribe();
    let mut fin = sinks.finish.subscribe();
    let s = sinks.clone();
    tokio::spawn(async move {
        while let Some(r) = next(&mut rx, &mut fin).await {
            match r {
                Ok(e) => {
                    let v = supervisor_event(&e);
                    write(s.journal.as_deref(), &v);
                    let _ = s.feed.send(v.to_string().into());
                }
                Err(RecvError::Lagged(n)) => {
                    let v = json!({"source": "supervisor", "kind": "lagged", "missed": n});
                    let _ = s.feed.send(v.to_string().into());
                }
                Err(RecvError::Closed) => return,
            }
        }
    })
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
