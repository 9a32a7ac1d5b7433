//! Modbus exception codes, numbered by the Modbus application protocol specification.
//!
//! Our own table because rmodbus 0.13 mis-numbers the gateway codes (protocols.md §1.1):
//! it has gateway path unavailable = 0x09 and target failed = 0x0A, so a real 0x0A or 0x0B
//! decodes as "unknown". Here 0x0A and 0x0B are what the spec says.

use std::fmt;

/// The code of an exception response (byte after the function code | 0x80).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExceptionCode {
    /// 0x01.
    IllegalFunction,
    /// 0x02.
    IllegalDataAddress,
    /// 0x03.
    IllegalDataValue,
    /// 0x04.
    ServerDeviceFailure,
    /// 0x05: accepted, processing takes long.
    Acknowledge,
    /// 0x06.
    ServerDeviceBusy,
    /// 0x07.
    NegativeAcknowledge,
    /// 0x08.
    MemoryParityError,
    /// 0x0A: a gateway has no path to the target.
    GatewayPathUnavailable,
    /// 0x0B: a gateway got no response from the target device.
    GatewayTargetDeviceFailedToRespond,
    /// Any other byte (0x09 is not assigned).
    Other(u8),
}

impl ExceptionCode {
    /// The byte on the wire.
    pub const fn code(self) -> u8 {
        match self {
            Self::IllegalFunction => 0x01,
            Self::IllegalDataAddress => 0x02,
            Self::IllegalDataValue => 0x03,
            Self::ServerDeviceFailure => 0x04,
            Self::Acknowledge => 0x05,
            Self::ServerDeviceBusy => 0x06,
            Self::NegativeAcknowledge => 0x07,
            Self::MemoryParityError => 0x08,
            Self::GatewayPathUnavailable => 0x0A,
            Self::GatewayTargetDeviceFailedToRespond => 0x0B,
            Self::Other(b) => b,
        }
    }

    /// Decodes the byte on the wire; total.
    pub const fn from_code(b: u8) -> Self {
        match b {
            0x01 => Self::IllegalFunction,
            0x02 => Self::IllegalDataAddress,
            0x03 => Self::IllegalDataValue,
            0x04 => Self::ServerDeviceFailure,
            0x05 => Self::Acknowledge,
            0x06 => Self::ServerDeviceBusy,
            0x07 => Self::NegativeAcknowledge,
            0x08 => Self::MemoryParityError,
            0x0A => Self::GatewayPathUnavailable,
            0x0B => Self::GatewayTargetDeviceFailedToRespond,
            other => Self::Other(other),
        }
    }

    /// The name the specification gives it.
    pub const fn name(self) -> &'static str {
        match self {
            Self::IllegalFunction => "illegal function",
            Self::IllegalDataAddress => "illegal data address",
            Self::IllegalDataValue => "illegal data value",
            Self::ServerDeviceFailure => "server device failure",
            Self::Acknowledge => "acknowledge",
            Self::ServerDeviceBusy => "server device busy",
            Self::NegativeAcknowledge => "negative acknowledge",
            Self::MemoryParityError => "memory parity error",
            Self::GatewayPathUnavailable => "gateway path unavailable",
            Self::GatewayTargetDeviceFailedToRespond => "gateway target device failed to respond",
            Self::Other(_) => "unassigned exception code",
        }
    }
}

impl From<u8> for ExceptionCode {
    fn from(b: u8) -> Self {
        Self::from_code(b)
    }
}

impl fmt::Display for ExceptionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#04x} ({})", self.code(), self.name())
    }
}

/// A device's answer refusing a request: an exception response. The drive handles it; the
/// link is fine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("unit {unit} answered function {function:#04x} with exception {code}")]
pub struct Exception {
    /// The unit that answered.
    pub unit: u8,
    /// The function code of the request (without the 0x80 flag).
    pub function: u8,
    /// The exception code.
    pub code: ExceptionCode,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_gateway_codes_are_the_specs() {
        for b in 0..=u8::MAX {
            assert_eq!(ExceptionCode::from_code(b).code(), b);
        }
        assert_eq!(
            ExceptionCode::from_code(0x0A),
            ExceptionCode::GatewayPathUnavailable
        );
        assert_eq!(
            ExceptionCode::from_code(0x0B),
            ExceptionCode::GatewayTargetDeviceFailedToRespond
        );
        assert_eq!(ExceptionCode::from_code(0x09), ExceptionCode::Other(0x09));
    }
}
