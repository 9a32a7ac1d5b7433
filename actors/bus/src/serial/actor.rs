//! The serial bus actor: a thin front for the port task, as on Modbus. Handlers validate and
//! hand the request to the port task over a bounded channel (`try_send`: a full queue is an
//! immediate `QueueFull`); the port task answers the reply ports. Handlers never await I/O.

use std::sync::{Arc, Mutex};

use linevisor_config::model::SerialBus as SerialBusConfig;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use tokio::sync::{mpsc, oneshot};
use tracing::{Instrument, info_span, warn};

use super::exchange::{Exchange, SerialResult};
use super::port::{Control, Inbox, Job, PortTask};
use super::spec::Settings;
use crate::front::{CONTROL_CAPACITY, Front};
use crate::link::Opener;
use crate::metrics::{BusMetrics, Metrics, Wire};
use crate::modbus::BusOptions;
use crate::{Attach, BusError};

/// Messages of the serial bus actor.
#[derive(Debug)]
pub enum SerialMsg {
    /// Attach a drive: its poll exchanges, one per polled point.
    Attach(Attach<Exchange>, RpcReplyPort<Result<(), BusError>>),
    /// Detach a drive; its sink gets nothing more.
    Detach(u8),
    /// One acyclic exchange; goes ahead of every cyclic poll.
    Exchange {
        /// The drive's address.
        unit: u8,
        exchange: Exchange,
        /// The reply, the drive's refusal, or why the bus could not.
        reply: RpcReplyPort<SerialResult>,
    },
    /// A metrics snapshot.
    Metrics(RpcReplyPort<BusMetrics>),
    /// Stop: the exchange in flight completes, queued ones are answered `ShuttingDown`, drives
    /// get `CommLost`, the port is closed. Replied when done.
    Stop(Option<RpcReplyPort<()>>),
}

/// What a serial bus actor is spawned with.
#[derive(Debug)]
pub struct SerialArgs {
    /// The bus's config.
    pub config: SerialBusConfig,
    /// How to open its port.
    pub opener: Box<dyn Opener>,
    /// Runtime knobs.
    pub options: BusOptions,
}

/// The plain serial bus actor.
#[derive(Debug, Clone, Copy, Default)]
pub struct SerialBus;

/// The actor's state: channel ends to the port task and its handle.
#[derive(Debug)]
pub struct SerialState {
    settings: Settings,
    front: Front<Control, Job>,
}

impl SerialState {
    /// A drive's address: 1–255 (0 would be every drive on some protocols, never one).
    fn check_unit(&self, unit: u8) -> Result<(), BusError> {
        if self.front.stopping {
            return Err(self.front.shutting_down());
        }
        if unit == 0 {
            return Err(BusError::InvalidUnit {
                bus: self.settings.bus.clone(),
                unit,
                max: u8::MAX,
            });
        }
        Ok(())
    }

    fn check_attach(&self, a: &Attach<Exchange>) -> Result<(), BusError> {
        self.check_unit(a.unit)?;
        let reason = if a.blocks.is_empty() {
            "no polled point has a read request"
        } else if a.period.is_zero() {
            "cycle period is zero"
        } else {
            return Ok(());
        };
        Err(BusError::InvalidAttach {
            bus: self.settings.bus.clone(),
            unit: a.unit,
            reason: reason.into(),
        })
    }
}

impl Actor for SerialBus {
    type Msg = SerialMsg;
    type State = SerialState;
    type Arguments = SerialArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<SerialMsg>,
        args: SerialArgs,
    ) -> Result<SerialState, ActorProcessingErr> {
        let settings = Settings::new(&args.config, &args.options);
        let (control_tx, control) = mpsc::channel(CONTROL_CAPACITY);
        let (jobs_tx, jobs) = mpsc::channel(settings.queue_capacity);
        let (shutdown_tx, shutdown) = oneshot::channel();
        let timing = Some((settings.timing, settings.echo));
        let metrics = Arc::new(Mutex::new(Metrics::new(&settings.bus, timing)));
        let wire = Arc::new(Wire::default());
        let inbox = Inbox {
            control,
            jobs,
            shutdown,
        };
        let port_task = PortTask::new(
            settings.clone(),
            args.opener,
            args.options.reopen_backoff,
            args.options.stagger,
            Arc::clone(&metrics),
            Arc::clone(&wire),
            inbox,
        );
        let span = info_span!("bus", bus = %settings.bus);
        let task = tokio::spawn(port_task.run().instrument(span));
        Ok(SerialState {
            front: Front {
                bus: settings.bus.clone(),
                queue_capacity: settings.queue_capacity,
                control: control_tx,
                jobs: jobs_tx,
                metrics,
                wire,
                shutdown: Some(shutdown_tx),
                task: Some(task),
                stopping: false,
                stop_replies: Vec::new(),
                drain_bound: settings.drain_bound(),
            },
            settings,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<SerialMsg>,
        msg: SerialMsg,
        state: &mut SerialState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            SerialMsg::Attach(attach, reply) => {
                let r = state
                    .check_attach(&attach)
                    .and_then(|()| state.front.control(Control::Attach(attach)));
                let _ = reply.send(r);
            }
            SerialMsg::Detach(unit) => {
                if let Err(e) = state.front.control(Control::Detach(unit)) {
                    warn!(bus = %state.settings.bus, unit, error = %e, "Detach not queued.");
                }
            }
            SerialMsg::Exchange {
                unit,
                exchange,
                reply,
            } => {
                let job = Job {
                    unit,
                    exchange,
                    reply,
                };
                match state.check_unit(unit) {
                    Ok(()) => state.front.queue(job),
                    Err(e) => job.fail(e),
                }
            }
            SerialMsg::Metrics(reply) => {
                let _ = reply.send(state.front.metrics());
            }
            SerialMsg::Stop(reply) => {
                if state.front.stop(reply) {
                    // Messages already queued are still handled (and refused as stopping).
                    myself.drain()?;
                }
            }
        }
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<SerialMsg>,
        state: &mut SerialState,
    ) -> Result<(), ActorProcessingErr> {
        state.front.post_stop().await;
        Ok(())
    }
}
