//! linevisor's supervision layer: Erlang/OTP supervision semantics on ractor, generic over the
//! child actor type. `runtime/line` builds the line's tree with it, and the drive and bus
//! actors are supervised through [`Worker`]. This crate knows nothing of
//! drives, Modbus or CAN. See `README.md` for the OTP mapping and the guarantees.
//!
//! What it adds to ractor (which has links and supervision events only):
//! - strategies one_for_one / one_for_all / rest_for_one and dynamic children keyed by id
//!   in the supervisor's own map (no global name registry);
//! - restart types permanent / transient / temporary, restart intensity with escalation,
//!   exponential backoff with injectable jitter;
//! - ordered shutdown (reverse start order, per-child timeout, then kill) and a safe-stop step
//!   run by the supervisor itself, never relying on the child's `post_stop`;
//! - a stable [`ChildHandle`] whose queue survives restarts, with an explicit outcome for every
//!   message (see [`handle`] for the exact guarantee);
//! - lifecycle [`Event`]s, a quiet [`install_panic_hook`], and planned replacement with
//!   hand-over and rollback ([`Replacement`]).
//!
//! The production line's tree (buses and drives under a root) is built from these pieces by
//! `runtime/line`; nothing here names a bus or a drive.

mod error;
mod events;
pub mod handle;
mod instance;
mod intensity;
mod mailbox;
mod panic;
mod replace;
mod shutdown;
mod spec;
mod starter;
mod strategy;
mod supervisor;
mod worker;

pub use error::SupervisorError;
pub use events::{Event, EventBus, EventKind};
pub use handle::{ChildHandle, Deliverable, DeliveryPolicy, HandleState, HandleStats, Receipt};
pub use intensity::Intensity;
/// Re-exported: the one backoff law, applied per child restart streak.
pub use linevisor_core::backoff::{Backoff, Jitter, SeededJitter};
pub use panic::{install_panic_hook, log_panic};
pub use replace::{Probation, Replacement};
pub use spec::{
    ChildId, ChildKind, ChildSpec, Exit, Factory, Restart, Shutdown, StopCause, WorkerSpec,
};
pub use strategy::Strategy;
pub use supervisor::{ChildInfo, ChildStatus, SupervisorRef, SupervisorSpec};
pub use worker::{Worker, WorkerCtx};

/// Re-exported so workers can name reply ports and errors without a direct ractor dependency.
pub use ractor::{ActorProcessingErr, RpcReplyPort};
