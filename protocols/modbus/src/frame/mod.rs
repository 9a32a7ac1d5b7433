//! Protocol data units: the requests and responses of the function codes we support
//! (0x01–0x06, 0x0F, 0x10), independent of RTU or TCP framing.

pub(crate) mod pdu;
mod rtu;
mod tcp;

pub use rtu::RtuFrame;
pub use tcp::{MbapHeader, TcpFrame};

use crate::{ExceptionCode, FrameError};

/// Function codes.
pub mod function {
    /// Read coils.
    pub const READ_COILS: u8 = 0x01;
    /// Read discrete inputs.
    pub const READ_DISCRETE_INPUTS: u8 = 0x02;
    /// Read holding registers.
    pub const READ_HOLDING_REGISTERS: u8 = 0x03;
    /// Read input registers.
    pub const READ_INPUT_REGISTERS: u8 = 0x04;
    /// Write single coil.
    pub const WRITE_SINGLE_COIL: u8 = 0x05;
    /// Write single register.
    pub const WRITE_SINGLE_REGISTER: u8 = 0x06;
    /// Write multiple coils.
    pub const WRITE_MULTIPLE_COILS: u8 = 0x0F;
    /// Write multiple registers.
    pub const WRITE_MULTIPLE_REGISTERS: u8 = 0x10;
    /// Flag set on the function byte of an exception response.
    pub const EXCEPTION_FLAG: u8 = 0x80;
}

/// Largest quantities per function (Modbus application protocol spec; they keep a PDU ≤ 253).
pub mod limits {
    /// FC 1 and 2.
    pub const READ_BITS: u16 = 2000;
    /// FC 3 and 4.
    pub const READ_REGISTERS: u16 = 125;
    /// FC 15.
    pub const WRITE_COILS: u16 = 1968;
    /// FC 16.
    pub const WRITE_REGISTERS: u16 = 123;
}

/// A request PDU.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Request {
    /// 0x01.
    ReadCoils {
        /// First coil.
        address: u16,
        /// Number of coils, 1..=2000.
        quantity: u16,
    },
    /// 0x02.
    ReadDiscreteInputs {
        /// First input.
        address: u16,
        /// Number of inputs, 1..=2000.
        quantity: u16,
    },
    /// 0x03.
    ReadHoldingRegisters {
        /// First register.
        address: u16,
        /// Number of registers, 1..=125.
        quantity: u16,
    },
    /// 0x04.
    ReadInputRegisters {
        /// First register.
        address: u16,
        /// Number of registers, 1..=125.
        quantity: u16,
    },
    /// 0x05.
    WriteSingleCoil {
        /// Coil.
        address: u16,
        /// Value.
        value: bool,
    },
    /// 0x06.
    WriteSingleRegister {
        /// Register.
        address: u16,
        /// Value.
        value: u16,
    },
    /// 0x0F.
    WriteMultipleCoils {
        /// First coil.
        address: u16,
        /// Values, 1..=1968.
        values: Vec<bool>,
    },
    /// 0x10.
    WriteMultipleRegisters {
        /// First register.
        address: u16,
        /// Values, 1..=123.
        values: Vec<u16>,
    },
}

/// A normal response PDU. Bit reads decoded without their request carry whole bytes (a
/// multiple of 8 values); the clients trim them to the quantity asked for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Response {
    /// 0x01.
    ReadCoils(Vec<bool>),
    /// 0x02.
    ReadDiscreteInputs(Vec<bool>),
    /// 0x03.
    ReadHoldingRegisters(Vec<u16>),
    /// 0x04.
    ReadInputRegisters(Vec<u16>),
    /// 0x05, echo of the request.
    WriteSingleCoil {
        /// Coil.
        address: u16,
        /// Value.
        value: bool,
    },
    /// 0x06, echo of the request.
    WriteSingleRegister {
        /// Register.
        address: u16,
        /// Value.
        value: u16,
    },
    /// 0x0F.
    WriteMultipleCoils {
        /// First coil.
        address: u16,
        /// Number written.
        quantity: u16,
    },
    /// 0x10.
    WriteMultipleRegisters {
        /// First register.
        address: u16,
        /// Number written.
        quantity: u16,
    },
}

/// An exception response PDU: function byte | 0x80, then the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExceptionResponse {
    /// Function code of the refused request (flag removed).
    pub function: u8,
    pub code: ExceptionCode,
}

/// A response PDU as it comes off the wire: normal or exception.
pub type ResponsePdu = Result<Response, ExceptionResponse>;

impl Request {
    /// Function code.
    pub fn function(&self) -> u8 {
        use function::*;
        match self {
            Request::ReadCoils { .. } => READ_COILS,
            Request::ReadDiscreteInputs { .. } => READ_DISCRETE_INPUTS,
            Request::ReadHoldingRegisters { .. } => READ_HOLDING_REGISTERS,
            Request::ReadInputRegisters { .. } => READ_INPUT_REGISTERS,
            Request::WriteSingleCoil { .. } => WRITE_SINGLE_COIL,
            Request::WriteSingleRegister { .. } => WRITE_SINGLE_REGISTER,
            Request::WriteMultipleCoils { .. } => WRITE_MULTIPLE_COILS,
            Request::WriteMultipleRegisters { .. } => WRITE_MULTIPLE_REGISTERS,
        }
    }

    /// True for the write functions (the only ones a broadcast may carry).
    pub fn is_write(&self) -> bool {
        self.function() >= function::WRITE_SINGLE_COIL
    }

    /// Start address.
    pub fn address(&self) -> u16 {
        match self {
            Request::ReadCoils { address, .. }
            | Request::ReadDiscreteInputs { address, .. }
            | Request::ReadHoldingRegisters { address, .. }
            | Request::ReadInputRegisters { address, .. }
            | Request::WriteSingleCoil { address, .. }
            | Request::WriteSingleRegister { address, .. }
            | Request::WriteMultipleCoils { address, .. }
            | Request::WriteMultipleRegisters { address, .. } => *address,
        }
    }

    /// Number of coils or registers addressed.
    pub fn quantity(&self) -> usize {
        match self {
            Request::ReadCoils { quantity, .. }
            | Request::ReadDiscreteInputs { quantity, .. }
            | Request::ReadHoldingRegisters { quantity, .. }
            | Request::ReadInputRegisters { quantity, .. } => usize::from(*quantity),
            Request::WriteSingleCoil { .. } | Request::WriteSingleRegister { .. } => 1,
            Request::WriteMultipleCoils { values, .. } => values.len(),
            Request::WriteMultipleRegisters { values, .. } => values.len(),
        }
    }

    /// Checks quantity limits and address range.
    pub fn validate(&self) -> Result<(), FrameError> {
        let max = match self {
            Request::ReadCoils { .. } | Request::ReadDiscreteInputs { .. } => limits::READ_BITS,
            Request::ReadHoldingRegisters { .. } | Request::ReadInputRegisters { .. } => {
                limits::READ_REGISTERS
            }
            Request::WriteMultipleCoils { .. } => limits::WRITE_COILS,
            Request::WriteMultipleRegisters { .. } => limits::WRITE_REGISTERS,
            Request::WriteSingleCoil { .. } | Request::WriteSingleRegister { .. } => 1,
        };
        let (function, quantity, address) = (self.function(), self.quantity(), self.address());
        if quantity == 0 || quantity > usize::from(max) {
            return Err(FrameError::Quantity {
                function,
                quantity,
                max,
            });
        }
        if usize::from(address) + quantity > 0x1_0000 {
            return Err(FrameError::AddressOverflow {
                function,
                address,
                quantity,
            });
        }
        Ok(())
    }

    /// Checks that `response` answers this request (function, count, echoed address and
    /// value) and returns it with bit reads trimmed to the quantity asked for.
    pub fn check_response(&self, response: Response) -> Result<Response, String> {
        match (self, response) {
            (Request::ReadCoils { quantity, .. }, Response::ReadCoils(bits)) => {
                trim_bits(*quantity, bits).map(Response::ReadCoils)
            }
            (Request::ReadDiscreteInputs { quantity, .. }, Response::ReadDiscreteInputs(bits)) => {
                trim_bits(*quantity, bits).map(Response::ReadDiscreteInputs)
            }
            (Request::ReadHoldingRegisters { quantity, .. }, Response::ReadHoldingRegisters(w)) => {
                count("register count", usize::from(*quantity), w.len())?;
                Ok(Response::ReadHoldingRegisters(w))
            }
            (Request::ReadInputRegisters { quantity, .. }, Response::ReadInputRegisters(w)) => {
                count("register count", usize::from(*quantity), w.len())?;
                Ok(Response::ReadInputRegisters(w))
            }
            (
                Request::WriteSingleCoil { address, value },
                r @ Response::WriteSingleCoil {
                    address: a,
                    value: v,
                },
            ) => echo(*address, a, u16::from(*value), u16::from(v)).map(|()| r),
            (
                Request::WriteSingleRegister { address, value },
                r @ Response::WriteSingleRegister {
                    address: a,
                    value: v,
                },
            ) => echo(*address, a, *value, v).map(|()| r),
            (
                Request::WriteMultipleCoils { address, values },
                r @ Response::WriteMultipleCoils {
                    address: a,
                    quantity,
                },
            ) => echo(*address, a, len16(values.len()), quantity).map(|()| r),
            (
                Request::WriteMultipleRegisters { address, values },
                r @ Response::WriteMultipleRegisters {
                    address: a,
                    quantity,
                },
            ) => echo(*address, a, len16(values.len()), quantity).map(|()| r),
            (req, resp) => Err(format!(
                "function {:#04x} answered by function {:#04x}",
                req.function(),
                resp.function()
            )),
        }
    }
}

fn count(what: &str, expected: usize, got: usize) -> Result<(), String> {
    if expected == got {
        Ok(())
    } else {
        Err(format!("{what} {got}, expected {expected}"))
    }
}

fn trim_bits(quantity: u16, mut bits: Vec<bool>) -> Result<Vec<bool>, String> {
    let q = usize::from(quantity);
    count("byte count", q.div_ceil(8), bits.len().div_ceil(8))?;
    bits.truncate(q);
    Ok(bits)
}

fn echo(address: u16, got_address: u16, value: u16, got_value: u16) -> Result<(), String> {
    if address != got_address {
        return Err(format!("address {got_address}, expected {address}"));
    }
    if value != got_value {
        return Err(format!(
            "value or quantity {got_value:#06x}, expected {value:#06x}"
        ));
    }
    Ok(())
}

fn len16(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

impl Response {
    /// Function code.
    pub fn function(&self) -> u8 {
        use function::*;
        match self {
            Response::ReadCoils(_) => READ_COILS,
            Response::ReadDiscreteInputs(_) => READ_DISCRETE_INPUTS,
            Response::ReadHoldingRegisters(_) => READ_HOLDING_REGISTERS,
            Response::ReadInputRegisters(_) => READ_INPUT_REGISTERS,
            Response::WriteSingleCoil { .. } => WRITE_SINGLE_COIL,
            Response::WriteSingleRegister { .. } => WRITE_SINGLE_REGISTER,
            Response::WriteMultipleCoils { .. } => WRITE_MULTIPLE_COILS,
            Response::WriteMultipleRegisters { .. } => WRITE_MULTIPLE_REGISTERS,
        }
    }

    /// The normal response a device gives to a write request it carried out (its echo).
    /// `None` for reads.
    pub fn write_echo(request: &Request) -> Option<Response> {
        Some(match request {
            Request::WriteSingleCoil { address, value } => Response::WriteSingleCoil {
                address: *address,
                value: *value,
            },
            Request::WriteSingleRegister { address, value } => Response::WriteSingleRegister {
                address: *address,
                value: *value,
            },
            Request::WriteMultipleCoils { address, values } => Response::WriteMultipleCoils {
                address: *address,
                quantity: len16(values.len()),
            },
            Request::WriteMultipleRegisters { address, values } => {
                Response::WriteMultipleRegisters {
                    address: *address,
                    quantity: len16(values.len()),
                }
            }
            _ => return None,
        })
    }
}
