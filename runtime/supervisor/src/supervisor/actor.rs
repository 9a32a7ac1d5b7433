//! The supervisor as a ractor actor: start-up, requests, supervision events, shutdown.

use std::collections::HashSet;
use std::sync::Arc;

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};

use super::state::{AfterStop, ChildState, Entry, SupervisorState};
use super::{SupervisorMsg, SupervisorShared, lock};
use crate::error::SupervisorError;
use crate::events::EventKind;
use crate::spec::{ChildId, ChildSpec, Exit, Restart};

pub(crate) struct SupervisorActor;

impl SupervisorState {
    fn index(&self, id: &ChildId) -> Result<usize, SupervisorError> {
        self.by_id
            .get(id)
            .copied()
            .ok_or_else(|| SupervisorError::UnknownChild {
                supervisor: self.path.clone(),
                child: id.clone(),
            })
    }

    async fn start_all(&mut self) -> Result<(), SupervisorError> {
        let mut seen = HashSet::new();
        for e in &self.entries {
            if !seen.insert(e.spec.id.clone()) {
                return Err(SupervisorError::InvalidSpec {
                    what: self.path.to_string(),
                    reason: format!("child id `{}` appears twice", e.spec.id),
                });
            }
        }
        for idx in 0..self.entries.len() {
            let id = self.entries[idx].spec.id.clone();
            match self.start_entry(idx).await {
                Ok(()) => self.emit(&id, EventKind::Started),
                Err(reason) => {
                    // OTP: a supervisor whose child cannot start does not start either.
                    self.shutdown_all("shutdown: start failed").await;
                    return Err(SupervisorError::StartFailed { child: id, reason });
                }
            }
        }
        Ok(())
    }

    async fn add(&mut self, spec: ChildSpec) -> Result<(), SupervisorError> {
        if self.by_id.contains_key(&spec.id) {
            return Err(SupervisorError::DuplicateChild {
                supervisor: self.path.clone(),
                child: spec.id,
            });
        }
        let id = spec.id.clone();
        lock(&self.shared.children).push(spec.clone());
        self.entries.push(Entry::new(spec));
        let idx = self.entries.len() - 1;
        self.by_id.insert(id.clone(), idx);
        match self.start_entry(idx).await {
            Ok(()) => {
                self.emit(&id, EventKind::Started);
                Ok(())
            }
            Err(reason) => {
                self.stop_entry(idx, "shutdown: start failed", AfterStop::Close)
                    .await;
                self.remove(idx);
                Err(SupervisorError::StartFailed { child: id, reason })
            }
        }
    }

    async fn terminate(&mut self, id: &ChildId, delete: bool) -> Result<(), SupervisorError> {
        let idx = self.index(id)?;
        let reason = if delete {
            "shutdown: removed"
        } else {
            "shutdown: terminated"
        };
        self.stop_entry(idx, reason, AfterStop::Close).await;
        if delete || self.entries[idx].spec.restart == Restart::Temporary {
            self.remove(idx);
        }
        Ok(())
    }

    async fn restart(&mut self, id: &ChildId) -> Result<(), SupervisorError> {
        let idx = self.index(id)?;
        let actual = match self.entries[idx].state {
            ChildState::Down => None,
            ChildState::Running(_) => Some("running"),
            ChildState::Failed | ChildState::Waiting(_) => Some("restarting"),
        };
        if let Some(actual) = actual {
            return Err(SupervisorError::WrongState {
                supervisor: self.path.clone(),
                child: id.clone(),
                expected: "stopped",
                actual,
            });
        }
        match self.start_entry(idx).await {
            Ok(()) => {
                self.emit(id, EventKind::Started);
                Ok(())
            }
            Err(reason) => {
                self.stop_entry(idx, "shutdown: start failed", AfterStop::Close)
                    .await;
                Err(SupervisorError::StartFailed {
                    child: id.clone(),
                    reason,
                })
            }
        }
    }
}

impl SupervisorState {
    /// Replies to the caller; returns an error only when the supervisor must escalate.
    async fn restart_now(
        &mut self,
        id: &ChildId,
        reply: RpcReplyPort<Result<(), SupervisorError>>,
    ) -> Result<(), SupervisorError> {
        let idx = match self.index(id) {
            Ok(idx) => idx,
            Err(e) => {
                let _ = reply.send(Err(e));
                return Ok(());
            }
        };
        let refusal = if !matches!(self.entries[idx].state, ChildState::Running(_)) {
            Some(("running", "not running"))
        } else if self.entries[idx].probation.is_some() {
            Some(("promoted", "on probation"))
        } else {
            None
        };
        if let Some((expected, actual)) = refusal {
            let _ = reply.send(Err(SupervisorError::WrongState {
                supervisor: self.path.clone(),
                child: id.clone(),
                expected,
                actual,
            }));
            return Ok(());
        }
        self.stop_entry(idx, "shutdown: restart", AfterStop::Restart)
            .await;
        match self.start_entry(idx).await {
            Ok(()) => {
                let entry = &mut self.entries[idx];
                entry.restarts = entry.restarts.saturating_add(1);
                let count = entry.restarts;
                self.emit(
                    id,
                    EventKind::Restarted {
                        count,
                        backoff: std::time::Duration::ZERO,
                    },
                );
                let _ = reply.send(Ok(()));
                Ok(())
            }
            Err(reason) => {
                let _ = reply.send(Err(SupervisorError::StartFailed {
                    child: id.clone(),
                    reason: reason.clone(),
                }));
                // Handled as a failure of that child: its restart policy and backoff apply.
                self.settle(Some((idx, Exit::Abnormal(reason)))).await
            }
        }
    }
}

fn escalate(err: SupervisorError) -> ActorProcessingErr {
    Box::new(err)
}

impl Actor for SupervisorActor {
    type Msg = SupervisorMsg;
    type State = SupervisorState;
    type Arguments = Arc<SupervisorShared>;

    async fn pre_start(
        &self,
        myself: ActorRef<SupervisorMsg>,
        shared: Arc<SupervisorShared>,
    ) -> Result<SupervisorState, ActorProcessingErr> {
        let mut state = SupervisorState::new(shared, myself.clone());
        state.start_all().await.map_err(escalate)?;
        *lock(&state.shared.current) = Some(myself);
        Ok(state)
    }

    async fn handle(
        &self,
        _myself: ActorRef<SupervisorMsg>,
        msg: SupervisorMsg,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            SupervisorMsg::Add(spec, reply) => {
                let _ = reply.send(state.add(spec).await);
            }
            SupervisorMsg::Remove(id, reply) => {
                let _ = reply.send(state.terminate(&id, true).await);
            }
            SupervisorMsg::Terminate(id, reply) => {
                let _ = reply.send(state.terminate(&id, false).await);
            }
            SupervisorMsg::Restart(id, reply) => {
                let _ = reply.send(state.restart(&id).await);
            }
            SupervisorMsg::RestartNow(id, reply) => {
                state.restart_now(&id, reply).await.map_err(escalate)?;
            }
            SupervisorMsg::Which(reply) => {
                let _ = reply.send(state.info());
            }
            SupervisorMsg::Replace {
                child,
                replacement,
                reply,
            } => {
                state
                    .replace(child, replacement, reply)
                    .await
                    .map_err(escalate)?;
            }
            SupervisorMsg::BackoffElapsed { token, backoff } => {
                let pending = state.start_waiting(token, backoff).await;
                state.settle(pending).await.map_err(escalate)?;
            }
            SupervisorMsg::ProbationCycles { child, generation } => {
                state.probation_cycles(&child, generation);
            }
            SupervisorMsg::ProbationDeadline { child, token } => {
                state.probation_deadline(&child, token);
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        _myself: ActorRef<SupervisorMsg>,
        evt: SupervisionEvent,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        // Overrides ractor's default, which stops the supervisor when any child exits.
        let (actor, exit) = match evt {
            SupervisionEvent::ActorFailed(cell, err) => {
                (cell.get_id(), Exit::Abnormal(err.to_string()))
            }
            SupervisionEvent::ActorTerminated(cell, _, reason) => {
                (cell.get_id(), Exit::from_stop_reason(reason.as_deref()))
            }
            _ => return Ok(()),
        };
        state.on_exit(actor, exit).await.map_err(escalate)
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<SupervisorMsg>,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        // ractor would kill the children without their post_stop; stop them properly first.
        state.clear_current();
        state.shutdown_all("shutdown").await;
        Ok(())
    }
}
