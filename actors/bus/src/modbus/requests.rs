//! The Modbus side of the boundary: register (bit) blocks a drive polls, the options it
//! attaches with, writes, and the checks a request passes before it is queued.

use std::time::Duration;

use linevisor_core::ReadRules;
use linevisor_modbus::{Exception, Request};
use serde::Serialize;

use crate::{Attach, BusError};

/// Outcome of an acyclic request: the outer `Err` is the bus's business (link fault, demoted
/// unit, queue full), the inner `Err` is the device's answer (an exception code), for the drive.
pub type BusResult<T> = Result<Result<T, Exception>, BusError>;

/// Which table a block reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum RegisterTable {
    /// Holding registers (FC 3).
    Holding,
    /// Input registers (FC 4).
    Input,
    /// Coils (FC 1): one bit each, carried as words of 0 or 1.
    Coil,
    /// Discrete inputs (FC 2): one bit each, carried as words of 0 or 1.
    DiscreteInput,
}

/// A contiguous run of registers (bits) a drive reads every cycle (or once, acyclically). The
/// profile codec produces these from a profile's cyclic points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct ReadBlock {
    /// Table.
    pub table: RegisterTable,
    /// First register (bit).
    pub address: u16,
    /// Number of registers (1–125) or bits (1–2000).
    pub count: u16,
}

/// What a drive attaches with besides its blocks: how the bus merges them into reads and how
/// long it waits for the unit's answers. The default merges touching blocks into reads of up
/// to 125 registers and waits the bus's response timeout.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct UnitOptions {
    /// The profile's read rules: most registers a read, gaps a read may span (`span_gaps`),
    /// and what it must never span (`readable_gap = false`).
    pub reads: ReadRules,
    /// The drive's own response timeout (`response_timeout_ms`); `None`: the bus's.
    pub response_timeout: Option<Duration>,
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

    /// `count` coils from `address`.
    pub fn coils(address: u16, count: u16) -> Self {
        Self {
            table: RegisterTable::Coil,
            address,
            count,
        }
    }

    /// `count` discrete inputs from `address`.
    pub fn discrete_inputs(address: u16, count: u16) -> Self {
        Self {
            table: RegisterTable::DiscreteInput,
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
            RegisterTable::Coil => Request::ReadCoils { address, quantity },
            RegisterTable::DiscreteInput => Request::ReadDiscreteInputs { address, quantity },
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

/// Checks a unit id for a unit-addressed request (`max`: 247 on RTU, 255 on TCP, where direct
/// devices often answer on 255).
pub(crate) fn check_unit(bus: &str, unit: u8, max: u8) -> Result<(), BusError> {
    if (1..=max).contains(&unit) {
        Ok(())
    } else {
        Err(BusError::InvalidUnit {
            bus: bus.to_owned(),
            unit,
            max,
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
pub(crate) fn check_attach(
    bus: &str,
    attach: &Attach,
    options: &UnitOptions,
    max_unit: u8,
) -> Result<(), BusError> {
    check_unit(bus, attach.unit, max_unit)?;
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
    if options.response_timeout.is_some_and(|t| t.is_zero()) {
        return Err(invalid("response timeout is zero".into()));
    }
    for block in &attach.blocks {
        check_request(bus, attach.unit, &block.request())?;
    }
    Ok(())
}
