//! Serving simulated drives: the linevisor-modbus [`Service`] over a [`SimHandle`], and the
//! endpoints (in-memory duplex streams, pseudo-terminal pairs, TCP listeners).

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll, ready};

use linevisor_modbus::server::rtu::{self, RtuServerConfig};
use linevisor_modbus::server::tcp::serve_connection;
use linevisor_modbus::{ExceptionCode, Request, Response, Service};
use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf, duplex};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_serial::{SerialPort, SerialStream};
use tracing::debug;

use crate::bank::Transport;
use crate::{SimError, SimHandle};

/// Buffer of the in-memory duplex streams (larger than any Modbus frame).
pub(crate) const DUPLEX_BUFFER: usize = 4096;

/// The drives of a [`SimHandle`] as a linevisor-modbus [`Service`], for one endpoint.
///
/// CRC corruption needs the RTU stream wrapper of [`SimHandle::serve_rtu`]; with
/// linevisor-modbus' plain RTU server every other fault still applies.
#[derive(Debug)]
pub struct SimService {
    handle: SimHandle,
    transport: Transport,
    corrupt: Arc<AtomicU32>,
}

impl SimService {
    /// For an RTU line: unknown units stay silent.
    pub fn rtu(handle: SimHandle) -> Self {
        Self::new(handle, Transport::Rtu)
    }

    /// For Modbus TCP: unknown units get exception 0x0B.
    pub fn tcp(handle: SimHandle) -> Self {
        Self::new(handle, Transport::Tcp)
    }

    fn new(handle: SimHandle, transport: Transport) -> Self {
        Self {
            handle,
            transport,
            corrupt: Arc::default(),
        }
    }
}

impl Service for SimService {
    async fn call(&self, unit: u8, request: Request) -> Option<Result<Response, ExceptionCode>> {
        let reply = self.handle.serve(unit, &request, self.transport);
        if !reply.delay.is_zero() {
            tokio::time::sleep(reply.delay).await;
        }
        if reply.corrupt && reply.answer.is_some() {
            // The RTU server writes this answer next; the stream wrapper spoils its CRC.
            self.corrupt.fetch_add(1, Ordering::SeqCst);
        }
        reply.answer
    }
}

/// A serving task; dropping it stops the endpoint (and its TCP connections).
#[derive(Debug)]
pub struct ServeTask(JoinHandle<io::Result<()>>);

impl ServeTask {
    pub(crate) fn new(task: JoinHandle<io::Result<()>>) -> Self {
        Self(task)
    }

    /// True once serving ended (EOF, I/O error).
    pub fn is_finished(&self) -> bool {
        self.0.is_finished()
    }
}

impl Drop for ServeTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A pseudo-terminal the simulator serves on (Modbus RTU, or a plain serial line).
#[derive(Debug)]
pub struct PtyEndpoint {
    /// Path of the client's end (e.g. `/dev/pts/7`), for a client in another process.
    pub path: PathBuf,
    /// The client's end, already open: take it for an in-process client. Left here, it keeps
    /// the terminal open so clients may open and close `path` at will.
    pub far_end: Option<SerialStream>,
    /// The serving task.
    pub task: ServeTask,
}

/// A TCP listener the simulator serves on.
#[derive(Debug)]
pub struct TcpEndpoint {
    /// Bound address (the OS's port when asked for port 0).
    pub address: SocketAddr,
    /// The accept loop; dropping it closes the listener and its connections.
    pub task: ServeTask,
}

impl SimHandle {
    /// Serves RTU on any byte stream until EOF or an I/O error.
    pub async fn serve_rtu<T>(&self, io: T, config: RtuServerConfig) -> io::Result<()>
    where
        T: AsyncRead + AsyncWrite + Unpin,
    {
        let service = Arc::new(SimService::rtu(self.clone()));
        let io = CorruptCrc::new(io, Arc::clone(&service.corrupt));
        rtu::serve(io, service, config).await
    }

    /// Serves one Modbus TCP connection on any byte stream until the peer closes it, an I/O
    /// error, or [`SimHandle::close_tcp_connections`].
    pub async fn serve_tcp_stream<T>(&self, io: T) -> io::Result<()>
    where
        T: AsyncRead + AsyncWrite + Unpin,
    {
        let service = Arc::new(SimService::tcp(self.clone()));
        let mut close = self.close_signal();
        tokio::select! {
            // A close ordered before a request arrived wins over serving it.
            biased;
            Ok(()) = close.changed() => {
                debug!("Simulator closed a Modbus TCP connection.");
                Ok(())
            }
            r = serve_connection(io, service) => r,
        }
    }

    /// RTU over an in-memory stream: returns the client's end.
    pub fn serve_duplex_rtu(&self, baud: u32) -> (DuplexStream, ServeTask) {
        let (client, server) = duplex(DUPLEX_BUFFER);
        let me = self.clone();
        let task =
            tokio::spawn(async move { me.serve_rtu(server, RtuServerConfig::new(baud)).await });
        (client, ServeTask(task))
    }

    /// Modbus TCP framing over an in-memory stream: returns the client's end.
    pub fn serve_duplex_tcp(&self) -> (DuplexStream, ServeTask) {
        let (client, server) = duplex(DUPLEX_BUFFER);
        let me = self.clone();
        let task = tokio::spawn(async move { me.serve_tcp_stream(server).await });
        (client, ServeTask(task))
    }

    /// RTU on a new pseudo-terminal pair (the real tokio-serial path), with `baud` timing.
    pub fn serve_pty(&self, baud: u32) -> Result<PtyEndpoint, SimError> {
        let (ours, theirs) = SerialStream::pair()?;
        let path = PathBuf::from(theirs.name().unwrap_or_default());
        let me = self.clone();
        let task =
            tokio::spawn(async move { me.serve_rtu(ours, RtuServerConfig::new(baud)).await });
        Ok(PtyEndpoint {
            path,
            far_end: Some(theirs),
            task: ServeTask(task),
        })
    }

    /// Modbus TCP on `address` (port 0: one from the OS).
    pub async fn serve_tcp(&self, address: SocketAddr) -> Result<TcpEndpoint, SimError> {
        let bind = |source| SimError::Bind {
            address: address.to_string(),
            source,
        };
        let listener = TcpListener::bind(address).await.map_err(bind)?;
        let address = listener.local_addr().map_err(bind)?;
        let me = self.clone();
        let task = tokio::spawn(async move { me.accept(listener).await });
        Ok(TcpEndpoint {
            address,
            task: ServeTask(task),
        })
    }

    async fn accept(self, listener: TcpListener) -> io::Result<()> {
        // Owned here so that stopping the listener stops its connections too.
        let mut connections = JoinSet::new();
        loop {
            let (stream, peer) = listener.accept().await?;
            while connections.try_join_next().is_some() {}
            let _ = stream.set_nodelay(true);
            let me = self.clone();
            connections.spawn(async move {
                if let Err(e) = me.serve_tcp_stream(stream).await {
                    debug!(%peer, error = %e, "Simulator TCP connection ended with an error.");
                }
            });
        }
    }
}

/// Spoils the CRC of whole frames written while the shared counter is non-zero (one frame per
/// count). The RTU server writes each response with one `write_all` and a flush, so the first
/// write after the mark is the whole frame.
#[derive(Debug)]
struct CorruptCrc<T> {
    inner: T,
    pending: Arc<AtomicU32>,
    out: Vec<u8>,
}

impl<T> CorruptCrc<T> {
    fn new(inner: T, pending: Arc<AtomicU32>) -> Self {
        Self {
            inner,
            pending,
            out: Vec::new(),
        }
    }
}

impl<T: AsyncWrite + Unpin> CorruptCrc<T> {
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.out.is_empty() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.out))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.out.drain(..n);
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for CorruptCrc<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for CorruptCrc<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.drain(cx))?;
        let take = !buf.is_empty()
            && self
                .pending
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
        if take {
            self.out.extend_from_slice(buf);
            if let Some(last) = self.out.last_mut() {
                *last ^= 0xFF; // high byte of the CRC
            }
            // Accepted; what the port did not take yet goes out on the next write or flush.
            let _ = self.drain(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
