//! What can go wrong in one exchange, split the way an operator acts on it: the link garbled
//! or lost the reply (retry, check wiring), the drive understood and refused (check the
//! command), or the request could not be built from the profile and value.

use thiserror::Error;

/// An error of one serial exchange.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SerialError {
    /// Link: a reply that is neither a value, an acknowledgement nor a refusal.
    #[error("garbage reply {text:?}")]
    Garbage { text: String },
    /// Link: fewer bytes than a frame.
    #[error("truncated reply: {got} of {expected} bytes")]
    Truncated { expected: usize, got: usize },
    /// Link: the checksum does not match the frame.
    #[error("wrong checksum: computed 0x{expected:04X}, frame carries 0x{got:04X}")]
    Checksum { expected: u16, got: u16 },
    /// Link: a reply from or for another address (a multi-drop neighbour, or a stale reply).
    #[error("reply for address {got}, expected {expected}")]
    OtherAddress { expected: String, got: String },
    /// Link: a reply to another command than the one sent (a stale reply).
    #[error("reply to command {got}, expected {expected}")]
    OtherCommand { expected: i64, got: i64 },
    /// Link: no terminator within the bounded buffer.
    #[error("reply longer than {limit} bytes without a terminator")]
    OverLong { limit: usize },
    /// Link: the value text does not parse as the point's format and type.
    #[error("unparsable number {text:?}: {why}")]
    Number { text: String, why: &'static str },
    /// Device refused: an ASCII NAK (`?`), with its code when the drive sent one.
    #[error("drive refused the request: NAK{}", code.map(|c| format!(" code {c}")).unwrap_or_default())]
    Nak { code: Option<u32> },
    /// Device refused: a binary reply status outside the success codes.
    #[error("drive refused command {command} with status {status}")]
    Status { command: i64, status: i64 },
    /// Request: the point has no request for this operation in the profile.
    #[error("the point has no {op} request for {framing} framing")]
    NoRequest {
        op: &'static str,
        framing: &'static str,
    },
    /// Request: the raw value does not fit the point's type or the frame's value field.
    #[error("value {value} does not fit {what}")]
    ValueRange { value: i64, what: &'static str },
    /// Request: the profile lacks what this framing needs (the profile checks reject this).
    #[error("profile: {0}")]
    Profile(&'static str),
}

/// Which side an error belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The line garbled, cut or misrouted the reply.
    Link,
    /// The drive received the request and refused it.
    Refused,
    /// The request could not be built; nothing was sent.
    Request,
}

impl SerialError {
    /// Link, device refusal or request.
    pub fn kind(&self) -> ErrorKind {
        match self {
            SerialError::Garbage { .. }
            | SerialError::Truncated { .. }
            | SerialError::Checksum { .. }
            | SerialError::OtherAddress { .. }
            | SerialError::OtherCommand { .. }
            | SerialError::OverLong { .. }
            | SerialError::Number { .. } => ErrorKind::Link,
            SerialError::Nak { .. } | SerialError::Status { .. } => ErrorKind::Refused,
            SerialError::NoRequest { .. }
            | SerialError::ValueRange { .. }
            | SerialError::Profile(_) => ErrorKind::Request,
        }
    }

    /// The drive refused (as opposed to the link failing).
    pub fn is_refusal(&self) -> bool {
        self.kind() == ErrorKind::Refused
    }
}
