//! What every handler shares: the running line, the tokens, the journal, the recent events
//! and the live feed.

use std::sync::Arc;

use linevisor_line::RunningLine;
use serde_json::Value;
use tokio::sync::{broadcast, watch};

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
    /// The dashboard's sessions, live sampler and journal reader.
    pub(crate) web: Arc<crate::web::WebState>,
}

impl AppState {
    /// Appends to the journal if there is one; a failed write is logged, never fails the call.
    pub(crate) fn journal(&self, record: Value) {
        append(self.journal.as_deref(), record);
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
