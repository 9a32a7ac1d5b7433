//! The drive layer's errors: [`DriveError`] when a drive cannot be built from its config and
//! profile, [`CommandError`] as the one reason a command did not complete.

use std::fmt;
use std::time::Duration;

use linevisor_bus::BusError;
use linevisor_profile::CodecError;
use linevisor_supervisor::SupervisorError;

use crate::state::DriveState;

/// Why a drive cannot be set up. Found before anything runs, so nothing was sent.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DriveError {
    /// The profile cannot be turned into a codec (bad point reference, register, scale).
    #[error("drive {drive}: profile {profile:?}: {source}")]
    Codec {
        drive: String,
        profile: String,
        /// What the codec reported.
        source: CodecError,
    },
    /// The profile's protocol has no link in this crate yet.
    #[error(
        "drive {drive}: profile {profile:?} speaks {protocol}; the drive actor has no {protocol} link yet"
    )]
    Protocol {
        drive: String,
        profile: String,
        protocol: &'static str,
    },
    /// The drive's address is not usable on its bus.
    #[error(
        "drive {drive}: address {address} is not usable on its bus (Modbus unit id 1–247 on RTU, 1–255 on TCP; CANopen node id 1–127)"
    )]
    Address { drive: String, address: u32 },
    /// A configured parameter cannot be encoded (unknown name, outside the profile's range).
    #[error("drive {drive}: parameter {name:?}: {source}")]
    Parameter {
        drive: String,
        name: String,
        /// What the codec reported.
        source: CodecError,
    },
    /// A parameter in the profile's acceleration unit exceeds `limits.acceleration_max`.
    #[error(
        "drive {drive}: parameter {name:?} = {value} {unit} exceeds limits.acceleration_max = {limit}"
    )]
    AccelerationLimit {
        drive: String,
        name: String,
        value: f64,
        /// Its unit (the profile's acceleration unit).
        unit: String,
        /// `acceleration_max`.
        limit: f64,
    },
}

/// A device's refusal of a request (a Modbus exception, later an SDO abort): the drive is alive
/// and said no.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRefusal {
    /// The protocol's code (Modbus exception code, SDO abort code).
    pub code: u32,
    /// What the code means, with the request it refused.
    pub meaning: String,
}

impl fmt::Display for DeviceRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.meaning)
    }
}

/// Why a command did not complete. Every accepted command ends in exactly one outcome: its
/// acknowledgement, or one of these.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CommandError {
    /// Refused before anything was sent: a limit from the drive's config, or the range of the
    /// setpoint's register.
    #[error("{what}: {value} exceeds the limit {limit}")]
    LimitExceeded {
        /// Which limit (`velocity_max`, `position_min`, `position_max`, or `range of <point>`).
        what: String,
        /// The commanded value.
        value: f64,
        limit: f64,
    },
    /// The drive is in fault (or its fault reaction); reset the fault first.
    #[error("the drive is in fault (code {code:?}); reset the fault first")]
    InFault {
        /// The fault code (masked by the profile's `code_mask`), if the profile has one.
        code: Option<u32>,
    },
    /// No communication with the drive, now or while the command was pending.
    #[error("communication with the drive is lost: {reason}")]
    CommLoss {
        /// What the bus reported.
        reason: String,
    },
    /// The readback did not confirm the command in time.
    #[error("not confirmed within {after:?}; the drive is {state}")]
    Timeout {
        /// The command timeout.
        after: Duration,
        /// The drive's last known state.
        state: DriveState,
    },
    /// A newer command of the same kind (state or motion) replaced this one.
    #[error("superseded by a newer command of the same kind")]
    Superseded,
    /// The profile has no means to carry out this command.
    #[error("not supported: {what}")]
    Unsupported {
        /// What is missing.
        what: String,
    },
    /// The drive refused a write or read.
    #[error("the drive refused: {0}")]
    Device(DeviceRefusal),
    /// The bus could not carry out a write or read (timeout, demoted unit, queue full).
    #[error(transparent)]
    Bus(BusError),
    /// The setpoint read back differs from the one written by more than the point's resolution.
    #[error("{point} read back as {got}, written {expected} (resolution {resolution})")]
    ReadbackMismatch {
        point: String,
        expected: f64,
        got: f64,
        /// Tolerance (the point's resolution).
        resolution: f64,
    },
    /// The start-up procedure has not completed yet (parameters not verified, drive not adopted).
    #[error("the drive is not ready ({state}): {reason}")]
    NotReady {
        state: DriveState,
        /// Why, e.g. the last start-up failure.
        reason: String,
    },
    /// The drive's actor instance ended (crash, stop) before the readback confirmed it.
    #[error("the drive actor ended before the command was confirmed: {reason}")]
    Aborted {
        /// What ended it.
        reason: String,
    },
    /// The drive's stable handle refused the message (restarting a fail-fast kind, unavailable,
    /// overloaded) or the instance failed while handling it.
    #[error(transparent)]
    Delivery(SupervisorError),
}

impl CommandError {
    /// A codec error met while encoding a command: a value outside a register's range is a
    /// limit; anything else means the profile cannot do it.
    pub(crate) fn from_codec(e: CodecError) -> Self {
        match e {
            CodecError::OutOfRange {
                point,
                value,
                min,
                max,
                ..
            } => CommandError::LimitExceeded {
                what: format!("range of {point}"),
                value,
                limit: if value < min { min } else { max },
            },
            other => CommandError::Unsupported {
                what: other.to_string(),
            },
        }
    }

    /// The handle's answer to a command message that was not handled.
    pub(crate) fn from_delivery(e: SupervisorError) -> Self {
        match e {
            SupervisorError::Superseded { .. } => CommandError::Superseded,
            SupervisorError::Failed { reason, .. } => CommandError::Aborted {
                reason: reason.to_string(),
            },
            other => CommandError::Delivery(other),
        }
    }
}
