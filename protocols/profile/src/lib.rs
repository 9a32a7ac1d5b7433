#![doc = include_str!("../README.md")]

mod codec;
mod command;
mod error;
mod plan;
pub mod point;
mod setpoint;
mod status;

pub use codec::{PointWrite, ProfileCodec, RegisterWrite};
pub use command::{CommandState, CommandStep, Direction, Refusal, UniformCommand};
pub use error::CodecError;
pub use linevisor_core::PowerState;
pub use plan::{Block, PointValue, ReadPlan, Sample};
pub use point::PointCodec;
pub use setpoint::{MotionWrites, TelemetryValues};
pub use status::rule_matches;
