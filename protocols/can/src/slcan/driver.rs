//! The task behind [`SlcanTransport`](super::SlcanTransport): owns the stream, multiplexes
//! reads, writes, acknowledgements and reopening in one `select!` loop. Writes are partial and
//! cancel safe, so a peer that floods us while we write can never deadlock the link.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{Instant, sleep_until, timeout_at};
use tracing::{Instrument as _, debug, info, info_span, warn};

use super::codec::{Command, Reply, encode_command};
use super::decoder::Decoder;
use super::transport::{Counters, LinkState, SlcanConfig};
use crate::{CanError, CanFrame};
use linevisor_core::Retry;

/// A request from the handle.
#[derive(Debug)]
pub(crate) enum Request {
    Frame {
        frame: CanFrame,
        confirm: bool,
        done: oneshot::Sender<Result<(), CanError>>,
    },
    Close {
        done: oneshot::Sender<()>,
    },
}

pub(crate) struct Context {
    pub(crate) config: SlcanConfig,
    pub(crate) requests: mpsc::Receiver<Request>,
    pub(crate) frames: mpsc::Sender<Result<CanFrame, CanError>>,
    pub(crate) state: watch::Sender<LinkState>,
    pub(crate) counters: Arc<Counters>,
}

/// How a session ended.
enum End {
    Closed,
    Lost(CanError),
}

pub(crate) async fn run<O, Fut, S>(
    mut opener: O,
    mut ctx: Context,
    first: oneshot::Sender<Result<(), CanError>>,
) where
    O: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = io::Result<S>> + Send + 'static,
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let span = info_span!("slcan", bus = %ctx.config.name);
    async move {
        let mut backoff = Retry::new(ctx.config.reopen_initial, ctx.config.reopen_max);
        let mut first = Some(first);
        loop {
            let _ = ctx.state.send(LinkState::Opening);
            let opened = match opener().await {
                Ok(stream) => init(stream, &ctx.config).await,
                Err(e) => Err(CanError::Open {
                    what: ctx.config.name.clone(),
                    reason: e.to_string(),
                }),
            };
            let (rd, wr, decoder) = match opened {
                Ok(parts) => parts,
                Err(e) => {
                    if let Some(first) = first.take() {
                        let _ = first.send(Err(e));
                        let _ = ctx.state.send(LinkState::Closed);
                        return;
                    }
                    let retry_in = backoff.next_delay();
                    warn!(error = %e, ?retry_in, "Cannot reopen the slcan adapter.");
                    let attempt = backoff.attempt();
                    let _ = ctx.state.send(LinkState::Down { attempt, retry_in });
                    if refuse_until(&mut ctx.requests, Instant::now() + retry_in).await {
                        let _ = ctx.state.send(LinkState::Closed);
                        return;
                    }
                    continue;
                }
            };
            backoff.reset();
            ctx.counters.opens.fetch_add(1, Ordering::Relaxed);
            info!(
                bitrate = ctx.config.bitrate.bits_per_second(),
                "slcan adapter open."
            );
            let _ = ctx.state.send(LinkState::Up);
            if let Some(first) = first.take() {
                let _ = first.send(Ok(()));
            }
            match Session::new(&mut ctx, decoder).run(rd, wr).await {
                End::Closed => {
                    let _ = ctx.state.send(LinkState::Closed);
                    return;
                }
                End::Lost(e) => {
                    warn!(error = %e, "slcan adapter lost; reopening.");
                    let _ = ctx.frames.try_send(Err(CanError::Disconnected));
                }
            }
        }
    }
    .instrument(span)
    .await
}

type Parts<S> = (ReadHalf<S>, WriteHalf<S>, Decoder);

/// Start-up as python-can does it: `C` (its answer ignored: BELL if already closed), `Sn`, `O`.
async fn init<S>(stream: S, config: &SlcanConfig) -> Result<Parts<S>, CanError>
where
    S: AsyncRead + AsyncWrite + Send + Unpin,
{
    let (mut rd, mut wr) = tokio::io::split(stream);
    let mut decoder = Decoder::new();
    for command in [
        Command::Close,
        Command::Bitrate(config.bitrate),
        Command::Open,
    ] {
        let mut line = Vec::new();
        encode_command(&command, &mut line);
        wr.write_all(&line).await?;
        let deadline = Instant::now() + config.reply_timeout;
        match timeout_at(deadline, reply(&mut rd, &mut decoder)).await {
            Ok(Ok(Reply::Error)) if command != Command::Close => {
                return Err(CanError::Rejected {
                    command: String::from_utf8_lossy(&line).trim_end().to_owned(),
                });
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) if command == Command::Close => {}
            Err(_) => warn!(?command, "No answer from the slcan adapter; carrying on."),
        }
    }
    Ok((rd, wr, decoder))
}

/// The next OK/error answer, skipping frames still arriving from before the close.
async fn reply<S: AsyncRead>(
    rd: &mut ReadHalf<S>,
    decoder: &mut Decoder,
) -> Result<Reply, CanError> {
    let mut buf = [0u8; 256];
    loop {
        while let Some(unit) = decoder.next_reply() {
            match unit {
                Ok(r @ (Reply::Ok | Reply::Error | Reply::TxAck { .. })) => return Ok(r),
                other => debug!(?other, "Skipped during start-up."),
            }
        }
        let n = rd.read(&mut buf).await?;
        if n == 0 {
            return Err(CanError::Disconnected);
        }
        decoder.push(&buf[..n]);
    }
}

/// While the link is down: refuse frames with `NotOpen` until `until`. True if closed.
async fn refuse_until(requests: &mut mpsc::Receiver<Request>, until: Instant) -> bool {
    loop {
        tokio::select! {
            _ = sleep_until(until) => return false,
            req = requests.recv() => match req {
                None => return true,
                Some(Request::Close { done }) => {
                    let _ = done.send(());
                    return true;
                }
                Some(Request::Frame { done, .. }) => {
                    let retry_in = until.saturating_duration_since(Instant::now());
                    let _ = done.send(Err(CanError::NotOpen { retry_in }));
                }
            },
        }
    }
}

struct PendingAck {
    frame: CanFrame,
    deadline: Instant,
    confirm: Option<oneshot::Sender<Result<(), CanError>>>,
}

struct Session<'a> {
    ctx: &'a mut Context,
    decoder: Decoder,
    out: Vec<u8>,
    queued: u64,
    written: u64,
    /// Non-confirmed senders, released when the stream has taken their bytes.
    write_waiters: VecDeque<(u64, oneshot::Sender<Result<(), CanError>>)>,
    acks: VecDeque<PendingAck>,
}

impl<'a> Session<'a> {
    fn new(ctx: &'a mut Context, decoder: Decoder) -> Self {
        Self {
            ctx,
            decoder,
            out: Vec::new(),
            queued: 0,
            written: 0,
            write_waiters: VecDeque::new(),
            acks: VecDeque::new(),
        }
    }

    async fn run<S: AsyncRead + AsyncWrite>(
        mut self,
        mut rd: ReadHalf<S>,
        mut wr: WriteHalf<S>,
    ) -> End {
        let mut buf = [0u8; 1024];
        let mut closing: Option<oneshot::Sender<()>> = None;
        let end = loop {
            self.handle_units();
            if closing.is_some() && self.out.is_empty() {
                break End::Closed;
            }
            let window_open =
                closing.is_none() && self.acks.len() < self.ctx.config.ack_window.max(1);
            let next_deadline = self.acks.front().map(|a| a.deadline);
            tokio::select! {
                read = rd.read(&mut buf) => match read {
                    Ok(0) => break End::Lost(CanError::Disconnected),
                    Ok(n) => self.decoder.push(&buf[..n]),
                    Err(e) => break End::Lost(e.into()),
                },
                wrote = wr.write(&self.out), if !self.out.is_empty() => match wrote {
                    Ok(0) => break End::Lost(CanError::Disconnected),
                    Ok(n) => self.wrote(n),
                    Err(e) => break End::Lost(e.into()),
                },
                req = self.ctx.requests.recv(), if window_open && self.out.len() < 4096 => {
                    match req {
                        Some(Request::Frame { frame, confirm, done }) => self.queue(frame, confirm, done),
                        Some(Request::Close { done }) => {
                            encode_command(&Command::Close, &mut self.out);
                            self.queued = self.written + self.out.len() as u64;
                            closing = Some(done);
                        }
                        None => {
                            encode_command(&Command::Close, &mut self.out);
                            closing = Some(oneshot::channel().0);
                        }
                    }
                },
                _ = sleep_until(next_deadline.unwrap_or_else(Instant::now)), if next_deadline.is_some() => {
                    self.ack_timed_out();
                },
            }
        };
        let _ = wr.flush().await;
        let error = match &end {
            End::Closed => CanError::Closed,
            End::Lost(_) => CanError::Disconnected,
        };
        for (_, done) in self.write_waiters.drain(..) {
            let _ = done.send(Err(error.clone()));
        }
        for ack in self.acks.drain(..) {
            if let Some(done) = ack.confirm {
                let _ = done.send(Err(error.clone()));
            }
        }
        if let Some(done) = closing {
            let _ = done.send(());
        }
        end
    }

    fn queue(
        &mut self,
        frame: CanFrame,
        confirm: bool,
        done: oneshot::Sender<Result<(), CanError>>,
    ) {
        encode_command(&Command::Transmit(frame), &mut self.out);
        self.queued = self.written + self.out.len() as u64;
        self.ctx.counters.tx_frames.fetch_add(1, Ordering::Relaxed);
        let (confirm, waiter) = if confirm {
            (Some(done), None)
        } else {
            (None, Some(done))
        };
        if let Some(done) = waiter {
            self.write_waiters.push_back((self.queued, done));
        }
        self.acks.push_back(PendingAck {
            frame,
            deadline: Instant::now() + self.ctx.config.ack_timeout,
            confirm,
        });
    }

    fn wrote(&mut self, n: usize) {
        self.out.drain(..n.min(self.out.len()));
        self.written += n as u64;
        while let Some((end, _)) = self.write_waiters.front() {
            if *end > self.written {
                break;
            }
            if let Some((_, done)) = self.write_waiters.pop_front() {
                let _ = done.send(Ok(()));
            }
        }
    }

    fn handle_units(&mut self) {
        while let Some(unit) = self.decoder.next_reply() {
            match unit {
                Ok(Reply::Frame { frame, .. }) => {
                    self.ctx.counters.rx_frames.fetch_add(1, Ordering::Relaxed);
                    if self.ctx.frames.try_send(Ok(frame)).is_err() {
                        self.ctx
                            .counters
                            .rx_overruns
                            .fetch_add(1, Ordering::Relaxed);
                    }
                }
                Ok(Reply::Ok | Reply::TxAck { .. }) => self.acked(Ok(())),
                Ok(Reply::Error) => self.acked(Err(())),
                Ok(Reply::Info { kind, text }) => debug!(%kind, %text, "Adapter info ignored."),
                Err(e) => {
                    self.ctx.counters.garbage.fetch_add(1, Ordering::Relaxed);
                    debug!(error = %e, "Resynchronised after garbage.");
                }
            }
        }
    }

    fn acked(&mut self, result: Result<(), ()>) {
        let Some(ack) = self.acks.pop_front() else {
            debug!(
                ?result,
                "Acknowledgement with no frame outstanding ignored."
            );
            return;
        };
        let result = match result {
            Ok(()) => {
                self.ctx.counters.tx_acked.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(()) => {
                self.ctx
                    .counters
                    .tx_rejected
                    .fetch_add(1, Ordering::Relaxed);
                warn!(frame = %ack.frame, "The slcan adapter refused a frame (BELL).");
                let mut line = Vec::new();
                encode_command(&Command::Transmit(ack.frame), &mut line);
                Err(CanError::Rejected {
                    command: String::from_utf8_lossy(&line).trim_end().to_owned(),
                })
            }
        };
        if let Some(done) = ack.confirm {
            let _ = done.send(result);
        }
    }

    fn ack_timed_out(&mut self) {
        let now = Instant::now();
        while self.acks.front().is_some_and(|a| a.deadline <= now) {
            let Some(ack) = self.acks.pop_front() else {
                break;
            };
            self.ctx
                .counters
                .tx_ack_timeouts
                .fetch_add(1, Ordering::Relaxed);
            debug!(frame = %ack.frame, "No transmit acknowledgement.");
            if let Some(done) = ack.confirm {
                let _ = done.send(Err(CanError::TxTimeout {
                    frame: ack.frame.to_string(),
                    timeout: self.ctx.config.ack_timeout,
                }));
            }
        }
    }
}
