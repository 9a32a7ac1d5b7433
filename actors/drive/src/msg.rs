//! The drive actor's messages, their delivery policies on the stable handle, and the client
//! helpers that turn every outcome into a [`CommandResult`].

use std::time::Duration;

use linevisor_bus::BusEvent;
use linevisor_profile::{Direction, UniformCommand};
use linevisor_supervisor::{
    ChildHandle, Deliverable, DeliveryPolicy, RpcReplyPort, SupervisorError,
};

use crate::telemetry::DriveSnapshot;
use crate::{CommandError, DriveState};

/// Latest-wins keys on the drive's handle.
const KEY_SAMPLE: u32 = 0;
const KEY_VELOCITY: u32 = 1;

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
    /// Its kind.
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
    /// The command.
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

/// Messages of a drive actor.
#[derive(Debug)]
pub enum DriveMsg {
    /// Run a command; the reply comes once the readback confirms it, or with its reason.
    Command(Command, RpcReplyPort<CommandResult>),
    /// State, last sample and counters (for the control plane).
    Snapshot(RpcReplyPort<DriveSnapshot>),
    /// Fault injection for isolation tests and benchmarks: the handler panics, exactly as a bug
    /// in the actor would. The supervisor restarts the instance; the drive is adopted or
    /// re-initialised per its `restart` policy.
    Crash,
    /// The actor's own traffic (bus events, start-up); built only inside this crate.
    Internal(Internal),
}

/// Traffic an instance sends itself. Tagged with the instance generation, so what a dead
/// instance's tasks left queued is ignored by its successor.
#[derive(Debug)]
pub struct Internal {
    pub(crate) generation: u64,
    pub(crate) kind: InternalKind,
}

#[derive(Debug)]
pub(crate) enum InternalKind {
    /// Run the start-up procedure (queued by `start`).
    Start,
    /// An event from the bus; `n` counts the samples the forwarding task received.
    Bus { n: u64, event: BusEvent },
    /// The attachment ended or could not be made.
    LinkLost { reason: String },
    /// A start-up procedure finished.
    StartupDone(Box<crate::startup::StartupDone>),
    /// A start-up procedure's outcome could not be delivered: run it again.
    Retry,
}

impl Deliverable for DriveMsg {
    fn policy(&self) -> DeliveryPolicy {
        match self {
            // Only the newest velocity matters; a queued older one is told `Superseded`.
            DriveMsg::Command(Command::SetVelocity(_), _) => {
                DeliveryPolicy::LatestWins(KEY_VELOCITY)
            }
            DriveMsg::Snapshot(_) => DeliveryPolicy::FailFast,
            DriveMsg::Internal(Internal {
                kind:
                    InternalKind::Bus {
                        event: BusEvent::Sample(_),
                        ..
                    },
                ..
            }) => DeliveryPolicy::LatestWins(KEY_SAMPLE),
            _ => DeliveryPolicy::EachCounts,
        }
    }
}

/// Sends `command` and waits for its one outcome: the acknowledgement, the drive's reason, or
/// the handle's refusal mapped to a [`CommandError`] (`Superseded` while queued, `Aborted` when
/// the instance failed on it, `Delivery` otherwise).
pub async fn send_command(handle: &ChildHandle<DriveMsg>, command: Command) -> CommandResult {
    handle
        .call(|reply| DriveMsg::Command(command, reply))
        .await
        .map_err(CommandError::from_delivery)?
}

/// The drive's snapshot.
pub async fn snapshot(handle: &ChildHandle<DriveMsg>) -> Result<DriveSnapshot, SupervisorError> {
    handle.call(DriveMsg::Snapshot).await
}
