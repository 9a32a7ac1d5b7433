//! One attached node: its PDO sets, its RPDO image, the cycle being collected, and the boot
//! procedure (pre-operational → heartbeat period, written only if it differs → PDO mapping by
//! policy → RPDO image read back → start), run as its own task so a slow node never delays SYNC
//! or its neighbours.

use super::Port;
use linevisor_canopen::{Bus, NmtCommand, NodeId, PdoConfig, PdoKind, PdoMapping, pdo_setup};
use tokio::time::Instant;

use super::{CanopenSettings, Object, PdoBlock};
use ractor::RpcReplyPort;

use crate::{Attach, BusError, BusEvent};

/// Where a node is in its life as the bus sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Phase {
    /// The boot procedure of this generation runs.
    Booting(u64),
    /// Operational, cycles exchanged.
    Running,
    /// Heartbeat lost (or a boot failed): retried at `retry_at` if set.
    Down { retry_at: Option<Instant> },
}

/// The cycle being collected after a SYNC.
#[derive(Debug, Clone)]
pub(super) struct CycleInProgress {
    pub(super) seq: u64,
    pub(super) at: Instant,
    /// One flag per TPDO block.
    pub(super) got: Vec<bool>,
}

/// An attached node.
#[derive(Debug)]
pub(super) struct Node {
    pub(super) attach: Attach<PdoBlock>,
    pub(super) tpdo: Vec<(u8, PdoMapping)>,
    pub(super) rpdo: Vec<(u8, PdoMapping)>,
    /// Latest values per TPDO block.
    pub(super) actual: Vec<Vec<u64>>,
    /// Values sent after every SYNC, per RPDO block.
    pub(super) image: Vec<Vec<u64>>,
    pub(super) phase: Phase,
    pub(super) in_progress: Option<CycleInProgress>,
    /// True while the drive has been told of a comm loss not yet restored.
    pub(super) lost: bool,
    /// RPDO writes answered once the node has latched them: `true` once sent after a SYNC,
    /// answered at the next SYNC (the one that latches them).
    pub(super) awaiting: Vec<(RpcReplyPort<Result<(), BusError>>, bool)>,
}

fn mappings(blocks: &[PdoBlock], kind: PdoKind) -> Vec<(u8, PdoMapping)> {
    blocks
        .iter()
        .filter(|b| b.kind == kind)
        // Checked at attach.
        .filter_map(|b| Some((b.number, PdoMapping::new(b.entries.clone()).ok()?)))
        .collect()
}

impl Node {
    pub(super) fn new(attach: Attach<PdoBlock>) -> Self {
        let tpdo = mappings(&attach.blocks, PdoKind::Tpdo);
        let rpdo = mappings(&attach.blocks, PdoKind::Rpdo);
        let actual = tpdo
            .iter()
            .map(|(_, m)| vec![0; m.entries().len()])
            .collect();
        Self {
            attach,
            tpdo,
            rpdo,
            actual,
            image: Vec::new(),
            phase: Phase::Down { retry_at: None },
            in_progress: None,
            lost: false,
            awaiting: Vec::new(),
        }
    }

    pub(super) fn unit(&self) -> u8 {
        self.attach.unit
    }

    /// Offers `event` to the drive; a full or closed sink drops it (the line never waits).
    /// True when a full sink dropped it (an overrun).
    pub(super) fn offer(&self, event: BusEvent) -> bool {
        matches!(
            self.attach.sink.try_send(event),
            Err(tokio::sync::mpsc::error::TrySendError::Full(_))
        )
    }

    /// Answers the writes latched by the SYNC just sent; the others go out now.
    pub(super) fn latch(&mut self) {
        let (done, rest): (Vec<_>, Vec<_>) = self.awaiting.drain(..).partition(|(_, sent)| *sent);
        for (reply, _) in done {
            let _ = reply.send(Ok(()));
        }
        self.awaiting = rest.into_iter().map(|(r, _)| (r, true)).collect();
    }

    /// Fails every write not latched yet.
    pub(super) fn fail_writes(&mut self, e: &BusError) {
        for (reply, _) in self.awaiting.drain(..) {
            let _ = reply.send(Err(e.clone()));
        }
    }

    /// Where `object` sits in the RPDO image.
    pub(super) fn rpdo_slot(&self, object: Object) -> Option<(usize, usize)> {
        self.rpdo.iter().enumerate().find_map(|(i, (_, m))| {
            m.entries()
                .iter()
                .position(|e| e.index == object.index && e.subindex == object.subindex)
                .map(|j| (i, j))
        })
    }

    /// Takes a TPDO's payload; returns the cycle's sample blocks once every TPDO arrived.
    pub(super) fn on_tpdo(
        &mut self,
        number: u8,
        data: &[u8],
    ) -> Option<(CycleInProgress, Vec<Vec<u16>>)> {
        let i = self.tpdo.iter().position(|(n, _)| *n == number)?;
        let values = self.tpdo[i].1.unpack(data).ok()?;
        self.actual[i] = values;
        let in_progress = self.in_progress.as_mut()?;
        in_progress.got[i] = true;
        if !in_progress.got.iter().all(|g| *g) {
            return None;
        }
        let in_progress = self.in_progress.take()?;
        let blocks = self
            .tpdo
            .iter()
            .zip(&self.actual)
            .flat_map(|((_, m), values)| {
                m.entries()
                    .iter()
                    .zip(values)
                    .map(|(e, v)| super::words(*v, e.bits))
            })
            .collect();
        Some((in_progress, blocks))
    }

    /// A new cycle starts at SYNC `seq`; true if the previous one was incomplete (missed).
    pub(super) fn start_cycle(&mut self, seq: u64, at: Instant) -> bool {
        let missed = self.in_progress.is_some();
        self.in_progress = Some(CycleInProgress {
            seq,
            at,
            got: vec![false; self.tpdo.len()],
        });
        missed
    }
}

/// What a boot needs, detached from the node so it can run as a task.
#[derive(Debug, Clone)]
pub(super) struct BootPlan {
    pub(super) node: NodeId,
    pub(super) blocks: Vec<PdoBlock>,
    pub(super) rpdo: Vec<(u8, PdoMapping)>,
}

/// Boots one node: pre-operational, heartbeat period, PDO re-mapping, RPDO image read back
/// (so the first RPDOs re-send what the node already has: bumpless), start, heartbeat watched.
pub(super) async fn boot(
    bus: Bus<Port>,
    settings: CanopenSettings,
    plan: BootPlan,
) -> Result<Vec<Vec<u64>>, String> {
    let node = plan.node;
    bus.unwatch_heartbeat(node);
    bus.nmt(NmtCommand::EnterPreOperational, Some(node))
        .await
        .map_err(|e| format!("NMT pre-operational: {e}"))?;
    let sdo = bus.sdo(node);
    let heartbeat_ms = u16::try_from(settings.node_heartbeat.as_millis()).unwrap_or(u16::MAX);
    // Read first: an unchanged node boots without a write (as the PDO policy `auto` and the
    // parameter download do); a node that refuses the read still gets the write.
    let current = flatten(sdo.read_u16(0x1017, 0).await, "heartbeat 0x1017").ok();
    if current != Some(heartbeat_ms) {
        flatten(
            sdo.write_u16(0x1017, 0, heartbeat_ms).await,
            "heartbeat 0x1017",
        )?;
    }
    for b in &plan.blocks {
        let mapping = PdoMapping::new(b.entries.clone()).map_err(|e| e.to_string())?;
        let config = PdoConfig {
            kind: b.kind,
            number: b.number,
            cob_id: None,
            // Every SYNC: TPDOs sent after it, RPDOs latched at it.
            transmission_type: 1,
            mapping,
        };
        pdo_setup::setup(&sdo, &config, b.policy)
            .await
            .map_err(|e| e.to_string())?;
    }
    let mut image = Vec::with_capacity(plan.rpdo.len());
    for (_, m) in &plan.rpdo {
        let mut values = Vec::with_capacity(m.entries().len());
        for e in m.entries() {
            let bytes = flatten(
                sdo.upload(e.index, e.subindex).await,
                &format!("read back {:#06X}:{:02X}", e.index, e.subindex),
            )?;
            let mut b = [0u8; 8];
            let n = bytes.len().min(8);
            b[..n].copy_from_slice(&bytes[..n]);
            values.push(u64::from_le_bytes(b));
        }
        image.push(values);
    }
    bus.nmt(NmtCommand::Start, Some(node))
        .await
        .map_err(|e| format!("NMT start: {e}"))?;
    bus.watch_heartbeat(node, settings.heartbeat_timeout);
    Ok(image)
}

fn flatten<T>(r: linevisor_canopen::SdoResult<T>, what: &str) -> Result<T, String> {
    match r {
        Ok(Ok(t)) => Ok(t),
        // The abort's text already carries the code's meaning.
        Ok(Err(abort)) => Err(format!("{what}: {abort}")),
        Err(e) => Err(format!("{what}: {e}")),
    }
}
