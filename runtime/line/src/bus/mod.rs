//! A bus as a supervised child: each instance starts a fresh bus actor (linked to the instance,
//! so either dying takes the other down) and rebinds the bus's stable handle, which attaches the
//! drives again. A bus restart therefore never restarts a drive: its drives see comm loss, then
//! samples again.
//!
//! One file per bus kind says how its actor starts ([`StartBus`]); [`child`] is the one place a
//! kind is picked from the config.

mod canopen;
mod modbus;
pub(crate) mod simulated;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use linevisor_bus::{BusHandle, Handle};
use linevisor_config::model::BusConfig;
use linevisor_sim::SimHandle;
use linevisor_supervisor::{ActorProcessingErr, Deliverable, Worker, WorkerCtx, WorkerSpec};
use ractor::ActorCell;
use tracing::warn;

use crate::LineError;

type StartFuture<'a> =
    Pin<Box<dyn Future<Output = Result<ActorCell, ActorProcessingErr>> + Send + 'a>>;

/// How one bus kind starts its actor.
pub(crate) trait StartBus: Send + Sync {
    /// Spawns a new bus actor linked to `supervisor` and points the bus handle at it.
    fn start(&self, supervisor: ActorCell) -> StartFuture<'_>;
    /// The handle drives and the control plane hold.
    fn handle(&self) -> BusHandle;
    /// Fault injection into a simulated segment's devices; `false` where there are none.
    fn inject(&self, _fault: &BusCtl) -> bool {
        false
    }
}

/// Points `handle` at its new actor; the drives' attachments are made again. A failure is
/// logged: the attachments are kept and the bus retries its link by itself.
async fn rebind<K: linevisor_bus::BusKind>(handle: &Handle<K>, actor: ractor::ActorRef<K::Msg>) {
    if let Err(e) = handle.rebind(actor).await {
        warn!(bus = %handle.bus(), error = %e, "Re-attaching drives after a bus start failed.");
    }
}

/// Messages to a bus child itself (not to the bus actor: drives use the [`BusHandle`]).
#[derive(Debug)]
pub enum BusCtl {
    /// Fault injection for isolation tests and benchmarks: panics in the handler, as a bug in
    /// the bus actor would, so the buses supervisor restarts it.
    Crash,
    /// Simulated CANopen segment: power cycle (unit swap) of a node: new serial, boot-up.
    PowerCycleNode(u8),
    /// Simulated CANopen segment: a node stops (`true`) or resumes sending (heartbeat loss).
    SilenceNode(u8, bool),
    /// Simulated CANopen segment: a node faults with this error code (EMCY).
    FaultNode(u8, u16),
}

impl Deliverable for BusCtl {}

pub(crate) struct BusWorker {
    kind: Arc<dyn StartBus>,
    bus: String,
}

/// One running bus instance.
#[derive(Debug)]
pub(crate) struct BusInstance {
    _actor: ActorCell,
}

impl Worker for BusWorker {
    type Msg = BusCtl;
    type State = BusInstance;
    type Args = ();
    type Export = ();

    async fn start(
        &self,
        ctx: &WorkerCtx<BusCtl>,
        (): (),
    ) -> Result<BusInstance, ActorProcessingErr> {
        let actor = self.kind.start(ctx.cell()).await?;
        Ok(BusInstance { _actor: actor })
    }

    async fn handle(
        &self,
        _ctx: &WorkerCtx<BusCtl>,
        msg: BusCtl,
        _state: &mut BusInstance,
    ) -> Result<(), ActorProcessingErr> {
        if let BusCtl::Crash = msg {
            panic!("injected crash of bus {}", self.bus);
        }
        if !self.kind.inject(&msg) {
            warn!(bus = %self.bus, fault = ?msg, "No simulated device to inject into.");
        }
        Ok(())
    }
}

/// A bus child ready for the buses supervisor, its stable handle for the drives, and the
/// simulator when the bus is simulated.
pub(crate) struct BusChild {
    pub(crate) spec: WorkerSpec<BusWorker>,
    pub(crate) handle: BusHandle,
    pub(crate) sim: Option<SimHandle>,
}

/// The bus child of `config`. The registry of bus kinds at run time: one arm per kind.
pub(crate) fn child(config: &BusConfig, sim: Option<SimHandle>) -> Result<BusChild, LineError> {
    let unsupported = |why: &'static str| LineError::UnsupportedBus {
        bus: config.id().to_owned(),
        kind: config.kind().name().to_owned(),
        why,
    };
    let (kind, sim): (Arc<dyn StartBus>, _) = match config {
        BusConfig::ModbusRtu(_) | BusConfig::ModbusTcp(_) => {
            (Arc::new(modbus::start(config).map_err(unsupported)?), None)
        }
        BusConfig::Canopen(c) => (Arc::new(canopen::start(c).map_err(unsupported)?), None),
        BusConfig::Simulated(b) => simulated::start(b, sim).map_err(unsupported)?,
        BusConfig::Serial(_) => {
            return Err(unsupported("the plain-serial bus actor is not built yet"));
        }
    };
    let handle = kind.handle();
    let bus = config.id().to_owned();
    let spec = WorkerSpec::new(config.id(), move |_| {
        let worker = BusWorker {
            kind: Arc::clone(&kind),
            bus: bus.clone(),
        };
        Ok((worker, ()))
    });
    Ok(BusChild { spec, handle, sim })
}
