//! The bus actor: a thin front for the port task. Its handlers validate, hand the request to
//! the port task over a bounded channel (`try_send`: a full queue is an immediate
//! `QueueFull`, never a wait) and return; the reply ports travel with the request and the line
//! task answers them. Handlers never await port I/O.

use std::sync::{Arc, Mutex};

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use tokio::sync::{mpsc, oneshot};
use tracing::{Instrument, info_span, warn};

use super::port::{Control, Inbox, Job, PortTask};
use super::spec::{BusOptions, BusSpec, Settings};
use super::{BusResult, ReadBlock, UnitOptions, Write, check_attach, check_request, check_unit};
use crate::front::{CONTROL_CAPACITY, Front};
use crate::link::Opener;
use crate::metrics::{BusMetrics, Metrics, Wire};
use crate::{Attach, BusError};

/// Messages of the bus actor.
#[derive(Debug)]
pub enum ModbusMsg {
    /// Attach a drive (replacing any attachment of the same unit) with its options.
    Attach(Attach, UnitOptions, RpcReplyPort<Result<(), BusError>>),
    /// Detach a unit; its sink gets nothing more.
    Detach(u8),
    /// One-off read (parameter verification).
    Read {
        unit: u8,
        /// Registers.
        block: ReadBlock,
        /// Words, or the device's exception, or why the bus could not.
        reply: RpcReplyPort<BusResult<Vec<u16>>>,
    },
    /// Register write; goes ahead of every cyclic poll.
    Write {
        unit: u8,
        /// What to write.
        write: Write,
        /// Done, or the device's exception, or why the bus could not.
        reply: RpcReplyPort<BusResult<()>>,
    },
    /// Broadcast write to every unit (unit 0, RTU only): no answer, then the turnaround delay.
    Broadcast {
        /// What to write.
        write: Write,
        /// Sent, or why not.
        reply: RpcReplyPort<Result<(), BusError>>,
    },
    /// A metrics snapshot.
    Metrics(RpcReplyPort<BusMetrics>),
    /// Stop: the transaction in flight completes, queued requests are answered with
    /// `ShuttingDown`, drives get `CommLost`, the port is closed. Replied when done.
    Stop(Option<RpcReplyPort<()>>),
}

/// What a bus actor is spawned with.
#[derive(Debug)]
pub struct ModbusArgs {
    /// The bus's config.
    pub spec: BusSpec,
    /// How to open its port or connection.
    pub opener: Box<dyn Opener>,
    /// Runtime knobs.
    pub options: BusOptions,
}

impl ModbusArgs {
    /// Args with an explicit opener (tests, tunnels) and default options.
    pub fn new(spec: BusSpec, opener: Box<dyn Opener>) -> Self {
        Self {
            spec,
            opener,
            options: BusOptions::default(),
        }
    }

    /// Production args: the serial port or TCP address from the config.
    pub fn production(spec: BusSpec) -> Result<Self, BusError> {
        let opener = spec.opener()?;
        Ok(Self::new(spec, opener))
    }
}

/// The Modbus bus actor (RTU line or TCP connection).
#[derive(Debug, Clone, Copy, Default)]
pub struct ModbusBus;

/// The actor's state: channel ends to the port task and its handle.
#[derive(Debug)]
pub struct ModbusState {
    settings: Settings,
    front: Front<Control, Job>,
}

impl ModbusState {
    /// Validates a unit-addressed request; refuses it with its error if bad or stopping.
    fn check(&self, unit: u8, request: &linevisor_modbus::Request) -> Result<(), BusError> {
        if self.front.stopping {
            return Err(self.front.shutting_down());
        }
        let bus = &self.settings.bus;
        check_unit(bus, unit, self.settings.max_unit())?;
        check_request(bus, unit, request)
    }
}

impl Actor for ModbusBus {
    type Msg = ModbusMsg;
    type State = ModbusState;
    type Arguments = ModbusArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<ModbusMsg>,
        args: ModbusArgs,
    ) -> Result<ModbusState, ActorProcessingErr> {
        let settings = Settings::new(&args.spec, &args.options);
        let (control_tx, control) = mpsc::channel(CONTROL_CAPACITY);
        let (jobs_tx, jobs) = mpsc::channel(settings.queue_capacity);
        let (shutdown_tx, shutdown) = oneshot::channel();
        let metrics = Arc::new(Mutex::new(Metrics::new(
            &settings.bus,
            settings.rtu_timing(),
        )));
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
        Ok(ModbusState {
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
        myself: ActorRef<ModbusMsg>,
        msg: ModbusMsg,
        state: &mut ModbusState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            ModbusMsg::Attach(attach, options, reply) => {
                let r = if state.front.stopping {
                    Err(state.front.shutting_down())
                } else {
                    let (bus, max_unit) = (&state.settings.bus, state.settings.max_unit());
                    check_attach(bus, &attach, &options, max_unit)
                        .and_then(|()| state.front.control(Control::Attach(attach, options)))
                };
                let _ = reply.send(r);
            }
            ModbusMsg::Detach(unit) => {
                if let Err(e) = state.front.control(Control::Detach(unit)) {
                    warn!(bus = %state.settings.bus, unit, error = %e, "Detach not queued.");
                }
            }
            ModbusMsg::Read { unit, block, reply } => {
                let job = Job::Read { unit, block, reply };
                match state.check(unit, &block.request()) {
                    Ok(()) => state.front.queue(job),
                    Err(e) => job.fail(e),
                }
            }
            ModbusMsg::Write { unit, write, reply } => {
                let check = state.check(unit, &write.request());
                let job = Job::Write { unit, write, reply };
                match check {
                    Ok(()) => state.front.queue(job),
                    Err(e) => job.fail(e),
                }
            }
            ModbusMsg::Broadcast { write, reply } => {
                let bus = &state.settings.bus;
                let check = if state.front.stopping {
                    Err(state.front.shutting_down())
                } else if !state.settings.is_rtu() {
                    Err(BusError::BroadcastUnsupported { bus: bus.clone() })
                } else {
                    check_request(bus, 0, &write.request())
                };
                let job = Job::Broadcast { write, reply };
                match check {
                    Ok(()) => state.front.queue(job),
                    Err(e) => job.fail(e),
                }
            }
            ModbusMsg::Metrics(reply) => {
                let _ = reply.send(state.front.metrics());
            }
            ModbusMsg::Stop(reply) => {
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
        _myself: ActorRef<ModbusMsg>,
        state: &mut ModbusState,
    ) -> Result<(), ActorProcessingErr> {
        state.front.post_stop().await;
        Ok(())
    }
}
