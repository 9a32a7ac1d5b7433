//! A typed handle on a bus actor for drives and the control plane.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use ractor::ActorRef;
use ractor::rpc::CallResult;

use crate::canopen::{Object, PdoBlock, SdoBusResult};
use crate::{Attach, BusError, BusMetrics, BusMsg, BusResult, ReadBlock, Write};

/// A cloneable handle on a bus, stable across restarts of the bus actor. Every request is
/// answered by the bus (done, device exception, or a [`BusError`] naming why not); while the
/// actor is gone (crashed, restarting) the error is [`BusError::Unreachable`], at once.
///
/// The handle remembers the drives attached through it: when the bus's supervisor starts a new
/// bus actor and [`rebind`](Self::rebind)s the handle, every attachment is made again, so a bus
/// restart never restarts its drives — they see a gap (comm loss) and samples again.
#[derive(Debug, Clone)]
pub struct BusHandle {
    bus: String,
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    actor: RwLock<Option<ActorRef<BusMsg>>>,
    attached: Mutex<BTreeMap<u8, Attach>>,
    attached_canopen: Mutex<BTreeMap<u8, Attach<PdoBlock>>>,
}

impl BusHandle {
    /// A handle on `actor`, the bus `bus`.
    pub fn new(bus: impl Into<String>, actor: ActorRef<BusMsg>) -> Self {
        Self::with(bus.into(), Some(actor))
    }

    /// A handle on a bus whose actor is not started yet (its supervisor will
    /// [`rebind`](Self::rebind) it); until then every request is `Unreachable`.
    pub fn unbound(bus: impl Into<String>) -> Self {
        Self::with(bus.into(), None)
    }

    fn with(bus: String, actor: Option<ActorRef<BusMsg>>) -> Self {
        Self {
            bus,
            inner: Arc::new(Inner {
                actor: RwLock::new(actor),
                attached: Mutex::new(BTreeMap::new()),
                attached_canopen: Mutex::new(BTreeMap::new()),
            }),
        }
    }

    /// Bus id.
    pub fn bus(&self) -> &str {
        &self.bus
    }

    /// The bus actor this handle currently points at, if any.
    pub fn actor(&self) -> Option<ActorRef<BusMsg>> {
        self.inner
            .actor
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Points the handle (and all its clones) at a new bus actor, then attaches every drive
    /// attached through it again. Returns the first attach error, after trying them all.
    pub async fn rebind(&self, actor: ActorRef<BusMsg>) -> Result<(), BusError> {
        *self
            .inner
            .actor
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(actor);
        let attached: Vec<Attach> = self.attachments().into_values().collect();
        let mut first_error = None;
        for a in attached {
            if let Err(e) = self.call(|r| BusMsg::Attach(a, r)).await.and_then(|r| r) {
                first_error.get_or_insert(e);
            }
        }
        let canopen: Vec<Attach<PdoBlock>> = self
            .inner
            .attached_canopen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        for a in canopen {
            if let Err(e) = self
                .call(|r| BusMsg::AttachCanopen(a, r))
                .await
                .and_then(|r| r)
            {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn attachments(&self) -> BTreeMap<u8, Attach> {
        self.inner
            .attached
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Attaches a drive; samples and events then arrive on its sink. The attachment is
    /// remembered for [`rebind`](Self::rebind) even when the bus is unreachable right now.
    pub async fn attach(&self, attach: Attach) -> Result<(), BusError> {
        self.inner
            .attached
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(attach.unit, attach.clone());
        self.call(|r| BusMsg::Attach(attach, r)).await?
    }

    /// Attaches a CANopen node with its PDO sets; remembered for [`rebind`](Self::rebind).
    pub async fn attach_canopen(&self, attach: Attach<PdoBlock>) -> Result<(), BusError> {
        self.inner
            .attached_canopen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(attach.unit, attach.clone());
        self.call(|r| BusMsg::AttachCanopen(attach, r)).await?
    }

    /// SDO upload (read) of `object` from CANopen `node`.
    pub async fn sdo_upload(&self, node: u8, object: Object) -> SdoBusResult<Vec<u8>> {
        self.call(|reply| BusMsg::SdoUpload {
            node,
            object,
            reply,
        })
        .await?
    }

    /// SDO download (write) of `object` of CANopen `node`.
    pub async fn sdo_download(&self, node: u8, object: Object, data: Vec<u8>) -> SdoBusResult<()> {
        self.call(|reply| BusMsg::SdoDownload {
            node,
            object,
            data,
            reply,
        })
        .await?
    }

    /// Sets an RPDO-mapped object of CANopen `node`; it goes out after the next SYNC.
    pub async fn rpdo_write(&self, node: u8, object: Object, value: u64) -> Result<(), BusError> {
        self.call(|reply| BusMsg::RpdoWrite {
            node,
            object,
            value,
            reply,
        })
        .await?
    }

    /// Detaches a unit.
    pub fn detach(&self, unit: u8) -> Result<(), BusError> {
        self.inner
            .attached
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&unit);
        self.inner
            .attached_canopen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&unit);
        let actor = self
            .actor()
            .ok_or_else(|| self.unreachable(&"the bus is not started"))?;
        actor
            .cast(BusMsg::Detach(unit))
            .map_err(|e| self.unreachable(&e))
    }

    /// One-off read of `block` from `unit`.
    pub async fn read(&self, unit: u8, block: ReadBlock) -> BusResult<Vec<u16>> {
        self.call(|reply| BusMsg::Read { unit, block, reply })
            .await?
    }

    /// Writes registers of `unit`, ahead of any cyclic poll.
    pub async fn write(&self, unit: u8, write: Write) -> BusResult<()> {
        self.call(|reply| BusMsg::Write { unit, write, reply })
            .await?
    }

    /// Broadcasts a write to every unit (RTU only).
    pub async fn broadcast(&self, write: Write) -> Result<(), BusError> {
        self.call(|reply| BusMsg::Broadcast { write, reply })
            .await?
    }

    /// A metrics snapshot.
    pub async fn metrics(&self) -> Result<BusMetrics, BusError> {
        self.call(BusMsg::Metrics).await
    }

    /// Stops the bus cleanly and waits until its port is closed.
    pub async fn stop(&self) -> Result<(), BusError> {
        self.call(|r| BusMsg::Stop(Some(r))).await
    }

    async fn call<T: Send + 'static>(
        &self,
        build: impl FnOnce(ractor::RpcReplyPort<T>) -> BusMsg,
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
