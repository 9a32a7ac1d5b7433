//! A bus as a supervised child: each instance starts a fresh bus actor (linked to the instance,
//! so either dying takes the other down) and rebinds the bus's stable handle, which attaches the
//! drives again. A bus restart therefore never restarts a drive: its drives see comm loss, then
//! samples again.

use std::sync::Arc;

use linevisor_bus::{
    BusArgs, BusHandle, BusMsg, BusOptions, BusSpec, CanopenArgs, CanopenBus, CanopenSettings,
    FnOpener, LinkStream, ModbusBus, Opener,
};
use linevisor_can::TransportKind;
use linevisor_can::slcan::Bitrate;
use linevisor_config::model::{BusConfig, CanAdapter, CanopenBus as CanopenConfig, Protocol};
use linevisor_sim::SimHandle;
use linevisor_supervisor::{ActorProcessingErr, Deliverable, Worker, WorkerCtx, WorkerSpec};
use ractor::{Actor, ActorRef};
use tracing::warn;

use crate::LineError;
use crate::simulated::{self, CanSegment, SimLink};

/// Makes a new opener for each bus instance.
type OpenerFactory = Arc<dyn Fn() -> Result<Box<dyn Opener>, ActorProcessingErr> + Send + Sync>;

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

/// What a bus instance runs: the Modbus bus actor with its opener, or the CANopen one with
/// its interface (and, when simulated, the segment whose nodes it talks to).
#[derive(Clone)]
enum Kind {
    Modbus {
        spec: BusSpec,
        opener: OpenerFactory,
    },
    Canopen {
        settings: CanopenSettings,
        transport: TransportKind,
        segment: Option<Arc<CanSegment>>,
    },
}

pub(crate) struct BusWorker {
    kind: Kind,
    handle: BusHandle,
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
        let actor = match &self.kind {
            Kind::Modbus { spec, opener } => {
                let args = BusArgs {
                    spec: spec.clone(),
                    opener: opener()?,
                    options: BusOptions::default(),
                };
                Actor::spawn_linked(None, ModbusBus, args, ctx.cell())
                    .await?
                    .0
            }
            Kind::Canopen {
                settings,
                transport,
                ..
            } => {
                let args = CanopenArgs {
                    settings: settings.clone(),
                    transport: transport.clone(),
                };
                Actor::spawn_linked(None, CanopenBus, args, ctx.cell())
                    .await?
                    .0
            }
        };
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
        let segment = match &self.kind {
            Kind::Canopen {
                segment: Some(s), ..
            } => Some(s),
            _ => None,
        };
        let on_node = |node: u8, f: &dyn Fn(&linevisor_canopen::sim::SimNodeHandle)| {
            let done = segment.is_some_and(|s| s.with_node(node, f));
            if !done {
                warn!(bus = %self.handle.bus(), node, "No simulated CANopen node to inject into.");
            }
        };
        match msg {
            BusCtl::Crash => panic!("injected crash of bus {}", self.handle.bus()),
            BusCtl::PowerCycleNode(node) => on_node(node, &|n| n.power_cycle()),
            BusCtl::SilenceNode(node, silent) => on_node(node, &|n| n.set_silent(silent)),
            BusCtl::FaultNode(node, code) => on_node(node, &|n| n.inject_fault(code)),
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

pub(crate) fn child(config: &BusConfig, sim: Option<SimHandle>) -> Result<BusChild, LineError> {
    let unsupported = |why| LineError::UnsupportedBus {
        bus: config.id().to_owned(),
        kind: config.kind().name().to_owned(),
        why,
    };
    let mut sim = sim;
    let kind = match (config, &sim) {
        (BusConfig::ModbusRtu(_) | BusConfig::ModbusTcp(_), _) => {
            let spec = BusSpec::from_config(config).map_err(|_| unsupported("not a Modbus bus"))?;
            let s = spec.clone();
            Kind::Modbus {
                spec,
                opener: Arc::new(move || Ok(s.opener()?)),
            }
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
            Kind::Modbus {
                spec: BusSpec::Tcp(simulated::tcp_spec(b)),
                opener,
            }
        }
        (BusConfig::Simulated(b), _) if b.protocol == Protocol::Canopen => {
            // The nodes live on the segment's virtual CAN bus, not in the Modbus simulator.
            sim = None;
            let segment = CanSegment::new(1000);
            Kind::Canopen {
                settings: simulated::canopen_settings(b),
                transport: TransportKind::Virtual(segment.vbus.clone()),
                segment: Some(Arc::new(segment)),
            }
        }
        (BusConfig::Canopen(c), _) => Kind::Canopen {
            settings: CanopenSettings::from_config(c),
            transport: transport(c).map_err(unsupported)?,
            segment: None,
        },
        (BusConfig::Simulated(_), _) => {
            return Err(unsupported("simulated buses speak modbus or canopen"));
        }
        (BusConfig::Serial(_), _) => {
            return Err(unsupported("the plain-serial bus actor is not built yet"));
        }
    };
    let handle = BusHandle::unbound(config.id());
    let worker_handle = handle.clone();
    let worker = WorkerSpec::new(config.id(), move |_| {
        Ok((
            BusWorker {
                kind: kind.clone(),
                handle: worker_handle.clone(),
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

/// The CAN interface of a `type = "canopen"` bus.
fn transport(c: &CanopenConfig) -> Result<TransportKind, &'static str> {
    match c.adapter {
        CanAdapter::Socketcan => Ok(TransportKind::SocketCan {
            iface: c
                .interface
                .clone()
                .ok_or("adapter socketcan needs `interface`")?,
        }),
        CanAdapter::Slcan => {
            let bitrate = (0..=8)
                .filter_map(Bitrate::from_code)
                .find(|b| b.bits_per_second() == c.bitrate)
                .ok_or("the bitrate is not one an slcan adapter offers (S0–S8)")?;
            Ok(TransportKind::Slcan {
                path: c.port.clone().ok_or("adapter slcan needs `port`")?,
                // USB-CDC adapters ignore the tty speed.
                serial_baud: c.serial_baud.unwrap_or(115_200),
                bitrate,
            })
        }
    }
}
