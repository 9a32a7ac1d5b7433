//! What callers ask of a drive and what they get back: [`Command`], its [`CommandKind`] (which
//! decides what supersedes what) and the one [`CommandResult`] per command.

use std::time::Duration;

use linevisor_profile::{Direction, UniformCommand};

use crate::{CommandError, DriveState};

/// A command to one drive, in the profile's engineering units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Command {
    /// Power up and follow setpoints (enumerated drives: the `enable` / `enable_reverse` code).
    Enable(Direction),
    /// Power stage off.
    Disable,
    /// Ramp to standstill, stay powered (CiA 402 disable operation).
    Stop,
    /// Stop on the quick-stop ramp.
    QuickStop,
    /// Clear a latched fault.
    FaultReset,
    /// Velocity setpoint (the profile's `[setpoints] velocity`, in its velocity unit).
    SetVelocity(f64),
    /// Position move, with an optional profile velocity.
    MoveTo {
        /// Target position.
        position: f64,
        /// Profile velocity for the move.
        velocity: Option<f64>,
    },
    /// Start homing (profiles with `[homing]`).
    Home,
}

/// State commands run a power-state sequence; motion commands write setpoints. A newer command
/// supersedes a pending one of the same kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandKind {
    /// Enable, disable, stop, quick stop, fault reset.
    State(UniformCommand),
    /// Velocity, position, homing.
    Motion,
}

impl Command {
    /// State or motion.
    pub fn kind(&self) -> CommandKind {
        CommandKind::State(match self {
            Command::Enable(d) => UniformCommand::Enable(*d),
            Command::Disable => UniformCommand::Disable,
            Command::Stop => UniformCommand::Stop,
            Command::QuickStop => UniformCommand::QuickStop,
            Command::FaultReset => UniformCommand::FaultReset,
            Command::SetVelocity(_) | Command::MoveTo { .. } | Command::Home => {
                return CommandKind::Motion;
            }
        })
    }
}

/// A confirmed command.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandAck {
    pub command: Command,
    /// The drive's state when it was confirmed.
    pub state: DriveState,
    /// Setpoints read back (point, engineering value); empty for state commands.
    pub readback: Vec<(String, f64)>,
    /// From acceptance by the actor to confirmation.
    pub took: Duration,
}

/// Outcome of one command.
pub type CommandResult = Result<CommandAck, CommandError>;
