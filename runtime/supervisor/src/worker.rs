//! The child actor abstraction: what a supervised worker (a drive, a bus adapter) implements.
//!
//! A worker is run as one ractor actor per instance, but its messages arrive through its
//! stable [`ChildHandle`] queue rather than the ractor mailbox, which ractor discards on a
//! crash. Implement it like `ractor::Actor`: `self` is configuration, `State` is rebuilt by
//! `start` on every (re)start.

use std::future::Future;

use ractor::{ActorCell, ActorProcessingErr, ActorRef};

use crate::handle::{ChildHandle, Deliverable};
use crate::instance::InstanceMsg;
use crate::spec::ChildId;

/// A supervised worker. Panics and errors in `handle` become restarts.
pub trait Worker: Sized + Send + Sync + 'static {
    /// Messages, each with its delivery policy.
    type Msg: Deliverable;
    /// Mutable state of one instance.
    type State: Send + 'static;
    /// Start arguments, built by the factory for each start.
    type Args: Send + 'static;
    /// State handed from an old version to its replacement (use `()` for none). Cloned to keep
    /// a copy for rollback.
    type Export: Clone + Send + 'static;

    /// Build the instance state (open ports, read the device). Runs inside the supervisor's
    /// restart step, so keep it bounded (use timeouts on I/O).
    fn start(
        &self,
        ctx: &WorkerCtx<Self::Msg>,
        args: Self::Args,
    ) -> impl Future<Output = Result<Self::State, ActorProcessingErr>> + Send;

    /// Handle one message.
    fn handle(
        &self,
        ctx: &WorkerCtx<Self::Msg>,
        msg: Self::Msg,
        state: &mut Self::State,
    ) -> impl Future<Output = Result<(), ActorProcessingErr>> + Send;

    /// Export what the next version needs on a planned replacement (after the message in
    /// hand is done). Default: nothing.
    fn export(&self, state: &mut Self::State) -> Option<Self::Export> {
        let _ = state;
        None
    }

    /// During probation after a replacement, a handled message counts toward the probation
    /// cycles only once this says the instance has proven itself (a drive: good samples read
    /// with the new profile). Default: every handled message counts.
    fn proven(&self, state: &Self::State) -> bool {
        let _ = state;
        true
    }
}

/// What a worker instance knows about itself.
pub struct WorkerCtx<M> {
    pub(crate) handle: ChildHandle<M>,
    pub(crate) myself: ActorRef<InstanceMsg>,
    pub(crate) generation: u64,
}

impl<M: Deliverable> WorkerCtx<M> {
    /// The child's id.
    pub fn id(&self) -> &ChildId {
        self.handle.id()
    }

    /// The child's own stable handle (e.g. to send itself a message).
    pub fn handle(&self) -> &ChildHandle<M> {
        &self.handle
    }

    /// Instance generation: grows with each start of this child.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// End this instance after the current message. `None`, `"normal"`, `"shutdown"` or
    /// `"shutdown:..."` is a normal exit (a transient child stays down); anything else is
    /// abnormal.
    pub fn stop(&self, reason: Option<String>) {
        self.myself.stop(reason);
    }

    /// The instance's actor cell, to link helper actors to it.
    pub fn cell(&self) -> ActorCell {
        self.myself.get_cell()
    }
}

impl<M: Deliverable> std::fmt::Debug for WorkerCtx<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerCtx")
            .field("id", self.id())
            .field("generation", &self.generation)
            .finish()
    }
}
