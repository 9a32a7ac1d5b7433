//! RTU server over any byte stream: frames requests by function code and byte count (by
//! t3.5 of silence for function codes we do not know), drops frames with a bad CRC as a slave
//! must, answers after t3.5 of silence, and never answers a broadcast.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::{Instant, timeout};
use tracing::debug;

use super::Service;
use crate::client::rtu::DEFAULT_ADAPTER_SLACK;
use crate::codec::rtu as codec;
use crate::frame::ExceptionResponse;
use crate::timing::RtuTiming;
use crate::{ExceptionCode, FrameError, ResponsePdu};

/// Timing of the served line.
#[derive(Debug, Clone, Copy)]
pub struct RtuServerConfig {
    /// Character and silence times.
    pub timing: RtuTiming,
    /// Gap after which a partial frame is dropped.
    pub inter_char_timeout: Duration,
}

impl RtuServerConfig {
    /// Timing for `baud`, backstop max(t1.5, 20 ms) as on the client.
    pub fn new(baud: u32) -> Self {
        let timing = RtuTiming::from_baud(baud);
        Self {
            timing,
            inter_char_timeout: timing.t15.max(DEFAULT_ADAPTER_SLACK),
        }
    }
}

/// Serves `service` on `io` until EOF (`Ok`) or an I/O error.
pub async fn serve<S, T>(mut io: T, service: Arc<S>, config: RtuServerConfig) -> io::Result<()>
where
    S: Service,
    T: AsyncRead + AsyncWrite + Unpin,
{
    let mut rx = Vec::with_capacity(codec::MAX_FRAME);
    let mut out = Vec::with_capacity(codec::MAX_FRAME);
    let mut last_rx = Instant::now();
    loop {
        if rx.is_empty() {
            if !read_into(&mut io, &mut rx).await? {
                return Ok(());
            }
            last_rx = Instant::now();
        }
        let frame: Vec<u8> = match codec::request_len(&rx) {
            Ok(Some(n)) if rx.len() >= n => rx.drain(..n).collect(),
            Ok(_) => {
                match timeout(config.inter_char_timeout, read_into(&mut io, &mut rx)).await {
                    Ok(Ok(true)) => last_rx = Instant::now(),
                    Ok(Ok(false)) => return Ok(()),
                    Ok(Err(e)) => return Err(e),
                    Err(_) => {
                        debug!(bytes = rx.len(), "Dropped an incomplete RTU request.");
                        rx.clear();
                    }
                }
                continue;
            }
            Err(_) => {
                // Unknown length: the frame ends with t3.5 of silence.
                loop {
                    match timeout(config.timing.t35, read_into(&mut io, &mut rx)).await {
                        Ok(Ok(true)) => last_rx = Instant::now(),
                        Ok(Ok(false)) => return Ok(()),
                        Ok(Err(e)) => return Err(e),
                        Err(_) => break,
                    }
                }
                std::mem::take(&mut rx)
            }
        };
        let Some((unit, reply)) = answer(&*service, &frame).await else {
            continue;
        };
        out.clear();
        if let Err(e) = codec::encode_response(unit, &reply, &mut out) {
            debug!(unit, error = %e, "Service answer does not fit a frame.");
            let function = frame.get(1).copied().unwrap_or(0);
            let failure = Err(ExceptionResponse {
                function,
                code: ExceptionCode::ServerDeviceFailure,
            });
            out.clear();
            codec::encode_response(unit, &failure, &mut out).map_err(io::Error::other)?;
        }
        crate::timing::sleep_until_precise(last_rx + config.timing.t35).await;
        io.write_all(&out).await?;
        io.flush().await?;
    }
}

/// The reply to one whole frame, if any.
async fn answer<S: Service>(service: &S, frame: &[u8]) -> Option<(u8, ResponsePdu)> {
    let (unit, function) = (*frame.first()?, frame.get(1).copied().unwrap_or(0));
    let reply = match codec::decode_request(frame) {
        Ok(f) => service
            .call(f.unit, f.pdu)
            .await?
            .map_err(|code| ExceptionResponse { function, code }),
        Err(e @ (FrameError::Crc { .. } | FrameError::Truncated { .. })) => {
            debug!(unit, error = %e, "Dropped an RTU request.");
            return None;
        }
        Err(e) => Err(ExceptionResponse {
            function,
            code: e.exception_code()?,
        }),
    };
    (unit != 0).then_some((unit, reply))
}

/// Appends what the stream has; `false` at EOF.
async fn read_into<T: AsyncRead + Unpin>(io: &mut T, rx: &mut Vec<u8>) -> io::Result<bool> {
    let mut buf = [0u8; codec::MAX_FRAME];
    let n = io.read(&mut buf).await?;
    rx.extend_from_slice(&buf[..n]);
    Ok(n > 0)
}
