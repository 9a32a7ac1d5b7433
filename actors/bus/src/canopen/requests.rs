//! The actor's commands as the bus task carries them out: attach (boot or re-use a node), detach,
//! SDO transfers (each a task of its own, so one slow node never holds up another) and RPDO
//! writes into a node's image, answered once the SYNC that latches them has gone out.

use linevisor_canopen::{Bus, NodeId, SdoClient};
use ractor::RpcReplyPort;

use super::node::{Node, Phase};
use super::task::{BusTask, mark_lost};
use super::{Object, PdoBlock, Port, SdoBusResult};
use crate::{Attach, BusError, BusEvent};

/// A command from the actor.
#[derive(Debug)]
pub(super) enum Cmd {
    Attach(Attach<PdoBlock>),
    Detach(u8),
    Upload {
        node: u8,
        object: Object,
        reply: RpcReplyPort<SdoBusResult<Vec<u8>>>,
    },
    Download {
        node: u8,
        object: Object,
        data: Vec<u8>,
        reply: RpcReplyPort<SdoBusResult<()>>,
    },
    Rpdo {
        node: u8,
        object: Object,
        value: u64,
        reply: RpcReplyPort<Result<(), BusError>>,
    },
}

impl BusTask {
    pub(super) fn on_cmd(&mut self, bus: &Bus<Port>, cmd: Cmd) {
        match cmd {
            Cmd::Attach(a) => {
                let unit = a.unit;
                let error = self.node_down(unit, "not operational");
                if let Some(n) = self.nodes.get_mut(&unit)
                    && n.attach.blocks == a.blocks
                {
                    // A restarted drive: same node, same PDOs. Nothing is sent to the node.
                    n.attach = a;
                    match n.phase {
                        Phase::Running => {
                            n.offer(BusEvent::CommRestored { unit });
                        }
                        Phase::Down { .. } => {
                            n.lost = false;
                            mark_lost(n, error, &self.meter);
                        }
                        Phase::Booting(_) => {}
                    }
                    return;
                }
                self.meter.with(|m| m.set_attached(unit, true));
                self.nodes.insert(unit, Node::new(a));
                self.start_boot(bus, unit);
            }
            Cmd::Detach(unit) => self.detach(bus, unit),
            Cmd::Upload {
                node,
                object,
                reply,
            } => {
                let Some(sdo) = self.sdo(bus, node) else {
                    let e = self.node_down(node, "heartbeat lost");
                    let _ = reply.send(Err(e));
                    return;
                };
                let name = self.settings.bus.clone();
                self.sdos.spawn(async move {
                    let r = sdo.upload(object.index, object.subindex).await;
                    let _ = reply.send(r.map_err(|source| BusError::Sdo { bus: name, source }));
                });
            }
            Cmd::Download {
                node,
                object,
                data,
                reply,
            } => {
                let Some(sdo) = self.sdo(bus, node) else {
                    let e = self.node_down(node, "heartbeat lost");
                    let _ = reply.send(Err(e));
                    return;
                };
                let name = self.settings.bus.clone();
                self.sdos.spawn(async move {
                    let r = sdo.download(object.index, object.subindex, &data).await;
                    let _ = reply.send(r.map_err(|source| BusError::Sdo { bus: name, source }));
                });
            }
            Cmd::Rpdo {
                node,
                object,
                value,
                reply,
            } => match self.rpdo_write(node, object, value) {
                Ok(()) => {
                    if let Some(n) = self.nodes.get_mut(&node) {
                        n.awaiting.push((reply, false));
                    }
                }
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            },
        }
    }

    /// The SDO client of `node`, unless its heartbeat is lost (fail fast, not a timeout).
    fn sdo(&self, bus: &Bus<Port>, node: u8) -> Option<SdoClient<Port>> {
        let lost = self
            .nodes
            .get(&node)
            .is_some_and(|n| n.phase == Phase::Down { retry_at: None });
        let id = NodeId::new(node).ok()?;
        (!lost).then(|| bus.sdo(id))
    }

    fn rpdo_write(&mut self, node: u8, object: Object, value: u64) -> Result<(), BusError> {
        let bus = self.settings.bus.clone();
        let Some(n) = self.nodes.get_mut(&node) else {
            return Err(self.node_down(node, "not attached"));
        };
        let Some((i, j)) = n.rpdo_slot(object) else {
            return Err(BusError::NotMapped {
                bus,
                node,
                index: object.index,
                subindex: object.subindex,
            });
        };
        if n.phase != Phase::Running {
            return Err(BusError::NodeDown {
                bus,
                node,
                reason: "not operational".into(),
            });
        }
        match n.image.get_mut(i).and_then(|v| v.get_mut(j)) {
            Some(slot) => {
                *slot = value;
                Ok(())
            }
            None => Err(BusError::NodeDown {
                bus,
                node,
                reason: "RPDO image not read back yet".into(),
            }),
        }
    }
}

/// Answers a request that cannot run with `e`.
pub(super) fn fail(cmd: Cmd, e: BusError) {
    match cmd {
        Cmd::Upload { reply, .. } => {
            let _ = reply.send(Err(e));
        }
        Cmd::Download { reply, .. } => {
            let _ = reply.send(Err(e));
        }
        Cmd::Rpdo { reply, .. } => {
            let _ = reply.send(Err(e));
        }
        Cmd::Attach(_) | Cmd::Detach(_) => {}
    }
}
