//! The bus task: opens the interface (with backoff), then owns the CANopen master. One loop
//! takes SYNC periods (finish the cycle, send SYNC, start the next, send the RPDO images),
//! master events (TPDOs, boot-ups, heartbeat loss and return, EMCY), finished boots and the
//! actor's commands. Boots and SDO
//! transfers run as tasks of their own, so no node ever waits for another.

use std::collections::BTreeMap;
use std::time::Duration;

use linevisor_can::{Retry, TransportKind};
use linevisor_canopen::{
    Bus, BusConfig, Event, Events, NmtState, NodeId, SdoConfig, SyncConfig, SyncProducer,
};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep_until};
use tracing::{info, warn};

use super::meter::Meter;
use super::node::{BootPlan, Node, Phase, boot};
use super::requests::{Cmd, fail};
use super::{CanopenSettings, Port};
use crate::{BusError, BusEvent, Sample};

type BootResult = (u8, u64, Result<Vec<Vec<u64>>, String>);

pub(super) struct BusTask {
    pub(super) meter: std::sync::Arc<Meter>,
    pub(super) settings: CanopenSettings,
    pub(super) kind: TransportKind,
    pub(super) cmds: mpsc::Receiver<Cmd>,
    pub(super) shutdown: oneshot::Receiver<()>,
    pub(super) nodes: BTreeMap<u8, Node>,
    pub(super) generation: u64,
    pub(super) seq: u64,
    pub(super) boots: JoinSet<BootResult>,
    pub(super) sdos: JoinSet<()>,
}

impl BusTask {
    fn link_down(&self, reason: String, retry_in: Duration) -> BusError {
        BusError::LinkDown {
            bus: self.settings.bus.clone(),
            link: format!("{:?}", self.kind),
            reason,
            retry_in,
        }
    }

    pub(super) fn node_down(&self, node: u8, reason: &str) -> BusError {
        BusError::NodeDown {
            bus: self.settings.bus.clone(),
            node,
            reason: reason.to_owned(),
        }
    }

    /// Opens the interface; until then attaches are kept and requests refused. `None` when
    /// stopped first.
    async fn open(&mut self) -> Option<(Bus<Port>, Events)> {
        let mut backoff = Retry::new(Duration::from_millis(100), Duration::from_secs(10));
        loop {
            let reason = match linevisor_can::open(&self.kind).await {
                Ok(t) => {
                    let mut config = BusConfig::new(self.settings.bus.clone());
                    config.sdo = SdoConfig {
                        timeout: self.settings.sdo_timeout,
                        ..SdoConfig::default()
                    };
                    return Some(Bus::start(Port(t, self.meter.frames.clone()), config));
                }
                Err(e) => e.to_string(),
            };
            self.meter.with(|m| m.open_failures += 1);
            let delay = backoff.next_delay();
            warn!(error = %reason, ?delay, "Cannot open the CAN interface; retrying.");
            let until = Instant::now() + delay;
            loop {
                tokio::select! {
                    _ = &mut self.shutdown => return None,
                    () = sleep_until(until) => break,
                    cmd = self.cmds.recv() => match cmd {
                        None => return None,
                        Some(Cmd::Attach(a)) => {
                            self.meter.with(|m| m.set_attached(a.unit, true));
                            self.nodes.insert(a.unit, Node::new(a));
                        }
                        Some(Cmd::Detach(unit)) => {
                            self.meter.with(|m| m.set_attached(unit, false));
                            self.nodes.remove(&unit);
                        }
                        Some(c) => {
                            let e = self.link_down(reason.clone(), until - Instant::now());
                            fail(c, e);
                        }
                    },
                }
            }
        }
    }

    pub(super) async fn run(mut self) {
        let Some((bus, mut events)) = self.open().await else {
            return self.finish(None).await;
        };
        info!("CAN interface open.");
        let mut sync = match bus.sync_producer(SyncConfig {
            period: self.settings.sync_period,
            counter_overflow: None,
        }) {
            Ok(s) => s,
            Err(e) => {
                warn!(error = %e, "SYNC cannot run.");
                return self.finish(Some(bus)).await;
            }
        };
        self.meter.opened(bus.stats_handle(), sync.meter());
        let units: Vec<u8> = self.nodes.keys().copied().collect();
        for unit in units {
            self.start_boot(&bus, unit);
        }
        loop {
            let retry = self
                .nodes
                .values()
                .filter_map(|n| match n.phase {
                    Phase::Down { retry_at } => retry_at,
                    _ => None,
                })
                .min();
            tokio::select! {
                biased;
                _ = &mut self.shutdown => break,
                () = sync.wait() => {
                    if !self.on_sync(&bus, &mut sync, &mut events).await {
                        break;
                    }
                }
                event = events.next() => match event {
                    Some(e) => self.on_event(&bus, e),
                    None => break,
                },
                Some(Ok((unit, generation, r))) = self.boots.join_next() => {
                    self.on_boot(unit, generation, r);
                }
                Some(_) = self.sdos.join_next() => {}
                cmd = self.cmds.recv() => match cmd {
                    Some(c) => self.on_cmd(&bus, c),
                    None => break,
                },
                () = sleep_until(retry.unwrap_or_else(Instant::now)), if retry.is_some() => {
                    self.retry_boots(&bus);
                }
            }
        }
        self.finish(Some(bus)).await;
    }

    async fn finish(mut self, bus: Option<Bus<Port>>) {
        self.meter.with(|m| m.link_up = false);
        self.boots.abort_all();
        self.sdos.abort_all();
        let error = BusError::ShuttingDown {
            bus: self.settings.bus.clone(),
        };
        for n in self.nodes.values_mut() {
            n.fail_writes(&error);
            n.offer(BusEvent::CommLost {
                unit: n.unit(),
                error: error.clone(),
            });
        }
        if let Some(bus) = bus
            && let Err(e) = bus.close().await
        {
            warn!(error = %e, "Closing the CAN interface failed.");
        }
    }

    pub(super) fn start_boot(&mut self, bus: &Bus<Port>, unit: u8) {
        let Some(n) = self.nodes.get_mut(&unit) else {
            return;
        };
        let Ok(node) = NodeId::new(unit) else { return };
        self.generation += 1;
        let generation = self.generation;
        n.phase = Phase::Booting(generation);
        n.in_progress = None;
        let plan = BootPlan {
            node,
            blocks: n.attach.blocks.clone(),
            rpdo: n.rpdo.clone(),
        };
        let (bus, settings) = (bus.clone(), self.settings.clone());
        info!(node = unit, "Booting node.");
        self.boots
            .spawn(async move { (unit, generation, boot(bus, settings, plan).await) });
    }

    fn retry_boots(&mut self, bus: &Bus<Port>) {
        let now = Instant::now();
        let due: Vec<u8> = self
            .nodes
            .iter()
            .filter(|(_, n)| matches!(n.phase, Phase::Down { retry_at: Some(t) } if t <= now))
            .map(|(u, _)| *u)
            .collect();
        for unit in due {
            self.start_boot(bus, unit);
        }
    }

    fn on_boot(&mut self, unit: u8, generation: u64, r: Result<Vec<Vec<u64>>, String>) {
        let retry = self.settings.boot_retry;
        let bus = self.settings.bus.clone();
        let Some(n) = self.nodes.get_mut(&unit) else {
            return;
        };
        if n.phase != Phase::Booting(generation) {
            return;
        }
        match r {
            Ok(image) => {
                info!(node = unit, "Node operational.");
                n.image = image;
                n.phase = Phase::Running;
                if std::mem::replace(&mut n.lost, false) {
                    self.meter
                        .with(|m| m.count(unit, 1, |c| &mut c.restorations));
                }
                self.meter.with(|m| m.set_demoted(unit, false));
                n.offer(BusEvent::CommRestored { unit });
            }
            Err(reason) => {
                warn!(node = unit, %reason, ?retry, "Node boot failed; retrying.");
                n.phase = Phase::Down {
                    retry_at: Some(Instant::now() + retry),
                };
                let error = BusError::NodeDown {
                    bus,
                    node: unit,
                    reason: format!("boot failed: {reason}"),
                };
                mark_lost(n, error, &self.meter);
            }
        }
    }

    /// One SYNC period: answers already queued complete the previous cycle, then SYNC goes out
    /// and the new cycle starts, all in this task, so no answer to this SYNC can be taken for
    /// the previous cycle's. False when the interface is closed for good.
    async fn on_sync(
        &mut self,
        bus: &Bus<Port>,
        sync: &mut SyncProducer<Port>,
        events: &mut Events,
    ) -> bool {
        while let Some(e) = events.try_next() {
            self.on_event(bus, e);
        }
        let at = match sync.send().await {
            Ok(t) => t.at,
            Err(e) if e.is_final() => return false,
            Err(e) => {
                // The transport reopens itself; this cycle is lost (a missed cycle).
                warn!(error = %e, "SYNC not sent.");
                return true;
            }
        };
        self.seq += 1;
        let seq = self.seq;
        for (unit, n) in &mut self.nodes {
            if n.phase != Phase::Running {
                continue;
            }
            // An incomplete previous cycle is dropped: a gap in `seq` for the drive.
            if n.start_cycle(seq, at) {
                self.meter
                    .with(|m| m.count(*unit, 1, |c| &mut c.missed_cycles));
            }
            n.latch();
            let Ok(node) = NodeId::new(*unit) else {
                continue;
            };
            for ((number, mapping), values) in n.rpdo.iter().zip(&n.image) {
                let Ok(data) = mapping.pack(values) else {
                    continue;
                };
                if let Err(e) = bus.send_rpdo(node, *number, &data).await {
                    warn!(node = unit, error = %e, "RPDO not sent.");
                }
            }
        }
        true
    }

    fn on_event(&mut self, bus: &Bus<Port>, event: Event) {
        let name = self.settings.bus.clone();
        match event {
            Event::Tpdo { node, number, data } => {
                let unit = node.get();
                let Some(n) = self.nodes.get_mut(&unit) else {
                    return;
                };
                if n.phase != Phase::Running {
                    return;
                }
                if let Some((p, blocks)) = n.on_tpdo(number, &data) {
                    let now = Instant::now();
                    let sample = Sample {
                        unit,
                        seq: p.seq,
                        scheduled_at: p.at,
                        completed_at: now,
                        blocks,
                        latency: now - p.at,
                    };
                    let latency = sample.latency;
                    // A closed sink (the drive actor is restarting) keeps the node: booted,
                    // its RPDO image sent every SYNC, ready for the next attach (bumpless).
                    let overrun = n.offer(BusEvent::Sample(sample));
                    self.meter.with(|m| {
                        m.count(unit, 1, |c| &mut c.samples);
                        m.latency(unit, latency);
                        if overrun {
                            m.count(unit, 1, |c| &mut c.overruns);
                        }
                    });
                }
            }
            Event::BootUp { node } => {
                let unit = node.get();
                let reason = "boot-up: the node restarted (power cycle or unit swap)";
                let error = self.node_down(unit, reason);
                let Some(n) = self.nodes.get_mut(&unit) else {
                    return;
                };
                info!(node = unit, "Boot-up: re-booting the node.");
                // While booting the drive has not been told the node is up: nothing to take
                // back, the boot just starts again.
                if n.phase == Phase::Running {
                    mark_lost(n, error, &self.meter);
                }
                self.start_boot(bus, unit);
            }
            Event::NodeLost { node, silent_for } => {
                let unit = node.get();
                let Some(n) = self.nodes.get_mut(&unit) else {
                    return;
                };
                if n.phase == Phase::Running {
                    n.phase = Phase::Down { retry_at: None };
                    let reason = format!("heartbeat lost (silent for {silent_for:?})");
                    mark_lost(
                        n,
                        BusError::NodeDown {
                            bus: name,
                            node: unit,
                            reason,
                        },
                        &self.meter,
                    );
                }
            }
            Event::NodeResumed { node, state } => {
                let unit = node.get();
                let Some(n) = self.nodes.get_mut(&unit) else {
                    return;
                };
                if n.phase != (Phase::Down { retry_at: None }) {
                    return;
                }
                if state == NmtState::Operational {
                    n.phase = Phase::Running;
                    n.lost = false;
                    self.meter.with(|m| {
                        m.count(unit, 1, |c| &mut c.restorations);
                        m.set_demoted(unit, false);
                    });
                    n.offer(BusEvent::CommRestored { unit });
                } else {
                    self.start_boot(bus, unit);
                }
            }
            Event::LinkDown(e) => warn!(error = %e, "CAN link fault."),
            // The code also reaches the drive as its error code object in the TPDOs; the
            // event tells the operator what the drive said and when.
            Event::Emcy { node, emcy } => {
                if let Some(n) = self.nodes.get(&node.get()) {
                    n.offer(BusEvent::Emergency {
                        unit: node.get(),
                        code: emcy.code,
                        register: emcy.register,
                        class: emcy.class(),
                    });
                }
            }
            _ => {}
        }
    }

    pub(super) fn detach(&mut self, bus: &Bus<Port>, unit: u8) {
        self.nodes.remove(&unit);
        self.meter.with(|m| m.set_attached(unit, false));
        if let Ok(node) = NodeId::new(unit) {
            bus.unwatch_heartbeat(node);
        }
    }
}

/// Tells the drive once that its node is gone; the cycle in progress is dropped.
pub(super) fn mark_lost(n: &mut Node, error: BusError, meter: &Meter) {
    n.in_progress = None;
    n.fail_writes(&error);
    if !n.lost {
        n.lost = true;
        let unit = n.unit();
        meter.with(|m| {
            m.count(unit, 1, |c| &mut c.demotions);
            m.set_demoted(unit, true);
        });
        n.offer(BusEvent::CommLost {
            unit: n.unit(),
            error,
        });
    }
}
