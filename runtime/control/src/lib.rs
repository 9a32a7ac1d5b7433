//! linevisor's control plane: the HTTP API of a running line (JSON under `/api/v1`, SSE
//! events, Prometheus `/metrics`, an OpenAPI document), its roles and bearer tokens, the
//! crash-safe journal, and the small HTTP client the CLI subcommands use.
//!
//! The binary (`runtime/cli`) builds a [`ControlPlane`] over a started
//! [`RunningLine`](linevisor_line::RunningLine) and serves it; nothing below depends on this
//! crate. It only uses the public handles of the line, the drives, the buses and the
//! supervisors. See `docs/api.md` for the endpoints.
//!
//! Layout: `api/` (router and handlers), `server/` (accept loop with limits and bounded stop;
//! the guard every request passes), `auth.rs` (roles, tokens, listen rule), `tls.rs`
//! (certificates, mutual TLS, reload), `events/` (event rings, live feed, journal feed),
//! `journal.rs` (framing, rotation, reader), `views.rs` (JSON views), `command.rs` (command
//! bodies), `client.rs` (HTTP client), `web/` (the operator's dashboard: its files, browser
//! sessions, the journal view, the live stream).

mod api;
pub mod auth;
pub mod client;
pub mod command;
mod error;
mod events;
pub mod journal;
pub mod server;
mod state;
pub mod tls;
mod views;
mod web;

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
    /// Host names, besides IP addresses and `localhost`, the API answers to.
    pub allowed_hosts: Vec<String>,
    /// The API is served over TLS (its own origin is `https://`).
    pub https: bool,
    /// Event streams open at most (default 32).
    pub max_event_streams: Option<usize>,
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
        let streams_max = options.max_event_streams.unwrap_or(32);
        let state = AppState {
            config_dir,
            line,
            tokens: options
                .tokens
                .map(|t| Arc::new(arc_swap::ArcSwap::from_pointee(t))),
            guard: Arc::new(server::Guard::new(options.allowed_hosts, options.https)),
            streams: Arc::new(tokio::sync::Semaphore::new(streams_max)),
            streams_max,
            server: Arc::new(server::ServerStats::default()),
            journal,
            recent,
            feed,
            closing: Arc::new(tokio::sync::watch::channel(false).0),
            changes: Arc::new(state::Changes::new(options.config_file.as_deref())),
            web: Arc::new(web::WebState::new()),
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

    /// Serves the API on `listener` (HTTPS with `tls`) until `stop` completes: open SSE streams
    /// end at once, other connections get `limits.grace`, then the server returns, whatever the
    /// clients do.
    pub async fn serve(
        &self,
        listener: TcpListener,
        tls: Option<tls::TlsSetup>,
        limits: server::Limits,
        stop: impl Future<Output = ()> + Send + 'static,
    ) {
        let closing = self.state.closing.clone();
        let stop = async move {
            stop.await;
            closing.send_replace(true);
        };
        let stats = Arc::clone(&self.state.server);
        server::serve(self.router(), listener, tls, limits, stats, stop).await;
    }

    /// Swaps in a new set of tokens (SIGHUP) for the requests from now on. A line started
    /// without tokens stays open on loopback: that needs a restart to change.
    pub fn replace_tokens(&self, tokens: Tokens) -> Result<(), String> {
        match &self.state.tokens {
            Some(t) => {
                t.store(Arc::new(tokens));
                Ok(())
            }
            None => Err(
                "the API was started without a tokens file; restart linevisor to add one".into(),
            ),
        }
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
