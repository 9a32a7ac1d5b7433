//! Runs a line: turns a checked config into the supervision tree of
//! `linevisor-supervisor` — one child per bus under the buses supervisor, one subtree per drive
//! under the drives supervisor — keeps the handles the binary and the control plane use, and
//! changes the running tree live (`change/`: plan, transactional apply with rollback).
//! Simulated buses get their drives from linevisor-sim, reached through the real bus actor.

mod build;
mod bus;
pub mod change;
mod error;
pub mod exec;
mod line;
mod tree;

pub use bus::BusCtl;
pub use change::{ApplyReport, Plan};
pub use error::{ChangeError, LineError};
pub use exec::{Execution, RealtimeError};
pub use line::{
    BusEntry, CHANGE_GRACE, ChangeGuard, DriveEntry, LineNotice, LineOptions, RunningLine,
};
pub use tree::{LineTree, LineTreeSpec, drive_subtree};
