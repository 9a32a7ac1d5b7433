//! Child specs: identity, restart type, shutdown policy, factory, safe-stop step.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use ractor::ActorProcessingErr;

use crate::handle::ChildHandle;
use crate::starter::{Starter, WorkerStarter};
use crate::worker::Worker;

/// A child's id, unique within its supervisor. Identity lives in the supervisor's own map,
/// never in ractor's global name registry (names clash while a child restarts).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChildId(Arc<str>);

impl ChildId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ChildId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ChildId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", &*self.0)
    }
}

impl From<&str> for ChildId {
    fn from(s: &str) -> Self {
        Self(s.into())
    }
}

impl From<String> for ChildId {
    fn from(s: String) -> Self {
        Self(s.into())
    }
}

/// OTP restart type: when a terminated child is restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Restart {
    /// Always restarted.
    #[default]
    Permanent,
    /// Restarted only after an abnormal exit (see [`Exit`]).
    Transient,
    /// Never restarted, not even when a sibling's failure stops it; removed when it exits.
    Temporary,
}

/// How a child left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// Stopped with no reason, `normal`, `shutdown`, `shutdown:*` or `Drained` (OTP's normal reasons).
    Normal(String),
    /// Panic, handler error, kill, or any other stop reason.
    Abnormal(String),
}

impl Exit {
    /// Classify a ractor stop reason the way OTP classifies exit reasons.
    pub fn from_stop_reason(reason: Option<&str>) -> Self {
        match reason {
            None => Exit::Normal("normal".into()),
            Some(r) if r == "normal" || r == "shutdown" || r == "Drained" => Exit::Normal(r.into()),
            Some(r) if r.starts_with("shutdown:") => Exit::Normal(r.into()),
            Some(r) => Exit::Abnormal(r.into()),
        }
    }

    /// The reason text.
    pub fn reason(&self) -> &str {
        match self {
            Exit::Normal(r) | Exit::Abnormal(r) => r,
        }
    }
}

impl Restart {
    /// Whether a child of this type is restarted after `exit`.
    pub fn restarts_after(self, exit: &Exit) -> bool {
        match self {
            Restart::Permanent => true,
            Restart::Transient => matches!(exit, Exit::Abnormal(_)),
            Restart::Temporary => false,
        }
    }
}

/// OTP shutdown: how a planned stop of the child is carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// Kill at once (interrupts the handler at its next await point; no post_stop).
    BrutalKill,
    /// Ask to stop, wait this long, then kill.
    Timeout(Duration),
    /// Ask to stop and wait as long as it takes (the default for supervisors).
    Infinity,
}

/// Worker or supervisor, as in OTP; decides the default shutdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildKind {
    /// A leaf actor.
    Worker,
    /// A nested supervisor.
    Supervisor,
}

type SafeStopFn =
    dyn Fn(StopCause) -> BoxFuture<'static, Result<(), ActorProcessingErr>> + Send + Sync;

/// Why a planned stop happens; the safe-stop step gets it, so a drive whose actor comes back
/// at once (and adopts the running drive) may hold instead of stopping the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopCause {
    /// Down for good: shutdown, removal, escalation, a failed child not restarted.
    Shutdown,
    /// A new instance follows at once: a planned restart or a sibling's restart under
    /// one_for_all / rest_for_one.
    Restart,
    /// A new version follows at once and takes over what the old one ran (hand-over).
    Replace,
}

/// The child's safe-stop step (for a drive: bring it to its configured safe state).
///
/// Run by the supervisor itself after every planned stop of the instance (shutdown, removal,
/// a sibling's restart under one_for_all / rest_for_one, replacement, escalation) and when a
/// failed child is not restarted. It never depends on the instance's `post_stop`, so it also
/// runs after the instance was killed for ignoring the stop request.
#[derive(Clone)]
pub(crate) struct SafeStop {
    pub(crate) timeout: Duration,
    pub(crate) step: Arc<SafeStopFn>,
}

/// A type-erased child spec held by a supervisor. Build one with [`WorkerSpec`] or
/// [`crate::SupervisorSpec::into_child`].
#[derive(Clone)]
pub struct ChildSpec {
    pub(crate) id: ChildId,
    pub(crate) restart: Restart,
    pub(crate) shutdown: Shutdown,
    pub(crate) kind: ChildKind,
    pub(crate) safe_stop: Option<SafeStop>,
    pub(crate) starter: Arc<dyn Starter>,
}

impl ChildSpec {
    pub(crate) fn new(id: ChildId, kind: ChildKind, starter: Arc<dyn Starter>) -> Self {
        let shutdown = match kind {
            ChildKind::Worker => Shutdown::Timeout(Duration::from_secs(5)),
            ChildKind::Supervisor => Shutdown::Infinity,
        };
        Self {
            id,
            restart: Restart::Permanent,
            shutdown,
            kind,
            safe_stop: None,
            starter,
        }
    }

    /// The child's id.
    pub fn id(&self) -> &ChildId {
        &self.id
    }

    /// Set the restart type (default permanent).
    pub fn restart(mut self, restart: Restart) -> Self {
        self.restart = restart;
        self
    }

    /// Set the shutdown policy (default 5 s for workers, infinity for supervisors).
    pub fn shutdown(mut self, shutdown: Shutdown) -> Self {
        self.shutdown = shutdown;
        self
    }

    /// Set the safe-stop step, bounded by `timeout`.
    pub fn safe_stop<F, Fut>(mut self, timeout: Duration, step: F) -> Self
    where
        F: Fn(StopCause) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ActorProcessingErr>> + Send + 'static,
    {
        let step: Arc<SafeStopFn> = Arc::new(move |cause| Box::pin(step(cause)));
        self.safe_stop = Some(SafeStop { timeout, step });
        self
    }
}

impl fmt::Debug for ChildSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildSpec")
            .field("id", &self.id)
            .field("restart", &self.restart)
            .field("shutdown", &self.shutdown)
            .field("kind", &self.kind)
            .field("safe_stop", &self.safe_stop.as_ref().map(|s| s.timeout))
            .finish()
    }
}

/// Builds a worker instance (and its start arguments) for each start and restart.
///
/// Gets `Some(state)` only on a planned replacement (the old version's export) or a rollback;
/// a restart after a crash starts fresh with `None`, as OTP's `init` does.
pub type Factory<W> = Arc<
    dyn Fn(Option<<W as Worker>::Export>) -> Result<(W, <W as Worker>::Args), ActorProcessingErr>
        + Send
        + Sync,
>;

/// Typed builder for a worker child: gives the stable [`ChildHandle`] before the child runs.
pub struct WorkerSpec<W: Worker> {
    starter: Arc<WorkerStarter<W>>,
    spec: ChildSpec,
}

impl<W: Worker> WorkerSpec<W> {
    /// A permanent worker with a 5 s shutdown timeout and a queue of 64 messages.
    pub fn new<F>(id: impl Into<ChildId>, factory: F) -> Self
    where
        F: Fn(Option<W::Export>) -> Result<(W, W::Args), ActorProcessingErr>
            + Send
            + Sync
            + 'static,
    {
        let id = id.into();
        let starter = Arc::new(WorkerStarter::<W>::new(id.clone(), Arc::new(factory)));
        let spec = ChildSpec::new(id, ChildKind::Worker, starter.clone());
        Self { starter, spec }
    }

    /// The stable handle callers keep across restarts and replacements.
    pub fn handle(&self) -> ChildHandle<W::Msg> {
        self.starter.handle()
    }

    /// Bound of the handle's queue (messages accepted but not yet taken by an instance).
    pub fn capacity(self, capacity: usize) -> Self {
        self.starter.set_capacity(capacity.max(1));
        self
    }

    /// Label of the initial version (shown in replacement events), default `"1"`.
    pub fn version(self, version: &str) -> Self {
        self.starter.set_version(version.into());
        self
    }

    /// See [`ChildSpec::restart`].
    pub fn restart(mut self, restart: Restart) -> Self {
        self.spec = self.spec.restart(restart);
        self
    }

    /// See [`ChildSpec::shutdown`].
    pub fn shutdown(mut self, shutdown: Shutdown) -> Self {
        self.spec = self.spec.shutdown(shutdown);
        self
    }

    /// See [`ChildSpec::safe_stop`].
    pub fn safe_stop<F, Fut>(mut self, timeout: Duration, step: F) -> Self
    where
        F: Fn(StopCause) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ActorProcessingErr>> + Send + 'static,
    {
        self.spec = self.spec.safe_stop(timeout, step);
        self
    }

    /// The type-erased spec for a supervisor.
    pub fn build(self) -> ChildSpec {
        self.spec
    }
}

impl<W: Worker> From<WorkerSpec<W>> for ChildSpec {
    fn from(w: WorkerSpec<W>) -> Self {
        w.build()
    }
}

impl<W: Worker> fmt::Debug for WorkerSpec<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.spec.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_reasons_are_classified_like_otp() {
        for normal in [
            None,
            Some("normal"),
            Some("shutdown"),
            Some("shutdown: replaced"),
        ] {
            assert!(
                matches!(Exit::from_stop_reason(normal), Exit::Normal(_)),
                "{normal:?}"
            );
        }
        for abnormal in [Some("killed"), Some("panicked: boom"), Some("shutdownx")] {
            assert!(
                matches!(Exit::from_stop_reason(abnormal), Exit::Abnormal(_)),
                "{abnormal:?}"
            );
        }
        let normal = Exit::Normal("normal".into());
        let abnormal = Exit::Abnormal("killed".into());
        assert!(Restart::Permanent.restarts_after(&normal));
        assert!(!Restart::Transient.restarts_after(&normal));
        assert!(Restart::Transient.restarts_after(&abnormal));
        assert!(!Restart::Temporary.restarts_after(&abnormal));
    }
}
