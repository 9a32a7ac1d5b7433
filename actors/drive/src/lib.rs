//! linevisor's drive actors: one supervised actor per physical drive, described by its profile.
//! The runtime builds one [`DriveSetup`] per `[[drive]]` and puts its [`DriveSetup::spec`] under
//! the drives supervisor; callers hold the stable `ChildHandle<DriveMsg>` across restarts.
//! Depends on the bus actors (`linevisor-bus`), the profile codec and the supervision layer; it
//! knows nothing of the control plane. See `README.md` for the behaviour in full.
//!
//! Layers, each file importing only from the layers below it (no import circles):
//!
//! 1. Vocabulary: `state.rs` ([`DriveState`]), `error.rs`, `command.rs` ([`Command`] and its
//!    outcome), `stats.rs` ([`CycleStats`]), `telemetry.rs` (events, samples, snapshot,
//!    channels).
//! 2. [`core`]: the drive's decisions, sans I/O. [`core::DriveCore::step`] takes an event and
//!    the time and returns actions; the safe-state runs ([`core::DriveTo`]) and the start-up
//!    and safe-stop decisions are pure functions. No tokio I/O, no actors, no locks.
//! 3. `link/`: the bus boundary. The drive knows no protocol: its bus hands it a typed
//!    `DriveLink` (Modbus registers, CANopen objects and PDOs; in each bus kind's folder of
//!    `linevisor-bus`), and the forwarding task hands bus events to a callback.
//! 4. `shell/`: the [`Worker`](linevisor_supervisor::Worker) around the core (`shell/mod.rs`),
//!    its messages, the setup and lineage, the start-up procedures and the safe-stop step,
//!    which carry out the core's decisions through the link.
//! 5. [`conformance`]: the profile conformance scenario, on the public API only.

mod command;
pub mod conformance;
pub mod core;
mod error;
mod link;
mod shell;
mod state;
mod stats;
mod telemetry;

pub use command::{Command, CommandAck, CommandKind, CommandResult};
pub use core::{DriveOptions, Handover, Next, Sequence, TrialRule};
pub use error::{CommandError, DeviceRefusal, DriveError};
pub use linevisor_core::PowerState;
pub use shell::lineage::Trial;
pub use shell::msg::{DriveMsg, Internal, send_command, snapshot};
pub use shell::setup::{DriveSetup, SafeStopFuture};
pub use shell::{DriveArgs, DriveInstance, DriveWorker};
pub use state::DriveState;
pub use stats::CycleStats;
pub use telemetry::{
    DriveChannels, DriveEvent, DriveEventKind, DriveSnapshot, Mismatch, ReparamReason, Situation,
    StartupKind, TelemetrySample,
};

/// Re-exported: the enable direction of enumerated drives.
pub use linevisor_profile::Direction;
