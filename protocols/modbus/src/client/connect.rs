//! How the TCP client gets (and gets back) its stream, and reads MBAP frames from it.

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::TcpStream;

use crate::LinkError;
use crate::codec::tcp as codec;

/// Opens the client's stream; called again after the connection is lost.
pub trait Connect: Send {
    /// The stream type.
    type Stream: AsyncRead + AsyncWrite + Unpin + Send;
    /// Opens a new stream (the client bounds it with its connect timeout).
    fn connect(&mut self) -> impl Future<Output = io::Result<Self::Stream>> + Send;
    /// The peer, for errors and logs.
    fn peer(&self) -> String;
}

/// Connects over TCP, with Nagle off (one small request per round trip).
#[derive(Debug, Clone)]
pub struct TcpConnector {
    addr: SocketAddr,
}

impl TcpConnector {
    /// Connector for `addr`.
    pub fn new(addr: SocketAddr) -> Self {
        Self { addr }
    }
}

impl Connect for TcpConnector {
    type Stream = TcpStream;

    async fn connect(&mut self) -> io::Result<TcpStream> {
        let s = TcpStream::connect(self.addr).await?;
        s.set_nodelay(true)?;
        Ok(s)
    }

    fn peer(&self) -> String {
        self.addr.to_string()
    }
}

/// An already open stream (TLS, a tunnel, a test duplex). It cannot be reopened: once lost,
/// connecting fails with `NotConnected`.
#[derive(Debug)]
pub struct Attached<S>(Option<S>);

impl<S> Attached<S> {
    /// Wraps `stream`.
    pub fn new(stream: S) -> Self {
        Self(Some(stream))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Connect for Attached<S> {
    type Stream = S;

    async fn connect(&mut self) -> io::Result<S> {
        self.0.take().ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotConnected, "attached stream was closed")
        })
    }

    fn peer(&self) -> String {
        "attached stream".into()
    }
}

/// An open stream and the bytes read from it that do not form a whole frame yet.
pub(crate) struct Connection<S> {
    pub(crate) io: S,
    rx: Vec<u8>,
}

impl<S: AsyncRead + Unpin> Connection<S> {
    pub(crate) fn new(io: S) -> Self {
        Self {
            io,
            rx: Vec::with_capacity(codec::MAX_FRAME),
        }
    }

    /// Next whole frame. Cancel-safe: bytes stay in `rx` until a frame is complete.
    pub(crate) async fn read_frame(&mut self) -> Result<Vec<u8>, LinkError> {
        loop {
            let len = codec::frame_len(&self.rx)
                .map_err(|source| LinkError::Framing { unit: 0, source })?;
            if let Some(n) = len.filter(|n| self.rx.len() >= *n) {
                return Ok(self.rx.drain(..n).collect());
            }
            let mut buf = [0u8; 512];
            let n = self.io.read(&mut buf).await?;
            if n == 0 {
                return Err(LinkError::Disconnected);
            }
            self.rx.extend_from_slice(&buf[..n]);
        }
    }
}
