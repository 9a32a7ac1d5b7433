//! The simulator's error enum. Config file problems are [`crate::SimConfigError`] (diagnostics
//! with file, line and column, like `linevisor check`).

use linevisor_core::PowerState;
use linevisor_profile::CodecError;

/// What can go wrong building or running simulated drives.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The profile speaks a protocol a [`crate::SimDrive`] cannot serve (CANopen nodes are
    /// simulated by linevisor-canopen).
    #[error(
        "profile {profile:?} speaks {protocol}; a simulated drive serves Modbus and serial profiles"
    )]
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
    /// A serial line needs at least one serial drive.
    #[error("no serial drive to serve on a serial line")]
    NoSerialDrive,
    /// A unit on a serial line hosts a drive of another protocol.
    #[error("unit {unit} runs profile {profile:?}, which is not a serial profile")]
    NotSerial { unit: u8, profile: String },
    /// Drives of one serial line must share one framing.
    #[error(
        "unit {unit} speaks {framing} but unit {first} on the same serial line speaks {first_framing}; serve them on separate lines"
    )]
    MixedFraming {
        /// The first unit of the line and its framing.
        first: u8,
        first_framing: String,
        /// The unit that differs and its framing.
        unit: u8,
        framing: String,
    },
    /// The serial line's stream failed.
    #[error("serial line: {0}")]
    SerialIo(std::io::Error),
}
