//! Errors, one enum per layer: [`FrameError`] for bytes that are not a valid frame,
//! [`LinkError`] for a transaction the link could not complete. A device's refusal is not an
//! error of either kind: it is an [`Exception`](crate::Exception) inside the `Ok` of [`CallResult`].

use std::io;
use std::sync::Arc;
use std::time::Duration;

use crate::ExceptionCode;

/// The outcome of one transaction, as in tokio-modbus: the outer `Err` is a link fault (the bus
/// handles it), the inner `Err` is a device answer (the drive handles it).
pub type CallResult<T> = Result<Result<T, crate::Exception>, LinkError>;

/// Bytes that do not form a valid frame, or a request that cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Fewer bytes than the frame needs.
    #[error("frame truncated: need {needed} bytes, got {got}")]
    Truncated {
        /// Bytes needed.
        needed: usize,
        /// Bytes present.
        got: usize,
    },
    /// The PDU is longer or shorter than its function code and byte count say.
    #[error("PDU length {got} does not match the {expected} bytes its header announces")]
    Length {
        /// Length from function code and byte count.
        expected: usize,
        /// Length present.
        got: usize,
    },
    /// A function code this crate does not implement (only 1–6, 15, 16).
    #[error("function code {0:#04x} is not supported")]
    UnsupportedFunction(u8),
    /// A quantity outside what the function allows.
    #[error("function {function:#04x}: quantity {quantity} outside 1..={max}")]
    Quantity {
        /// Function code.
        function: u8,
        /// Quantity asked for.
        quantity: usize,
        /// Largest quantity the function allows.
        max: u16,
    },
    /// Start address plus quantity runs past 0xFFFF.
    #[error("function {function:#04x}: address {address} + quantity {quantity} runs past 0xFFFF")]
    AddressOverflow {
        /// Function code.
        function: u8,
        /// Start address.
        address: u16,
        /// Quantity.
        quantity: usize,
    },
    /// A byte count that does not match the quantity or the data.
    #[error("function {function:#04x}: byte count {got}, expected {expected}")]
    ByteCount {
        /// Function code.
        function: u8,
        /// Byte count implied by the quantity or the data.
        expected: usize,
        /// Byte count in the frame.
        got: usize,
    },
    /// A single-coil value other than 0xFF00 or 0x0000.
    #[error("coil value {0:#06x} is neither 0xFF00 nor 0x0000")]
    CoilValue(u16),
    /// RTU CRC mismatch.
    #[error("CRC mismatch: expected {expected:#06x}, got {got:#06x}")]
    Crc {
        /// CRC computed over the frame.
        expected: u16,
        /// CRC carried by the frame.
        got: u16,
    },
    /// MBAP protocol identifier other than 0.
    #[error("MBAP protocol id {0}, expected 0")]
    ProtocolId(u16),
    /// MBAP length field outside 2..=254.
    #[error("MBAP length {0} outside 2..=254")]
    MbapLength(u16),
    /// A read addressed to unit 0: broadcasts carry writes only.
    #[error("function {function:#04x} cannot be broadcast (unit 0 takes writes only)")]
    Broadcast {
        /// Function code.
        function: u8,
    },
    /// rmodbus refused to generate the frame.
    #[error("rmodbus could not encode the frame: {0}")]
    Codec(rmodbus::ErrorKind),
}

impl FrameError {
    /// The exception a server answers a request that failed to decode with, if any
    /// (spec: unsupported function → 0x01, bad quantity or count → 0x03).
    pub fn exception_code(&self) -> Option<ExceptionCode> {
        match self {
            FrameError::UnsupportedFunction(_) => Some(ExceptionCode::IllegalFunction),
            FrameError::Quantity { .. }
            | FrameError::ByteCount { .. }
            | FrameError::CoilValue(_)
            | FrameError::Length { .. } => Some(ExceptionCode::IllegalDataValue),
            FrameError::AddressOverflow { .. } => Some(ExceptionCode::IllegalDataAddress),
            _ => None,
        }
    }
}

/// A transaction the link could not complete. Variants carry the unit and the numbers an
/// operator needs.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LinkError {
    /// No (matching) response before the response timeout.
    #[error("unit {unit}: no response to function {function:#04x} within {timeout:?}")]
    Timeout {
        /// Unit addressed.
        unit: u8,
        /// Function code sent.
        function: u8,
        /// Response timeout in force.
        timeout: Duration,
    },
    /// RTU response with a bad CRC.
    #[error("unit {unit}: CRC mismatch, expected {expected:#06x}, got {got:#06x}")]
    Crc {
        /// Unit addressed.
        unit: u8,
        /// CRC computed over the received bytes.
        expected: u16,
        /// CRC the frame carried.
        got: u16,
    },
    /// Bytes that do not form a frame (unknown function, truncated, bad MBAP header).
    #[error("unit {unit}: malformed response: {source}")]
    Framing {
        /// Unit addressed.
        unit: u8,
        /// What was wrong.
        source: FrameError,
    },
    /// A TCP response with our transaction id but another unit id.
    #[error("expected a response from unit {expected}, got one from unit {got}")]
    UnexpectedUnit {
        /// Unit addressed.
        expected: u8,
        /// Unit in the response.
        got: u8,
    },
    /// A TCP response with our transaction id but another function code.
    #[error("unit {unit}: expected function {expected:#04x}, got {got:#04x}")]
    UnexpectedFunction {
        /// Unit addressed.
        unit: u8,
        /// Function code sent.
        expected: u8,
        /// Function byte received.
        got: u8,
    },
    /// A TCP response that answers another request (wrong count, address or value echo).
    #[error(
        "unit {unit}: response to function {function:#04x} does not match the request: {detail}"
    )]
    Mismatch {
        /// Unit addressed.
        unit: u8,
        /// Function code.
        function: u8,
        /// What differs.
        detail: String,
    },
    /// On a 2-wire line with echo suppression, the bytes read back differ from those sent
    /// (a collision, or an adapter that does not echo).
    #[error("unit {unit}: local echo differs from the {sent} bytes sent")]
    Echo {
        /// Unit addressed.
        unit: u8,
        /// Bytes sent.
        sent: usize,
    },
    /// The RS-485 line never went quiet for t3.5 before a transmit.
    #[error("line never idle for t3.5: bytes kept arriving for {waited:?}")]
    LineBusy {
        /// How long we waited.
        waited: Duration,
    },
    /// A TCP connection on which no unit answers any more: every unit timed out until it was
    /// demoted. Most likely half-open (the peer went away without closing it), so its owner
    /// drops it and connects again.
    #[error(
        "no unit answers on the connection ({units} demoted after timeouts): presumed half-open"
    )]
    Unresponsive {
        /// Units on the connection, all silent.
        units: usize,
    },
    /// I/O error on the port or socket.
    #[error("I/O error on the link: {0}")]
    Io(Arc<io::Error>),
    /// The peer closed the stream (EOF).
    #[error("the link was closed by the peer")]
    Disconnected,
    /// A connection attempt failed (including its timeout).
    #[error("cannot connect to {peer}: {source}")]
    Connect {
        /// Address or name of the peer.
        peer: String,
        source: Arc<io::Error>,
    },
    /// Not connected, and the backoff forbids a new attempt yet.
    #[error("not connected; next connection attempt in {retry_in:?}")]
    NotConnected {
        /// Time until the next attempt is allowed.
        retry_in: Duration,
    },
    /// The request cannot be encoded; nothing was sent.
    #[error("unit {unit}: invalid request, nothing sent: {source}")]
    InvalidRequest {
        /// Unit addressed.
        unit: u8,
        source: FrameError,
    },
}

impl LinkError {
    /// True for faults a resend may cure (noise, a lost frame, a dropped connection).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            LinkError::Timeout { .. }
                | LinkError::Crc { .. }
                | LinkError::Framing { .. }
                | LinkError::Echo { .. }
                | LinkError::Io(_)
                | LinkError::Disconnected
        )
    }

    /// True for a timeout (what a unit's circuit breaker counts).
    pub fn is_timeout(&self) -> bool {
        matches!(self, LinkError::Timeout { .. })
    }

    /// The unit concerned, if the fault is tied to one.
    pub fn unit(&self) -> Option<u8> {
        match self {
            LinkError::Timeout { unit, .. }
            | LinkError::Crc { unit, .. }
            | LinkError::Framing { unit, .. }
            | LinkError::UnexpectedFunction { unit, .. }
            | LinkError::Mismatch { unit, .. }
            | LinkError::Echo { unit, .. }
            | LinkError::InvalidRequest { unit, .. } => Some(*unit),
            LinkError::UnexpectedUnit { expected, .. } => Some(*expected),
            _ => None,
        }
    }

    /// Stamps `unit` on a fault found before the unit was known (stream-level framing).
    #[must_use]
    pub(crate) fn for_unit(self, unit: u8) -> Self {
        match self {
            LinkError::Framing { source, .. } => LinkError::Framing { unit, source },
            other => other,
        }
    }
}

impl From<io::Error> for LinkError {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            LinkError::Disconnected
        } else {
            LinkError::Io(Arc::new(e))
        }
    }
}
