//! The simulator's error enum. Config file problems are [`crate::SimConfigError`] (diagnostics
//! with file, line and column, like `linevisor check`).

use linevisor_core::PowerState;
use linevisor_profile::CodecError;

/// What can go wrong building or running simulated drives.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The profile is not a Modbus profile.
    #[error("profile {profile:?} speaks {protocol}; the simulator serves Modbus profiles")]
    NotModbus {
        profile: String,
        /// Its protocol.
        protocol: &'static str,
    },
    /// The profile cannot be interpreted.
    #[error("profile {profile:?}: {source}")]
    Codec { profile: String, source: CodecError },
    /// No status rule (or fallback) lets the simulator show a state the device model reaches.
    #[error(
        "profile {profile:?}: no [status] rule can show {state:?} or a neighbouring state; add a rule"
    )]
    Inexpressible {
        profile: String,
        /// The state.
        state: PowerState,
    },
    /// No simulated drive at this unit id.
    #[error("no simulated drive at unit {0}")]
    UnknownUnit(u8),
    /// A unit id outside 1–247.
    #[error("unit id {0} is outside 1–247")]
    UnitRange(u8),
    /// A TCP endpoint could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// Address asked for.
        address: String,
        source: std::io::Error,
    },
    /// A pseudo-terminal pair could not be created.
    #[error("cannot create a pseudo-terminal pair: {0}")]
    Pty(#[from] tokio_serial::Error),
    /// The slcan adapter's pseudo-terminal could not be created.
    #[error("cannot create the slcan adapter's pseudo-terminal: {0}")]
    SlcanPty(std::io::Error),
    /// A CANopen node id outside 1–127.
    #[error("CANopen node id {0} is outside 1–127")]
    NodeRange(u8),
}
