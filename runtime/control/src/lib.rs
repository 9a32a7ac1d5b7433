//! linevisor's control plane: the HTTP API of a running line (JSON under `/api/v1`, SSE
//! events, Prometheus `/metrics`, an OpenAPI document), its roles and bearer tokens, the
//! crash-safe journal, and the small HTTP client the CLI subcommands use.
//!
//! The binary (`runtime/cli`) builds a [`ControlPlane`] over a started
//! [`RunningLine`](linevisor_line::RunningLine) and serves it; nothing below depends on this
//! crate. It only uses the public handles of the line, the drives, the buses and the
//! supervisors. See `docs/api.md` for the endpoints.
//!
//! Layout: `api/` (router and handlers), `auth.rs` (roles, tokens, listen rule), `events.rs`
//! (event rings, live feed, journal feed), `journal.rs` (framing, rotation, reader),
//! `views.rs` (JSON views), `command.rs` (command bodies), `client.rs` (HTTP client).

mod api;
pub mod auth;
pub mod client;
pub mod command;
mod error;
mod events;
pub mod journal;
mod state;
pub mod tls;
mod views;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use linevisor_line::RunningLine;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::broadcast;

pub use api::{BODY_LIMIT, CONFIG_LIMIT, OPENAPI, ROUTES};
pub use auth::{Caller, ListenRefused, Role, Tokens, check_listen};
pub use error::ApiError;
pub use journal::{Journal, JournalError, JournalLimits};
pub use state::AppState;

/// Options of the control plane that are not in the line config (yet).
#[derive(Debug, Default)]
pub struct ControlOptions {
    /// Tokens; `None` means an open API, which [`check_listen`] allows on loopback only.
    pub tokens: Option<Tokens>,
    /// The journal, if any.
    pub journal: Option<Journal>,
    /// Recent events kept per drive (default 64).
    pub recent_events: Option<usize>,
    /// The config file the line was started from: its folder resolves the profile folders of
    /// changes, and [`ControlPlane::reload`] re-reads it. `None`: the embedded demo.
    pub config_file: Option<std::path::PathBuf>,
}

/// The API over one running line; its event collector runs while it lives.
#[derive(Debug)]
pub struct ControlPlane {
    state: AppState,
    collector: std::sync::Mutex<Option<events::Collector>>,
}

impl ControlPlane {
    /// Subscribes to every drive's events and the tree's lifecycle events. Call it right after
    /// the line started so the journal and the rings miss nothing. Needs a tokio runtime.
    pub fn new(line: Arc<RunningLine>, options: ControlOptions) -> Self {
        let (feed, _) = broadcast::channel(1024);
        let journal = options.journal.map(Arc::new);
        // The first record, written before the collectors start: a drive event raised meanwhile
        // (a start-up finishing) must not be journalled ahead of the line's start.
        state::append(
            journal.as_deref(),
            serde_json::json!({"kind": "started", "line": line.name}),
        );
        let (recent, collector) = events::collect(
            &line,
            options.recent_events.unwrap_or(64),
            feed.clone(),
            journal.clone(),
        );
        let config_dir = options
            .config_file
            .as_deref()
            .and_then(std::path::Path::parent)
            .map(Arc::from);
        let state = AppState {
            config_dir,
            line,
            tokens: options.tokens.map(Arc::new),
            journal,
            recent,
            feed,
            closing: Arc::new(tokio::sync::watch::channel(false).0),
            changes: Arc::new(state::Changes::new(options.config_file.as_deref())),
        };
        Self {
            state,
            collector: std::sync::Mutex::new(Some(collector)),
        }
    }

    /// The router (for a server, or `tower::ServiceExt::oneshot` in tests).
    pub fn router(&self) -> Router {
        api::router(self.state.clone())
    }

    /// Serves the API on `listener` until `stop` completes; open SSE streams end with it.
    pub async fn serve(
        &self,
        listener: TcpListener,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let closing = self.state.closing.clone();
        let stop = async move {
            stop.await;
            closing.send_replace(true);
        };
        axum::serve(listener, self.router())
            .with_graceful_shutdown(stop)
            .await
    }

    /// Re-reads `path` and applies it as `POST /api/v1/config/apply` would (SIGHUP); `by`
    /// names who asked in the journal. The error is one line for the log.
    pub async fn reload(&self, path: &std::path::Path, by: &str) -> Result<Value, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        api::apply_text(&self.state, by, text)
            .await
            .map_err(|e| e.to_string())
    }

    /// As [`Self::serve`], over HTTPS: open SSE streams end first, then connections get
    /// [`tls::SHUTDOWN_GRACE`] to finish.
    pub async fn serve_tls(
        &self,
        listener: TcpListener,
        tls: &tls::TlsSetup,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), tls::TlsError> {
        let closing = self.state.closing.clone();
        let stop = async move {
            stop.await;
            closing.send_replace(true);
        };
        tls::serve_tls(self.router(), listener, tls, stop).await
    }

    /// Records a line-level event in the journal, if there is one.
    pub fn journal(&self, record: serde_json::Value) {
        self.state.journal(record);
    }

    /// After the line stopped: handles every event still buffered (so the journal has them),
    /// stops the collector, then journals `last` as the final record.
    pub async fn finish(&self, last: serde_json::Value) {
        let collector = self
            .collector
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(c) = collector {
            c.finish().await;
        }
        self.state.journal(last);
    }
}
