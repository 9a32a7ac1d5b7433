//! What every handler shares: the running line, the tokens, the journal, the recent events
//! and the live feed.

use std::path::Path;
use std::sync::Arc;

use linevisor_line::RunningLine;
use serde_json::{Value, json};
use tokio::sync::{Mutex, Semaphore, broadcast, watch};

use crate::auth::Tokens;
use crate::events::Recent;
use crate::journal::Journal;

/// Shared state of the API's handlers.
#[derive(Debug, Clone)]
pub struct AppState {
    pub(crate) line: Arc<RunningLine>,
    /// Folder of the config the line was started from: profile folders of changes resolve
    /// against it (`None` for the embedded demo: shipped profiles only).
    pub(crate) config_dir: Option<Arc<std::path::Path>>,
    /// Tokens (swapped live on SIGHUP); `None`: an open API, loopback only.
    pub(crate) tokens: Option<Arc<arc_swap::ArcSwap<Tokens>>>,
    /// Host, cross-site, body-deadline and rate checks of every request.
    pub(crate) guard: Arc<crate::server::Guard>,
    /// Event streams open at most: a permit per stream.
    pub(crate) streams: Arc<tokio::sync::Semaphore>,
    pub(crate) streams_max: usize,
    /// The HTTP server's counters.
    pub(crate) server: Arc<crate::server::ServerStats>,
    pub(crate) journal: Option<Arc<Journal>>,
    pub(crate) recent: Arc<Recent>,
    /// Every event as one JSON text, for the SSE stream.
    pub(crate) feed: broadcast::Sender<Arc<str>>,
    /// Set when the server stops, so open SSE streams end and graceful shutdown completes.
    pub(crate) closing: Arc<watch::Sender<bool>>,
    pub(crate) changes: Arc<Changes>,
    /// The dashboard's sessions, live sampler and journal reader.
    pub(crate) web: Arc<crate::web::WebState>,
}

/// What live changes share beyond the line: the gate of config checks, and the text the line
/// was started from until it is known to be what runs.
#[derive(Debug)]
pub(crate) struct Changes {
    /// One plan or apply check at a time (parsing, profile files, the diff).
    pub(crate) checks: Arc<Semaphore>,
    /// The config text the line was started from (the file, or the embedded demo), taken when
    /// first needed and kept as the running config's source if it checks to what runs.
    pub(crate) started: Mutex<Option<Arc<str>>>,
}

impl Changes {
    /// Reads the start text now: the file may be edited later, which must not change what
    /// `GET /config` says runs. An unreadable file leaves the source unknown.
    pub(crate) fn new(config_file: Option<&Path>) -> Self {
        let started = match config_file {
            Some(p) => std::fs::read_to_string(p).ok().map(Arc::from),
            None => Some(Arc::from(linevisor_config::DEMO_LINE)),
        };
        Self {
            checks: Arc::new(Semaphore::new(1)),
            started: Mutex::new(started),
        }
    }
}

impl AppState {
    /// Appends to the journal if there is one (on disk within a second); a failed write is
    /// logged and counted, never fails the call.
    pub(crate) fn journal(&self, record: Value) {
        append(self.journal.as_deref(), record);
    }

    /// Appends to the journal and waits until the record is on disk: what an answer that
    /// acknowledges an action waits for. Never fails the call (the action already ran):
    /// returns what the answer says about the record, see [`append_synced`].
    pub(crate) async fn journal_synced(&self, record: Value) -> Value {
        append_synced(self.journal.clone(), record).await
    }

    /// The journal's health for the line's status: `null` without a journal.
    pub(crate) fn journal_health(&self) -> Value {
        self.journal.as_ref().map_or(Value::Null, |j| {
            serde_json::to_value(j.health()).unwrap_or(Value::Null)
        })
    }
}

/// Appends `record` to `journal` if there is one; a failed write is logged.
pub(crate) fn append(journal: Option<&Journal>, record: Value) {
    if let Some(j) = journal
        && let Err(e) = j.append(record)
    {
        tracing::warn!(error = %e, "journal write failed");
    }
}

/// Appends `record` and syncs it on a blocking thread (a sync waits for the disk; the async
/// workers run the drives). Returns `{"ok": true, "seq": n}` once the record is on disk,
/// `{"ok": false, "error": "…"}` (logged) when it is not, `null` without a journal.
pub(crate) async fn append_synced(journal: Option<Arc<Journal>>, record: Value) -> Value {
    let Some(j) = journal else {
        return Value::Null;
    };
    let error = match tokio::task::spawn_blocking(move || j.append_synced(record)).await {
        Ok(Ok(seq)) => return json!({"ok": true, "seq": seq}),
        Ok(Err(e)) => e.to_string(),
        Err(e) => format!("journal write did not complete: {e}"),
    };
    tracing::warn!(error = %error, "journal write failed");
    json!({"ok": false, "error": error})
}
