//! What both Modbus kinds share: the per-unit circuit breaker's options and the register reads
//! a poll set costs per cycle.

use super::common::rc;
use crate::diag::{Finding, Path};
use crate::model::{PointTable, Profile};
use crate::{RegisterRun, merge_register_runs};

/// Register reads per cycle for a Modbus poll set (the rule of [`merge_register_runs`]).
/// Returns the register count of each read.
pub fn modbus_reads(profile: &Profile) -> Vec<u32> {
    let max = profile
        .modbus
        .as_ref()
        .map_or(125, |m| m.max_registers_per_read);
    let mut names: Vec<&String> = profile.poll.iter().flat_map(|p| &p.points).collect();
    names.sort();
    names.dedup();
    let runs = names
        .into_iter()
        .filter_map(|n| {
            let pt = profile.points.get(n)?;
            Some(RegisterRun {
                input: pt.table == PointTable::Input,
                start: pt.register?,
                len: pt.data_type.registers(),
                key: n,
            })
        })
        .collect();
    merge_register_runs(runs, max)
        .into_iter()
        .map(|r| r.len)
        .collect()
}

/// The circuit-breaker options.
pub(super) fn check_breaker(f: &mut Vec<Finding>, p: &Path, demote_after: u32, probe_ms: u32) {
    rc(f, p, "demote_after_timeouts", demote_after, 1, 100, "");
    rc(f, p, "probe_interval_ms", probe_ms, 10, 600_000, "ms");
}

pub(super) fn default_demote_after() -> u32 {
    3
}
pub(super) fn default_probe_ms() -> u32 {
    1000
}

/// The load of a bus whose wire is not the limit (Modbus TCP, simulated): transactions per
/// second only.
pub(super) fn transactions_load(drives: &[super::DriveLoad<'_>], out: &mut crate::BusLoad) {
    use std::fmt::Write as _;
    for d in drives {
        let p = d.profile;
        let reads = if p.profile.protocol == crate::model::Protocol::Serial {
            // One exchange per polled point that has a read.
            let polled = p.poll.iter().flat_map(|poll| &poll.points);
            polled
                .filter(|n| p.points.get(*n).is_some_and(|pt| pt.read.is_some()))
                .count()
        } else if p.poll.is_some() {
            modbus_reads(p).len()
        } else {
            p.canopen
                .as_ref()
                .map_or(0, |c| c.tpdo.len() + c.rpdo.len())
        };
        out.per_second += reads as f64 * d.per_s();
    }
    let _ = write!(
        out.detail,
        "{} drives, {:.1} transactions/s; the wire is not the limit",
        drives.len(),
        out.per_second
    );
}
