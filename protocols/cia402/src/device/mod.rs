//! Device side: what a CiA 402 drive does with the words a master writes. Used by the simulator
//! and by property tests of the master-side sequencing.

mod drive;
mod motion;
mod state_machine;

pub use drive::{DriveParameters, SimulatedDrive};
pub use motion::{MotionModel, MotionTarget};
pub use state_machine::{PowerStateMachine, QuickStopOption};
