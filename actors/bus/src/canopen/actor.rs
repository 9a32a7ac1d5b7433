//! The CANopen bus actor: thin, like the Modbus one. Handlers validate and `try_send` to the
//! bus task (a full queue is an immediate `QueueFull`); reply ports travel with the command.

use std::collections::BTreeMap;
use std::sync::Arc;

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};
use tracing::{Instrument, info_span, warn};

use super::meter::Meter;
use super::requests::{self, Cmd};
use super::task::BusTask;
use super::{CanopenArgs, CanopenSettings, check_attach, check_node};
use super::{Object, PdoBlock, SdoBusResult};
use crate::{Attach, BusError, BusMetrics};

/// Commands in flight to the bus task.
const QUEUE: usize = 256;

/// Messages of the CANopen bus actor.
#[derive(Debug)]
pub enum CanopenMsg {
    /// Attach a node with the PDO sets its profile maps (replacing any attachment of the node).
    Attach(Attach<PdoBlock>, RpcReplyPort<Result<(), BusError>>),
    /// Detach a node; its sink gets nothing more.
    Detach(u8),
    /// SDO upload (read) of one object.
    SdoUpload {
        node: u8,
        object: Object,
        /// Bytes, or the node's abort, or why the bus could not.
        reply: RpcReplyPort<SdoBusResult<Vec<u8>>>,
    },
    /// SDO download (write) of one object.
    SdoDownload {
        node: u8,
        object: Object,
        /// Little-endian bytes.
        data: Vec<u8>,
        /// Done, or the node's abort, or why the bus could not.
        reply: RpcReplyPort<SdoBusResult<()>>,
    },
    /// Sets an RPDO-mapped object; sent with the node's RPDOs after every SYNC.
    RpdoWrite {
        node: u8,
        object: Object,
        /// Raw value (low bits).
        value: u64,
        /// Taken into the RPDO image, or why not (not mapped, not attached).
        reply: RpcReplyPort<Result<(), BusError>>,
    },
    /// A metrics snapshot.
    Metrics(RpcReplyPort<BusMetrics>),
    /// Stop: the bus task ends, drives get `CommLost`, the interface is closed. Replied when
    /// done.
    Stop(Option<RpcReplyPort<()>>),
}

/// The CANopen bus actor.
#[derive(Debug, Clone, Copy, Default)]
pub struct CanopenBus;

/// The actor's state: the command channel to the bus task and its handle.
#[derive(Debug)]
pub struct CanopenState {
    settings: CanopenSettings,
    cmds: mpsc::Sender<Cmd>,
    meter: Arc<Meter>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    stop_replies: Vec<RpcReplyPort<()>>,
}

impl CanopenState {
    /// Queues `cmd`; when the queue refuses it, its reply port (if any) gets the error too.
    fn send(&self, cmd: Cmd) -> Result<(), BusError> {
        let (cmd, e) = match self.cmds.try_send(cmd) {
            Ok(()) => return Ok(()),
            Err(TrySendError::Full(c)) => (
                c,
                BusError::QueueFull {
                    bus: self.settings.bus.clone(),
                    capacity: QUEUE,
                },
            ),
            Err(TrySendError::Closed(c)) => (
                c,
                BusError::ShuttingDown {
                    bus: self.settings.bus.clone(),
                },
            ),
        };
        requests::fail(cmd, e.clone());
        Err(e)
    }

    fn queue(&self, cmd: Cmd) {
        // A refusal has been answered on the command's own reply port.
        let _ = self.send(cmd);
    }
}

impl Actor for CanopenBus {
    type Msg = CanopenMsg;
    type State = CanopenState;
    type Arguments = CanopenArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<CanopenMsg>,
        args: CanopenArgs,
    ) -> Result<CanopenState, ActorProcessingErr> {
        let (cmds, rx) = mpsc::channel(QUEUE);
        let (shutdown, shutdown_rx) = oneshot::channel();
        let meter = Arc::new(Meter::new(&args.settings.bus));
        let task = BusTask {
            meter: meter.clone(),
            settings: args.settings.clone(),
            kind: args.transport,
            cmds: rx,
            shutdown: shutdown_rx,
            nodes: BTreeMap::new(),
            generation: 0,
            seq: 0,
            boots: JoinSet::new(),
            sdos: JoinSet::new(),
        };
        let span = info_span!("bus", bus = %args.settings.bus);
        let task = tokio::spawn(task.run().instrument(span));
        Ok(CanopenState {
            settings: args.settings,
            cmds,
            meter,
            shutdown: Some(shutdown),
            task: Some(task),
            stop_replies: Vec::new(),
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<CanopenMsg>,
        msg: CanopenMsg,
        state: &mut CanopenState,
    ) -> Result<(), ActorProcessingErr> {
        let bus = state.settings.bus.clone();
        match msg {
            CanopenMsg::Attach(attach, reply) => {
                let r = check_attach(&bus, &attach).and_then(|()| state.send(Cmd::Attach(attach)));
                let _ = reply.send(r);
            }
            CanopenMsg::Detach(unit) => {
                if let Err(e) = state.send(Cmd::Detach(unit)) {
                    warn!(%bus, node = unit, error = %e, "Detach not queued.");
                }
            }
            CanopenMsg::SdoUpload {
                node,
                object,
                reply,
            } => match check_node(&bus, node) {
                Ok(()) => state.queue(Cmd::Upload {
                    node,
                    object,
                    reply,
                }),
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            },
            CanopenMsg::SdoDownload {
                node,
                object,
                data,
                reply,
            } => match check_node(&bus, node) {
                Ok(()) => state.queue(Cmd::Download {
                    node,
                    object,
                    data,
                    reply,
                }),
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            },
            CanopenMsg::RpdoWrite {
                node,
                object,
                value,
                reply,
            } => state.queue(Cmd::Rpdo {
                node,
                object,
                value,
                reply,
            }),
            CanopenMsg::Metrics(reply) => {
                let queued = QUEUE - state.cmds.capacity();
                let _ = reply.send(state.meter.snapshot(queued));
            }
            CanopenMsg::Stop(reply) => {
                state.stop_replies.extend(reply);
                myself.stop(None);
            }
        }
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<CanopenMsg>,
        state: &mut CanopenState,
    ) -> Result<(), ActorProcessingErr> {
        if let Some(tx) = state.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = state.task.take() {
            let bound = std::time::Duration::from_secs(2);
            if tokio::time::timeout(bound, &mut task).await.is_err() {
                warn!(bus = %state.settings.bus, "CAN bus task did not stop in time; aborting it.");
                task.abort();
            }
        }
        for reply in state.stop_replies.drain(..) {
            let _ = reply.send(());
        }
        Ok(())
    }
}
