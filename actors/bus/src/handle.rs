//! Handles on a bus actor. A kind's typed handle ([`Handle<K>`], e.g. `ModbusHandle`) carries
//! that kind's requests, so a request of another protocol cannot be written. [`BusHandle`] is
//! the same handle with its kind erased, for those that only need what every bus offers: the
//! runtime (metrics, stop) and the drive (its typed link, made once at set-up).

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use linevisor_profile::ProfileCodec;
use ractor::rpc::CallResult;
use ractor::{ActorRef, RpcReplyPort};

use crate::drive_link::{DriveLink, LinkOptions, LinkSetupError};
use crate::{Attach, BusError, BusMetrics};

/// A boxed future, for the object-safe traits of the boundary.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a typed handle needs of its kind: the actor's message type and how to build the
/// messages every bus understands. Implemented once per bus kind.
pub trait BusKind: Debug + Send + Sync + Sized + 'static {
    /// The kind's actor messages.
    type Msg: ractor::Message + Debug;
    /// What a drive attaches as cyclic data (register blocks, PDO sets).
    type Block: Clone + Debug + Send + Sync + 'static;
    /// What else a drive attaches with (Modbus: read rules, its response timeout).
    type Options: Clone + Debug + Default + Send + Sync + 'static;
    /// The kind's name, as in `type = "…"`.
    const NAME: &'static str;

    fn attach(
        attach: Attach<Self::Block>,
        options: Self::Options,
        reply: RpcReplyPort<Result<(), BusError>>,
    ) -> Self::Msg;
    fn detach(unit: u8) -> Self::Msg;
    fn metrics(reply: RpcReplyPort<BusMetrics>) -> Self::Msg;
    fn stop(reply: Option<RpcReplyPort<()>>) -> Self::Msg;
    /// The link of a drive whose profile is `codec`, at `address` on this bus.
    fn drive_link(
        handle: &Handle<Self>,
        codec: Arc<ProfileCodec>,
        address: u32,
    ) -> Result<Arc<dyn DriveLink>, LinkSetupError>;
    /// As [`BusKind::drive_link`], with the drive's own link options; kinds without any
    /// ignore them (`linevisor check` refuses them on such buses).
    fn drive_link_with(
        handle: &Handle<Self>,
        codec: Arc<ProfileCodec>,
        address: u32,
        _options: LinkOptions,
    ) -> Result<Arc<dyn DriveLink>, LinkSetupError> {
        Self::drive_link(handle, codec, address)
    }
}

/// A cloneable handle on a bus of kind `K`, stable across restarts of the bus actor. Every
/// request is answered by the bus (done, device refusal, or a [`BusError`] naming why not);
/// while the actor is gone (crashed, restarting) the error is [`BusError::Unreachable`], at once.
///
/// The handle remembers the drives attached through it: when the bus's supervisor starts a new
/// bus actor and [`rebind`](Self::rebind)s the handle, every attachment is made again, so a bus
/// restart never restarts its drives — they see a gap (comm loss) and samples again.
#[derive(Debug)]
pub struct Handle<K: BusKind> {
    bus: String,
    inner: Arc<Inner<K>>,
}

impl<K: BusKind> Clone for Handle<K> {
    fn clone(&self) -> Self {
        Self {
            bus: self.bus.clone(),
            inner: Arc::clone(&self.inner),
        }
    }
}

#[derive(Debug)]
struct Inner<K: BusKind> {
    actor: RwLock<Option<ActorRef<K::Msg>>>,
    attached: Mutex<BTreeMap<u8, Attachment<K>>>,
}

type Attachment<K> = (Attach<<K as BusKind>::Block>, <K as BusKind>::Options);

impl<K: BusKind> Handle<K> {
    /// A handle on `actor`, the bus `bus`.
    pub fn new(bus: impl Into<String>, actor: ActorRef<K::Msg>) -> Self {
        Self::with(bus.into(), Some(actor))
    }

    /// A handle on a bus whose actor is not started yet (its supervisor will
    /// [`rebind`](Self::rebind) it); until then every request is `Unreachable`.
    pub fn unbound(bus: impl Into<String>) -> Self {
        Self::with(bus.into(), None)
    }

    fn with(bus: String, actor: Option<ActorRef<K::Msg>>) -> Self {
        Self {
            bus,
            inner: Arc::new(Inner {
                actor: RwLock::new(actor),
                attached: Mutex::new(BTreeMap::new()),
            }),
        }
    }

    pub fn bus(&self) -> &str {
        &self.bus
    }

    /// The bus actor this handle currently points at, if any.
    pub fn actor(&self) -> Option<ActorRef<K::Msg>> {
        self.inner
            .actor
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn attached(&self) -> std::sync::MutexGuard<'_, BTreeMap<u8, Attachment<K>>> {
        self.inner
            .attached
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Points the handle (and all its clones) at a new bus actor, then attaches every drive
    /// attached through it again. Returns the first attach error, after trying them all.
    pub async fn rebind(&self, actor: ActorRef<K::Msg>) -> Result<(), BusError> {
        *self
            .inner
            .actor
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(actor);
        let attached: Vec<Attachment<K>> = self.attached().values().cloned().collect();
        let mut first_error = None;
        for (a, o) in attached {
            if let Err(e) = self.call(|r| K::attach(a, o, r)).await.and_then(|r| r) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Attaches a drive; samples and events then arrive on its sink. The attachment is
    /// remembered for [`rebind`](Self::rebind) even when the bus is unreachable right now.
    pub async fn attach(&self, attach: Attach<K::Block>) -> Result<(), BusError> {
        self.attach_with(attach, K::Options::default()).await
    }

    /// Attaches a drive with its kind's options (Modbus: [`crate::UnitOptions`]).
    pub async fn attach_with(
        &self,
        attach: Attach<K::Block>,
        options: K::Options,
    ) -> Result<(), BusError> {
        let entry = (attach.clone(), options.clone());
        self.attached().insert(attach.unit, entry);
        self.call(|r| K::attach(attach, options, r)).await?
    }

    /// Detaches a unit.
    pub fn detach(&self, unit: u8) -> Result<(), BusError> {
        self.attached().remove(&unit);
        let actor = self
            .actor()
            .ok_or_else(|| self.unreachable(&"the bus is not started"))?;
        actor
            .cast(K::detach(unit))
            .map_err(|e| self.unreachable(&e))
    }

    /// A metrics snapshot.
    pub async fn metrics(&self) -> Result<BusMetrics, BusError> {
        self.call(K::metrics).await
    }

    /// Stops the bus cleanly and waits until its port is closed.
    pub async fn stop(&self) -> Result<(), BusError> {
        self.call(|r| K::stop(Some(r))).await
    }

    /// Sends the message `build` makes and waits for its reply.
    pub(crate) async fn call<T: Send + 'static>(
        &self,
        build: impl FnOnce(RpcReplyPort<T>) -> K::Msg,
    ) -> Result<T, BusError> {
        let Some(actor) = self.actor() else {
            return Err(self.unreachable(&"the bus is not started"));
        };
        match actor.call(build, None).await {
            Ok(CallResult::Success(t)) => Ok(t),
            Ok(CallResult::Timeout) => Err(self.unreachable(&"call timed out")),
            Ok(CallResult::SenderError) => Err(self.unreachable(&"the bus dropped the reply")),
            Err(e) => Err(self.unreachable(&e)),
        }
    }

    fn unreachable(&self, reason: &dyn std::fmt::Display) -> BusError {
        BusError::Unreachable {
            bus: self.bus.clone(),
            reason: reason.to_string(),
        }
    }
}

/// What every bus offers, whatever its kind.
trait AnyBus: Debug + Send + Sync {
    fn bus(&self) -> &str;
    fn kind(&self) -> &'static str;
    fn metrics(&self) -> BoxFuture<'_, Result<BusMetrics, BusError>>;
    fn stop(&self) -> BoxFuture<'_, Result<(), BusError>>;
    fn drive_link(
        &self,
        codec: Arc<ProfileCodec>,
        address: u32,
        options: LinkOptions,
    ) -> Result<Arc<dyn DriveLink>, LinkSetupError>;
}

impl<K: BusKind> AnyBus for Handle<K> {
    fn bus(&self) -> &str {
        &self.bus
    }
    fn kind(&self) -> &'static str {
        K::NAME
    }
    fn metrics(&self) -> BoxFuture<'_, Result<BusMetrics, BusError>> {
        Box::pin(Handle::metrics(self))
    }
    fn stop(&self) -> BoxFuture<'_, Result<(), BusError>> {
        Box::pin(Handle::stop(self))
    }
    fn drive_link(
        &self,
        codec: Arc<ProfileCodec>,
        address: u32,
        options: LinkOptions,
    ) -> Result<Arc<dyn DriveLink>, LinkSetupError> {
        K::drive_link_with(self, codec, address, options)
    }
}

/// A handle on a bus of any kind. Made from a typed handle with `From`.
#[derive(Debug, Clone)]
pub struct BusHandle(Arc<dyn AnyBus>);

impl<K: BusKind> From<Handle<K>> for BusHandle {
    fn from(h: Handle<K>) -> Self {
        BusHandle(Arc::new(h))
    }
}

impl BusHandle {
    pub fn bus(&self) -> &str {
        self.0.bus()
    }

    /// The bus's kind, e.g. `modbus`, `canopen`.
    pub fn kind(&self) -> &'static str {
        self.0.kind()
    }

    /// A metrics snapshot.
    pub async fn metrics(&self) -> Result<BusMetrics, BusError> {
        self.0.metrics().await
    }

    /// Stops the bus cleanly and waits until its port is closed.
    pub async fn stop(&self) -> Result<(), BusError> {
        self.0.stop().await
    }

    /// The typed link a drive uses on this bus: its profile must speak the bus's protocol and
    /// its address must be one the bus can carry.
    pub fn drive_link(
        &self,
        codec: Arc<ProfileCodec>,
        address: u32,
    ) -> Result<Arc<dyn DriveLink>, LinkSetupError> {
        self.0.drive_link(codec, address, LinkOptions::default())
    }

    /// As [`BusHandle::drive_link`], with the drive's own link options (its response timeout).
    pub fn drive_link_with(
        &self,
        codec: Arc<ProfileCodec>,
        address: u32,
        options: LinkOptions,
    ) -> Result<Arc<dyn DriveLink>, LinkSetupError> {
        self.0.drive_link(codec, address, options)
    }
}
