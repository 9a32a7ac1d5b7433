//! The in-flight window of a TCP client: requests sent up to the window, answers matched by
//! transaction id (unknown ids discarded), expiry, retries and the loss of the connection.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::time::Instant;
use tracing::{debug, warn};

use super::TcpClient;
use crate::client::Connect;
use crate::codec::tcp as codec;
use crate::frame::MbapHeader;
use crate::{CallResult, Exception, LinkError, Request, Response};

pub(super) struct InFlight {
    pub(super) index: usize,
    pub(super) transaction_id: u16,
    pub(super) unit: u8,
    pub(super) function: u8,
    pub(super) deadline: Instant,
    pub(super) timeout: Duration,
    pub(super) attempt: u8,
}

impl<C: Connect> TcpClient<C> {
    /// Sends queued requests until the window is full.
    pub(super) async fn fill(
        &mut self,
        calls: &[(u8, &Request)],
        queue: &mut VecDeque<(usize, u8)>,
        flying: &mut Vec<InFlight>,
        out: &mut [Option<CallResult<Response>>],
    ) -> Result<(), LinkError> {
        while flying.len() < self.config.window.max(1) {
            let Some((index, attempt)) = queue.pop_front() else {
                break;
            };
            let (unit, request) = calls[index];
            let transaction_id = self.next_transaction_id;
            self.next_transaction_id = transaction_id.wrapping_add(1);
            self.tx.clear();
            let header = MbapHeader {
                transaction_id,
                unit,
            };
            if let Err(source) = codec::encode_request(header, request, &mut self.tx) {
                out[index] = Some(Err(LinkError::InvalidRequest { unit, source }));
                continue;
            }
            let timeout = self
                .timeouts
                .get(index)
                .copied()
                .unwrap_or(self.opts.response_timeout);
            let deadline = Instant::now() + timeout;
            let function = request.function();
            // Counted as in flight before the write so a failed write is retried like the rest.
            flying.push(InFlight {
                index,
                transaction_id,
                unit,
                function,
                deadline,
                timeout,
                attempt,
            });
            let Some(conn) = self.conn.as_mut() else {
                return Err(LinkError::Disconnected);
            };
            conn.io.write_all(&self.tx).await?;
        }
        Ok(())
    }

    pub(super) fn expire(
        &mut self,
        queue: &mut VecDeque<(usize, u8)>,
        flying: &mut Vec<InFlight>,
        out: &mut [Option<CallResult<Response>>],
    ) {
        let now = Instant::now();
        for f in extract(flying, |f| f.deadline <= now) {
            let e = LinkError::Timeout {
                unit: f.unit,
                function: f.function,
                timeout: f.timeout,
            };
            self.retry_or_fail(f, e, queue, out);
        }
    }

    /// The connection is gone: everything in flight is retried (after a reconnect) or fails.
    pub(super) fn lost(
        &mut self,
        e: LinkError,
        queue: &mut VecDeque<(usize, u8)>,
        flying: &mut Vec<InFlight>,
        out: &mut [Option<CallResult<Response>>],
    ) {
        warn!(bus = %self.config.bus, peer = %self.connector.peer(), error = %e, "Modbus TCP connection lost.");
        self.conn = None;
        // The first reconnect is immediate; failures then back off.
        self.next_attempt = None;
        for f in flying.drain(..).rev() {
            let e = e.clone().for_unit(f.unit);
            self.retry_or_fail(f, e, queue, out);
        }
    }

    pub(super) fn retry_or_fail(
        &self,
        f: InFlight,
        e: LinkError,
        queue: &mut VecDeque<(usize, u8)>,
        out: &mut [Option<CallResult<Response>>],
    ) {
        if e.is_retryable() && f.attempt < self.opts.retries {
            warn!(bus = %self.config.bus, unit = f.unit, attempt = f.attempt + 1, error = %e, "Retrying Modbus TCP request.");
            queue.push_front((f.index, f.attempt + 1));
        } else {
            out[f.index] = Some(Err(e));
        }
    }

    pub(super) fn deliver(
        &mut self,
        frame: &[u8],
        calls: &[(u8, &Request)],
        queue: &mut VecDeque<(usize, u8)>,
        flying: &mut Vec<InFlight>,
        out: &mut [Option<CallResult<Response>>],
    ) {
        let transaction_id = u16::from_be_bytes([frame[0], frame[1]]);
        let Some(pos) = flying
            .iter()
            .position(|f| f.transaction_id == transaction_id)
        else {
            debug!(bus = %self.config.bus, transaction_id, "Discarded a response with an unknown transaction id.");
            return;
        };
        let f = flying.swap_remove(pos);
        let (unit, function, request) = (f.unit, f.function, calls[f.index].1);
        let result = match codec::decode_response(frame) {
            Err(source) => {
                return self.retry_or_fail(f, LinkError::Framing { unit, source }, queue, out);
            }
            Ok(d) if d.header.unit != unit => Err(LinkError::UnexpectedUnit {
                expected: unit,
                got: d.header.unit,
            }),
            Ok(d) => match d.pdu {
                Err(e) if e.function == function => Ok(Err(Exception {
                    unit,
                    function,
                    code: e.code,
                })),
                Err(e) => Err(LinkError::UnexpectedFunction {
                    unit,
                    expected: function,
                    got: e.function | 0x80,
                }),
                Ok(r) if r.function() != function => Err(LinkError::UnexpectedFunction {
                    unit,
                    expected: function,
                    got: r.function(),
                }),
                Ok(r) => request
                    .check_response(r)
                    .map(Ok)
                    .map_err(|detail| LinkError::Mismatch {
                        unit,
                        function,
                        detail,
                    }),
            },
        };
        out[f.index] = Some(result);
    }
}

/// Removes and returns the elements matching `pred`, keeping the others in order.
pub(super) fn extract(v: &mut Vec<InFlight>, pred: impl Fn(&InFlight) -> bool) -> Vec<InFlight> {
    let (hit, keep): (Vec<_>, Vec<_>) = v.drain(..).partition(|f| pred(f));
    *v = keep;
    hit
}
