//! One exchange on the wire: wait out the inter-request gap, send the request, skip our own
//! echo, and read until the framer has one reply or the response timeout ends it.

use linevisor_modbus::timing::sleep_until_precise;
use linevisor_serial::{Reply, SerialError};
use std::pin::Pin;
use std::task::Poll;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use tokio::io::{AsyncRead, ReadBuf};
use tokio::time::{Instant, timeout_at};
use tracing::debug;

use super::PortTask;
use crate::link::Counted;
use crate::serial::exchange::{Exchange, SerialLinkError};

/// Read buffer: longer than any reply a profile allows (ASCII replies are at most 1024 bytes).
const READ_CHUNK: usize = 256;

/// What came back: a well-formed reply or the drive's refusal, or a link fault.
pub(super) type Outcome = Result<Result<Reply, SerialError>, SerialLinkError>;

impl PortTask {
    /// Carries out one exchange with the drive at `address` (never cancelled half-way: a
    /// request cut short would confuse the drives on the line).
    pub(super) async fn exchange(&mut self, address: u8, exchange: &Exchange) -> Outcome {
        if !self.s.gap.is_zero() {
            sleep_until_precise(self.idle_since + self.s.gap).await;
        }
        let outcome = self.send_and_read(address, exchange).await;
        self.idle_since = Instant::now();
        outcome
    }

    async fn send_and_read(&mut self, address: u8, exchange: &Exchange) -> Outcome {
        let Some(port) = self.port.as_mut() else {
            return Err(port_error("the port is closed"));
        };
        // Bytes already waiting belong to no exchange (a reply that came after its timeout):
        // drop them, or they would pass for the answer to this request.
        let mut buf = [0u8; READ_CHUNK];
        let mut stale = 0;
        while let Some(n @ 1..) = ready_now(port, &mut buf).await {
            stale += n;
        }
        if stale > 0 {
            debug!(
                address,
                bytes = stale,
                "Dropped late bytes before a request."
            );
        }
        let mut framer = exchange.framer();
        if self.s.echo {
            framer.expect_echo(exchange.bytes());
        }
        let sent = async {
            port.write_all(exchange.bytes()).await?;
            port.flush().await
        };
        if let Err(e) = sent.await {
            return Err(port_error(e));
        }
        let deadline = Instant::now() + self.s.response_timeout;
        loop {
            let n = match timeout_at(deadline, port.read(&mut buf)).await {
                Err(_elapsed) => {
                    return Err(match framer.reset() {
                        // Bytes came but no whole reply: cut short (or a reply to nobody).
                        Some(source) => SerialLinkError::Reply { address, source },
                        None => SerialLinkError::Timeout {
                            address,
                            timeout: self.s.response_timeout,
                        },
                    });
                }
                Ok(Err(e)) => return Err(port_error(e)),
                Ok(Ok(0)) => return Err(port_error("the port closed (end of stream)")),
                Ok(Ok(n)) => n,
            };
            // The first framed reply settles the exchange; anything after it is stale.
            if let Some(first) = framer.push(&buf[..n]).into_iter().next() {
                return match first.and_then(|reply| exchange.parse(&reply)) {
                    Ok(reply) => Ok(Ok(reply)),
                    Err(e) if e.is_refusal() => Ok(Err(e)),
                    Err(source) => Err(SerialLinkError::Reply { address, source }),
                };
            }
        }
    }
}

/// Bytes the port has already received, without waiting (a zero timeout would wait for the
/// timer's next millisecond tick: a millisecond per exchange); `None` if there are none.
async fn ready_now(port: &mut Counted, buf: &mut [u8]) -> Option<usize> {
    std::future::poll_fn(|cx| {
        let mut rb = ReadBuf::new(buf);
        Poll::Ready(match Pin::new(&mut *port).poll_read(cx, &mut rb) {
            Poll::Ready(Ok(())) => Some(rb.filled().len()),
            Poll::Ready(Err(_)) | Poll::Pending => None,
        })
    })
    .await
}

fn port_error(e: impl std::fmt::Display) -> SerialLinkError {
    SerialLinkError::Port {
        reason: e.to_string(),
    }
}
