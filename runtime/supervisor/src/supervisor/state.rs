//! A running supervisor's children and its restart logic.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ractor::{ActorCell, ActorId, ActorRef};
use tokio::time::Instant;

use super::{ChildInfo, ChildStatus, Config, SupervisorMsg, SupervisorShared, lock};
use crate::error::SupervisorError;
use crate::events::{EventBus, EventKind};
use crate::intensity::RestartLog;
use crate::replace::ProbationState;
use crate::shutdown::{Reporter, safe_stop, stop_instance};
use crate::spec::{ChildId, ChildSpec, Exit, Restart, StopCause};
use crate::starter::StartCtx;

pub(crate) enum ChildState {
    Running(ActorCell),
    /// Instance gone after a failure; neither restarted nor safe-stopped yet.
    Failed,
    /// Will be started when the backoff for `token` ends (or with its group).
    Waiting(u64),
    /// Not running, safe-stop done; only the API starts it again.
    Down,
}

pub(crate) struct Entry {
    pub(crate) spec: ChildSpec,
    pub(crate) state: ChildState,
    pub(crate) restarts: u32,
    streak: u32,
    started_at: Instant,
    /// Handle generation when this supervisor last started it (safety net on drop).
    generation: u64,
    pub(crate) probation: Option<ProbationState>,
}

impl Entry {
    pub(crate) fn new(spec: ChildSpec) -> Self {
        let generation = spec.starter.generation();
        Self {
            spec,
            state: ChildState::Down,
            restarts: 0,
            streak: 0,
            started_at: Instant::now(),
            generation,
            probation: None,
        }
    }
}

/// What a planned stop leaves behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AfterStop {
    /// The child restarts: callers' messages wait for the next instance.
    Restart,
    /// Down for good: callers are refused, queued messages answered `Unavailable`.
    Close,
    /// Replaced by a new version: as `Restart`, and the safe-stop step hears `Replace`.
    Replace,
}

/// A start that failed: handled like a failure of that child.
pub(crate) type FailedStart = Option<(usize, Exit)>;

pub(crate) struct SupervisorState {
    pub(crate) shared: Arc<SupervisorShared>,
    pub(crate) myself: ActorRef<SupervisorMsg>,
    pub(crate) path: Arc<str>,
    pub(crate) events: EventBus,
    pub(crate) config: Config,
    pub(crate) entries: Vec<Entry>,
    pub(crate) by_actor: HashMap<ActorId, usize>,
    pub(crate) by_id: HashMap<ChildId, usize>,
    log: RestartLog,
    next_token: u64,
    /// Set once the ordered shutdown ran; disarms the drop safety net.
    shut_down: bool,
}

impl SupervisorState {
    pub(crate) fn new(shared: Arc<SupervisorShared>, myself: ActorRef<SupervisorMsg>) -> Self {
        let (path, events) = lock(&shared.naming).clone();
        let config = *lock(&shared.config);
        let entries = lock(&shared.children)
            .iter()
            .cloned()
            .map(Entry::new)
            .collect();
        let mut state = Self {
            shared,
            myself,
            path,
            events,
            config,
            entries,
            by_actor: HashMap::new(),
            by_id: HashMap::new(),
            log: RestartLog::default(),
            next_token: 0,
            shut_down: false,
        };
        state.reindex();
        state
    }

    pub(crate) fn emit(&self, child: &ChildId, kind: EventKind) {
        self.events.emit(&self.path, child, kind);
    }

    pub(crate) fn token(&mut self) -> u64 {
        self.next_token += 1;
        self.next_token
    }

    pub(crate) fn reindex(&mut self) {
        self.by_id.clear();
        self.by_actor.clear();
        for (idx, e) in self.entries.iter().enumerate() {
            self.by_id.insert(e.spec.id.clone(), idx);
            if let ChildState::Running(cell) = &e.state {
                self.by_actor.insert(cell.get_id(), idx);
            }
        }
    }

    /// Forget entry `idx` here and in the spec list kept for the supervisor's next start.
    pub(crate) fn remove(&mut self, idx: usize) {
        let entry = self.entries.remove(idx);
        lock(&self.shared.children).retain(|s| s.id != entry.spec.id);
        self.reindex();
    }

    pub(crate) fn info(&self) -> Vec<ChildInfo> {
        self.entries
            .iter()
            .map(|e| ChildInfo {
                id: e.spec.id.clone(),
                kind: e.spec.kind,
                status: match e.state {
                    ChildState::Running(_) => ChildStatus::Running,
                    ChildState::Failed | ChildState::Waiting(_) => ChildStatus::Restarting,
                    ChildState::Down => ChildStatus::Stopped,
                },
                restarts: e.restarts,
                version: e.spec.starter.version(),
            })
            .collect()
    }

    /// Start entry `idx`; on failure it is left `Failed` and the reason returned.
    pub(crate) async fn start_entry(&mut self, idx: usize) -> Result<(), String> {
        let starter = self.entries[idx].spec.starter.clone();
        let ctx = StartCtx {
            supervisor: &self.myself,
            path: &self.path,
            child: &self.entries[idx].spec.id,
            events: &self.events,
        };
        let started = starter.start(ctx).await;
        let entry = &mut self.entries[idx];
        match started {
            Ok(cell) => {
                self.by_actor.insert(cell.get_id(), idx);
                entry.state = ChildState::Running(cell);
                entry.started_at = Instant::now();
                entry.generation = starter.generation();
                Ok(())
            }
            Err(reason) => {
                entry.state = ChildState::Failed;
                let id = entry.spec.id.clone();
                self.emit(
                    &id,
                    EventKind::StartFailed {
                        reason: reason.clone(),
                    },
                );
                Err(reason)
            }
        }
    }

    /// A child's instance ended (ractor supervision event).
    pub(crate) async fn on_exit(
        &mut self,
        actor: ActorId,
        exit: Exit,
    ) -> Result<(), SupervisorError> {
        // Unknown: an instance this supervisor stopped on purpose, already accounted for.
        let Some(idx) = self.by_actor.remove(&actor) else {
            return Ok(());
        };
        self.entries[idx].state = ChildState::Failed;
        let id = self.entries[idx].spec.id.clone();
        let reason = exit.reason().to_owned();
        match &exit {
            Exit::Normal(_) => self.emit(&id, EventKind::Stopped { reason }),
            Exit::Abnormal(_) => self.emit(&id, EventKind::Failed { reason }),
        }
        self.settle(Some((idx, exit))).await
    }

    /// Handle a failure and any start failures it leads to, until the tree is settled.
    pub(crate) async fn settle(&mut self, mut pending: FailedStart) -> Result<(), SupervisorError> {
        while let Some((idx, exit)) = pending {
            pending = self.child_down(idx, exit).await?;
        }
        Ok(())
    }

    async fn child_down(&mut self, idx: usize, exit: Exit) -> Result<FailedStart, SupervisorError> {
        let rolled_back = self.end_probation_on_exit(idx, &exit);
        let entry = &self.entries[idx];
        if !(entry.spec.restart.restarts_after(&exit) || rolled_back) {
            self.stop_entry(idx, exit.reason(), AfterStop::Close).await;
            if self.entries[idx].spec.restart == Restart::Temporary {
                self.remove(idx);
            }
            return Ok(None);
        }
        self.restart_group(idx).await
    }

    async fn restart_group(&mut self, idx: usize) -> Result<FailedStart, SupervisorError> {
        let now = Instant::now();
        if let Err(restarts) = self.log.admit(now, self.config.intensity) {
            return Err(self.meltdown(idx, restarts).await);
        }
        let failed_id = self.entries[idx].spec.id.clone();
        // Children stopped on purpose (terminated through the API) stay down.
        let members: Vec<usize> = self
            .config
            .strategy
            .group(idx, self.entries.len())
            .filter(|&j| j == idx || !matches!(self.entries[j].state, ChildState::Down))
            .collect();
        let reason = "shutdown: sibling restart";
        for &j in members.iter().rev() {
            // Temporary siblings stopped for the group do not come back (OTP).
            let temporary = self.entries[j].spec.restart == Restart::Temporary;
            if j != idx && temporary {
                self.stop_entry(j, reason, AfterStop::Close).await;
            } else if j != idx && matches!(self.entries[j].state, ChildState::Running(_)) {
                self.stop_entry(j, reason, AfterStop::Restart).await;
            }
        }
        let mut ids: Vec<ChildId> = Vec::with_capacity(members.len());
        for &j in members.iter().rev() {
            if j != idx && self.entries[j].spec.restart == Restart::Temporary {
                self.remove(j);
            } else {
                ids.push(self.entries[j].spec.id.clone());
            }
        }
        let Some(&idx) = self.by_id.get(&failed_id) else {
            return Ok(None);
        };
        let entry = &mut self.entries[idx];
        if now.saturating_duration_since(entry.started_at) >= self.config.backoff.reset_after {
            entry.streak = 0;
        }
        entry.streak = entry.streak.saturating_add(1);
        let streak = entry.streak;
        let delay = {
            let mut jitter = lock(&self.shared.jitter);
            // The first restart of a streak is immediate (a single glitch recovers at once, as
            // in OTP); the n-th waits as after n − 1 failures.
            self.config.backoff.delay(streak - 1, &mut **jitter)
        };
        let token = self.token();
        for id in &ids {
            if let Some(&j) = self.by_id.get(id) {
                let e = &mut self.entries[j];
                e.spec.starter.detach();
                e.state = ChildState::Waiting(token);
            }
        }
        if delay.is_zero() {
            return Ok(self.start_waiting(token, delay).await);
        }
        // Tokio timer (pausable); a stale token is ignored.
        drop(
            self.myself
                .send_after(delay, move || SupervisorMsg::BackoffElapsed {
                    token,
                    backoff: delay,
                }),
        );
        Ok(None)
    }

    /// Start, in start order, every child waiting on `token`.
    pub(crate) async fn start_waiting(&mut self, token: u64, backoff: Duration) -> FailedStart {
        for idx in 0..self.entries.len() {
            if !matches!(self.entries[idx].state, ChildState::Waiting(t) if t == token) {
                continue;
            }
            match self.start_entry(idx).await {
                Ok(()) => {
                    let entry = &mut self.entries[idx];
                    entry.restarts = entry.restarts.saturating_add(1);
                    let (id, count) = (entry.spec.id.clone(), entry.restarts);
                    self.emit(&id, EventKind::Restarted { count, backoff });
                }
                Err(reason) => return Some((idx, Exit::Abnormal(reason))),
            }
        }
        None
    }

    /// Planned stop of one child: shutdown policy, then safe-stop.
    pub(crate) async fn stop_entry(&mut self, idx: usize, reason: &str, then: AfterStop) {
        self.end_probation_planned(idx);
        let entry = &mut self.entries[idx];
        let previous = std::mem::replace(&mut entry.state, ChildState::Down);
        let spec = entry.spec.clone();
        match then {
            AfterStop::Restart | AfterStop::Replace => spec.starter.detach(),
            AfterStop::Close => spec.starter.close(),
        }
        let report = Reporter {
            events: &self.events,
            supervisor: &self.path,
            child: &spec.id,
        };
        let needs_safe_stop = match previous {
            ChildState::Running(cell) => {
                self.by_actor.remove(&cell.get_id());
                stop_instance(&cell, spec.shutdown, reason, &report).await;
                report.emit(EventKind::Stopped {
                    reason: reason.to_owned(),
                });
                true
            }
            // Gone after a failure and not coming back now.
            ChildState::Failed | ChildState::Waiting(_) => then == AfterStop::Close,
            ChildState::Down => false,
        };
        if needs_safe_stop && let Some(step) = &spec.safe_stop {
            let cause = match then {
                AfterStop::Restart => StopCause::Restart,
                AfterStop::Replace => StopCause::Replace,
                AfterStop::Close => StopCause::Shutdown,
            };
            safe_stop(step, cause, &report).await;
        }
    }

    /// Stop every child in reverse start order, for good.
    pub(crate) async fn shutdown_all(&mut self, reason: &str) {
        for idx in (0..self.entries.len()).rev() {
            self.stop_entry(idx, reason, AfterStop::Close).await;
        }
        self.shut_down = true;
    }

    async fn meltdown(&mut self, idx: usize, restarts: u32) -> SupervisorError {
        let limit = self.config.intensity;
        let child = self.entries[idx].spec.id.clone();
        self.emit(
            &child,
            EventKind::Escalated {
                restarts,
                max: limit.max_restarts,
                period: limit.period,
            },
        );
        self.clear_current();
        self.shutdown_all("shutdown: meltdown").await;
        SupervisorError::Meltdown {
            supervisor: self.path.clone(),
            restarts,
            max: limit.max_restarts,
            period: limit.period,
        }
    }

    pub(crate) fn clear_current(&self) {
        let mut current = lock(&self.shared.current);
        if current
            .as_ref()
            .is_some_and(|c| c.get_id() == self.myself.get_id())
        {
            *current = None;
        }
    }
}

impl Drop for SupervisorState {
    /// Safety net when this instance vanished without its ordered shutdown (killed): callers
    /// must not wait on queues no instance will drain. No-op after an ordered shutdown (the
    /// state may be dropped after the parent already restarted this supervisor).
    fn drop(&mut self) {
        self.clear_current();
        if self.shut_down {
            return;
        }
        for e in &self.entries {
            e.spec.starter.abandon(e.generation);
        }
    }
}
