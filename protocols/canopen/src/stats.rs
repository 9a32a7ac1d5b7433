//! What the master saw on one bus, counted where it happens: frames received and EMCY, boot-ups
//! and heartbeat losses by the dispatcher, SDO outcomes by the SDO clients (per node).
//! Read with [`crate::Bus::stats`]; SYNC timing is the producer's own ([`crate::SyncMeter`]).

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use crate::cob::NodeId;
use crate::error::SdoResult;

/// SDO transfer outcomes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SdoCounts {
    /// Transfers started (upload or download).
    pub transfers: u64,
    /// Transfers the node refused with an abort code.
    pub aborts: u64,
    /// Transfers without a response in time.
    pub timeouts: u64,
    /// Transfers that ended in any other link or protocol fault.
    pub failures: u64,
}

impl SdoCounts {
    fn add<T>(&mut self, outcome: &SdoResult<T>) {
        self.transfers += 1;
        match outcome {
            Ok(Ok(_)) => {}
            Ok(Err(_)) => self.aborts += 1,
            Err(e) if e.is_timeout() => self.timeouts += 1,
            Err(_) => self.failures += 1,
        }
    }
}

/// A snapshot of one bus's counters since it started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BusStats {
    /// Frames received from the transport.
    pub frames_received: u64,
    /// Transient transport faults (adapter lost, bus error).
    pub link_faults: u64,
    /// SDO outcomes over all nodes.
    pub sdo: SdoCounts,
    /// SDO outcomes per node.
    pub sdo_by_node: BTreeMap<NodeId, SdoCounts>,
    /// EMCY messages received (error resets included).
    pub emcy: u64,
    /// EMCY messages per node.
    pub emcy_by_node: BTreeMap<NodeId, u64>,
    /// Boot-up messages received.
    pub boot_ups: u64,
    /// Watched nodes whose heartbeat went overdue.
    pub heartbeat_losses: u64,
    /// SDO responses dropped because no transfer was waiting (a node sending 0x580+n on its
    /// own, or answers after their timeout beyond the queue).
    pub sdo_unsolicited_dropped: u64,
}

/// The counters, shared by the dispatcher and the SDO clients of one bus.
#[derive(Debug, Default)]
pub(crate) struct Stats(Mutex<BusStats>);

impl Stats {
    /// Updates the counters (a plain struct: a poisoned lock is still consistent).
    pub(crate) fn update(&self, f: impl FnOnce(&mut BusStats)) {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner));
    }

    pub(crate) fn sdo<T>(&self, node: NodeId, outcome: &SdoResult<T>) {
        self.update(|s| {
            s.sdo.add(outcome);
            s.sdo_by_node.entry(node).or_default().add(outcome);
        });
    }

    pub(crate) fn snapshot(&self) -> BusStats {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// A handle on one bus's counters that stays readable while the bus runs and after it closed.
#[derive(Debug, Clone)]
pub struct StatsHandle(pub(crate) std::sync::Arc<Stats>);

impl StatsHandle {
    /// The counters now.
    pub fn snapshot(&self) -> BusStats {
        self.0.snapshot()
    }
}
