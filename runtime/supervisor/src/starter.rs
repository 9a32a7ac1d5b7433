//! Type-erased start/stop plumbing between a supervisor and one child's spec.

use std::any::Any;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::future::BoxFuture;
use ractor::{Actor, ActorCell, ActorRef};
use tokio::sync::oneshot;

use crate::events::EventBus;
use crate::handle::ChildHandle;
use crate::instance::{Instance, InstanceMsg, panic_message};
use crate::mailbox::Mailbox;
use crate::replace::{Probation, Replacement};
use crate::spec::{ChildId, Factory};
use crate::supervisor::SupervisorMsg;
use crate::worker::Worker;

/// What a supervisor passes to a child's start.
pub(crate) struct StartCtx<'a> {
    pub(crate) supervisor: &'a ActorRef<SupervisorMsg>,
    pub(crate) path: &'a Arc<str>,
    pub(crate) child: &'a ChildId,
    pub(crate) events: &'a EventBus,
}

/// One child spec's behaviour, independent of the child's actor type.
pub(crate) trait Starter: Send + Sync + 'static {
    /// Build and spawn a new instance linked to the supervisor.
    fn start<'a>(&'a self, ctx: StartCtx<'a>) -> BoxFuture<'a, Result<ActorCell, String>>;
    /// The instance goes away but the child comes back: callers' messages wait.
    fn detach(&self) {}
    /// The child is down for good: callers are refused.
    fn close(&self) {}
    /// Generation of the last attached instance (safety-net bookkeeping).
    fn generation(&self) -> u64 {
        0
    }
    /// Close unless an instance newer than `generation` was attached since.
    fn abandon(&self, generation: u64) {
        let _ = generation;
    }
    /// Label of the running version.
    fn version(&self) -> Arc<str>;
    /// Accept a [`Replacement`]; `Err(expected type)` if it is for another worker type.
    fn stage(&self, replacement: Box<dyn Any + Send>) -> Result<Probation, &'static str> {
        let _ = replacement;
        Err("a worker (this child is a supervisor)")
    }
    /// Ask the running instance to export its state; keep it for the next start.
    fn export<'a>(&'a self, cell: &'a ActorCell, timeout: Duration) -> BoxFuture<'a, ()> {
        let _ = (cell, timeout);
        Box::pin(async {})
    }
    /// Staged version becomes current; returns (from, to) labels.
    fn promote(&self) -> (Arc<str>, Arc<str>) {
        (self.version(), self.version())
    }
    /// Previous version (and its hand-over state) becomes current; returns (from, to).
    fn rollback(&self) -> Option<(Arc<str>, Arc<str>)> {
        None
    }
    /// Forget the previous version.
    fn commit(&self) {}
    /// Count `cycles` successful messages before probation may end.
    fn arm_probation(&self, cycles: u64) {
        let _ = cycles;
    }
    fn probation_cycles_done(&self) -> bool {
        true
    }
}

struct Version<W: Worker> {
    label: Arc<str>,
    factory: Factory<W>,
}

impl<W: Worker> Clone for Version<W> {
    fn clone(&self) -> Self {
        Self {
            label: self.label.clone(),
            factory: self.factory.clone(),
        }
    }
}

struct Versions<W: Worker> {
    current: Version<W>,
    staged: Option<Version<W>>,
    previous: Option<(Version<W>, Option<W::Export>)>,
    /// State for the next start only (a replacement or a rollback).
    handover: Option<W::Export>,
}

pub(crate) struct WorkerStarter<W: Worker> {
    mailbox: Arc<Mailbox<W::Msg>>,
    versions: Mutex<Versions<W>>,
}

impl<W: Worker> WorkerStarter<W> {
    pub(crate) fn new(id: ChildId, factory: Factory<W>) -> Self {
        Self {
            mailbox: Arc::new(Mailbox::new(id, 64)),
            versions: Mutex::new(Versions {
                current: Version {
                    label: "1".into(),
                    factory,
                },
                staged: None,
                previous: None,
                handover: None,
            }),
        }
    }

    fn versions(&self) -> MutexGuard<'_, Versions<W>> {
        self.versions.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn handle(&self) -> ChildHandle<W::Msg> {
        ChildHandle {
            mailbox: self.mailbox.clone(),
        }
    }

    pub(crate) fn set_capacity(&self, capacity: usize) {
        self.mailbox.set_capacity(capacity);
    }

    pub(crate) fn set_version(&self, label: Arc<str>) {
        self.versions().current.label = label;
    }
}

impl<W: Worker> Starter for WorkerStarter<W> {
    fn start<'a>(&'a self, ctx: StartCtx<'a>) -> BoxFuture<'a, Result<ActorCell, String>> {
        Box::pin(async move {
            let (factory, handover) = {
                let mut v = self.versions();
                (v.current.factory.clone(), v.handover.take())
            };
            let built =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| factory(handover)));
            let (worker, args) = match built {
                Ok(Ok(built)) => built,
                Ok(Err(err)) => return Err(format!("factory: {err}")),
                Err(payload) => return Err(format!("factory {}", panic_message(&*payload))),
            };
            let generation = self.mailbox.next_generation();
            let instance = Instance {
                worker,
                mailbox: self.mailbox.clone(),
                generation,
                supervisor: ctx.supervisor.clone(),
            };
            let (actor, _join) =
                Actor::spawn_linked(None, instance, args, ctx.supervisor.get_cell())
                    .await
                    .map_err(|e| e.to_string())?;
            self.mailbox.attach(generation, actor.clone());
            Ok(actor.get_cell())
        })
    }

    fn detach(&self) {
        self.mailbox.detach();
    }

    fn close(&self) {
        self.mailbox.close();
    }

    fn generation(&self) -> u64 {
        self.mailbox.current_generation()
    }

    fn abandon(&self, generation: u64) {
        self.mailbox.abandon(generation);
    }

    fn version(&self) -> Arc<str> {
        self.versions().current.label.clone()
    }

    fn stage(&self, replacement: Box<dyn Any + Send>) -> Result<Probation, &'static str> {
        let r = replacement
            .downcast::<Replacement<W>>()
            .map_err(|_| std::any::type_name::<W>())?;
        let probation = r.probation;
        self.versions().staged = Some(Version {
            label: r.version,
            factory: r.factory,
        });
        Ok(probation)
    }

    fn export<'a>(&'a self, cell: &'a ActorCell, timeout: Duration) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let (tx, rx) = oneshot::channel();
            let actor: ActorRef<InstanceMsg> = cell.clone().into();
            if actor.cast(InstanceMsg::Export(tx)).is_err() {
                return;
            }
            let exported = match tokio::time::timeout(timeout, rx).await {
                Ok(Ok(boxed)) => boxed.downcast::<Option<W::Export>>().ok().and_then(|b| *b),
                _ => None,
            };
            self.versions().handover = exported;
        })
    }

    fn promote(&self) -> (Arc<str>, Arc<str>) {
        let mut v = self.versions();
        let from = v.current.label.clone();
        if let Some(staged) = v.staged.take() {
            let old = std::mem::replace(&mut v.current, staged);
            let saved = v.handover.clone();
            v.previous = Some((old, saved));
        }
        (from, v.current.label.clone())
    }

    fn rollback(&self) -> Option<(Arc<str>, Arc<str>)> {
        let mut v = self.versions();
        let (previous, saved) = v.previous.take()?;
        let from = std::mem::replace(&mut v.current, previous).label;
        v.handover = saved;
        self.mailbox
            .probation_left
            .store(0, std::sync::atomic::Ordering::Relaxed);
        Some((from, v.current.label.clone()))
    }

    fn commit(&self) {
        self.versions().previous = None;
        self.mailbox
            .probation_left
            .store(0, std::sync::atomic::Ordering::Relaxed);
    }

    fn arm_probation(&self, cycles: u64) {
        self.mailbox
            .probation_left
            .store(cycles, std::sync::atomic::Ordering::Relaxed);
    }

    fn probation_cycles_done(&self) -> bool {
        self.mailbox
            .probation_left
            .load(std::sync::atomic::Ordering::Relaxed)
            == 0
    }
}
