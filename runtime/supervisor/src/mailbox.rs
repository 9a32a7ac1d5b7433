//! The handle's queue: the real mailbox of a worker child, owned by its stable handle.
//!
//! ractor drops a crashed actor's mailbox, so messages never wait there: the instance's ractor
//! mailbox only carries one `Wake` per queued envelope, and the instance pops envelopes from
//! here one at a time. An envelope leaves this queue exactly once, to exactly one instance,
//! in order; each one carries a [`Ticket`] that is always settled with one [`Outcome`].

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use ractor::ActorRef;
use tokio::sync::oneshot;

use crate::error::SupervisorError;
use crate::handle::{Deliverable, DeliveryPolicy, HandleState, HandleStats};
use crate::instance::InstanceMsg;
use crate::spec::ChildId;

/// How one message ended.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    Delivered,
    Failed(Arc<str>),
    Superseded(u32),
    Unavailable,
}

impl Outcome {
    pub(crate) fn into_result(self, child: &ChildId) -> Result<(), SupervisorError> {
        match self {
            Outcome::Delivered => Ok(()),
            other => Err(other.into_call_error(child)),
        }
    }

    /// The error of a call whose reply port was dropped (`Delivered` means no reply was sent).
    pub(crate) fn into_call_error(self, child: &ChildId) -> SupervisorError {
        let child = child.clone();
        match self {
            Outcome::Delivered => SupervisorError::NoReply { child },
            Outcome::Failed(reason) => SupervisorError::Failed { child, reason },
            Outcome::Superseded(key) => SupervisorError::Superseded { child, key },
            Outcome::Unavailable => SupervisorError::Unavailable { child },
        }
    }
}

/// Settles a message's outcome for a tracked sender. Dropped unsettled (its queue dropped with
/// the last handle and spec), it reports `Unavailable`.
#[derive(Debug)]
pub(crate) struct Ticket(Option<oneshot::Sender<Outcome>>);

impl Ticket {
    pub(crate) fn untracked() -> Self {
        Ticket(None)
    }

    pub(crate) fn tracked() -> (Self, oneshot::Receiver<Outcome>) {
        let (tx, rx) = oneshot::channel();
        (Ticket(Some(tx)), rx)
    }

    fn is_tracked(&self) -> bool {
        self.0.is_some()
    }

    fn resolve(mut self, outcome: Outcome) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(outcome);
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(Outcome::Unavailable);
        }
    }
}

pub(crate) struct Envelope<M> {
    pub(crate) msg: M,
    policy: DeliveryPolicy,
    pub(crate) ticket: Ticket,
}

enum Phase {
    Running {
        generation: u64,
        instance: ActorRef<InstanceMsg>,
    },
    Restarting,
    Unavailable,
}

struct Inner<M> {
    phase: Phase,
    /// Generation of the last attached instance.
    generation: u64,
    queue: VecDeque<Envelope<M>>,
    latest_queued: usize,
    capacity: usize,
}

#[derive(Debug, Default)]
struct Counters {
    delivered: AtomicU64,
    failed: AtomicU64,
    superseded: AtomicU64,
    discarded: AtomicU64,
    rejected: AtomicU64,
}

pub(crate) struct Mailbox<M> {
    pub(crate) id: ChildId,
    inner: Mutex<Inner<M>>,
    next_generation: AtomicU64,
    counters: Counters,
    /// Successful messages still to go before a probation's cycle count is reached.
    pub(crate) probation_left: AtomicU64,
}

fn lock<M>(m: &Mutex<Inner<M>>) -> MutexGuard<'_, Inner<M>> {
    // No code panics while holding this lock; recover the data if it ever happens.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<M: Deliverable> Mailbox<M> {
    pub(crate) fn new(id: ChildId, capacity: usize) -> Self {
        Self {
            id,
            inner: Mutex::new(Inner {
                // Until the first start, messages queue as for a restart.
                phase: Phase::Restarting,
                generation: 0,
                queue: VecDeque::new(),
                latest_queued: 0,
                capacity,
            }),
            next_generation: AtomicU64::new(1),
            counters: Counters::default(),
            probation_left: AtomicU64::new(0),
        }
    }

    pub(crate) fn set_capacity(&self, capacity: usize) {
        lock(&self.inner).capacity = capacity;
    }

    pub(crate) fn push(&self, msg: M, ticket: Ticket) -> Result<(), SupervisorError> {
        let policy = msg.policy();
        let mut g = lock(&self.inner);
        match (&g.phase, policy) {
            (Phase::Unavailable, _) => {
                drop(g);
                return Err(self.reject(SupervisorError::Unavailable {
                    child: self.id.clone(),
                }));
            }
            (Phase::Restarting, DeliveryPolicy::FailFast) => {
                drop(g);
                return Err(self.reject(SupervisorError::Restarting {
                    child: self.id.clone(),
                }));
            }
            _ => {}
        }
        let envelope = Envelope {
            msg,
            policy,
            ticket,
        };
        if let DeliveryPolicy::LatestWins(key) = policy
            && g.latest_queued > 0
            && let Some(pos) = g.queue.iter().position(|e| e.policy == policy)
            && let Some(old) = g.queue.remove(pos)
        {
            // The newer one goes to the back, so delivered messages keep their send order.
            // The replaced envelope's wake stays in the instance's mailbox for this one.
            g.queue.push_back(envelope);
            drop(g);
            self.settle(old.ticket, Outcome::Superseded(key));
            return Ok(());
        }
        if g.queue.len() >= g.capacity {
            let capacity = g.capacity;
            drop(g);
            return Err(self.reject(SupervisorError::Overloaded {
                child: self.id.clone(),
                capacity,
            }));
        }
        if matches!(policy, DeliveryPolicy::LatestWins(_)) {
            g.latest_queued += 1;
        }
        g.queue.push_back(envelope);
        if let Phase::Running { instance, .. } = &g.phase {
            // A dead instance is fine: the envelope stays queued for the next one.
            let _ = instance.cast(InstanceMsg::Wake);
        }
        Ok(())
    }

    /// The next envelope for instance `generation`, unless it is no longer the attached one.
    pub(crate) fn take(&self, generation: u64) -> Option<Envelope<M>> {
        let mut g = lock(&self.inner);
        match g.phase {
            Phase::Running {
                generation: cur, ..
            } if cur == generation => {}
            _ => return None,
        }
        let envelope = g.queue.pop_front()?;
        if matches!(envelope.policy, DeliveryPolicy::LatestWins(_)) {
            g.latest_queued -= 1;
        }
        Some(envelope)
    }

    pub(crate) fn current_generation(&self) -> u64 {
        lock(&self.inner).generation
    }

    pub(crate) fn next_generation(&self) -> u64 {
        self.next_generation.fetch_add(1, Ordering::Relaxed)
    }

    /// Route the queue to a freshly started instance.
    pub(crate) fn attach(&self, generation: u64, instance: ActorRef<InstanceMsg>) {
        let mut g = lock(&self.inner);
        for _ in 0..g.queue.len() {
            let _ = instance.cast(InstanceMsg::Wake);
        }
        g.generation = generation;
        g.phase = Phase::Running {
            generation,
            instance,
        };
    }

    /// The instance is going away but the child comes back: keep queuing.
    pub(crate) fn detach(&self) {
        lock(&self.inner).phase = Phase::Restarting;
    }

    /// Called by the failing instance itself, so fail-fast senders learn at once.
    pub(crate) fn instance_failed(&self, generation: u64) {
        let mut g = lock(&self.inner);
        if matches!(g.phase, Phase::Running { generation: cur, .. } if cur == generation) {
            g.phase = Phase::Restarting;
        }
    }

    /// Down for good (until a supervisor starts it again): reject what is queued.
    pub(crate) fn close(&self) {
        let drained: Vec<_> = {
            let mut g = lock(&self.inner);
            g.phase = Phase::Unavailable;
            g.latest_queued = 0;
            g.queue.drain(..).collect()
        };
        for envelope in drained {
            self.settle(envelope.ticket, Outcome::Unavailable);
        }
    }

    /// Safety net for a supervisor that vanished without its shutdown (killed): close the
    /// queue unless a newer instance has been attached since.
    pub(crate) fn abandon(&self, generation: u64) {
        if lock(&self.inner).generation == generation {
            self.close();
        }
    }

    pub(crate) fn state(&self) -> (HandleState, usize) {
        let g = lock(&self.inner);
        let state = match g.phase {
            Phase::Running { .. } => HandleState::Running,
            Phase::Restarting => HandleState::Restarting,
            Phase::Unavailable => HandleState::Unavailable,
        };
        (state, g.queue.len())
    }

    pub(crate) fn settle(&self, ticket: Ticket, outcome: Outcome) {
        let counter = match &outcome {
            Outcome::Delivered => &self.counters.delivered,
            Outcome::Failed(_) => &self.counters.failed,
            Outcome::Superseded(_) => &self.counters.superseded,
            Outcome::Unavailable => &self.counters.discarded,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if !ticket.is_tracked() {
            match &outcome {
                Outcome::Delivered => {}
                Outcome::Superseded(key) => {
                    tracing::debug!(
                        child = self.id.as_str(),
                        key,
                        "untracked message superseded"
                    )
                }
                Outcome::Failed(reason) => tracing::warn!(
                    child = self.id.as_str(),
                    reason = &**reason,
                    "untracked message failed with its instance"
                ),
                Outcome::Unavailable => tracing::warn!(
                    child = self.id.as_str(),
                    "untracked queued message discarded: child unavailable"
                ),
            }
        }
        ticket.resolve(outcome);
    }

    fn reject(&self, err: SupervisorError) -> SupervisorError {
        self.counters.rejected.fetch_add(1, Ordering::Relaxed);
        err
    }

    pub(crate) fn stats(&self) -> HandleStats {
        let c = &self.counters;
        HandleStats {
            delivered: c.delivered.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            superseded: c.superseded.load(Ordering::Relaxed),
            discarded: c.discarded.load(Ordering::Relaxed),
            rejected: c.rejected.load(Ordering::Relaxed),
        }
    }
}
