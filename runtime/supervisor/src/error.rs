//! The one error enum of the supervision layer.

use std::sync::Arc;
use std::time::Duration;

use crate::spec::ChildId;

/// Everything the supervision layer can answer instead of "done".
///
/// The message-delivery variants (`Restarting`, `Unavailable`, `Overloaded`, `Superseded`,
/// `Failed`, `NoReply`) are the explicit answers a [`crate::ChildHandle`] gives for a message
/// that was not handled; see the crate docs for the exact guarantee.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SupervisorError {
    /// The child is between two instances and this message kind is not queued across a restart.
    #[error("child `{child}` is restarting; fail-fast message not queued")]
    Restarting { child: ChildId },
    /// The child is down for good (stopped, removed, or its supervisor gave up or shut down).
    #[error("child `{child}` is unavailable (stopped, removed or its supervisor is down)")]
    Unavailable { child: ChildId },
    /// The child's bounded queue is full; the new message was rejected.
    #[error("child `{child}` is overloaded: its queue holds {capacity} messages already")]
    Overloaded { child: ChildId, capacity: usize },
    /// A newer latest-wins message with the same key replaced this one before it was handled.
    #[error("message to child `{child}` superseded by a newer one (latest-wins key {key})")]
    Superseded { child: ChildId, key: u32 },
    /// The instance failed (panic, error or kill) while handling this very message.
    #[error("child `{child}` failed while handling the message: {reason}")]
    Failed { child: ChildId, reason: Arc<str> },
    /// The handler returned without answering the call's reply port.
    #[error("child `{child}` handled the call without replying")]
    NoReply { child: ChildId },
    /// The child's factory or start step failed.
    #[error("child `{child}` failed to start: {reason}")]
    StartFailed { child: ChildId, reason: String },
    /// `add_child` with an id the supervisor already has.
    #[error("supervisor `{supervisor}` already has a child `{child}`")]
    DuplicateChild {
        supervisor: Arc<str>,
        child: ChildId,
    },
    /// The supervisor has no child with this id.
    #[error("supervisor `{supervisor}` has no child `{child}`")]
    UnknownChild {
        supervisor: Arc<str>,
        child: ChildId,
    },
    /// The request needs the child in another state (e.g. `restart_child` on a running child).
    #[error("child `{child}` of `{supervisor}` is {actual}, expected {expected}")]
    WrongState {
        supervisor: Arc<str>,
        child: ChildId,
        expected: &'static str,
        actual: &'static str,
    },
    /// A replacement whose worker type differs from the child's.
    #[error("child `{child}` is not a worker of type `{expected}`")]
    WrongType {
        child: ChildId,
        expected: &'static str,
    },
    /// Restart intensity exceeded: the supervisor stopped its children and escalates.
    #[error(
        "supervisor `{supervisor}` gave up: {restarts} restarts within {period:?} (at most {max} allowed)"
    )]
    Meltdown {
        supervisor: Arc<str>,
        restarts: u32,
        max: u32,
        period: Duration,
    },
    /// The supervisor is not running (restarting, stopped or gave up).
    #[error("supervisor `{supervisor}` is not running")]
    SupervisorDown { supervisor: Arc<str> },
    /// The new version failed during probation; the previous version runs again.
    #[error(
        "version `{version}` of child `{child}` failed during probation ({reason}); rolled back to `{previous}`"
    )]
    RolledBack {
        child: ChildId,
        version: Arc<str>,
        previous: Arc<str>,
        reason: String,
    },
    /// A spec that cannot work (zero queue capacity, duplicate ids, ...).
    #[error("invalid spec for `{what}`: {reason}")]
    InvalidSpec { what: String, reason: String },
}
