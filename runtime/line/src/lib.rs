//! Runs a line: turns a checked config into the supervision tree of
//! `linevisor-supervisor` — one child per bus under the buses supervisor, one subtree per drive
//! under the drives supervisor — and keeps the handles the binary and the control plane use.
//! Simulated buses get their drives from linevisor-sim, reached through the real bus actor.

mod bus;
mod error;
mod line;
mod simulated;

pub use bus::BusCtl;
pub use error::LineError;
pub use line::{BusEntry, DriveEntry, LineOptions, RunningLine};
