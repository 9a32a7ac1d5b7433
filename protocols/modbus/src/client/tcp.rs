//! Modbus TCP client (protocols.md §2.4): transaction ids allocated here (wrapping), an
//! in-flight window (default 1), responses matched by transaction id with unknown ids
//! discarded (so a late answer to a timed-out request never poisons the next one), connect and
//! response timeouts, and reconnect with jittered exponential backoff.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::{Instant, timeout, timeout_at};
use tracing::{info, warn};

mod window;

use super::connect::Connection;
use super::{CallOptions, Connect, TcpConnector};
use crate::codec::tcp as codec;
use crate::{CallResult, LinkError, Request, Response};
use linevisor_core::Retry;
use window::InFlight;

/// Settings of a TCP connection.
#[derive(Debug, Clone)]
pub struct TcpConfig {
    /// Bus name for logs (tracing field `bus`).
    pub bus: String,
    /// Bound on one connection attempt.
    pub connect_timeout: Duration,
    /// Time from sending a request to its response.
    pub response_timeout: Duration,
    /// Resends after a timeout or a lost connection.
    pub retries: u8,
    /// Requests in flight at once (1 is what most devices handle; 0 counts as 1).
    pub window: usize,
    /// First reconnect delay after a failed attempt.
    pub backoff_initial: Duration,
    /// Longest reconnect delay.
    pub backoff_max: Duration,
}

impl TcpConfig {
    /// This connection's response timeout and retries.
    pub fn call_options(&self) -> CallOptions {
        CallOptions {
            response_timeout: self.response_timeout,
            retries: self.retries,
        }
    }
}

impl Default for TcpConfig {
    fn default() -> Self {
        Self {
            bus: String::new(),
            connect_timeout: Duration::from_secs(3),
            response_timeout: Duration::from_millis(500),
            retries: 0,
            window: 1,
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_secs(10),
        }
    }
}

/// A Modbus TCP client on one connection, reopened on demand.
pub struct TcpClient<C: Connect = TcpConnector> {
    connector: C,
    conn: Option<Connection<C::Stream>>,
    config: TcpConfig,
    backoff: Retry,
    next_attempt: Option<Instant>,
    next_transaction_id: u16,
    tx: Vec<u8>,
    /// Options of the calls being run.
    opts: CallOptions,
    /// Response timeout of each call being run, where it has its own.
    timeouts: Vec<Duration>,
}

impl TcpClient<TcpConnector> {
    /// A client for `addr`; connects on the first call.
    pub fn new(addr: std::net::SocketAddr, config: TcpConfig) -> Self {
        Self::with_connector(TcpConnector::new(addr), config)
    }
}

impl<C: Connect> TcpClient<C> {
    /// A client that opens its streams with `connector`.
    pub fn with_connector(connector: C, config: TcpConfig) -> Self {
        Self {
            opts: config.call_options(),
            backoff: Retry::new(config.backoff_initial, config.backoff_max),
            connector,
            conn: None,
            config,
            next_attempt: None,
            next_transaction_id: 0,
            tx: Vec::with_capacity(codec::MAX_FRAME),
            timeouts: Vec::new(),
        }
    }

    /// Replaces the backoff (e.g. with deterministic jitter in tests).
    #[must_use]
    pub fn with_backoff(mut self, backoff: Retry) -> Self {
        self.backoff = backoff;
        self
    }

    /// Settings.
    pub fn config(&self) -> &TcpConfig {
        &self.config
    }

    /// True while a connection is open.
    pub fn is_connected(&self) -> bool {
        self.conn.is_some()
    }

    /// Opens the connection now unless one is open; fails fast while the backoff runs.
    pub async fn connect(&mut self) -> Result<(), LinkError> {
        if self.conn.is_some() {
            return Ok(());
        }
        let now = Instant::now();
        if let Some(at) = self.next_attempt.filter(|at| *at > now) {
            return Err(LinkError::NotConnected { retry_in: at - now });
        }
        let peer = self.connector.peer();
        let attempt = timeout(self.config.connect_timeout, self.connector.connect()).await;
        match attempt
            .unwrap_or_else(|_| Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out")))
        {
            Ok(io) => {
                info!(bus = %self.config.bus, %peer, "Connected to Modbus TCP peer.");
                self.conn = Some(Connection::new(io));
                self.backoff.reset();
                self.next_attempt = None;
                Ok(())
            }
            Err(e) => {
                let delay = self.backoff.next_delay();
                warn!(bus = %self.config.bus, %peer, error = %e, retry_in = ?delay, "Modbus TCP connect failed.");
                self.next_attempt = Some(Instant::now() + delay);
                Err(LinkError::Connect {
                    peer,
                    source: Arc::new(e),
                })
            }
        }
    }

    /// One transaction, with the configured timeout and retries.
    pub async fn call(&mut self, unit: u8, request: &Request) -> CallResult<Response> {
        self.call_with(unit, request, self.config.call_options())
            .await
    }

    /// One transaction with its own timeout and retries.
    pub async fn call_with(
        &mut self,
        unit: u8,
        request: &Request,
        opts: CallOptions,
    ) -> CallResult<Response> {
        let mut out = [None];
        self.opts = opts;
        self.timeouts.clear();
        self.run(&[(unit, request)], &mut out).await;
        let [r] = out;
        r.unwrap_or(Err(LinkError::Disconnected))
    }

    /// Several transactions, up to `window` in flight at once; results in request order.
    pub async fn call_batch(&mut self, calls: &[(u8, Request)]) -> Vec<CallResult<Response>> {
        self.call_batch_timed(calls, &[]).await
    }

    /// As [`TcpClient::call_batch`], call `i` waiting `timeouts[i]` for its response (the
    /// connection's response timeout where `timeouts` is shorter): units that answer slowly
    /// share a connection with quick ones.
    pub async fn call_batch_timed(
        &mut self,
        calls: &[(u8, Request)],
        timeouts: &[Duration],
    ) -> Vec<CallResult<Response>> {
        let refs: Vec<(u8, &Request)> = calls.iter().map(|(u, r)| (*u, r)).collect();
        let mut out: Vec<Option<CallResult<Response>>> = refs.iter().map(|_| None).collect();
        self.opts = self.config.call_options();
        self.timeouts = timeouts.to_vec();
        self.run(&refs, &mut out).await;
        out.into_iter()
            .map(|r| r.unwrap_or(Err(LinkError::Disconnected)))
            .collect()
    }

    async fn run(&mut self, calls: &[(u8, &Request)], out: &mut [Option<CallResult<Response>>]) {
        let mut queue: VecDeque<(usize, u8)> = (0..calls.len()).map(|i| (i, 0)).collect();
        let mut flying: Vec<InFlight> = Vec::with_capacity(self.config.window.max(1));
        while !queue.is_empty() || !flying.is_empty() {
            if self.conn.is_none()
                && let Err(e) = self.connect().await
            {
                queue
                    .drain(..)
                    .for_each(|(i, _)| out[i] = Some(Err(e.clone())));
                return;
            }
            if let Err(e) = self.fill(calls, &mut queue, &mut flying, out).await {
                self.lost(e, &mut queue, &mut flying, out);
                continue;
            }
            let Some(earliest) = flying.iter().map(|f| f.deadline).min() else {
                continue;
            };
            let Some(conn) = self.conn.as_mut() else {
                continue;
            };
            match timeout_at(earliest, conn.read_frame()).await {
                Err(_) => self.expire(&mut queue, &mut flying, out),
                Ok(Err(e)) => self.lost(e, &mut queue, &mut flying, out),
                Ok(Ok(frame)) => self.deliver(&frame, calls, &mut queue, &mut flying, out),
            }
        }
    }
}

impl<C: Connect> std::fmt::Debug for TcpClient<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpClient")
            .field("peer", &self.connector.peer())
            .field("connected", &self.conn.is_some())
            .field("config", &self.config)
            .field("next_transaction_id", &self.next_transaction_id)
            .finish_non_exhaustive()
    }
}

impl<C: Connect> super::Client for TcpClient<C> {
    fn call(
        &mut self,
        unit: u8,
        request: &Request,
    ) -> impl Future<Output = CallResult<Response>> + Send {
        TcpClient::call(self, unit, request)
    }
}
