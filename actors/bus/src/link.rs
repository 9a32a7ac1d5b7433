//! How a bus gets (and gets back) its port or connection, whatever it speaks over it.
//!
//! An [`Opener`] produces a byte stream: a serial port (tokio-serial) or a TCP connection in
//! production, a pseudo-terminal end, a duplex stream or a loopback socket in tests. A bus's
//! port task wraps it in a byte counter ([`Counted`], for utilisation) and its protocol's
//! client, and calls the opener again after the link is lost.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;

use linevisor_config::model::{ModbusRtuBus, ModbusTcpBus, Parity, SerialBus};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_serial::{DataBits, SerialPortBuilderExt, StopBits};

use crate::BusError;
use crate::metrics::Wire;

/// A byte stream a bus can run its protocol over.
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

/// A serial port with its line settings (a `modbus_rtu` or `serial` bus).
#[derive(Debug, Clone)]
pub struct SerialOpener {
    path: String,
    baud: u32,
    parity: tokio_serial::Parity,
    data_bits: DataBits,
    stop_bits: StopBits,
}

/// A serial line's settings as a config writes them.
struct LineSettings<'a> {
    bus: &'a str,
    port: &'a str,
    baud: u32,
    parity: Parity,
    data_bits: u8,
    stop_bits: u8,
}

impl SerialOpener {
    /// The opener for a `modbus_rtu` bus's port; bad data or stop bits are config errors.
    pub fn from_config(bus: &ModbusRtuBus) -> Result<Self, BusError> {
        Self::line(LineSettings {
            bus: &bus.id,
            port: &bus.port,
            baud: bus.baud,
            parity: bus.parity,
            data_bits: bus.data_bits,
            stop_bits: bus.stop_bits,
        })
    }

    /// The opener for a `serial` bus's port.
    pub fn from_serial(bus: &SerialBus) -> Result<Self, BusError> {
        Self::line(LineSettings {
            bus: &bus.id,
            port: &bus.port,
            baud: bus.baud,
            parity: bus.parity,
            data_bits: bus.data_bits,
            stop_bits: bus.stop_bits,
        })
    }

    fn line(l: LineSettings<'_>) -> Result<Self, BusError> {
        let bad = |field, value: u8, reason| BusError::Config {
            bus: l.bus.to_owned(),
            field,
            value: value.to_string(),
            reason,
        };
        let data_bits = match l.data_bits {
            7 => DataBits::Seven,
            8 => DataBits::Eight,
            n => return Err(bad("data_bits", n, "must be 7 or 8")),
        };
        let stop_bits = match l.stop_bits {
            1 => StopBits::One,
            2 => StopBits::Two,
            n => return Err(bad("stop_bits", n, "must be 1 or 2")),
        };
        let parity = match l.parity {
            Parity::None => tokio_serial::Parity::None,
            Parity::Even => tokio_serial::Parity::Even,
            Parity::Odd => tokio_serial::Parity::Odd,
        };
        Ok(Self {
            path: l.port.to_owned(),
            baud: l.baud,
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
            // The clients flush once per frame sent.
            self.wire.frames_out.fetch_add(1, Ordering::Relaxed);
        }
        r
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
