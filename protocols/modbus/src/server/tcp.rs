//! Modbus TCP server: one task per connection, requests answered in order, the transaction id
//! copied into the response. A frame with a bad MBAP header closes the connection (the stream
//! cannot be resynchronised).

use std::io;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tracing::{debug, warn};

use super::Service;
use crate::codec::tcp as codec;
use crate::frame::ExceptionResponse;
use crate::{ExceptionCode, ResponsePdu};

/// Accepts connections on `listener` forever, serving each in its own task.
pub async fn serve<S: Service>(listener: TcpListener, service: Arc<S>) -> io::Result<()> {
    loop {
        let (stream, peer) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let service = Arc::clone(&service);
        tokio::spawn(async move {
            if let Err(e) = serve_connection(stream, service).await {
                warn!(%peer, error = %e, "Modbus TCP connection ended with an error.");
            }
        });
    }
}

/// Serves one connection until the peer closes it (`Ok`) or an I/O error.
pub async fn serve_connection<S, T>(mut io: T, service: Arc<S>) -> io::Result<()>
where
    S: Service,
    T: AsyncRead + AsyncWrite + Unpin,
{
    let mut rx = Vec::with_capacity(codec::MAX_FRAME);
    let mut out = Vec::with_capacity(codec::MAX_FRAME);
    let mut buf = [0u8; 1024];
    loop {
        let n = match codec::frame_len(&rx) {
            Ok(Some(n)) if rx.len() >= n => n,
            Ok(_) => {
                let got = io.read(&mut buf).await?;
                if got == 0 {
                    return Ok(());
                }
                rx.extend_from_slice(&buf[..got]);
                continue;
            }
            Err(e) => {
                debug!(error = %e, "Closing a Modbus TCP connection with a bad MBAP header.");
                return Ok(());
            }
        };
        let frame: Vec<u8> = rx.drain(..n).collect();
        let Some((header, reply)) = answer(&*service, &frame).await else {
            continue;
        };
        out.clear();
        if codec::encode_response(header, &reply, &mut out).is_err() {
            let function = frame.get(codec::HEADER_LEN).copied().unwrap_or(0);
            let failure = Err(ExceptionResponse {
                function,
                code: ExceptionCode::ServerDeviceFailure,
            });
            out.clear();
            codec::encode_response(header, &failure, &mut out).map_err(io::Error::other)?;
        }
        io.write_all(&out).await?;
    }
}

async fn answer<S: Service>(service: &S, frame: &[u8]) -> Option<(crate::MbapHeader, ResponsePdu)> {
    let function = frame.get(codec::HEADER_LEN).copied().unwrap_or(0);
    match codec::decode_request(frame) {
        Ok(f) => {
            let reply = service.call(f.header.unit, f.pdu).await?;
            Some((
                f.header,
                reply.map_err(|code| ExceptionResponse { function, code }),
            ))
        }
        Err(e) => {
            let (header, _) = codec::split(frame).ok()?;
            Some((
                header,
                Err(ExceptionResponse {
                    function,
                    code: e.exception_code()?,
                }),
            ))
        }
    }
}
