//! The line's tree shape, built from the supervisor's generic pieces:
//!
//! ```text
//! <line> (one_for_one)
//! ├── buses    (one_for_one) ── one actor per bus
//! └── drives   (one_for_one) ── one subtree per drive (rest_for_one)
//! ```
//!
//! Buses and drives are separate subtrees under a one_for_one root, so a bus restart never
//! restarts a drive. A drive holds its bus's `ChildHandle`: while the bus restarts,
//! the drive's requests queue or are refused at once (`Restarting` for fail-fast kinds), which
//! the drive reports as comm loss; it recovers when the bus handle runs again. Shutdown goes in
//! reverse: drives first (their safe-stop still has its bus), then buses. The control plane runs
//! beside the tree and is stopped before it.

use std::time::Duration;

use linevisor_supervisor::{
    Backoff, ChildSpec, Event, EventBus, Intensity, Strategy, SupervisorError, SupervisorRef,
    SupervisorSpec,
};

/// The tree of one production line, before start.
#[derive(Debug)]
pub struct LineTreeSpec {
    line: String,
    root: SupervisorSpec,
    buses: SupervisorSpec,
    drives: SupervisorSpec,
}

impl LineTreeSpec {
    /// Defaults: root 3 restarts in 60 s; buses and drives supervisors 5 in 10 s; default backoff.
    pub fn new(line: &str) -> Self {
        Self {
            line: line.to_owned(),
            root: SupervisorSpec::new(Strategy::OneForOne)
                .intensity(Intensity::new(3, Duration::from_secs(60))),
            buses: SupervisorSpec::new(Strategy::OneForOne)
                .intensity(Intensity::new(5, Duration::from_secs(10))),
            drives: SupervisorSpec::new(Strategy::OneForOne)
                .intensity(Intensity::new(5, Duration::from_secs(10))),
        }
    }

    /// Replace the root supervisor's settings (its children are set by [`Self::start`]).
    pub fn root(mut self, root: SupervisorSpec) -> Self {
        self.root = root;
        self
    }

    /// Tune the buses supervisor (intensity, backoff, jitter); buses added so far stay.
    pub fn buses_supervisor(mut self, f: impl FnOnce(SupervisorSpec) -> SupervisorSpec) -> Self {
        self.buses = f(self.buses);
        self
    }

    /// Tune the drives supervisor.
    pub fn drives_supervisor(mut self, f: impl FnOnce(SupervisorSpec) -> SupervisorSpec) -> Self {
        self.drives = f(self.drives);
        self
    }

    /// Add a bus actor.
    pub fn bus(mut self, spec: impl Into<ChildSpec>) -> Self {
        self.buses = self.buses.child(spec);
        self
    }

    /// Add a drive (usually a [`drive_subtree`]).
    pub fn drive(mut self, spec: impl Into<ChildSpec>) -> Self {
        self.drives = self.drives.child(spec);
        self
    }

    /// Start the tree; children start in order (buses, then drives).
    pub async fn start(self, events: EventBus) -> Result<LineTree, SupervisorError> {
        let buses = self.buses.handle();
        let drives = self.drives.handle();
        let root = self
            .root
            .child(self.buses.into_child("buses"))
            .child(self.drives.into_child("drives"))
            .start(&self.line, events.clone())
            .await?;
        Ok(LineTree {
            root,
            buses,
            drives,
            events,
        })
    }
}

/// A per-drive subtree: rest_for_one (a child restarts the ones started after it), 3 restarts
/// in 10 s, default backoff. Turn it into a child with [`SupervisorSpec::into_child`].
pub fn drive_subtree(children: impl IntoIterator<Item = ChildSpec>) -> SupervisorSpec {
    children.into_iter().fold(
        SupervisorSpec::new(Strategy::RestForOne)
            .intensity(Intensity::new(3, Duration::from_secs(10)))
            .backoff(Backoff::default()),
        SupervisorSpec::child,
    )
}

/// A running line tree.
#[derive(Debug, Clone)]
pub struct LineTree {
    /// The root supervisor.
    pub root: SupervisorRef,
    /// Supervisor of the bus actors (add and remove buses here).
    pub buses: SupervisorRef,
    /// Supervisor of the drive subtrees (add and remove drives here).
    pub drives: SupervisorRef,
    /// Lifecycle events of the whole tree.
    pub events: EventBus,
}

impl LineTree {
    /// Receive every lifecycle event from now on.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// Ordered shutdown of the whole line.
    pub async fn shutdown(&self) -> Result<(), SupervisorError> {
        self.root.shutdown().await
    }
}
