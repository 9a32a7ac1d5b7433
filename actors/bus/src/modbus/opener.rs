//! How a bus gets (and gets back) its port or connection, and the Modbus client over it.
//!
//! An [`Opener`] produces a byte stream: a serial port (tokio-serial) or a TCP connection in
//! production, a pseudo-terminal end, a duplex stream or a loopback socket in tests. The line
//! task wraps it in a byte counter (for utilisation) and a linevisor-modbus client, and calls
//! the opener again after the link is lost.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;

use linevisor_config::model::{ModbusRtuBus, ModbusTcpBus, Parity};
use linevisor_modbus::client::Attached;
use linevisor_modbus::{
    CallOptions, CallResult, LinkError, Request, Response, RtuClient, RtuConfig, TcpClient,
    TcpConfig,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_serial::{DataBits, SerialPortBuilderExt, StopBits};

use crate::BusError;
use crate::metrics::Wire;

/// A byte stream a bus can run Modbus over.
pub trait LinkIo: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> LinkIo for T {}

/// An open port or connection.
pub type LinkStream = Box<dyn LinkIo>;

/// The future [`Opener::open`] returns.
pub type OpenFuture<'a> = Pin<Box<dyn Future<Output = io::Result<LinkStream>> + Send + 'a>>;

/// Opens the bus's port or connection; called again after it is lost.
pub trait Opener: fmt::Debug + Send + 'static {
    /// Opens a new stream.
    fn open(&mut self) -> OpenFuture<'_>;
    /// Port path or peer address, for errors and logs.
    fn describe(&self) -> String;
}

/// A serial port with the line settings of a `modbus_rtu` bus.
#[derive(Debug, Clone)]
pub struct SerialOpener {
    path: String,
    baud: u32,
    parity: tokio_serial::Parity,
    data_bits: DataBits,
    stop_bits: StopBits,
}

impl SerialOpener {
    /// The opener for `bus`'s port; bad data or stop bits are config errors.
    pub fn from_config(bus: &ModbusRtuBus) -> Result<Self, BusError> {
        let bad = |field, value: u8, reason| BusError::Config {
            bus: bus.id.clone(),
            field,
            value: value.to_string(),
            reason,
        };
        let data_bits = match bus.data_bits {
            7 => DataBits::Seven,
            8 => DataBits::Eight,
            n => return Err(bad("data_bits", n, "must be 7 or 8")),
        };
        let stop_bits = match bus.stop_bits {
            1 => StopBits::One,
            2 => StopBits::Two,
            n => return Err(bad("stop_bits", n, "must be 1 or 2")),
        };
        let parity = match bus.parity {
            Parity::None => tokio_serial::Parity::None,
            Parity::Even => tokio_serial::Parity::Even,
            Parity::Odd => tokio_serial::Parity::Odd,
        };
        Ok(Self {
            path: bus.port.clone(),
            baud: bus.baud,
            parity,
            data_bits,
            stop_bits,
        })
    }
}

impl Opener for SerialOpener {
    fn open(&mut self) -> OpenFuture<'_> {
        Box::pin(async move {
            let port = tokio_serial::new(&self.path, self.baud)
                .parity(self.parity)
                .data_bits(self.data_bits)
                .stop_bits(self.stop_bits)
                .open_native_async()?;
            Ok(Box::new(port) as LinkStream)
        })
    }

    fn describe(&self) -> String {
        self.path.clone()
    }
}

/// A TCP connection (host names resolved at each attempt), Nagle off, bounded by the
/// connect timeout.
#[derive(Debug, Clone)]
pub struct TcpOpener {
    address: String,
    connect_timeout: Duration,
}

impl TcpOpener {
    /// The opener for `address` (`host:port`).
    pub fn new(address: impl Into<String>, connect_timeout: Duration) -> Self {
        Self {
            address: address.into(),
            connect_timeout,
        }
    }

    /// The opener for `bus`'s address.
    pub fn from_config(bus: &ModbusTcpBus) -> Self {
        Self::new(
            bus.address.clone(),
            Duration::from_millis(u64::from(bus.connect_timeout_ms)),
        )
    }
}

impl Opener for TcpOpener {
    fn open(&mut self) -> OpenFuture<'_> {
        Box::pin(async move {
            let connect = TcpStream::connect(self.address.as_str());
            let stream = tokio::time::timeout(self.connect_timeout, connect)
                .await
                .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
            stream.set_nodelay(true)?;
            Ok(Box::new(stream) as LinkStream)
        })
    }

    fn describe(&self) -> String {
        self.address.clone()
    }
}

/// An opener from a closure (tests: pseudo-terminals, duplex streams, flaky ports).
pub struct FnOpener<F> {
    name: String,
    open: F,
}

impl<F, Fut> FnOpener<F>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = io::Result<LinkStream>> + Send + 'static,
{
    /// Calls `open` for every attempt; `name` names the link in errors.
    pub fn new(name: impl Into<String>, open: F) -> Self {
        Self {
            name: name.into(),
            open,
        }
    }
}

impl<F, Fut> Opener for FnOpener<F>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = io::Result<LinkStream>> + Send + 'static,
{
    fn open(&mut self) -> OpenFuture<'_> {
        Box::pin((self.open)())
    }

    fn describe(&self) -> String {
        self.name.clone()
    }
}

impl<F> fmt::Debug for FnOpener<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnOpener")
            .field("name", &self.name)
            .finish()
    }
}

/// Counts the bytes and frames through a stream (for bus utilisation).
pub(crate) struct Counted {
    inner: LinkStream,
    wire: Arc<Wire>,
}

impl Counted {
    pub(crate) fn new(inner: LinkStream, wire: Arc<Wire>) -> Self {
        Self { inner, wire }
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        self.wire.bytes_in.fetch_add(n as u64, Ordering::Relaxed);
        r
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = r {
            self.wire.bytes_out.fetch_add(n as u64, Ordering::Relaxed);
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.inner).poll_flush(cx);
        if let Poll::Ready(Ok(())) = r {
            // The RTU client flushes once per frame sent.
            self.wire.frames_out.fetch_add(1, Ordering::Relaxed);
        }
        r
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The Modbus client over an open link. Retries are the line's (so each attempt is counted
/// and a demoted unit is never retried), so both clients run with `retries = 0`.
pub(crate) enum Client {
    Rtu(RtuClient<Counted>),
    Tcp(TcpClient<Attached<Counted>>),
}

impl Client {
    pub(crate) fn rtu(io: Counted, config: &RtuConfig) -> Self {
        let mut config = config.clone();
        config.retries = 0;
        Client::Rtu(RtuClient::new(io, config))
    }

    pub(crate) fn tcp(io: Counted, config: &TcpConfig) -> Self {
        let mut config = config.clone();
        config.retries = 0;
        Client::Tcp(TcpClient::with_connector(Attached::new(io), config))
    }

    /// One transaction, without retries.
    pub(crate) async fn call(
        &mut self,
        unit: u8,
        request: &Request,
        timeout: Duration,
    ) -> CallResult<Response> {
        let opts = CallOptions {
            response_timeout: timeout,
            retries: 0,
        };
        match self {
            Client::Rtu(c) => c.call_with(unit, request, opts).await,
            Client::Tcp(c) => c.call_with(unit, request, opts).await,
        }
    }

    /// Several transactions pipelined up to the TCP window (RTU: one after the other).
    pub(crate) async fn batch(
        &mut self,
        calls: &[(u8, Request)],
        timeout: Duration,
    ) -> Vec<CallResult<Response>> {
        match self {
            Client::Tcp(c) => c.call_batch(calls).await,
            Client::Rtu(_) => {
                let mut out = Vec::with_capacity(calls.len());
                for (unit, request) in calls {
                    out.push(self.call(*unit, request, timeout).await);
                }
                out
            }
        }
    }

    /// A broadcast write (RTU only; the actor refuses it on TCP).
    pub(crate) async fn broadcast(&mut self, request: &Request) -> Result<(), LinkError> {
        match self {
            Client::Rtu(c) => c.broadcast(request).await,
            Client::Tcp(_) => Err(LinkError::InvalidRequest {
                unit: 0,
                source: linevisor_modbus::FrameError::Broadcast {
                    function: request.function(),
                },
            }),
        }
    }
}

/// True for faults that mean the port or connection is gone (reopen), as opposed to one
/// unit's or one frame's trouble.
pub(crate) fn is_link_down(e: &LinkError) -> bool {
    matches!(
        e,
        LinkError::Io(_)
            | LinkError::Disconnected
            | LinkError::Connect { .. }
            | LinkError::NotConnected { .. }
    )
}
