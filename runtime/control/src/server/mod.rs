//! The API's HTTP server: our own accept loop over hyper, so that a client cannot hold the
//! gateway hostage.
//! - **Bounded connections**: beyond `max_connections` a new connection is answered at once with
//!   `503` and a reason (plain HTTP; over TLS it is closed) and counted, so idle sockets cannot
//!   eat the file descriptors that bus links, serial reopens, SIGHUP and journal rotation need,
//!   and a client learns why instead of hanging.
//! - **Bounded waits**: request headers must arrive within `header_timeout` (slowloris), a TLS
//!   handshake within `handshake_timeout`; bodies within the body deadline (`guard`).
//! - **Bounded stop**: on `stop` the listener closes, open connections get `grace` to finish
//!   their request (SSE streams end at once), then they are dropped. The drives' safe stop never
//!   waits for a client.
//! - The peer's address reaches handlers as `ConnectInfo` (journal records carry it).

mod guard;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tower::ServiceExt;
use tracing::{debug, warn};

pub(crate) use guard::{Guard, guard};

use crate::tls::TlsSetup;

/// The server's limits. Defaults suit a gateway's API: a handful of operators, a SCADA, a
/// dashboard in a few tabs.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Open connections at most; more are closed on accept.
    pub max_connections: usize,
    /// Time for a request's headers to arrive (also on an idle keep-alive connection).
    pub header_timeout: Duration,
    /// Time for a TLS handshake.
    pub handshake_timeout: Duration,
    /// Time open connections get after `stop` before they are dropped.
    pub grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 128,
            header_timeout: Duration::from_secs(10),
            handshake_timeout: Duration::from_secs(10),
            grace: Duration::from_secs(2),
        }
    }
}

/// Counters of the server, for `/metrics`.
#[derive(Debug, Default)]
pub struct ServerStats {
    /// Connections accepted and served.
    pub accepted: AtomicU64,
    /// Connections closed on accept because `max_connections` were open.
    pub refused_full: AtomicU64,
    /// TLS handshakes that failed or took too long.
    pub handshake_failed: AtomicU64,
}

/// Serves `router` on `listener` (over TLS with `tls`) until `stop` completes; returns once
/// every connection is closed, at most `limits.grace` after `stop`.
pub async fn serve(
    router: Router,
    listener: TcpListener,
    tls: Option<TlsSetup>,
    limits: Limits,
    stats: Arc<ServerStats>,
    stop: impl Future<Output = ()> + Send + 'static,
) {
    let open = Arc::new(Semaphore::new(limits.max_connections));
    // Refusals being written; beyond these a connection is just closed.
    let refusing = Arc::new(Semaphore::new(64));
    let graceful = GracefulShutdown::new();
    let mut conns = JoinSet::new();
    let acceptor = tls.map(|t| tokio_rustls::TlsAcceptor::from(t.server_config()));
    tokio::pin!(stop);
    loop {
        let (tcp, peer) = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors (EMFILE) or a reset before accept: pause briefly
                    // rather than spin; existing connections keep being served.
                    warn!(error = %e, "API accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // Reap finished connections so the set does not grow.
        while conns.try_join_next().is_some() {}
        let Ok(permit) = Arc::clone(&open).try_acquire_owned() else {
            let n = stats.refused_full.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                warn!(
                    peer = %peer,
                    max = limits.max_connections,
                    refused = n,
                    "API connection refused: too many open connections"
                );
            }
            if acceptor.is_none()
                && let Ok(slot) = Arc::clone(&refusing).try_acquire_owned()
            {
                let max = limits.max_connections;
                conns.spawn(async move {
                    let _slot = slot;
                    refuse_full(tcp, max).await;
                });
            }
            continue;
        };
        stats.accepted.fetch_add(1, Ordering::Relaxed);
        let _ = tcp.set_nodelay(true);
        let router = router.clone();
        let watcher = graceful.watcher();
        let acceptor = acceptor.clone();
        let (limits, stats) = (limits.clone(), Arc::clone(&stats));
        conns.spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                let router = router.clone();
                async move {
                    Ok::<_, Infallible>(router.oneshot(req).await.unwrap_or_else(|e| match e {}))
                }
            });
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout);
            let served = match acceptor {
                None => {
                    let conn = http.serve_connection(TokioIo::new(tcp), service);
                    watcher.watch(conn).await
                }
                Some(acceptor) => {
                    let stream =
                        match tokio::time::timeout(limits.handshake_timeout, acceptor.accept(tcp))
                            .await
                        {
                            Ok(Ok(s)) => s,
                            Ok(Err(e)) => {
                                stats.handshake_failed.fetch_add(1, Ordering::Relaxed);
                                debug!(peer = %peer, error = %e, "TLS handshake failed");
                                return;
                            }
                            Err(_) => {
                                stats.handshake_failed.fetch_add(1, Ordering::Relaxed);
                                debug!(peer = %peer, "TLS handshake timed out");
                                return;
                            }
                        };
                    let conn = http.serve_connection(TokioIo::new(stream), service);
                    watcher.watch(conn).await
                }
            };
            if let Err(e) = served {
                debug!(peer = %peer, error = %e, "API connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.grace, graceful.shutdown())
        .await
        .is_err()
    {
        warn!(
            open = conns.len(),
            "API connections still open after the grace period: closing them"
        );
    }
    conns.abort_all();
    while conns.join_next().await.is_some() {}
}

/// Answers a connection the server has no room for: `503` with the reason, then close; at most
/// a second, so a client that does not read cannot hold the refusal.
async fn refuse_full(mut tcp: tokio::net::TcpStream, max: usize) {
    use tokio::io::AsyncWriteExt;
    let body = format!(
        r#"{{"error":"unavailable","message":"too many API connections open ({max}); try again shortly"}}"#
    );
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let write = async {
        let _ = tcp.write_all(answer.as_bytes()).await;
        let _ = tcp.shutdown().await;
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), write).await;
}

/// The peer of a request served by [`serve`] (none under `oneshot` in tests).
pub(crate) fn peer_of(parts: &axum::http::request::Parts) -> Option<SocketAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
}
