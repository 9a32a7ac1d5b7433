//! The bus actor: a thin front for the port task. Its handlers validate, hand the request to
//! the port task over a bounded channel (`try_send`: a full queue is an immediate
//! `QueueFull`, never a wait) and return; the reply ports travel with the request and the line
//! task answers them. Handlers never await port I/O.

use std::sync::{Arc, Mutex};

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{Instrument, info_span, warn};

use super::port::{Control, Inbox, Job, PortTask};
use super::spec::{BusOptions, BusSpec, Settings};
use super::{BusResult, ReadBlock, Write, check_attach, check_request, check_unit};
use crate::link::Opener;
use crate::metrics::{BusMetrics, Metrics, Wire};
use crate::{Attach, BusError};

/// Room for attach/detach changes in flight (a bus has at most 247 units).
const CONTROL_CAPACITY: usize = 256;

/// Messages of the bus actor.
#[derive(Debug)]
pub enum ModbusMsg {
    /// Attach a drive (replacing any attachment of the same unit).
    Attach(Attach, RpcReplyPort<Result<(), BusError>>),
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
    control: mpsc::Sender<Control>,
    jobs: mpsc::Sender<Job>,
    metrics: Arc<Mutex<Metrics>>,
    wire: Arc<Wire>,
    /// Sent on stop; dropped with the state when the actor is killed, which also stops the
    /// port task after its batch in flight (no task outlives the actor).
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    stopping: bool,
    stop_replies: Vec<RpcReplyPort<()>>,
}

impl ModbusState {
    fn shutting_down(&self) -> BusError {
        BusError::ShuttingDown {
            bus: self.settings.bus.clone(),
        }
    }

    fn queue(&self, job: Job) {
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(job)) => job.fail(BusError::QueueFull {
                bus: self.settings.bus.clone(),
                capacity: self.settings.queue_capacity,
            }),
            Err(TrySendError::Closed(job)) => job.fail(self.shutting_down()),
        }
    }

    fn control(&self, c: Control) -> Result<(), BusError> {
        self.control.try_send(c).map_err(|e| match e {
            TrySendError::Full(_) => BusError::QueueFull {
                bus: self.settings.bus.clone(),
                capacity: CONTROL_CAPACITY,
            },
            TrySendError::Closed(_) => self.shutting_down(),
        })
    }

    /// Validates a unit-addressed request; refuses it with its error if bad or stopping.
    fn check(&self, unit: u8, request: &linevisor_modbus::Request) -> Result<(), BusError> {
        if self.stopping {
            return Err(self.shutting_down());
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
            Arc::clone(&metrics),
            Arc::clone(&wire),
            inbox,
        );
        let span = info_span!("bus", bus = %settings.bus);
        let task = tokio::spawn(port_task.run().instrument(span));
        Ok(ModbusState {
            settings,
            control: control_tx,
            jobs: jobs_tx,
            metrics,
            wire,
            shutdown: Some(shutdown_tx),
            task: Some(task),
            stopping: false,
            stop_replies: Vec::new(),
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<ModbusMsg>,
        msg: ModbusMsg,
        state: &mut ModbusState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            ModbusMsg::Attach(attach, reply) => {
                let r = if state.stopping {
                    Err(state.shutting_down())
                } else {
                    check_attach(&state.settings.bus, &attach, state.settings.max_unit())
                        .and_then(|()| state.control(Control::Attach(attach)))
                };
                let _ = reply.send(r);
            }
            ModbusMsg::Detach(unit) => {
                if let Err(e) = state.control(Control::Detach(unit)) {
                    warn!(bus = %state.settings.bus, unit, error = %e, "Detach not queued.");
                }
            }
            ModbusMsg::Read { unit, block, reply } => {
                let job = Job::Read { unit, block, reply };
                match state.check(unit, &block.request()) {
                    Ok(()) => state.queue(job),
                    Err(e) => job.fail(e),
                }
            }
            ModbusMsg::Write { unit, write, reply } => {
                let check = state.check(unit, &write.request());
                let job = Job::Write { unit, write, reply };
                match check {
                    Ok(()) => state.queue(job),
                    Err(e) => job.fail(e),
                }
            }
            ModbusMsg::Broadcast { write, reply } => {
                let bus = &state.settings.bus;
                let check = if state.stopping {
                    Err(state.shutting_down())
                } else if !state.settings.is_rtu() {
                    Err(BusError::BroadcastUnsupported { bus: bus.clone() })
                } else {
                    check_request(bus, 0, &write.request())
                };
                let job = Job::Broadcast { write, reply };
                match check {
                    Ok(()) => state.queue(job),
                    Err(e) => job.fail(e),
                }
            }
            ModbusMsg::Metrics(reply) => {
                let queued = state.jobs.max_capacity() - state.jobs.capacity();
                let snapshot = crate::units::lock(&state.metrics).snapshot(&state.wire, queued);
                let _ = reply.send(snapshot);
            }
            ModbusMsg::Stop(reply) => {
                state.stop_replies.extend(reply);
                if !state.stopping {
                    state.stopping = true;
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
        if let Some(tx) = state.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = state.task.take() {
            // Bounded like an OTP shutdown timeout: one batch in flight, then it is cut.
            let bound = state.settings.drain_bound();
            if tokio::time::timeout(bound, &mut task).await.is_err() {
                warn!(bus = %state.settings.bus, ?bound, "Port task did not stop in time; aborting it.");
                task.abort();
            }
        }
        for reply in state.stop_replies.drain(..) {
            let _ = reply.send(());
        }
        Ok(())
    }
}
