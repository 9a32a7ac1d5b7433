//! Simulated CiA 402 CANopen nodes: [`SimNode`] is the behaviour (no I/O), [`spawn`] runs one
//! on any [`CanTransport`] (a virtual-bus endpoint, or an slcan link) and returns a handle
//! for fault injection: fault with a code, go silent (heartbeat loss), power cycle, abort
//! every SDO.

mod node;
pub mod od;
mod pdo_rules;
mod sdo_server;

pub use node::{NodeConfig, SimNode};

use linevisor_can::{CanFrame, CanTransport};
use linevisor_cia402::PowerState;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};
use tracing::{Instrument as _, info_span};

use crate::nmt::NmtState;

/// A snapshot of a running node, for tests and the simulator's UI.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeStatus {
    /// NMT state.
    pub nmt: NmtState,
    /// CiA 402 power state.
    pub power: PowerState,
    /// Statusword.
    pub statusword: u16,
    /// Velocity actual value.
    pub velocity: f64,
    /// Target velocity.
    pub target_velocity: f64,
    /// Target position (0x607A as the drive model took it).
    pub target_position: f64,
    /// 0x603F.
    pub error_code: u16,
    /// 0x1018 sub 4.
    pub serial: u32,
    /// True while silent.
    pub silent: bool,
    /// SDO writes accepted since creation: (index, subindex, data).
    pub sdo_writes: Vec<(u16, u8, Vec<u8>)>,
}

enum Control {
    Fault(u16),
    Silent(bool),
    PowerCycle,
    CorruptToggle,
    RefuseSdo(Option<crate::abort::AbortCode>),
    Status(oneshot::Sender<NodeStatus>),
}

/// Handle to a running simulated node; dropping it stops the node.
#[derive(Debug)]
pub struct SimNodeHandle {
    control: mpsc::UnboundedSender<Control>,
    task: JoinHandle<()>,
}

impl Drop for SimNodeHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SimNodeHandle {
    /// The drive faults with error code `code` (0x603F); the node sends EMCY.
    pub fn inject_fault(&self, code: u16) {
        let _ = self.control.send(Control::Fault(code));
    }

    /// The node stops sending anything (heartbeat loss), or resumes.
    pub fn set_silent(&self, silent: bool) {
        let _ = self.control.send(Control::Silent(silent));
    }

    /// Power cycle or unit swap: factory parameters, new serial number, boot-up again.
    pub fn power_cycle(&self) {
        let _ = self.control.send(Control::PowerCycle);
    }

    /// The next SDO segment response carries a wrong toggle bit.
    pub fn corrupt_next_toggle(&self) {
        let _ = self.control.send(Control::CorruptToggle);
    }

    /// Every SDO request is aborted with `code` (an abort storm), or answered again (`None`).
    pub fn refuse_sdo(&self, code: Option<crate::abort::AbortCode>) {
        let _ = self.control.send(Control::RefuseSdo(code));
    }

    /// The node's state now (`None` if it stopped).
    pub async fn status(&self) -> Option<NodeStatus> {
        let (tx, rx) = oneshot::channel();
        self.control.send(Control::Status(tx)).ok()?;
        rx.await.ok()
    }
}

/// Runs a node on `transport`: boot-up at once, then frames, heartbeats and fault injection.
pub fn spawn<T: CanTransport>(transport: T, config: NodeConfig) -> SimNodeHandle {
    let (control, rx) = mpsc::unbounded_channel();
    let span = info_span!("sim_node", node = config.node.get());
    let task = tokio::spawn(run(transport, config, rx).instrument(span));
    SimNodeHandle { control, task }
}

async fn run<T: CanTransport>(
    transport: T,
    config: NodeConfig,
    mut control: mpsc::UnboundedReceiver<Control>,
) {
    let mut node = SimNode::new(config, Instant::now());
    let mut silent = false;
    let send = |frames: Vec<CanFrame>, silent: bool| {
        let transport = &transport;
        async move {
            if !silent {
                for f in &frames {
                    let _ = transport.send(f).await;
                }
            }
        }
    };
    send(node.boot(), silent).await;
    let mut period = node.heartbeat_period();
    let mut next_heartbeat = period.map(|p| Instant::now() + p);
    loop {
        tokio::select! {
            c = control.recv() => {
                let now = Instant::now();
                let frames = match c {
                    None => return,
                    Some(Control::Fault(code)) => node.inject_fault(code, now),
                    Some(Control::Silent(s)) => {
                        silent = s;
                        Vec::new()
                    }
                    Some(Control::PowerCycle) => {
                        silent = false;
                        node.power_cycle(now)
                    }
                    Some(Control::RefuseSdo(code)) => {
                        node.refuse_sdo(code);
                        Vec::new()
                    }
                    Some(Control::CorruptToggle) => {
                        node.corrupt_next_toggle();
                        Vec::new()
                    }
                    Some(Control::Status(tx)) => {
                        node.advance(now);
                        let d = node.drive();
                        let _ = tx.send(NodeStatus {
                            nmt: node.nmt_state(),
                            power: d.state(),
                            statusword: d.statusword().0,
                            velocity: d.velocity(),
                            target_velocity: d.target_velocity(),
                            target_position: d.target_position(),
                            error_code: d.error_code(),
                            serial: node.serial(),
                            silent,
                            sdo_writes: node.sdo_writes.clone(),
                        });
                        Vec::new()
                    }
                };
                send(frames, silent).await;
            }
            _ = sleep_until(next_heartbeat.unwrap_or_else(Instant::now)), if next_heartbeat.is_some() => {
                send(vec![node.heartbeat()], silent).await;
                next_heartbeat = period.map(|p| Instant::now() + p);
            }
            received = transport.recv() => match received {
                Ok(f) => {
                    // A silent node is dead to the bus: it neither hears nor answers.
                    if !silent {
                        let frames = node.handle(&f, Instant::now());
                        send(frames, silent).await;
                    }
                }
                Err(e) if e.is_final() => return,
                Err(_) => {}
            },
        }
        if node.heartbeat_period() != period {
            period = node.heartbeat_period();
            next_heartbeat = period.map(|p| Instant::now() + p);
        }
    }
}
