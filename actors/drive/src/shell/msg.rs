//! The drive actor's messages, their delivery policies on the stable handle, and the client
//! helpers that turn every outcome into a [`CommandResult`].

use linevisor_bus::BusEvent;
use linevisor_supervisor::{
    ChildHandle, Deliverable, DeliveryPolicy, RpcReplyPort, SupervisorError,
};

use crate::command::{Command, CommandResult};
use crate::core::StartupOutcome;
use crate::error::CommandError;
use crate::telemetry::DriveSnapshot;

/// Latest-wins keys on the drive's handle.
const KEY_SAMPLE: u32 = 0;
const KEY_VELOCITY: u32 = 1;

/// Messages of a drive actor.
#[derive(Debug)]
pub enum DriveMsg {
    /// Run a command; the reply comes once the readback confirms it, or with its reason.
    Command(Command, RpcReplyPort<CommandResult>),
    /// State, last sample and counters (for the control plane).
    Snapshot(RpcReplyPort<DriveSnapshot>),
    /// Fault injection for isolation tests and benchmarks (feature `fault-injection`, never in a
    /// production build): the handler panics, exactly as a bug in the actor would. The
    /// supervisor restarts the instance; the drive is adopted or re-initialised per its
    /// `restart` policy.
    #[cfg(feature = "fault-injection")]
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
    /// Time to look at the clock: queued at start (runs the start-up procedure) and at the
    /// trial's deadline.
    Tick,
    /// An event from the bus; `n` counts the samples the forwarding task received.
    Bus { n: u64, event: BusEvent },
    /// The attachment ended or could not be made.
    LinkLost { reason: String },
    /// A start-up procedure finished.
    StartupDone(Box<StartupOutcome>),
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
