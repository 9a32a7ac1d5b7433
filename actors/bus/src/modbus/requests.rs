//! The Modbus side of the boundary: register blocks a drive polls, writes, and the checks a
//! request passes before it is queued.

use linevisor_modbus::{Exception, Request};
use serde::Serialize;

use crate::{Attach, BusError};

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
pub(crate) fn check_attach(bus: &str, attach: &Attach, max_unit: u8) -> Result<(), BusError> {
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
    for block in &attach.blocks {
        check_request(bus, attach.unit, &block.request())?;
    }
    Ok(())
}
