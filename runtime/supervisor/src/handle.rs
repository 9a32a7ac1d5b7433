//! The stable per-child handle: callers keep it across restarts and replacements.
//!
//! Guarantee, for every message accepted by [`ChildHandle::send`], [`ChildHandle::call`] or
//! [`ChildHandle::cast`] (i.e. not refused at once with an error):
//! - it is handled by at most one instance, at most once, and handled messages keep the order
//!   in which they were accepted (one queue, one consumer at a time);
//! - it ends in exactly one outcome: handled (`Ok`), `Failed` (the instance panicked, returned
//!   an error or was killed while handling this very message; it is never redelivered),
//!   `Superseded` (a newer latest-wins message of the same key replaced it while queued), or
//!   `Unavailable` (still queued when the child went down for good);
//! - messages queued while the child restarts wait for the next instance; they are not lost
//!   with the crashed instance, because they never sit in its ractor mailbox.
//!
//! A tracked sender (`send`, `call`) receives that outcome; an untracked `cast` only returns
//! the immediate refusal, and later non-delivery is counted in [`HandleStats`] and logged.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use ractor::RpcReplyPort;
use tokio::sync::oneshot;

use crate::error::SupervisorError;
use crate::mailbox::{Mailbox, Outcome, Ticket};
use crate::spec::ChildId;

/// What to do with a message kind when the child is down or its queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryPolicy {
    /// Each message counts (a command): queued in order, also across a restart; when the queue
    /// is full the new message is refused with `Overloaded`.
    EachCounts,
    /// Only the newest of this key matters (a setpoint): a newer message replaces the queued
    /// one, whose sender is told `Superseded`. The newer one is queued at the back.
    LatestWins(u32),
    /// Not worth queuing across a restart (a status poll): refused at once with `Restarting`
    /// while the child is down; otherwise as `EachCounts`.
    FailFast,
}

/// A message type a child handle can carry; its kind picks the [`DeliveryPolicy`].
pub trait Deliverable: Send + 'static {
    /// The policy of this message (default: each counts).
    fn policy(&self) -> DeliveryPolicy {
        DeliveryPolicy::EachCounts
    }
}

/// Where the child stands, as the handle sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandleState {
    /// An instance is attached and taking messages.
    Running,
    /// Between instances (or not started yet): messages queue, fail-fast kinds are refused.
    Restarting,
    /// Down for good until its supervisor starts it again: messages are refused.
    Unavailable,
}

/// Message accounting of one child, since its spec was built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HandleStats {
    /// Handled successfully.
    pub delivered: u64,
    /// Instance failed while handling them.
    pub failed: u64,
    /// Replaced by a newer latest-wins message.
    pub superseded: u64,
    /// Queued, then discarded because the child went down for good.
    pub discarded: u64,
    /// Refused at once (restarting, unavailable, overloaded).
    pub rejected: u64,
}

/// Stable handle to a worker child. Cheap to clone.
pub struct ChildHandle<M> {
    pub(crate) mailbox: Arc<Mailbox<M>>,
}

impl<M> Clone for ChildHandle<M> {
    fn clone(&self) -> Self {
        Self {
            mailbox: self.mailbox.clone(),
        }
    }
}

impl<M: Deliverable> fmt::Debug for ChildHandle<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (state, queued) = self.mailbox.state();
        f.debug_struct("ChildHandle")
            .field("id", &self.mailbox.id)
            .field("state", &state)
            .field("queued", &queued)
            .finish()
    }
}

impl<M: Deliverable> ChildHandle<M> {
    /// The child's id.
    pub fn id(&self) -> &ChildId {
        &self.mailbox.id
    }

    /// Current state.
    pub fn state(&self) -> HandleState {
        self.mailbox.state().0
    }

    /// Messages accepted and not yet taken by an instance.
    pub fn queued(&self) -> usize {
        self.mailbox.state().1
    }

    /// Message accounting so far.
    pub fn stats(&self) -> HandleStats {
        self.mailbox.stats()
    }

    /// Fire and forget. `Err` is an immediate refusal; a later non-delivery is only counted
    /// and logged (use [`Self::send`] to hear about it).
    pub fn cast(&self, msg: M) -> Result<(), SupervisorError> {
        self.mailbox.push(msg, Ticket::untracked())
    }

    /// Send and get a [`Receipt`] that resolves to the message's outcome.
    pub fn send(&self, msg: M) -> Result<Receipt, SupervisorError> {
        let (ticket, rx) = Ticket::tracked();
        self.mailbox.push(msg, ticket)?;
        Ok(Receipt {
            child: self.mailbox.id.clone(),
            rx,
        })
    }

    /// Request/response: `build` puts the reply port into the message. Wrap in
    /// `tokio::time::timeout` for a deadline (a timed-out message may still be handled).
    pub async fn call<R, F>(&self, build: F) -> Result<R, SupervisorError>
    where
        R: Send + 'static,
        F: FnOnce(RpcReplyPort<R>) -> M,
    {
        let (reply_tx, reply_rx) = oneshot::channel();
        let (ticket, outcome_rx) = Ticket::tracked();
        self.mailbox.push(build(reply_tx.into()), ticket)?;
        match reply_rx.await {
            Ok(reply) => Ok(reply),
            // The reply port was dropped: the outcome says why.
            Err(_) => Err(outcome_rx
                .await
                .unwrap_or(Outcome::Unavailable)
                .into_call_error(&self.mailbox.id)),
        }
    }
}

/// The outcome of one sent message: `Ok(())` once handled, or the explicit reason it was not.
#[derive(Debug)]
pub struct Receipt {
    child: ChildId,
    rx: oneshot::Receiver<Outcome>,
}

impl Future for Receipt {
    type Output = Result<(), SupervisorError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.rx).poll(cx).map(|r| match r {
            Ok(outcome) => outcome.into_result(&self.child),
            Err(_) => Err(SupervisorError::Unavailable {
                child: self.child.clone(),
            }),
        })
    }
}
