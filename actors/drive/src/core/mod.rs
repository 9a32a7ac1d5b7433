//! The drive's core, sans I/O: one state machine per drive instance. The shell feeds it
//! [`Event`]s with the time they are handled at and carries out the [`Action`]s it returns; the
//! core never reads a clock, never awaits, owns no channel and no lock. It asks for at most one
//! read or write at a time ([`Action::Write`], [`Action::Read`]) and goes on with the rest of
//! its work when the shell reports it done ([`Event::WriteDone`], [`Event::ReadDone`]); events
//! that arrive meanwhile take effect at once and queue their own I/O behind it.
//!
//! Time is `tokio::time::Instant`: the bus stamps samples with it and telemetry carries it, and
//! the shell's `Instant::now()` then follows a paused test clock. The core only compares and
//! adds the instants it is given, so it runs outside any runtime.
//!
//! Files: `intake.rs` (commands: limits, readiness, supersede, deadlines), `sequence.rs` (state
//! commands, and [`DriveTo`] for the safe states), `motion.rs` (setpoints, readback, release),
//! `state_read.rs` (the statusword read after a state command's write), `cycle.rs` (samples, failed cycles, comm lost/up, the reported state), `lifecycle.rs` (the
//! start-up procedure's turn, the trial), `startup.rs` (the start-up and safe-stop decisions),
//! `event.rs` (the interface), `ack.rs`, `limits.rs`, `trial.rs`,
//! `spec.rs` (the settings), `carry.rs` (the carry-over between instances).

mod ack;
mod carry;
mod cycle;
mod event;
mod intake;
mod lifecycle;
mod limits;
mod machine;
mod motion;
mod pending;
mod sequence;
mod spec;
mod startup;
mod state_read;
mod trial;

pub use ack::{resolution, within};
pub use carry::{CarryOver, Handover};
pub use event::{Action, CommandId, CycleSample, Event, IoId, Start};
pub use machine::DriveCore;
pub use sequence::{DriveTo, Next, Poll, Sequence};
pub use spec::{DriveOptions, DriveSpec, SafeStates};
pub use startup::{
    StartupJob, StartupOutcome, StartupPlan, StopPlan, download_differing, mismatches,
    needs_quick_stop, observed_points, parameter_points, plan, readable_command_point,
    readable_setpoints, safe_command, standstill, startup_kind, stop_plan,
};
pub use trial::TrialRule;
