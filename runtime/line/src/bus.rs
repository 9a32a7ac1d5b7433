//! A bus as a supervised child: each instance starts a fresh bus actor (linked to the instance,
//! so either dying takes the other down) and rebinds the bus's stable handle, which attaches the
//! drives again. A bus restart therefore never restarts a drive: its drives see comm loss, then
//! samples again.

use std::sync::Arc;

use linevisor_bus::{
    BusArgs, BusHandle, BusMsg, BusOptions, BusSpec, FnOpener, LinkStream, ModbusBus, Opener,
};
use linevisor_config::model::BusConfig;
use linevisor_sim::SimHandle;
use linevisor_supervisor::{ActorProcessingErr, Deliverable, Worker, WorkerCtx, WorkerSpec};
use ractor::{Actor, ActorRef};
use tracing::warn;

use crate::LineError;
use crate::simulated::{self, SimLink};

/// Makes a new opener for each bus instance.
type OpenerFactory = Arc<dyn Fn() -> Result<Box<dyn Opener>, ActorProcessingErr> + Send + Sync>;

/// Messages to a bus child itself (not to the bus actor: drives use the [`BusHandle`]).
#[derive(Debug)]
pub enum BusCtl {
    /// Fault injection for isolation tests and benchmarks: panics in the handler, as a bug in
    /// the bus actor would, so the buses supervisor restarts it.
    Crash,
}

impl Deliverable for BusCtl {}

pub(crate) struct BusWorker {
    spec: BusSpec,
    handle: BusHandle,
    opener: OpenerFactory,
}

/// One running bus instance.
#[derive(Debug)]
pub(crate) struct BusInstance {
    _actor: ActorRef<BusMsg>,
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
        let args = BusArgs {
            spec: self.spec.clone(),
            opener: (self.opener)()?,
            options: BusOptions::default(),
        };
        let (actor, _) = Actor::spawn_linked(None, ModbusBus, args, ctx.cell()).await?;
        if let Err(e) = self.handle.rebind(actor.clone()).await {
            // The drives' attachments are kept; the bus retries its link by itself.
            warn!(bus = %self.handle.bus(), error = %e, "Re-attaching drives after a bus start failed.");
        }
        Ok(BusInstance { _actor: actor })
    }

    async fn handle(
        &self,
        _ctx: &WorkerCtx<BusCtl>,
        msg: BusCtl,
        _state: &mut BusInstance,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            BusCtl::Crash => panic!("injected crash of bus {}", self.handle.bus()),
        }
    }
}

/// A bus child ready for the buses supervisor, its stable handle for the drives, and the
/// simulator when the bus is simulated.
pub(crate) struct BusChild {
    pub(crate) spec: WorkerSpec<BusWorker>,
    pub(crate) handle: BusHandle,
    pub(crate) sim: Option<SimHandle>,
}

pub(crate) fn child(config: &BusConfig, sim: Option<SimHandle>) -> Result<BusChild, LineError> {
    let unsupported = |why| LineError::UnsupportedBus {
        bus: config.id().to_owned(),
        kind: config.kind().name().to_owned(),
        why,
    };
    let (spec, opener): (BusSpec, OpenerFactory) = match (config, &sim) {
        (BusConfig::ModbusRtu(_) | BusConfig::ModbusTcp(_), _) => {
            let spec = BusSpec::from_config(config).map_err(|_| unsupported("not a Modbus bus"))?;
            let s = spec.clone();
            (spec, Arc::new(move || Ok(s.opener()?)))
        }
        (BusConfig::Simulated(b), Some(sim))
            if b.protocol == linevisor_config::model::Protocol::Modbus =>
        {
            let sim = sim.clone();
            let opener: OpenerFactory = Arc::new(move || {
                let sim = sim.clone();
                let open = move || {
                    let link = SimLink::connect(&sim);
                    async move { Ok(Box::new(link) as LinkStream) }
                };
                Ok(Box::new(FnOpener::new("in-process simulator", open)) as Box<dyn Opener>)
            });
            (BusSpec::Tcp(simulated::tcp_spec(b)), opener)
        }
        (BusConfig::Simulated(_), _) | (BusConfig::Canopen(_), _) => {
            return Err(unsupported(
                "the CANopen bus actor comes with CANopen support",
            ));
        }
        (BusConfig::Serial(_), _) => {
            return Err(unsupported("the plain-serial bus actor is not built yet"));
        }
    };
    let handle = BusHandle::unbound(config.id());
    let worker_handle = handle.clone();
    let spec_for_factory = spec.clone();
    let worker = WorkerSpec::new(config.id(), move |_| {
        Ok((
            BusWorker {
                spec: spec_for_factory.clone(),
                handle: worker_handle.clone(),
                opener: Arc::clone(&opener),
            },
            (),
        ))
    });
    Ok(BusChild {
        spec: worker,
        handle,
        sim,
    })
}
