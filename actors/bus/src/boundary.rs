//! The drive ↔ bus boundary: what a drive hands its bus when it attaches, what the bus pushes
//! back every cycle, and the acyclic requests with their two-level results.
//!
//! The shape is protocol-neutral: a drive attaches with its address, a description of its
//! cyclic data, a period and a bounded sink, then only receives [`BusEvent`]s. On Modbus the bus
//! polls the blocks; a CANopen bus receives the same attach with TPDO-mapped objects as its
//! blocks type (`Attach<B>`) and push one [`Sample`] per SYNC. Nothing else changes for the drive.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::{BusError, ReadBlock, Refusal};

/// A drive attaching to its bus: the bus then exchanges `blocks` with `unit` every `period` and
/// pushes the result to `sink`, until it detaches or until the sink's
/// receiver is dropped. Attaching a unit that is already attached replaces it (a restarted
/// drive actor cannot always detach its predecessor).
#[derive(Debug, Clone)]
pub struct Attach<B = ReadBlock> {
    /// Unit id (Modbus) or node id (CANopen).
    pub unit: u8,
    /// Cyclic data, in the order the drive wants it back in [`Sample::blocks`].
    pub blocks: Vec<B>,
    /// Cycle period.
    pub period: Duration,
    /// Where events go. Bounded: when it is full the event is dropped and counted as an
    /// overrun; the line never waits for a drive.
    pub sink: mpsc::Sender<BusEvent>,
}

/// One cycle's data for a drive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    pub unit: u8,
    /// Cycle number on the unit's schedule (period grid from attach). A gap means skipped
    /// (missed) cycles.
    pub seq: u64,
    /// When the cycle was due.
    pub scheduled_at: Instant,
    /// When its last response arrived.
    pub completed_at: Instant,
    /// Raw registers, one vector per attached block, in attach order.
    pub blocks: Vec<Vec<u16>>,
    /// Time on the link: first request sent to last response received.
    pub latency: Duration,
}

/// Why a cycle produced no sample.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CycleFault {
    /// The device refused the poll (e.g. illegal data address: the profile does not match the
    /// device). The drive handles it.
    #[error("{0}")]
    Device(Refusal),
    /// The bus could not complete it (timeout, CRC, link down, demoted).
    #[error(transparent)]
    Bus(BusError),
}

/// What a bus pushes to an attached drive.
#[derive(Debug, Clone)]
pub enum BusEvent {
    /// A cycle completed.
    Sample(Sample),
    /// A cycle failed.
    CycleFailed {
        unit: u8,
        /// Cycle number.
        seq: u64,
        error: CycleFault,
    },
    /// The link is down (port gone, connection lost, bus stopping): no data until
    /// `CommRestored`.
    CommLost { unit: u8, error: BusError },
    /// The link is open again; cyclic exchange resumes by itself.
    CommRestored { unit: u8 },
    /// The unit stopped answering and is only probed from now on.
    Demoted {
        unit: u8,
        /// Consecutive timeouts that demoted it.
        timeouts: u32,
        /// Probe interval.
        probe_every: Duration,
    },
    /// The unit answered a probe; cyclic exchange resumes at its period.
    Restored {
        unit: u8,
        /// How long it was demoted.
        demoted_for: Duration,
    },
    /// The device sent an emergency message (CANopen EMCY); code 0 is its error reset.
    Emergency {
        unit: u8,
        /// Error code (CiA 301 / CiA 402 0x603F); 0x0000 = error reset.
        code: u16,
        /// Error register, object 0x1001.
        register: u8,
        /// The error code's class, e.g. "current", "temperature".
        class: &'static str,
    },
}

impl BusEvent {
    /// The unit the event is about.
    pub fn unit(&self) -> u8 {
        match self {
            BusEvent::Sample(s) => s.unit,
            BusEvent::CycleFailed { unit, .. }
            | BusEvent::CommLost { unit, .. }
            | BusEvent::CommRestored { unit }
            | BusEvent::Demoted { unit, .. }
            | BusEvent::Restored { unit, .. }
            | BusEvent::Emergency { unit, .. } => *unit,
        }
    }
}
