//! [`CanError`]: what a transport could not do. One enum for every transport, so the layers
//! above handle a lost adapter the same way whether it is a USB dongle or a SocketCAN interface.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use crate::FrameError;

/// A transport failure. [`CanError::is_final`] tells a transient fault (the transport recovers
/// by itself; call again) from a closed transport.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CanError {
    /// I/O error on the port or socket.
    #[error("I/O error on the CAN link: {0}")]
    Io(Arc<io::Error>),
    /// The adapter or interface went away (EOF, unplugged, cable pulled). A reopening
    /// transport reports this once per loss and then carries on.
    #[error("the CAN adapter disconnected")]
    Disconnected,
    /// The link is down and the backoff forbids a new attempt yet.
    #[error("CAN link not open; next open attempt in {retry_in:?}")]
    NotOpen {
        /// Time until the next attempt.
        retry_in: Duration,
    },
    /// The transport was closed by its owner; every later call fails with this.
    #[error("the CAN transport is closed")]
    Closed,
    /// The port or interface could not be opened or initialised.
    #[error("cannot open CAN link {what}: {reason}")]
    Open {
        /// Port path or interface name.
        what: String,
        reason: String,
    },
    /// The adapter answered a command or a frame with an error (slcan BELL).
    #[error("the CAN adapter refused {command:?}")]
    Rejected {
        /// The command or frame, as sent.
        command: String,
    },
    /// The adapter did not acknowledge a transmitted frame in time.
    #[error("no transmit acknowledgement for {frame} within {timeout:?}")]
    TxTimeout {
        /// The frame, candump style.
        frame: String,
        /// Acknowledgement timeout in force.
        timeout: Duration,
    },
    /// The controller reported a bus error (error frame, bus-off, no acknowledgement).
    #[error("CAN bus error: {detail}")]
    Bus {
        /// What the controller reported.
        detail: String,
    },
    /// A frame that CAN 2.0 cannot carry; nothing was sent.
    #[error("invalid CAN frame: {0}")]
    Frame(#[from] FrameError),
    /// This transport is not available on this platform or build.
    #[error("CAN transport {0} is not supported here")]
    Unsupported(&'static str),
}

impl CanError {
    /// True once the transport is closed for good; any other error is transient.
    pub fn is_final(&self) -> bool {
        matches!(self, CanError::Closed | CanError::Unsupported(_))
    }
}

impl From<io::Error> for CanError {
    fn from(e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::UnexpectedEof | io::ErrorKind::BrokenPipe => CanError::Disconnected,
            _ => CanError::Io(Arc::new(e)),
        }
    }
}
