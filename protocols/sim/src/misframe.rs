//! A slave stack whose framer never resynchronises on silence, as many cheap slave stacks: it
//! frames requests by length (function code, byte count) from the front of its buffer and
//! ignores the gaps between frames. A frame whose CRC does not check, or an unknown function
//! code, costs it one byte; the rest stays and the bytes that follow are glued on, until a
//! frame with a valid CRC starts at the front again. After noise it is deaf until enough
//! bytes have gone by: a spoiled header can announce a frame of up to 264 bytes.
//!
//! It hears the master only (not the other slaves' answers), and answers t3.5 after the last
//! byte of a request as a compliant slave does.

use std::io;
use std::sync::Arc;

use linevisor_modbus::codec::rtu as codec;
use linevisor_modbus::timing::RtuTiming;
use linevisor_modbus::{ExceptionCode, ExceptionResponse, FrameError, Service};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::{Instant, sleep_until};
use tracing::debug;

use crate::{SimHandle, SimService};

/// What the framer makes of the front of its buffer.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    Need,
    /// Drop one byte and look again.
    Skip,
    Frame(usize),
}

/// The front of the buffer as a naive stack reads it: 8 bytes for FC 1–6, 9 + the byte count
/// for FC 15 and 16 (believed, not checked against the quantity), anything else skipped.
fn step(buf: &[u8]) -> Step {
    let Some(&function) = buf.get(1) else {
        return Step::Need;
    };
    let n = match function {
        1..=6 => 8,
        15 | 16 => match buf.get(6) {
            Some(&count) => 9 + usize::from(count),
            None => return Step::Need,
        },
        _ => return Step::Skip,
    };
    if buf.len() < n {
        Step::Need
    } else if codec::check_crc(&buf[..n]).is_ok() {
        Step::Frame(n)
    } else {
        Step::Skip
    }
}

/// Serves `service` on `io` with the misframing framer until EOF (`Ok`) or an I/O error.
pub async fn serve_misframing<S, T>(mut io: T, service: Arc<S>, baud: u32) -> io::Result<()>
where
    S: Service,
    T: AsyncRead + AsyncWrite + Unpin,
{
    let t35 = RtuTiming::from_baud(baud).t35;
    let mut rx: Vec<u8> = Vec::with_capacity(2 * codec::MAX_FRAME);
    let mut out = Vec::with_capacity(codec::MAX_FRAME);
    let mut buf = [0u8; codec::MAX_FRAME];
    loop {
        let n = io.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        let last_rx = Instant::now();
        rx.extend_from_slice(&buf[..n]);
        loop {
            let n = match step(&rx) {
                Step::Need => break,
                Step::Skip => {
                    rx.remove(0);
                    continue;
                }
                Step::Frame(n) => n,
            };
            let frame: Vec<u8> = rx.drain(..n).collect();
            let Some((unit, reply)) = answer(&*service, &frame).await else {
                continue;
            };
            out.clear();
            if codec::encode_response(unit, &reply, &mut out).is_err() {
                debug!(unit, "Service answer does not fit a frame.");
                continue;
            }
            sleep_until(last_rx + t35).await;
            io.write_all(&out).await?;
            io.flush().await?;
        }
    }
}

/// The reply to a frame whose CRC checked, if any.
async fn answer<S: Service>(
    service: &S,
    frame: &[u8],
) -> Option<(u8, linevisor_modbus::ResponsePdu)> {
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
            code: e.exception_code().unwrap_or(ExceptionCode::IllegalFunction),
        }),
    };
    (unit != 0).then_some((unit, reply))
}

impl SimHandle {
    /// Serves RTU on any byte stream with a framer that misframes after noise (see the
    /// module docs) until EOF or an I/O error.
    pub async fn serve_rtu_misframing<T>(&self, io: T, baud: u32) -> io::Result<()>
    where
        T: AsyncRead + AsyncWrite + Unpin,
    {
        let service = Arc::new(SimService::rtu(self.clone()));
        serve_misframing(io, service, baud).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(unit: u8, address: u16) -> Vec<u8> {
        let mut out = Vec::new();
        let r = linevisor_modbus::Request::ReadHoldingRegisters {
            address,
            quantity: 2,
        };
        codec::encode_request(unit, &r, &mut out).unwrap();
        out
    }

    #[test]
    fn garbage_in_front_is_skipped_byte_by_byte_and_glued_to_what_follows() {
        let good = read(1, 0);
        assert_eq!(step(&good), Step::Frame(8));
        assert_eq!(step(&good[..5]), Step::Need);
        let mut bad = good.clone();
        bad[3] ^= 0x40;
        assert_eq!(step(&bad), Step::Skip, "bad CRC");
        // A spoiled function code announcing a long write: deaf until 9 + 200 bytes arrived.
        let long = [0x01, 0x10, 0x00, 0x00, 0x00, 0x64, 200];
        let mut glued = long.to_vec();
        for _ in 0..26 {
            glued.extend(read(2, 0));
        }
        assert_eq!(
            step(&glued[..7 + 8 * 25]),
            Step::Need,
            "glued to 25 requests"
        );
        assert_eq!(step(&glued), Step::Skip);
    }
}
