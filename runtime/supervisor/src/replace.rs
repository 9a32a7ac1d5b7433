//! Planned replacement of a worker child by a new version: hand-over, probation, rollback.
//!
//! 1. The handle stops feeding the old instance; callers' messages queue for the new one.
//! 2. The old instance finishes the message in hand and exports its state (`Worker::export`).
//! 3. It is stopped with its shutdown policy, then its safe-stop step runs (a planned stop).
//! 4. The new version's factory gets the exported state and the new instance starts.
//! 5. Probation: until it has handled `cycles` messages and `duration` has passed. A failure
//!    before that rolls back: the previous version's factory runs again with the same exported
//!    state. A planned stop during probation rolls back too (the previous version runs at the
//!    next start).

use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use ractor::{ActorProcessingErr, RpcReplyPort};

use crate::error::SupervisorError;
use crate::events::EventKind;
use crate::spec::{ChildId, Exit, Factory, Shutdown};
use crate::supervisor::SupervisorMsg;
use crate::supervisor::state::{AfterStop, ChildState, SupervisorState};
use crate::worker::Worker;

/// How long a new version is on probation. It ends when both are reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probation {
    /// Messages the new version must handle successfully.
    pub cycles: u64,
    /// Time the new version must survive.
    pub duration: Duration,
}

impl Default for Probation {
    /// 10 messages and 1 s.
    fn default() -> Self {
        Self {
            cycles: 10,
            duration: Duration::from_secs(1),
        }
    }
}

/// A new version of a worker child.
pub struct Replacement<W: Worker> {
    pub(crate) version: Arc<str>,
    pub(crate) factory: Factory<W>,
    pub(crate) probation: Probation,
}

impl<W: Worker> Replacement<W> {
    /// Version `version`, built by `factory` (which gets the old version's exported state).
    pub fn new<F>(version: &str, factory: F) -> Self
    where
        F: Fn(Option<W::Export>) -> Result<(W, W::Args), ActorProcessingErr>
            + Send
            + Sync
            + 'static,
    {
        Self {
            version: version.into(),
            factory: Arc::new(factory),
            probation: Probation::default(),
        }
    }

    /// Set the probation window.
    pub fn probation(mut self, probation: Probation) -> Self {
        self.probation = probation;
        self
    }
}

impl<W: Worker> fmt::Debug for Replacement<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Replacement")
            .field("version", &self.version)
            .field("probation", &self.probation)
            .finish()
    }
}

pub(crate) struct ProbationState {
    reply: RpcReplyPort<Result<(), SupervisorError>>,
    token: u64,
    deadline_passed: bool,
    generation: u64,
}

impl SupervisorState {
    pub(crate) async fn replace(
        &mut self,
        child: ChildId,
        replacement: Box<dyn Any + Send>,
        reply: RpcReplyPort<Result<(), SupervisorError>>,
    ) -> Result<(), SupervisorError> {
        let idx = match self.by_id.get(&child) {
            Some(&idx) => idx,
            None => {
                let _ = reply.send(Err(SupervisorError::UnknownChild {
                    supervisor: self.path.clone(),
                    child,
                }));
                return Ok(());
            }
        };
        let entry = &self.entries[idx];
        let ChildState::Running(cell) = &entry.state else {
            let _ = reply.send(Err(self.state_error(&child, "running", "not running")));
            return Ok(());
        };
        if entry.probation.is_some() {
            let _ = reply.send(Err(self.state_error(&child, "promoted", "on probation")));
            return Ok(());
        }
        let (cell, starter, shutdown) = (
            cell.clone(),
            entry.spec.starter.clone(),
            entry.spec.shutdown,
        );
        let probation = match starter.stage(replacement) {
            Ok(p) => p,
            Err(expected) => {
                let _ = reply.send(Err(SupervisorError::WrongType { child, expected }));
                return Ok(());
            }
        };
        starter.detach();
        let export_wait = match shutdown {
            Shutdown::BrutalKill => Duration::ZERO,
            Shutdown::Timeout(t) => t,
            Shutdown::Infinity => Duration::MAX,
        };
        starter.export(&cell, export_wait).await;
        self.stop_entry(idx, "shutdown: replaced", AfterStop::Replace)
            .await;
        let (from, to) = starter.promote();
        starter.arm_probation(probation.cycles);
        if let Err(reason) = self.start_entry(idx).await {
            // The new version does not even start: run the previous one again at once.
            starter.rollback();
            let _ = reply.send(Err(SupervisorError::RolledBack {
                child: child.clone(),
                version: to.clone(),
                previous: from.clone(),
                reason: reason.clone(),
            }));
            self.emit(
                &child,
                EventKind::RolledBack {
                    from: to,
                    to: from,
                    reason,
                },
            );
            return match self.start_entry(idx).await {
                Ok(()) => Ok(()),
                Err(reason) => self.settle(Some((idx, Exit::Abnormal(reason)))).await,
            };
        }
        self.emit(&child, EventKind::Replaced { from, to });
        let token = self.token();
        self.entries[idx].probation = Some(ProbationState {
            reply,
            token,
            deadline_passed: probation.duration.is_zero(),
            generation: starter.generation(),
        });
        if !probation.duration.is_zero() {
            let id = child.clone();
            // Detached tokio timer task (pausable); a stale token is ignored.
            drop(self.myself.send_after(probation.duration, move || {
                SupervisorMsg::ProbationDeadline { child: id, token }
            }));
        }
        self.check_probation(idx);
        Ok(())
    }

    fn state_error(
        &self,
        child: &ChildId,
        expected: &'static str,
        actual: &'static str,
    ) -> SupervisorError {
        SupervisorError::WrongState {
            supervisor: self.path.clone(),
            child: child.clone(),
            expected,
            actual,
        }
    }

    pub(crate) fn probation_cycles(&mut self, child: &ChildId, generation: u64) {
        if let Some(&idx) = self.by_id.get(child)
            && self.entries[idx]
                .probation
                .as_ref()
                .is_some_and(|p| p.generation == generation)
        {
            self.check_probation(idx);
        }
    }

    pub(crate) fn probation_deadline(&mut self, child: &ChildId, token: u64) {
        if let Some(&idx) = self.by_id.get(child)
            && let Some(p) = self.entries[idx].probation.as_mut()
            && p.token == token
        {
            p.deadline_passed = true;
            self.check_probation(idx);
        }
    }

    fn check_probation(&mut self, idx: usize) {
        let entry = &self.entries[idx];
        let done = entry.probation.as_ref().is_some_and(|p| p.deadline_passed)
            && entry.spec.starter.probation_cycles_done();
        if done {
            self.promote(idx);
        }
    }

    fn promote(&mut self, idx: usize) {
        let entry = &mut self.entries[idx];
        if let Some(p) = entry.probation.take() {
            entry.spec.starter.commit();
            let _ = p.reply.send(Ok(()));
            let (id, version) = (entry.spec.id.clone(), entry.spec.starter.version());
            self.emit(&id, EventKind::Promoted { version });
        }
    }

    /// A planned stop during probation rolls back: an unproven version is never promoted by
    /// being stopped (the previous one runs at the next start).
    pub(crate) fn end_probation_planned(&mut self, idx: usize) {
        let entry = &mut self.entries[idx];
        let Some(p) = entry.probation.take() else {
            return;
        };
        let Some((from, to)) = entry.spec.starter.rollback() else {
            let _ = p.reply.send(Ok(()));
            return;
        };
        let child = entry.spec.id.clone();
        let reason = "stopped during probation".to_owned();
        let _ = p.reply.send(Err(SupervisorError::RolledBack {
            child: child.clone(),
            version: from.clone(),
            previous: to.clone(),
            reason: reason.clone(),
        }));
        self.emit(&child, EventKind::RolledBack { from, to, reason });
    }

    /// The new version exited during probation. Returns whether it was rolled back (the
    /// previous version must then be started even for a child that would not restart).
    pub(crate) fn end_probation_on_exit(&mut self, idx: usize, exit: &Exit) -> bool {
        let Exit::Abnormal(reason) = exit else {
            self.promote(idx);
            return false;
        };
        let entry = &mut self.entries[idx];
        let Some(p) = entry.probation.take() else {
            return false;
        };
        let Some((from, to)) = entry.spec.starter.rollback() else {
            return false;
        };
        let child = entry.spec.id.clone();
        let _ = p.reply.send(Err(SupervisorError::RolledBack {
            child: child.clone(),
            version: from.clone(),
            previous: to.clone(),
            reason: reason.clone(),
        }));
        self.emit(
            &child,
            EventKind::RolledBack {
                from,
                to,
                reason: reason.clone(),
            },
        );
        true
    }
}
