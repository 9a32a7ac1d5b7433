//! The shell: the drive actor as a supervised `Worker` around the sans-IO `DriveCore`. It
//! turns messages and bus events into core events, carries out the core's actions (reads and
//! writes through the [`Link`](crate::link::Link), replies, events, telemetry, the start-up
//! task) and feeds their results back. `start` attaches (through the forwarding task) and
//! queues a first tick without any I/O of its own, so a restart is immediate and an unreachable
//! drive never fails its actor.
//!
//! Files, each importing only those listed after it: `setup.rs` (building a child),
//! `worker.rs` (the worker and its instance), `startup.rs` (the start-up procedures and
//! parameters), `safe.rs` (the safe-stop step and safe-state runs through acyclic I/O),
//! `lineage.rs` (what outlives an instance), `replies.rs` (reply ports), `msg.rs` (the
//! messages).

pub(crate) mod lineage;
pub(crate) mod msg;
mod replies;
mod safe;
pub(crate) mod setup;
mod startup;
mod worker;

pub use worker::{DriveArgs, DriveInstance, DriveWorker};
