//! slcan over any byte stream: a handle implementing [`CanTransport`] and a driver task that
//! owns the stream (start-up `C`, `Sn`, `O`; transmit acknowledgement tracking; reopen with
//! jittered backoff when the adapter disappears).

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{Mutex, mpsc, oneshot, watch};

use super::Bitrate;
use super::driver::{self, Request};
use crate::{CanError, CanFrame, CanTransport};

/// Settings of an slcan link.
#[derive(Debug, Clone)]
pub struct SlcanConfig {
    /// Name in logs (the `bus` span field): port path or bus id.
    pub name: String,
    /// CAN bitrate sent as `Sn` at start-up.
    pub bitrate: Bitrate,
    /// How long to wait for the CR/BELL answering `C`, `Sn` and `O` (default 500 ms). A missing
    /// answer is logged, not fatal: §4.1 "never require a reply".
    pub reply_timeout: Duration,
    /// How long a transmitted frame may wait for `z`CR/`Z`CR/CR (default 1 s, esd's timeout).
    pub ack_timeout: Duration,
    /// Frames sent but not yet acknowledged before [`CanTransport::send`] waits (default 32).
    pub ack_window: usize,
    /// First reopen delay after a failed open (default 100 ms), doubling up to `reopen_max`.
    pub reopen_initial: Duration,
    /// Longest reopen delay (default 5 s).
    pub reopen_max: Duration,
    /// Received frames buffered for the reader; beyond it frames are dropped and counted as
    /// overruns, as a CAN controller does (default 1024).
    pub rx_capacity: usize,
}

impl SlcanConfig {
    /// Defaults for `bitrate`.
    pub fn new(name: impl Into<String>, bitrate: Bitrate) -> Self {
        Self {
            name: name.into(),
            bitrate,
            reply_timeout: Duration::from_millis(500),
            ack_timeout: Duration::from_secs(1),
            ack_window: 32,
            reopen_initial: Duration::from_millis(100),
            reopen_max: Duration::from_secs(5),
            rx_capacity: 1024,
        }
    }
}

/// State of the link as the driver sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Opening and initialising the adapter.
    Opening,
    /// Adapter open, frames flow.
    Up,
    /// Adapter lost or refused; next attempt after `retry_in`.
    Down {
        /// Failed attempts in a row.
        attempt: u32,
        /// Delay before the next attempt.
        retry_in: Duration,
    },
    /// Closed by the owner.
    Closed,
}

/// Counters of one slcan link since it was created.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) tx_frames: AtomicU64,
    pub(crate) tx_acked: AtomicU64,
    pub(crate) tx_rejected: AtomicU64,
    pub(crate) tx_ack_timeouts: AtomicU64,
    pub(crate) rx_frames: AtomicU64,
    pub(crate) rx_overruns: AtomicU64,
    pub(crate) garbage: AtomicU64,
    pub(crate) opens: AtomicU64,
}

/// A snapshot of the link counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SlcanStats {
    /// Frames written to the adapter.
    pub tx_frames: u64,
    /// Frames the adapter acknowledged (`z`, `Z` or CR).
    pub tx_acked: u64,
    /// Frames the adapter refused (BELL).
    pub tx_rejected: u64,
    /// Frames never acknowledged within the ack timeout.
    pub tx_ack_timeouts: u64,
    /// Frames received.
    pub rx_frames: u64,
    /// Frames dropped because the reader did not keep up.
    pub rx_overruns: u64,
    /// Units of garbage skipped while resynchronising.
    pub garbage: u64,
    /// Successful opens (1 + reopens).
    pub opens: u64,
}

impl Counters {
    fn snapshot(&self) -> SlcanStats {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        SlcanStats {
            tx_frames: g(&self.tx_frames),
            tx_acked: g(&self.tx_acked),
            tx_rejected: g(&self.tx_rejected),
            tx_ack_timeouts: g(&self.tx_ack_timeouts),
            rx_frames: g(&self.rx_frames),
            rx_overruns: g(&self.rx_overruns),
            garbage: g(&self.garbage),
            opens: g(&self.opens),
        }
    }
}

/// An slcan adapter behind a byte stream. Cheap to share: wrap it in an `Arc`.
#[derive(Debug)]
pub struct SlcanTransport {
    requests: mpsc::Sender<Request>,
    rx: Mutex<mpsc::Receiver<Result<CanFrame, CanError>>>,
    state: watch::Receiver<LinkState>,
    counters: Arc<Counters>,
}

impl SlcanTransport {
    /// Opens the link through `opener` (called again on every reopen) and initialises the
    /// adapter. Fails with the first open or initialisation error; once open, losses are
    /// handled by reopening with backoff.
    pub async fn open<O, Fut, S>(opener: O, config: SlcanConfig) -> Result<Self, CanError>
    where
        O: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = io::Result<S>> + Send + 'static,
        S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let (requests, req_rx) = mpsc::channel(64);
        let (frames_tx, frames_rx) = mpsc::channel(config.rx_capacity.max(1));
        let (state_tx, state) = watch::channel(LinkState::Opening);
        let counters = Arc::new(Counters::default());
        let (first_tx, first_rx) = oneshot::channel();
        let ctx = driver::Context {
            config,
            requests: req_rx,
            frames: frames_tx,
            state: state_tx,
            counters: counters.clone(),
        };
        tokio::spawn(driver::run(opener, ctx, first_tx));
        first_rx.await.unwrap_or(Err(CanError::Closed))?;
        Ok(Self {
            requests,
            rx: Mutex::new(frames_rx),
            state,
            counters,
        })
    }

    /// Opens a serial port (a USB CDC adapter such as CANable, or a UART bridge at
    /// `serial_baud`) with tokio-serial, reopening the same path after a loss.
    pub async fn open_serial(
        path: &str,
        serial_baud: u32,
        config: SlcanConfig,
    ) -> Result<Self, CanError> {
        use tokio_serial::SerialPortBuilderExt as _;
        let path = path.to_owned();
        let opener = move || {
            let opened = tokio_serial::new(&path, serial_baud)
                .open_native_async()
                .map_err(io::Error::from);
            async move { opened }
        };
        Self::open(opener, config).await
    }

    /// Sends `frame` and waits for the adapter's acknowledgement (`z`/`Z`/CR), its refusal
    /// (BELL → [`CanError::Rejected`]) or the ack timeout ([`CanError::TxTimeout`]).
    pub async fn send_confirmed(&self, frame: &CanFrame) -> Result<(), CanError> {
        self.request(*frame, true).await
    }

    /// The link state now.
    pub fn link_state(&self) -> LinkState {
        *self.state.borrow()
    }

    /// A receiver of link state changes (for event-driven waits).
    pub fn link_states(&self) -> watch::Receiver<LinkState> {
        self.state.clone()
    }

    /// Counters since creation.
    pub fn stats(&self) -> SlcanStats {
        self.counters.snapshot()
    }

    async fn request(&self, frame: CanFrame, confirm: bool) -> Result<(), CanError> {
        let (done, result) = oneshot::channel();
        self.requests
            .send(Request::Frame {
                frame,
                confirm,
                done,
            })
            .await
            .map_err(|_| CanError::Closed)?;
        result.await.unwrap_or(Err(CanError::Closed))
    }
}

impl CanTransport for SlcanTransport {
    /// Returns once the frame is written to the adapter; acknowledgements are tracked in the
    /// background (see [`SlcanTransport::stats`], [`SlcanTransport::send_confirmed`]).
    async fn send(&self, frame: &CanFrame) -> Result<(), CanError> {
        self.request(*frame, false).await
    }

    async fn recv(&self) -> Result<CanFrame, CanError> {
        let mut rx = self.rx.lock().await;
        rx.recv().await.unwrap_or(Err(CanError::Closed))
    }

    async fn close(&self) -> Result<(), CanError> {
        let (done, closed) = oneshot::channel();
        if self.requests.send(Request::Close { done }).await.is_err() {
            return Ok(());
        }
        let _ = closed.await;
        Ok(())
    }
}
