//! Errors, one enum per layer. A device's refusal ([`SdoAbort`]) is an answer, kept apart from
//! a link fault ([`LinkError`]): `SdoResult<T> = Result<Result<T, SdoAbort>, LinkError>`, as
//! linevisor-modbus does for exceptions. The drive handles the first, the bus the second.

use std::time::Duration;

use linevisor_can::CanError;

use crate::abort::AbortCode;
use crate::cob::NodeId;

/// The outcome of an SDO transfer: outer `Err` = link fault, inner `Err` = the node said no.
pub type SdoResult<T> = Result<Result<T, SdoAbort>, LinkError>;

/// A node answered an SDO request with an abort.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("node {node}: SDO abort on {index:#06X}:{subindex:02X}: {code}")]
pub struct SdoAbort {
    /// Node that aborted.
    pub node: NodeId,
    /// Object index.
    pub index: u16,
    /// Sub-index.
    pub subindex: u8,
    /// Abort code.
    pub code: AbortCode,
}

impl SdoAbort {
    /// The code's meaning from the §3.3 table ("unknown abort code" otherwise).
    pub fn meaning(&self) -> &'static str {
        self.code.meaning()
    }
}

/// A transfer the link could not complete.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LinkError {
    /// No SDO response in time (the client sent abort 0x05040000 to the node).
    #[error("node {node}: no SDO response for {index:#06X}:{subindex:02X} within {timeout:?}")]
    Timeout {
        /// Node addressed.
        node: NodeId,
        /// Object index.
        index: u16,
        /// Sub-index.
        subindex: u8,
        /// Timeout in force.
        timeout: Duration,
    },
    /// The node broke the SDO protocol (wrong toggle, wrong object, bad command specifier,
    /// size mismatch); the client aborted the transfer.
    #[error("node {node}: SDO protocol error on {index:#06X}:{subindex:02X}: {detail}")]
    Protocol {
        /// Node addressed.
        node: NodeId,
        /// Object index.
        index: u16,
        /// Sub-index.
        subindex: u8,
        /// What was wrong.
        detail: String,
    },
    /// The object's value has another size than the type asked for.
    #[error("node {node}: {index:#06X}:{subindex:02X} has {got} bytes, expected {expected}")]
    Size {
        /// Node addressed.
        node: NodeId,
        /// Object index.
        index: u16,
        /// Sub-index.
        subindex: u8,
        /// Bytes expected.
        expected: usize,
        /// Bytes received.
        got: usize,
    },
    /// The CAN transport failed.
    #[error("CAN transport: {0}")]
    Transport(#[from] CanError),
}

impl LinkError {
    /// True for a timeout (what a node's circuit breaker counts).
    pub fn is_timeout(&self) -> bool {
        matches!(self, LinkError::Timeout { .. })
    }
}
