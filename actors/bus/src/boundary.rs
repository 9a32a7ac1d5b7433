//! The drive ↔ bus boundary: what a drive hands its bus when it attaches, what the bus pushes
//! back every cycle, and the acyclic requests with their two-level results.
//!
//! The shape is protocol-neutral: a drive attaches with its address, a description of its
//! cyclic data, a period and a bounded sink, then only receives [`BusEvent`]s. On Modbus the bus
//! polls the blocks; a CANopen bus will receive the same attach with TPDO-mapped objects as its
//! blocks type (`Attach<B>`) and push one [`Sample`] per SYNC. Nothing else changes for the drive.

use std::time::Duration;

use linevisor_modbus::{Exception, Request};
use serde::Serialize;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::BusError;

/// Outcome of an acyclic request: the outer `Err` is the bus's business (link fault, demoted
/// unit, queue full), the inner `Err` is the device's answer (an exception code), for the drive.
pub type BusResult<T> = Result<Result<T, Exception>, BusError>;

/// Which register table a block reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum RegisterTable {
    /// Holding registers (FC 3).
    Holding,
    /// Input registers (FC 4).
    Input,
}

/// A contiguous run of registers a drive reads every cycle (or once, acyclically). The profile
/// codec produces these from a profile's cyclic points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct ReadBlock {
    /// Table.
    pub table: RegisterTable,
    /// First register.
    pub address: u16,
    /// Number of registers (1–125).
    pub count: u16,
}

impl ReadBlock {
    /// `count` holding registers from `address`.
    pub fn holding(address: u16, count: u16) -> Self {
        Self {
            table: RegisterTable::Holding,
            address,
            count,
        }
    }

    /// `count` input registers from `address`.
    pub fn input(address: u16, count: u16) -> Self {
        Self {
            table: RegisterTable::Input,
            address,
            count,
        }
    }

    /// The read request for this block.
    pub fn request(&self) -> Request {
        let (address, quantity) = (self.address, self.count);
        match self.table {
            RegisterTable::Holding => Request::ReadHoldingRegisters { address, quantity },
            RegisterTable::Input => Request::ReadInputRegisters { address, quantity },
        }
    }
}

/// A register write, to one unit or broadcast.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Write {
    /// Write single register (FC 6).
    Single {
        /// Register.
        address: u16,
        /// Value.
        value: u16,
    },
    /// Write multiple registers (FC 16), 1–123 values.
    Multiple {
        /// First register.
        address: u16,
        /// Values.
        values: Vec<u16>,
    },
}

impl Write {
    /// The write request.
    pub fn request(&self) -> Request {
        match self {
            Write::Single { address, value } => Request::WriteSingleRegister {
                address: *address,
                value: *value,
            },
            Write::Multiple { address, values } => Request::WriteMultipleRegisters {
                address: *address,
                values: values.clone(),
            },
        }
    }
}

/// A drive attaching to its bus: the bus then exchanges `blocks` with `unit` every `period` and
/// pushes the result to `sink`, until [`detach`](crate::BusMsg::Detach) or until the sink's
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
    /// Unit id.
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
    #[error(transparent)]
    Device(Exception),
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
        /// Unit id.
        unit: u8,
        /// Cycle number.
        seq: u64,
        /// Why.
        error: CycleFault,
    },
    /// The link is down (port gone, connection lost, bus stopping): no data until
    /// `CommRestored`.
    CommLost {
        /// Unit id.
        unit: u8,
        /// Why.
        error: BusError,
    },
    /// The link is open again; cyclic exchange resumes by itself.
    CommRestored {
        /// Unit id.
        unit: u8,
    },
    /// The unit stopped answering and is only probed from now on.
    Demoted {
        /// Unit id.
        unit: u8,
        /// Consecutive timeouts that demoted it.
        timeouts: u32,
        /// Probe interval.
        probe_every: Duration,
    },
    /// The unit answered a probe; cyclic exchange resumes at its period.
    Restored {
        /// Unit id.
        unit: u8,
        /// How long it was demoted.
        demoted_for: Duration,
    },
    /// The device sent an emergency message (CANopen EMCY); code 0 is its error reset.
    Emergency {
        /// Unit (node) id.
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

/// Checks a unit id for a unit-addressed request.
pub(crate) fn check_unit(bus: &str, unit: u8) -> Result<(), BusError> {
    if (1..=247).contains(&unit) {
        Ok(())
    } else {
        Err(BusError::InvalidUnit {
            bus: bus.to_owned(),
            unit,
        })
    }
}

/// Checks that `request` can be encoded.
pub(crate) fn check_request(bus: &str, unit: u8, request: &Request) -> Result<(), BusError> {
    request
        .validate()
        .map_err(|source| BusError::InvalidRequest {
            bus: bus.to_owned(),
            unit,
            source,
        })
}

/// Checks an attach before it is queued, so the caller hears of a bad one at once.
pub(crate) fn check_attach(bus: &str, attach: &Attach) -> Result<(), BusError> {
    check_unit(bus, attach.unit)?;
    let invalid = |reason: String| BusError::InvalidAttach {
        bus: bus.to_owned(),
        unit: attach.unit,
        reason,
    };
    if attach.blocks.is_empty() {
        return Err(invalid("no cyclic blocks".into()));
    }
    if attach.period.is_zero() {
        return Err(invalid("cycle period is zero".into()));
    }
    for block in &attach.blocks {
        check_request(bus, attach.unit, &block.request())?;
    }
    Ok(())
}
