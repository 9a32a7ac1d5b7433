//! What both Modbus kinds share: the per-unit circuit breaker's options, the reads a poll set
//! costs per cycle, and how long a silent drive holds the line.

use super::DriveLoad;
use super::common::rc;
use crate::diag::{Finding, Path};
use crate::feasibility::SilentHold;
use crate::model::Profile;
use crate::{MergedRead, ReadRules, RegisterRun, merge_runs};

/// The reads of a Modbus poll set per cycle (the rule of [`merge_runs`] under the profile's
/// [`ReadRules`]: its `max_registers_per_read`, `span_gaps` and `readable_gap = false` points),
/// tagged with the point names each reads.
pub fn modbus_poll_reads(profile: &Profile) -> Vec<MergedRead<&str>> {
    let rules = ReadRules::of_profile(profile);
    let base = profile
        .modbus
        .as_ref()
        .map_or(0, |m| u32::from(m.address_base));
    let mut names: Vec<&String> = profile.poll.iter().flat_map(|p| &p.points).collect();
    names.sort();
    names.dedup();
    let runs = names
        .into_iter()
        .filter_map(|n| {
            let pt = profile.points.get(n)?;
            Some(RegisterRun {
                table: pt.table,
                start: pt.register?.checked_sub(base)?,
                len: pt.modbus_len(),
                key: n.as_str(),
            })
        })
        .collect();
    merge_runs(runs, &rules)
}

/// Register (bit) count of each read of a Modbus poll set per cycle ([`modbus_poll_reads`]).
pub fn modbus_reads(profile: &Profile) -> Vec<u32> {
    modbus_poll_reads(profile)
        .into_iter()
        .map(|r| r.len)
        .collect()
}

/// Data bytes of a read's response: two per register, a bit each packed in bytes.
pub(super) fn response_data_bytes(r: &MergedRead<&str>) -> u32 {
    if r.table.holds_bits() {
        r.len.div_ceil(8)
    } else {
        2 * r.len
    }
}

/// The drive whose silence would hold the line longest in one of its cycles (the first such
/// drive on a tie): every read waits for the drive's response timeout (its own
/// `response_timeout_ms`, else the bus's), once per attempt, until the unit is demoted.
pub(super) fn silent_hold(
    drives: &[DriveLoad<'_>],
    bus_timeout_ms: u32,
    retries: u8,
) -> Option<SilentHold> {
    let attempts = u64::from(retries) + 1;
    drives
        .iter()
        .map(|d| {
            let timeout = d.drive.response_timeout_ms.unwrap_or(bus_timeout_ms);
            let reads = modbus_reads(d.profile).len() as u64;
            SilentHold {
                drive: d.drive.id.clone(),
                ms: reads * attempts * u64::from(timeout),
            }
        })
        .filter(|h| h.ms > 0)
        .reduce(|a, b| if b.ms > a.ms { b } else { a })
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
pub(super) fn transactions_load(drives: &[DriveLoad<'_>], out: &mut crate::BusLoad) {
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
            modbus_poll_reads(p).len()
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
