//! Modbus RTU client over any byte stream: a tokio-serial port in production, a pseudo-terminal
//! pair or `tokio::io::duplex` in tests. One transaction at a time (the line is one actor's).
//!
//! Timing rules (protocols.md §2.2): ≥ t3.5 of silence since the last byte seen or sent before
//! every transmit, input drained first; sent-complete = write time + n × char time; frame end
//! from function code and byte count, with an inter-character timeout only as a backstop; CRC
//! checked; responses from another unit, for another function or of another length are
//! discarded as late; broadcasts wait a turnaround delay instead of a response.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::{Instant, sleep_until, timeout_at};
use tracing::{debug, warn};

use super::CallOptions;
use super::io::drain_ready;
use crate::codec::rtu as codec;
use crate::timing::RtuTiming;
use crate::{CallResult, Exception, FrameError, LinkError, Request, Response};

/// Slack for USB adapters that deliver bytes in bursts (FTDI's latency timer defaults to 16 ms,
/// protocols.md §2.1), used in the inter-character backstop.
pub const DEFAULT_ADAPTER_SLACK: Duration = Duration::from_millis(20);

/// Settings of an RTU line.
#[derive(Debug, Clone)]
pub struct RtuConfig {
    /// Bus name for logs (tracing field `bus`).
    pub bus: String,
    /// Baud rate; sets the character time (11 bits per character).
    pub baud: u32,
    /// Overrides t3.5 (e.g. a device that needs longer gaps).
    pub t35: Option<Duration>,
    /// Overrides the inter-character backstop, default max(t1.5, 20 ms).
    pub inter_char_timeout: Option<Duration>,
    /// Time from sent-complete to the first response byte (libmodbus uses 500 ms).
    pub response_timeout: Duration,
    /// Resends after a timeout, CRC or framing error.
    pub retries: u8,
    /// Wait after a broadcast so every unit can process it (vendors: 0–200 ms).
    pub broadcast_turnaround: Duration,
    /// Read back and discard our own bytes (2-wire adapters without echo suppression).
    pub local_echo: bool,
}

impl RtuConfig {
    /// Defaults for `baud`: 500 ms response timeout, no retries, 100 ms broadcast turnaround.
    pub fn new(baud: u32) -> Self {
        Self {
            bus: String::new(),
            baud,
            t35: None,
            inter_char_timeout: None,
            response_timeout: Duration::from_millis(500),
            retries: 0,
            broadcast_turnaround: Duration::from_millis(100),
            local_echo: false,
        }
    }

    /// The line's timing with the t3.5 override applied.
    pub fn timing(&self) -> RtuTiming {
        let mut t = RtuTiming::from_baud(self.baud);
        if let Some(t35) = self.t35 {
            t.t35 = t35;
        }
        t
    }

    /// This line's response timeout and retries.
    pub fn call_options(&self) -> CallOptions {
        CallOptions {
            response_timeout: self.response_timeout,
            retries: self.retries,
        }
    }

    /// The inter-character backstop in force.
    pub fn inter_char_backstop(&self) -> Duration {
        self.inter_char_timeout
            .unwrap_or_else(|| self.timing().t15.max(DEFAULT_ADAPTER_SLACK))
    }
}

/// An RTU master on one line.
#[derive(Debug)]
pub struct RtuClient<T> {
    io: T,
    config: RtuConfig,
    timing: RtuTiming,
    backstop: Duration,
    /// Time of the last byte seen or (estimated) fully sent.
    last_activity: Instant,
    rx: Vec<u8>,
    tx: Vec<u8>,
}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> RtuClient<T> {
    /// A client on `io`. The line counts as busy now, so the first transmit waits t3.5.
    pub fn new(io: T, config: RtuConfig) -> Self {
        Self {
            io,
            timing: config.timing(),
            backstop: config.inter_char_backstop(),
            config,
            last_activity: Instant::now(),
            rx: Vec::with_capacity(codec::MAX_FRAME),
            tx: Vec::with_capacity(codec::MAX_FRAME),
        }
    }

    /// Settings.
    pub fn config(&self) -> &RtuConfig {
        &self.config
    }

    /// The stream.
    pub fn get_ref(&self) -> &T {
        &self.io
    }

    /// Gives the stream back.
    pub fn into_inner(self) -> T {
        self.io
    }

    /// One transaction with `unit` (1–247), with the configured timeout and retries.
    pub async fn call(&mut self, unit: u8, request: &Request) -> CallResult<Response> {
        self.call_with(unit, request, self.config.call_options())
            .await
    }

    /// One transaction with `unit` (1–247), with its own timeout and retries.
    pub async fn call_with(
        &mut self,
        unit: u8,
        request: &Request,
        opts: CallOptions,
    ) -> CallResult<Response> {
        if unit == 0 {
            let source = FrameError::Broadcast {
                function: request.function(),
            };
            return Err(LinkError::InvalidRequest { unit, source });
        }
        self.tx.clear();
        codec::encode_request(unit, request, &mut self.tx)
            .map_err(|source| LinkError::InvalidRequest { unit, source })?;
        let mut attempt = 0;
        loop {
            match self.transact(unit, request, opts.response_timeout).await {
                Err(e) if e.is_retryable() && attempt < opts.retries => {
                    attempt += 1;
                    warn!(bus = %self.config.bus, unit, attempt, error = %e, "Retrying Modbus RTU request.");
                }
                other => return other,
            }
        }
    }

    /// Sends a write to every unit (unit 0): no response, then the turnaround delay.
    pub async fn broadcast(&mut self, request: &Request) -> Result<(), LinkError> {
        self.tx.clear();
        codec::encode_request(0, request, &mut self.tx)
            .map_err(|source| LinkError::InvalidRequest { unit: 0, source })?;
        self.wait_idle().await?;
        self.send(0).await?;
        sleep_until(self.last_activity + self.config.broadcast_turnaround).await;
        Ok(())
    }

    async fn transact(
        &mut self,
        unit: u8,
        request: &Request,
        timeout: Duration,
    ) -> CallResult<Response> {
        self.wait_idle().await?;
        self.send(unit).await?;
        let function = request.function();
        let deadline = self.last_activity + timeout;
        loop {
            let Some(frame) = self.read_frame(unit, deadline).await? else {
                // A late answer may be starting right now: the next transmit waits t3.5 from here.
                self.last_activity = self.last_activity.max(Instant::now());
                return Err(LinkError::Timeout {
                    unit,
                    function,
                    timeout,
                });
            };
            let decoded = match codec::decode_response(&frame) {
                Ok(f) => f,
                Err(FrameError::Crc { expected, got }) => {
                    return Err(LinkError::Crc {
                        unit,
                        expected,
                        got,
                    });
                }
                Err(source) => return Err(LinkError::Framing { unit, source }),
            };
            let discard = |why: &str| {
                debug!(bus = %self.config.bus, unit, from = decoded.unit, why, "Discarded a late or mismatched frame.");
            };
            if decoded.unit != unit {
                discard("other unit");
                continue;
            }
            match decoded.pdu {
                Err(e) if e.function == function => {
                    return Ok(Err(Exception {
                        unit,
                        function,
                        code: e.code,
                    }));
                }
                Ok(resp) if resp.function() == function => match request.check_response(resp) {
                    Ok(resp) => return Ok(Ok(resp)),
                    Err(detail) => discard(&detail),
                },
                _ => discard("other function"),
            }
        }
    }

    /// Waits until the line has been silent for t3.5, draining whatever arrives meanwhile.
    async fn wait_idle(&mut self) -> Result<(), LinkError> {
        let start = Instant::now();
        loop {
            crate::timing::sleep_until_precise(self.last_activity + self.timing.t35).await;
            let stray = drain_ready(&mut self.io).await? + self.rx.len();
            self.rx.clear();
            if stray == 0 {
                return Ok(());
            }
            debug!(bus = %self.config.bus, bytes = stray, "Drained stray bytes before transmit.");
            self.last_activity = Instant::now();
            let waited = self.last_activity - start;
            if waited > self.config.response_timeout {
                return Err(LinkError::LineBusy { waited });
            }
        }
    }

    async fn send(&mut self, unit: u8) -> Result<(), LinkError> {
        self.io.write_all(&self.tx).await?;
        self.io.flush().await?;
        // Don't trust the OS to know when the last bit left (USB adapters buffer).
        self.last_activity = Instant::now() + self.timing.frame_time(self.tx.len());
        if self.config.local_echo {
            let deadline = self.last_activity + self.backstop;
            let mut echo = vec![0u8; self.tx.len()];
            match timeout_at(deadline, self.io.read_exact(&mut echo)).await {
                Ok(Ok(_)) if echo == self.tx => {}
                Ok(Err(e)) => return Err(e.into()),
                _ => {
                    return Err(LinkError::Echo {
                        unit,
                        sent: self.tx.len(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Reads one frame: the first byte by `deadline` (else `None`), the rest by length with the
    /// inter-character backstop.
    async fn read_frame(
        &mut self,
        unit: u8,
        deadline: Instant,
    ) -> Result<Option<Vec<u8>>, LinkError> {
        while self.rx.is_empty() {
            match timeout_at(deadline, self.read_some()).await {
                Err(_) => return Ok(None),
                Ok(r) => r?,
            }
        }
        loop {
            match codec::response_len(&self.rx) {
                Ok(Some(n)) if self.rx.len() >= n => return Ok(Some(self.rx.drain(..n).collect())),
                Ok(needed) => match tokio::time::timeout(self.backstop, self.read_some()).await {
                    Ok(r) => r?,
                    Err(_) => {
                        let got = self.rx.len();
                        self.rx.clear();
                        let source = FrameError::Truncated {
                            needed: needed.unwrap_or(got + 1),
                            got,
                        };
                        return Err(LinkError::Framing { unit, source });
                    }
                },
                Err(source) => {
                    // Out of sync: the next wait_idle drains the rest of whatever this is.
                    self.rx.clear();
                    return Err(LinkError::Framing { unit, source });
                }
            }
        }
    }

    async fn read_some(&mut self) -> Result<(), LinkError> {
        let mut buf = [0u8; codec::MAX_FRAME];
        let n = self.io.read(&mut buf).await?;
        if n == 0 {
            return Err(LinkError::Disconnected);
        }
        self.rx.extend_from_slice(&buf[..n]);
        self.last_activity = self.last_activity.max(Instant::now());
        Ok(())
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> super::Client for RtuClient<T> {
    fn call(
        &mut self,
        unit: u8,
        request: &Request,
    ) -> impl Future<Output = CallResult<Response>> + Send {
        RtuClient::call(self, unit, request)
    }
}
