//! `linevisor-cia402`: the CiA 402 drive profile as pure data and functions (no I/O, no async).
//!
//! - [`Statusword`] / [`PowerState`]: decode the power state with the mask/value table of
//!   protocols.md §3.6. The state enum itself is linevisor-core's, shared with profiles and
//!   drives; this crate holds its statusword encoding.
//! - [`Controlword`] / [`Command`]: the device-control commands and their bits; [`modes`]
//!   holds the mode-specific bits and object indices of §3.7.
//! - [`sequence`]: master side, the next controlword to write to reach a [`Target`].
//! - [`device`]: device side, a power state machine and a simulated drive with a motion model.
//!
//! Depended on by the drive actors (state model, command sequencing) and by the simulator
//! (device model). It knows nothing of buses, actors or configs.

mod controlword;
pub mod device;
pub mod modes;
pub mod sequence;
mod statusword;
mod transition;

pub use controlword::{Command, Controlword};
pub use linevisor_core::PowerState;
pub use modes::ModeOfOperation;
pub use sequence::{Step, Target, next_step};
pub use statusword::{Statusword, UndefinedState};
pub use transition::{Origin, Transition};
