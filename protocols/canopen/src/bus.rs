//! The master's view of one CAN bus: a dispatcher task that reads every frame, routes SDO
//! responses to the waiting client of their node, tracks heartbeats and turns the rest into
//! [`Event`]s; and the [`Bus`] handle to send NMT, PDOs and SYNC and to open SDO clients.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use linevisor_can::{CanError, CanFrame, CanTransport};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};
use tracing::{Instrument as _, debug, info, info_span, warn};

use crate::cob::{Cob, NodeId};
use crate::emcy::Emcy;
use crate::heartbeat::{HeartbeatConsumer, HeartbeatProducer, Observation, consumer_timeout};
use crate::nmt::{NmtCommand, NmtState, frame};
use crate::sdo::{SdoChannel, SdoClient, SdoConfig};
use crate::stats::{BusStats, Stats, StatsHandle};
use crate::sync::{SyncConfig, SyncConfigError, SyncProducer};

/// Settings of one bus.
#[derive(Debug, Clone)]
pub struct BusConfig {
    /// Bus name, the `bus` field of every span.
    pub name: String,
    /// SDO client settings for every node.
    pub sdo: SdoConfig,
    /// The master's own heartbeat: node id and period.
    pub heartbeat_producer: Option<(NodeId, Duration)>,
}

impl BusConfig {
    /// Defaults, no master heartbeat.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            sdo: SdoConfig::default(),
            heartbeat_producer: None,
        }
    }
}

/// Something the bus saw.
#[derive(Debug, Clone)]
pub enum Event {
    /// Boot-up (0x700 + node, data 00): the node (re)started and is pre-operational.
    BootUp {
        /// Node.
        node: NodeId,
    },
    /// First heartbeat of a watched node, or a new NMT state.
    StateChanged {
        /// Node.
        node: NodeId,
        /// State reported.
        state: NmtState,
    },
    /// A watched node's heartbeat is overdue.
    NodeLost {
        /// Node.
        node: NodeId,
        /// Time since its last heartbeat.
        silent_for: Duration,
    },
    /// A lost node is heard again.
    NodeResumed {
        /// Node.
        node: NodeId,
        /// State reported.
        state: NmtState,
    },
    /// An emergency message.
    Emcy {
        /// Node.
        node: NodeId,
        /// Message.
        emcy: Emcy,
    },
    /// A TPDO of a node (raw payload; unpack with the node's [`crate::PdoMapping`]).
    Tpdo {
        /// Node.
        node: NodeId,
        /// PDO number 1–4.
        number: u8,
        /// Payload.
        data: Vec<u8>,
    },
    /// SYNC from another producer.
    Sync {
        /// Counter, if any.
        counter: Option<u8>,
    },
    /// Any other frame.
    Other(CanFrame),
    /// A transient transport fault (adapter lost, bus error); the transport recovers itself.
    LinkDown(CanError),
}

/// Events of one bus, in arrival order. Unbounded: a slow reader never stalls SDO routing.
#[derive(Debug)]
pub struct Events {
    rx: mpsc::UnboundedReceiver<Event>,
}

impl Events {
    /// The next event; `None` once the bus is closed.
    pub async fn next(&mut self) -> Option<Event> {
        self.rx.recv().await
    }

    /// The next event, if one is queued.
    pub fn try_next(&mut self) -> Option<Event> {
        self.rx.try_recv().ok()
    }
}

type Routes = Mutex<HashMap<NodeId, mpsc::Sender<Vec<u8>>>>;

/// SDO responses queued per node while no transfer takes them (a transfer needs one at a time;
/// more are stale or unsolicited, and a transfer drops those before it starts).
pub const SDO_QUEUE: usize = 8;

enum Control {
    Watch(NodeId, Duration),
    Unwatch(NodeId),
}

#[derive(Debug)]
struct Tasks(Vec<JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        self.0.iter().for_each(JoinHandle::abort);
    }
}

struct Shared<T> {
    name: Arc<str>,
    transport: Arc<T>,
    config: BusConfig,
    routes: Arc<Routes>,
    channels: Mutex<HashMap<NodeId, Arc<SdoChannel>>>,
    states: Arc<Mutex<HashMap<NodeId, NmtState>>>,
    stats: Arc<Stats>,
    control: mpsc::UnboundedSender<Control>,
    _tasks: Tasks,
}

/// Handle to one bus; clones share it. Dropping the last clone stops the dispatcher.
pub struct Bus<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Clone for Bus<T> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<T> std::fmt::Debug for Bus<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus")
            .field("name", &self.shared.name)
            .finish_non_exhaustive()
    }
}

fn lock<V>(m: &Mutex<V>) -> MutexGuard<'_, V> {
    // Plain maps, never left half-updated: a poisoned lock is still consistent.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<T: CanTransport> Bus<T> {
    /// Takes sole ownership of `transport` and starts the dispatcher (and the master
    /// heartbeat, if configured).
    pub fn start(transport: T, config: BusConfig) -> (Bus<T>, Events) {
        let name: Arc<str> = config.name.as_str().into();
        let transport = Arc::new(transport);
        let (events_tx, rx) = mpsc::unbounded_channel();
        let (control, control_rx) = mpsc::unbounded_channel();
        let routes = Arc::new(Routes::default());
        let states = Arc::new(Mutex::new(HashMap::new()));
        let stats = Arc::new(Stats::default());
        let dispatcher = Dispatcher {
            transport: transport.clone(),
            routes: routes.clone(),
            states: states.clone(),
            stats: stats.clone(),
            events: events_tx,
            consumer: HeartbeatConsumer::new(),
        };
        let span = info_span!("canopen", bus = %name);
        let mut tasks = vec![tokio::spawn(
            dispatcher.run(control_rx).instrument(span.clone()),
        )];
        if let Some((node, period)) = config.heartbeat_producer {
            let producer = HeartbeatProducer::new(transport.clone(), node, period);
            tasks.push(tokio::spawn(
                async move {
                    let _ = producer.run().await;
                }
                .instrument(span),
            ));
        }
        let shared = Shared {
            name,
            transport,
            config,
            routes,
            channels: Mutex::default(),
            states,
            stats,
            control,
            _tasks: Tasks(tasks),
        };
        (
            Bus {
                shared: Arc::new(shared),
            },
            Events { rx },
        )
    }

    /// The bus name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The transport (shared with the dispatcher).
    pub fn transport(&self) -> &Arc<T> {
        &self.shared.transport
    }

    /// Sends an NMT command to `node` (`None` = all nodes).
    pub async fn nmt(&self, command: NmtCommand, node: Option<NodeId>) -> Result<(), CanError> {
        info!(bus = %self.shared.name, node = node.map_or(0, NodeId::get), ?command, "NMT command.");
        self.shared.transport.send(&command.frame(node)).await
    }

    /// The SDO client of `node` (clients of one node share its channel).
    pub fn sdo(&self, node: NodeId) -> SdoClient<T> {
        let channel = lock(&self.shared.channels)
            .entry(node)
            .or_insert_with(|| {
                // Bounded: between transfers nobody reads, and a node that keeps sending
                // 0x580+n must not grow memory; a transfer drops what is stale anyway.
                let (tx, rx) = mpsc::channel(SDO_QUEUE);
                lock(&self.shared.routes).insert(node, tx);
                Arc::new(SdoChannel {
                    rx: tokio::sync::Mutex::new(rx),
                })
            })
            .clone();
        SdoClient::new(
            node,
            self.shared.name.clone(),
            self.shared.transport.clone(),
            channel,
            self.shared.config.sdo,
            self.shared.stats.clone(),
        )
    }

    /// Counters since the bus started: frames received, SDO outcomes, EMCY, boot-ups,
    /// heartbeat losses.
    pub fn stats(&self) -> BusStats {
        self.shared.stats.snapshot()
    }

    /// The counters as a handle (for a metrics reader that must not hold the bus open).
    pub fn stats_handle(&self) -> StatsHandle {
        StatsHandle(self.shared.stats.clone())
    }

    /// Watches `node`'s heartbeat: [`Event::NodeLost`] once it is `timeout` overdue
    /// (counting from now).
    pub fn watch_heartbeat(&self, node: NodeId, timeout: Duration) {
        let _ = self.shared.control.send(Control::Watch(node, timeout));
    }

    /// Watches `node` with the consumer timeout of 1.5 × its producer `period`.
    pub fn watch_heartbeat_period(&self, node: NodeId, period: Duration) {
        self.watch_heartbeat(node, consumer_timeout(period));
    }

    /// Stops watching `node`.
    pub fn unwatch_heartbeat(&self, node: NodeId) {
        let _ = self.shared.control.send(Control::Unwatch(node));
    }

    /// The last NMT state `node` reported (boot-up counts as pre-operational).
    pub fn node_state(&self, node: NodeId) -> Option<NmtState> {
        lock(&self.shared.states).get(&node).copied()
    }

    /// Sends RPDO `number` (1–4, predefined COB-ID) to `node`.
    pub async fn send_rpdo(&self, node: NodeId, number: u8, data: &[u8]) -> Result<(), CanError> {
        let f = frame(Cob::Rpdo(number.clamp(1, 4), node), data);
        self.shared.transport.send(&f).await
    }

    /// A SYNC producer on this bus's transport.
    pub fn sync_producer(&self, config: SyncConfig) -> Result<SyncProducer<T>, SyncConfigError> {
        SyncProducer::new(self.shared.transport.clone(), config)
    }

    /// Closes the transport; the dispatcher ends and [`Events::next`] returns `None`.
    pub async fn close(&self) -> Result<(), CanError> {
        self.shared.transport.close().await
    }
}

struct Dispatcher<T> {
    transport: Arc<T>,
    routes: Arc<Routes>,
    states: Arc<Mutex<HashMap<NodeId, NmtState>>>,
    stats: Arc<Stats>,
    events: mpsc::UnboundedSender<Event>,
    consumer: HeartbeatConsumer,
}

impl<T: CanTransport> Dispatcher<T> {
    async fn run(mut self, mut control: mpsc::UnboundedReceiver<Control>) {
        loop {
            let deadline = self.consumer.next_deadline();
            tokio::select! {
                biased;
                Some(c) = control.recv() => match c {
                    Control::Watch(node, timeout) => self.consumer.watch(node, timeout, Instant::now()),
                    Control::Unwatch(node) => self.consumer.unwatch(node),
                },
                _ = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    for (node, silent_for) in self.consumer.expire(Instant::now()) {
                        warn!(node = node.get(), ?silent_for, "Heartbeat lost.");
                        self.stats.update(|s| s.heartbeat_losses += 1);
                        self.emit(Event::NodeLost { node, silent_for });
                    }
                },
                received = self.transport.recv() => match received {
                    Ok(f) => self.dispatch(f),
                    Err(e) if e.is_final() => {
                        info!(error = %e, "CAN transport closed; dispatcher stops.");
                        return;
                    }
                    Err(e) => {
                        warn!(error = %e, "CAN link fault.");
                        self.stats.update(|s| s.link_faults += 1);
                        self.emit(Event::LinkDown(e));
                        tokio::task::yield_now().await;
                    }
                },
            }
        }
    }

    fn emit(&self, event: Event) {
        let _ = self.events.send(event);
    }

    fn dispatch(&mut self, f: CanFrame) {
        self.stats.update(|s| s.frames_received += 1);
        if f.is_remote() {
            return self.emit(Event::Other(f));
        }
        let data = f.data();
        match Cob::classify(f.id()) {
            Some(Cob::SdoTx(node)) => match lock(&self.routes).get(&node) {
                Some(route) => {
                    if route.try_send(data.to_vec()).is_err() {
                        self.stats.update(|s| s.sdo_unsolicited_dropped += 1);
                        debug!(
                            node = node.get(),
                            "SDO response dropped: no transfer is waiting for it."
                        );
                    }
                }
                None => debug!(node = node.get(), "SDO response with no client dropped."),
            },
            Some(Cob::Heartbeat(node)) => {
                let Some(&byte) = data.first() else {
                    return self.emit(Event::Other(f));
                };
                self.heartbeat(node, NmtState::from_code(byte));
            }
            Some(Cob::Emcy(node)) => match Emcy::parse(data) {
                Ok(emcy) => {
                    warn!(node = node.get(), %emcy, "Emergency.");
                    self.stats.update(|s| {
                        s.emcy += 1;
                        *s.emcy_by_node.entry(node).or_default() += 1;
                    });
                    self.emit(Event::Emcy { node, emcy });
                }
                Err(e) => debug!(node = node.get(), error = %e, "Malformed EMCY dropped."),
            },
            Some(Cob::Tpdo(number, node)) => self.emit(Event::Tpdo {
                node,
                number,
                data: data.to_vec(),
            }),
            Some(Cob::Sync) => self.emit(Event::Sync {
                counter: data.first().copied(),
            }),
            _ => self.emit(Event::Other(f)),
        }
    }

    fn heartbeat(&mut self, node: NodeId, state: NmtState) {
        let now = Instant::now();
        let observed = self.consumer.observe(node, state, now);
        let known = if state == NmtState::BootUp {
            NmtState::PreOperational
        } else {
            state
        };
        let previous = lock(&self.states).insert(node, known);
        if state == NmtState::BootUp {
            info!(node = node.get(), "Boot-up.");
            self.stats.update(|s| s.boot_ups += 1);
            return self.emit(Event::BootUp { node });
        }
        match observed {
            Observation::Resumed(state) => {
                info!(node = node.get(), %state, "Heartbeat resumed.");
                self.emit(Event::NodeResumed { node, state });
            }
            Observation::StateChanged(state) => self.emit(Event::StateChanged { node, state }),
            Observation::Alive => {}
            Observation::Unwatched if previous != Some(state) => {
                self.emit(Event::StateChanged { node, state });
            }
            Observation::Unwatched => {}
        }
    }
}
