//! A typed handle on a bus actor for drives and the control plane.

use ractor::ActorRef;
use ractor::rpc::CallResult;

use crate::{Attach, BusError, BusMetrics, BusMsg, BusResult, ReadBlock, Write};

/// A cloneable handle on a bus actor. Every request is answered by the bus (done, device
/// exception, or a [`BusError`] naming why not); if the actor itself is gone the error is
/// [`BusError::Unreachable`].
#[derive(Debug, Clone)]
pub struct BusHandle {
    bus: String,
    actor: ActorRef<BusMsg>,
}

impl BusHandle {
    /// A handle on `actor`, the bus `bus`.
    pub fn new(bus: impl Into<String>, actor: ActorRef<BusMsg>) -> Self {
        Self {
            bus: bus.into(),
            actor,
        }
    }

    /// Bus id.
    pub fn bus(&self) -> &str {
        &self.bus
    }

    /// The actor.
    pub fn actor(&self) -> &ActorRef<BusMsg> {
        &self.actor
    }

    /// Attaches a drive; samples and events then arrive on its sink.
    pub async fn attach(&self, attach: Attach) -> Result<(), BusError> {
        self.call(|r| BusMsg::Attach(attach, r)).await?
    }

    /// Detaches a unit.
    pub fn detach(&self, unit: u8) -> Result<(), BusError> {
        self.actor
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
        match self.actor.call(build, None).await {
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
