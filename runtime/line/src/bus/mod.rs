//! A bus as a supervised child: each instance starts a fresh bus actor (linked to the instance,
//! so either dying takes the other down) and rebinds the bus's stable handle, which attaches the
//! drives again. A bus restart therefore never restarts a drive: its drives see comm loss, then
//! samples again.
//!
//! Each bus kind says how its actor starts (`linevisor_bus::BusStart`, in the kind's folder of
//! `actors/bus`); only the simulated kind, which needs the line's simulator, starts here.

mod fault;
pub(crate) mod simulated;

use std::sync::Arc;

use linevisor_bus::{BusHandle, BusStart};
use linevisor_config::model::BusConfig;
use linevisor_sim::SimHandle;
use linevisor_supervisor::{ActorProcessingErr, Deliverable, Worker, WorkerCtx, WorkerSpec};
use ractor::ActorCell;
use tokio::runtime::Handle;

use crate::LineError;
use simulated::CanSegment;

/// Messages to a bus child itself (not to the bus actor: drives use the [`BusHandle`]). Only
/// fault injection, for tests and benchmarks: without the `fault-injection` feature a
/// production build has no way to send one.
#[derive(Debug)]
pub enum BusCtl {
    /// Panics in the handler, as a bug in the bus actor would, so the buses supervisor
    /// restarts it.
    #[cfg(feature = "fault-injection")]
    Crash,
    /// Simulated CANopen segment: power cycle (unit swap) of a node: new serial, boot-up.
    #[cfg(feature = "fault-injection")]
    PowerCycleNode(u8),
    /// Simulated CANopen segment: a node stops (`true`) or resumes sending (heartbeat loss).
    #[cfg(feature = "fault-injection")]
    SilenceNode(u8, bool),
    /// Simulated CANopen segment: a node faults with this error code (EMCY).
    #[cfg(feature = "fault-injection")]
    FaultNode(u8, u16),
    /// Simulated CANopen segment: a node aborts every SDO request (`true`), or answers again.
    #[cfg(feature = "fault-injection")]
    RefuseSdo(u8, bool),
    /// Simulated CANopen segment: the bus goes bus-off (`true`: no frame gets through), or
    /// works again.
    #[cfg(feature = "fault-injection")]
    BusOff(bool),
}

impl Deliverable for BusCtl {}

pub(crate) struct BusWorker {
    start: Arc<dyn BusStart>,
    #[cfg_attr(not(feature = "fault-injection"), allow(dead_code))]
    bus: String,
    /// A simulated CANopen segment: its nodes live as long as the bus child (dropping the
    /// segment stops them) and take fault injection.
    #[cfg_attr(not(feature = "fault-injection"), allow(dead_code))]
    segment: Option<Arc<CanSegment>>,
    /// The bus's cycle thread, or `None` for the runtime the line runs on.
    runtime: Option<Handle>,
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
        let actor = match &self.runtime {
            // Spawned from its cycle thread, the actor and every task it starts run there.
            Some(rt) => {
                let (start, cell) = (Arc::clone(&self.start), ctx.cell());
                rt.spawn(async move { start.start(cell).await })
                    .await
                    .map_err(|e| format!("bus start on its cycle thread: {e}"))??
            }
            None => self.start.start(ctx.cell()).await?,
        };
        Ok(BusInstance { _actor: actor })
    }

    async fn handle(
        &self,
        _ctx: &WorkerCtx<BusCtl>,
        msg: BusCtl,
        _state: &mut BusInstance,
    ) -> Result<(), ActorProcessingErr> {
        self.inject(msg);
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

/// The bus child of `config`: a physical bus starts as its kind says (`linevisor_bus::start`),
/// a simulated one on the line's in-process simulator.
pub(crate) fn child(
    config: &BusConfig,
    sim: Option<SimHandle>,
    runtime: Option<Handle>,
) -> Result<BusChild, LineError> {
    let unsupported = |why: &'static str| LineError::UnsupportedBus {
        bus: config.id().to_owned(),
        kind: config.bus_type().name().to_owned(),
        why,
    };
    let (start, sim, segment) = match config {
        BusConfig::Simulated(b) => simulated::start(b, sim).map_err(unsupported)?,
        other => {
            let start = linevisor_bus::start(other).map_err(|e| unsupported(e.why))?;
            (start, None, None)
        }
    };
    let handle = start.handle();
    let bus = config.id().to_owned();
    let spec = WorkerSpec::new(config.id(), move |_| {
        let worker = BusWorker {
            start: Arc::clone(&start),
            bus: bus.clone(),
            segment: segment.clone(),
            runtime: runtime.clone(),
        };
        Ok((worker, ()))
    });
    Ok(BusChild { spec, handle, sim })
}
