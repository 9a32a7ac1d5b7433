//! The bus layer's error: why a request or a cycle could not be carried out by the bus. A
//! device's refusal is not one of these: it is an [`Exception`](linevisor_modbus::Exception)
//! in the inner `Err` of [`BusResult`](crate::BusResult).

use std::time::Duration;

use linevisor_modbus::{FrameError, LinkError};

/// Why the bus could not carry out a request (the bus's business, not the drive's).
#[derive(Debug, Clone, thiserror::Error)]
pub enum BusError {
    /// The transaction failed on the link: timeout, CRC, framing, I/O.
    #[error("bus {bus}: {source}")]
    Link {
        bus: String,
        /// What the link reported.
        source: LinkError,
    },
    /// The unit is demoted after consecutive timeouts; requests fail fast instead of burning a
    /// response timeout each. It is probed every probe interval and restored when it answers.
    #[error(
        "bus {bus}: unit {unit} is demoted after {timeouts} consecutive timeouts; next probe in {probe_in:?}"
    )]
    UnitDemoted {
        bus: String,
        unit: u8,
        /// Consecutive timeouts that demoted it.
        timeouts: u32,
        /// Time until its next probe.
        probe_in: Duration,
    },
    /// The port or connection is closed and being reopened.
    #[error("bus {bus}: link {link} is down ({reason}); next reopen attempt in {retry_in:?}")]
    LinkDown {
        bus: String,
        /// Port path or peer address.
        link: String,
        /// Last fault seen.
        reason: String,
        /// Time until the next reopen attempt.
        retry_in: Duration,
    },
    /// The bus's request queue is full; nothing was queued.
    #[error("bus {bus}: request queue full ({capacity} requests waiting)")]
    QueueFull {
        bus: String,
        /// Queue capacity.
        capacity: usize,
    },
    /// The bus is stopping; queued requests are answered with this.
    #[error("bus {bus} is shutting down")]
    ShuttingDown { bus: String },
    /// A unit or node id the bus cannot address: Modbus RTU 1–247 (0 is broadcast, which has
    /// its own request), Modbus TCP 1–255, CANopen 1–127.
    #[error("bus {bus}: unit id {unit} outside 1..={max}")]
    InvalidUnit {
        bus: String,
        /// Unit id given.
        unit: u8,
        /// Highest id on this bus.
        max: u8,
    },
    /// A request that cannot be encoded; nothing was sent.
    #[error("bus {bus}: invalid request for unit {unit}: {source}")]
    InvalidRequest {
        bus: String,
        unit: u8,
        source: FrameError,
    },
    /// An attach that cannot be scheduled (no blocks, zero period).
    #[error("bus {bus}: cannot attach unit {unit}: {reason}")]
    InvalidAttach {
        bus: String,
        unit: u8,
        reason: String,
    },
    /// Broadcast (unit 0) has no defined meaning on Modbus TCP.
    #[error("bus {bus}: broadcast (unit 0) is only supported on Modbus RTU")]
    BroadcastUnsupported { bus: String },
    /// A bus config value the transport cannot use.
    #[error("bus {bus}: {field} = {value} is not usable: {reason}")]
    Config {
        bus: String,
        /// Config key.
        field: &'static str,
        /// Value given.
        value: String,
        reason: &'static str,
    },
    /// A CANopen node's heartbeat stopped, or it is not booted (yet).
    #[error("bus {bus}: node {node} is not reachable: {reason}")]
    NodeDown {
        bus: String,
        node: u8,
        /// Why (heartbeat lost for …, booting, boot failed: …).
        reason: String,
    },
    /// An SDO transfer failed on the link (timeout, protocol error, transport).
    #[error("bus {bus}: {source}")]
    Sdo {
        bus: String,
        /// What the SDO client reported.
        source: linevisor_canopen::LinkError,
    },
    /// An RPDO write of an object the node's RPDOs do not map.
    #[error("bus {bus}: node {node}: object {index:#06X}:{subindex:02X} is not mapped to an RPDO")]
    NotMapped {
        bus: String,
        node: u8,
        /// Object index.
        index: u16,
        /// Sub-index.
        subindex: u8,
    },
    /// A plain serial exchange failed on the line: timeout, garbled or misrouted reply, port.
    #[error("bus {bus}: {source}")]
    Serial {
        bus: String,
        /// What the line did.
        source: crate::serial::SerialLinkError,
    },
    /// The bus actor did not answer (stopped or crashed).
    #[error("bus {bus}: the bus actor is unreachable: {reason}")]
    Unreachable {
        bus: String,
        /// What ractor reported.
        reason: String,
    },
}

impl BusError {
    /// A link fault on `bus`.
    pub fn link(bus: &str, source: LinkError) -> Self {
        BusError::Link {
            bus: bus.to_owned(),
            source,
        }
    }

    /// True for a response timeout on the link.
    pub fn is_timeout(&self) -> bool {
        match self {
            BusError::Link { source, .. } => source.is_timeout(),
            BusError::Serial { source, .. } => source.is_timeout(),
            _ => false,
        }
    }
}
