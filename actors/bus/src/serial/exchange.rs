//! One request to one drive on a serial line and what its reply is checked against: the
//! profile's codec for that drive, the point, and the framing of the drive's replies. An
//! exchange carries all of it, so the port task needs no knowledge of any profile.

use std::sync::Arc;
use std::time::Duration;

use linevisor_core::profile::{Point, SerialSection};
use linevisor_serial::{Codec, Framer, Op, Reply, Request, SerialError};

use crate::BusError;

/// The drive's side of a serial link: its codec (address, framing) and its profile section.
#[derive(Debug)]
pub struct SerialDrive {
    codec: Codec,
    section: SerialSection,
}

impl SerialDrive {
    /// The drive at `address` speaking the profile's `[serial]` section.
    pub fn new(section: &SerialSection, address: u32) -> Result<Self, SerialError> {
        Ok(Self {
            codec: Codec::new(section, address)?,
            section: section.clone(),
        })
    }
}

/// One request and how to read its reply.
#[derive(Debug, Clone)]
pub struct Exchange {
    drive: Arc<SerialDrive>,
    point: Arc<Point>,
    request: Request,
    op: Op,
}

impl Exchange {
    /// The exchanges doing `op` on `point` of `drive`, in order (one, or a write's sequence);
    /// a request the profile cannot build is an error and nothing is sent.
    pub fn all(
        drive: &Arc<SerialDrive>,
        point: &Arc<Point>,
        op: Op,
    ) -> Result<Vec<Self>, SerialError> {
        let requests = drive.codec.requests(point, op)?;
        Ok(requests
            .into_iter()
            .map(|request| Self {
                drive: Arc::clone(drive),
                point: Arc::clone(point),
                request,
                op,
            })
            .collect())
    }

    /// The bytes to send.
    pub fn bytes(&self) -> &[u8] {
        &self.request.bytes
    }

    /// Read or write.
    pub fn op(&self) -> Op {
        self.op
    }

    /// A framer for the reply.
    pub(crate) fn framer(&self) -> Framer {
        Codec::framer(&self.drive.section)
    }

    /// Parses one framed reply.
    pub(crate) fn parse(&self, reply: &[u8]) -> Result<Reply, SerialError> {
        self.drive.codec.reply(&self.point, &self.request, reply)
    }
}

/// Outcome of an exchange: the outer `Err` is the bus's business (link fault, demoted drive,
/// queue full), the inner `Err` the drive's refusal (NAK, status code).
pub type SerialResult = Result<Result<Reply, SerialError>, BusError>;

/// Why an exchange failed on the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SerialLinkError {
    /// No complete reply in time.
    #[error("address {address}: no reply within {timeout:?}")]
    Timeout {
        address: u8,
        /// The response timeout.
        timeout: Duration,
    },
    /// A reply that is garbled, cut short, misrouted or not a number.
    #[error("address {address}: {source}")]
    Reply {
        address: u8,
        /// What the codec found wrong.
        source: SerialError,
    },
    /// The port failed or closed (adapter unplugged).
    #[error("port: {reason}")]
    Port {
        /// What the OS reported.
        reason: String,
    },
}

impl SerialLinkError {
    /// True when the port itself is gone (reopen), as opposed to one reply's trouble.
    pub fn is_link_down(&self) -> bool {
        matches!(self, SerialLinkError::Port { .. })
    }

    pub fn is_timeout(&self) -> bool {
        matches!(self, SerialLinkError::Timeout { .. })
    }
}
