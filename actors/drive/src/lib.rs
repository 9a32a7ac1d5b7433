//! linevisor's drive actors: one supervised actor per physical drive, described by its profile.
//! The runtime builds one [`DriveSetup`] per `[[drive]]` and puts its [`DriveSetup::spec`] under
//! the drives supervisor; callers hold the stable `ChildHandle<DriveMsg>` across restarts.
//! Depends on the bus actors (`linevisor-bus`), the profile codec and the supervision layer; it
//! knows nothing of the control plane. See `README.md` for the behaviour in full.
//!
//! Layout: `worker.rs` (the [`Worker`](linevisor_supervisor::Worker) impl and the instance
//! state), `cycle.rs` (bus events), `command/` (intake, sequences, acknowledgement),
//! `startup.rs` + `identity.rs` (start-up, adopt, reconnect, parameters), `safe.rs` (safe states
//! through acyclic I/O, the safe-stop step), `telemetry.rs` + `stats.rs` (what is published),
//! `link/` (the bus boundary; Modbus specifics only in `link/modbus.rs`), `conformance/`
//! (the profile conformance scenario, device side abstracted).

mod command;
pub mod conformance;
mod cycle;
mod error;
mod identity;
mod limits;
mod link;
mod msg;
mod safe;
mod setup;
mod startup;
mod state;
mod stats;
mod telemetry;
mod trial;
mod worker;

pub use command::{Next, Sequence};
pub use error::{CommandError, DeviceRefusal, DriveError};
pub use msg::{
    Command, CommandAck, CommandKind, CommandResult, DriveMsg, Internal, send_command, snapshot,
};
pub use setup::{DriveOptions, DriveSetup, SafeStopFuture, Trial};
pub use state::DriveState;
pub use stats::CycleStats;
pub use telemetry::{
    DriveChannels, DriveEvent, DriveEventKind, DriveSnapshot, Mismatch, ReparamReason, Situation,
    StartupKind, TelemetrySample,
};
pub use trial::TrialRule;
pub use worker::{DriveArgs, DriveInstance, DriveWorker, Handover};

/// Re-exported: the enable direction of enumerated drives.
pub use linevisor_profile::Direction;
