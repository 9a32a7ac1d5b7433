//! The supervisor actor, its spec and its stable handle.

mod actor;
pub(crate) mod state;

use std::any::Any;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use futures::future::BoxFuture;
use ractor::{Actor, ActorCell, ActorRef, RpcReplyPort};

use crate::error::SupervisorError;
use crate::events::EventBus;
use crate::intensity::Intensity;
use crate::replace::Replacement;
use crate::spec::{ChildId, ChildKind, ChildSpec};
use crate::starter::{StartCtx, Starter};
use crate::strategy::Strategy;
use crate::worker::Worker;
use linevisor_core::backoff::{Backoff, Jitter, SeededJitter};

pub(crate) use actor::SupervisorActor;

/// Requests to a supervisor actor.
pub(crate) enum SupervisorMsg {
    Add(ChildSpec, RpcReplyPort<Result<(), SupervisorError>>),
    Remove(ChildId, RpcReplyPort<Result<(), SupervisorError>>),
    Terminate(ChildId, RpcReplyPort<Result<(), SupervisorError>>),
    Restart(ChildId, RpcReplyPort<Result<(), SupervisorError>>),
    RestartNow(ChildId, RpcReplyPort<Result<(), SupervisorError>>),
    Which(RpcReplyPort<Vec<ChildInfo>>),
    Replace {
        child: ChildId,
        replacement: Box<dyn Any + Send>,
        reply: RpcReplyPort<Result<(), SupervisorError>>,
    },
    /// A backoff delay ended: start the children waiting on `token`.
    BackoffElapsed {
        token: u64,
        backoff: std::time::Duration,
    },
    /// A new version handled its probation cycles.
    ProbationCycles {
        child: ChildId,
        generation: u64,
    },
    /// A probation's duration ended.
    ProbationDeadline {
        child: ChildId,
        token: u64,
    },
}

/// Where a child stands, as its supervisor sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildStatus {
    /// An instance runs.
    Running,
    /// Failed or stopped for a restart; a new instance comes (possibly after a backoff).
    Restarting,
    /// Not running and not coming back on its own (terminated, or a transient child's normal exit).
    Stopped,
}

/// One row of [`SupervisorRef::which_children`], in start order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildInfo {
    pub id: ChildId,
    /// Worker or supervisor.
    pub kind: ChildKind,
    /// Current status.
    pub status: ChildStatus,
    /// Restarts of this child by this supervisor instance.
    pub restarts: u32,
    /// Running version label.
    pub version: Arc<str>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Config {
    pub(crate) strategy: Strategy,
    pub(crate) intensity: Intensity,
    pub(crate) backoff: Backoff,
}

/// State shared by a supervisor's spec, its handles and each of its actor instances.
pub(crate) struct SupervisorShared {
    pub(crate) config: Mutex<Config>,
    /// Specs to start on each start of the supervisor: static ones plus dynamic additions.
    pub(crate) children: Mutex<Vec<ChildSpec>>,
    pub(crate) jitter: Mutex<Box<dyn Jitter>>,
    /// Path and event bus, given by the parent at each start.
    pub(crate) naming: Mutex<(Arc<str>, EventBus)>,
    pub(crate) current: Mutex<Option<ActorRef<SupervisorMsg>>>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Builder of a supervisor: strategy, intensity, backoff, children.
pub struct SupervisorSpec {
    shared: Arc<SupervisorShared>,
}

impl SupervisorSpec {
    /// A supervisor with OTP's default intensity (1 in 5 s) and the default backoff.
    pub fn new(strategy: Strategy) -> Self {
        Self {
            shared: Arc::new(SupervisorShared {
                config: Mutex::new(Config {
                    strategy,
                    intensity: Intensity::default(),
                    backoff: Backoff::default(),
                }),
                children: Mutex::new(Vec::new()),
                jitter: Mutex::new(Box::new(SeededJitter::from_entropy())),
                naming: Mutex::new(("unstarted".into(), EventBus::new(1))),
                current: Mutex::new(None),
            }),
        }
    }

    /// At most `intensity.max_restarts` restarts within `intensity.period`.
    pub fn intensity(self, intensity: Intensity) -> Self {
        lock(&self.shared.config).intensity = intensity;
        self
    }

    /// Backoff between restarts of the same child.
    pub fn backoff(self, backoff: Backoff) -> Self {
        lock(&self.shared.config).backoff = backoff;
        self
    }

    /// Jitter source for the backoff (inject a seeded one in tests).
    pub fn jitter(self, jitter: impl Jitter) -> Self {
        *lock(&self.shared.jitter) = Box::new(jitter);
        self
    }

    /// Append a child (started in the order added).
    pub fn child(self, spec: impl Into<ChildSpec>) -> Self {
        lock(&self.shared.children).push(spec.into());
        self
    }

    /// The stable handle of this supervisor (valid across its restarts).
    pub fn handle(&self) -> SupervisorRef {
        SupervisorRef {
            shared: self.shared.clone(),
        }
    }

    /// This supervisor as a child of another one (permanent, shutdown infinity by default).
    pub fn into_child(self, id: impl Into<ChildId>) -> ChildSpec {
        ChildSpec::new(
            id.into(),
            ChildKind::Supervisor,
            Arc::new(SupervisorStarter {
                shared: self.shared,
            }),
        )
    }

    /// Start as the root of a tree, named `name`, reporting to `events`.
    pub async fn start(
        self,
        name: &str,
        events: EventBus,
    ) -> Result<SupervisorRef, SupervisorError> {
        *lock(&self.shared.naming) = (name.into(), events);
        Actor::spawn(None, SupervisorActor, self.shared.clone())
            .await
            .map_err(|e| SupervisorError::StartFailed {
                child: name.into(),
                reason: e.to_string(),
            })?;
        Ok(self.handle())
    }
}

impl fmt::Debug for SupervisorSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SupervisorSpec")
            .field("config", &*lock(&self.shared.config))
            .field("children", &lock(&self.shared.children).len())
            .finish()
    }
}

struct SupervisorStarter {
    shared: Arc<SupervisorShared>,
}

impl Starter for SupervisorStarter {
    fn start<'a>(&'a self, ctx: StartCtx<'a>) -> BoxFuture<'a, Result<ActorCell, String>> {
        Box::pin(async move {
            let path: Arc<str> = format!("{}/{}", ctx.path, ctx.child).into();
            *lock(&self.shared.naming) = (path, ctx.events.clone());
            let (actor, _join) = Actor::spawn_linked(
                None,
                SupervisorActor,
                self.shared.clone(),
                ctx.supervisor.get_cell(),
            )
            .await
            .map_err(|e| e.to_string())?;
            Ok(actor.get_cell())
        })
    }

    fn version(&self) -> Arc<str> {
        "supervisor".into()
    }
}

/// Stable handle to a supervisor, valid across its restarts.
#[derive(Clone)]
pub struct SupervisorRef {
    shared: Arc<SupervisorShared>,
}

impl fmt::Debug for SupervisorRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SupervisorRef")
            .field("path", &self.path())
            .field("running", &self.is_running())
            .finish()
    }
}

impl SupervisorRef {
    /// Path in the tree (`root/drives/x1`).
    pub fn path(&self) -> Arc<str> {
        lock(&self.shared.naming).0.clone()
    }

    /// The event bus this supervisor reports to.
    pub fn events(&self) -> EventBus {
        lock(&self.shared.naming).1.clone()
    }

    /// Whether an instance of this supervisor is running.
    pub fn is_running(&self) -> bool {
        lock(&self.shared.current).is_some()
    }

    fn current(&self) -> Result<ActorRef<SupervisorMsg>, SupervisorError> {
        lock(&self.shared.current)
            .clone()
            .ok_or_else(|| SupervisorError::SupervisorDown {
                supervisor: self.path(),
            })
    }

    async fn request<R: Send + 'static>(
        &self,
        build: impl FnOnce(RpcReplyPort<R>) -> SupervisorMsg,
    ) -> Result<R, SupervisorError> {
        let actor = self.current()?;
        match actor.call(build, None).await {
            Ok(ractor::rpc::CallResult::Success(r)) => Ok(r),
            _ => Err(SupervisorError::SupervisorDown {
                supervisor: self.path(),
            }),
        }
    }

    /// Add and start a child (OTP `start_child`). A failed start leaves nothing behind.
    pub async fn add_child(&self, spec: impl Into<ChildSpec>) -> Result<(), SupervisorError> {
        let spec = spec.into();
        self.request(|r| SupervisorMsg::Add(spec, r)).await?
    }

    /// Stop a child (planned, with its shutdown and safe-stop) and delete its spec.
    pub async fn remove_child(&self, id: impl Into<ChildId>) -> Result<(), SupervisorError> {
        let id = id.into();
        self.request(|r| SupervisorMsg::Remove(id, r)).await?
    }

    /// Stop a child but keep its spec (OTP `terminate_child`); see [`Self::restart_child`].
    pub async fn terminate_child(&self, id: impl Into<ChildId>) -> Result<(), SupervisorError> {
        let id = id.into();
        self.request(|r| SupervisorMsg::Terminate(id, r)).await?
    }

    /// Start a stopped child again (OTP `restart_child`).
    pub async fn restart_child(&self, id: impl Into<ChildId>) -> Result<(), SupervisorError> {
        let id = id.into();
        self.request(|r| SupervisorMsg::Restart(id, r)).await?
    }

    /// Planned restart of a running child: a planned stop (its safe-stop step learns
    /// [`StopCause::Restart`](crate::StopCause::Restart)) and a new instance at once, with no
    /// backoff and not counted against the restart intensity (nothing failed).
    pub async fn restart_now(&self, id: impl Into<ChildId>) -> Result<(), SupervisorError> {
        let id = id.into();
        self.request(|r| SupervisorMsg::RestartNow(id, r)).await?
    }

    /// Children in start order (OTP `which_children`).
    pub async fn which_children(&self) -> Result<Vec<ChildInfo>, SupervisorError> {
        self.request(SupervisorMsg::Which).await
    }

    /// Planned replacement of a worker child by a new version, with state hand-over and
    /// rollback on failure during probation. Resolves when probation ends: `Ok` once promoted,
    /// `Err(RolledBack)` if the previous version runs again.
    pub async fn replace<W: Worker>(
        &self,
        id: impl Into<ChildId>,
        replacement: Replacement<W>,
    ) -> Result<(), SupervisorError> {
        let child = id.into();
        let replacement: Box<dyn Any + Send> = Box::new(replacement);
        self.request(|reply| SupervisorMsg::Replace {
            child,
            replacement,
            reply,
        })
        .await?
    }

    /// Stop this supervisor: children stop in reverse start order, each with its shutdown
    /// policy and safe-stop step. Returns once all are down.
    pub async fn shutdown(&self) -> Result<(), SupervisorError> {
        let actor = self.current()?;
        let _ = actor.stop_and_wait(Some("shutdown".into()), None).await;
        Ok(())
    }

    /// Wait until the running instance (if any) of this supervisor terminates.
    pub async fn wait(&self) {
        if let Ok(actor) = self.current() {
            let _ = actor.get_cell().wait(None).await;
        }
    }
}
