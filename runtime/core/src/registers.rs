//! The one rule for turning Modbus registers (and coils or discrete inputs, one bit each) into
//! read requests, shared by the bus-load check, the profile codec's read plans and the bus
//! actor: sorted by table and address, runs of one table that are contiguous or overlapping are
//! read together while the request stays within the table's limit; with `span_gaps`, runs up to
//! that many registers (bits) apart are too, reading the gap as padding, unless a point in the
//! gap must not be read ([`KeepOut`]).

use crate::profile::{PointTable, Profile};

/// A run of registers (bits) to read, carrying what the caller wants back (a point, a block
/// index).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterRun<K> {
    pub table: PointTable,
    /// First register (bit).
    pub start: u32,
    /// Number of registers (bits).
    pub len: u32,
    /// The caller's tag.
    pub key: K,
}

/// One read request and the runs inside it, each with its offset from `start`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergedRead<K> {
    pub table: PointTable,
    /// First register (bit).
    pub start: u32,
    /// Number of registers (bits).
    pub len: u32,
    /// Registers (bits) read only to span gaps between runs.
    pub padding: u32,
    /// (offset from `start`, tag) of every run read by this request.
    pub parts: Vec<(u32, K)>,
}

/// Registers (bits) that are never read as padding: a point with `readable_gap = false`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeepOut {
    pub table: PointTable,
    pub start: u32,
    pub len: u32,
}

/// How runs become reads.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReadRules {
    /// Most registers per read (clamped to 1–125); bit reads stop at the protocol's 2000.
    pub max_registers: u32,
    /// Padding registers (bits) allowed between two runs; 0 merges only touching runs.
    pub span_gaps: u32,
    /// Never read as padding.
    pub keep_out: Vec<KeepOut>,
}

impl Default for ReadRules {
    fn default() -> Self {
        Self::contiguous(125)
    }
}

impl ReadRules {
    /// Touching or overlapping runs only, at most `max_registers` a read.
    pub fn contiguous(max_registers: u32) -> Self {
        Self {
            max_registers,
            span_gaps: 0,
            keep_out: Vec::new(),
        }
    }

    /// The rules of a Modbus profile: `[modbus] max_registers_per_read` and `span_gaps`, and
    /// its points with `readable_gap = false`, at protocol addresses (register −
    /// `address_base`).
    pub fn of_profile(profile: &Profile) -> Self {
        let m = profile.modbus.as_ref();
        let base = m.map_or(0, |m| u32::from(m.address_base));
        let mut keep_out: Vec<KeepOut> = profile
            .points
            .values()
            .filter(|p| !p.readable_gap)
            .filter_map(|p| {
                Some(KeepOut {
                    table: p.table,
                    start: p.register?.checked_sub(base)?,
                    len: p.modbus_len(),
                })
            })
            .collect();
        keep_out.sort_unstable();
        Self {
            max_registers: m.map_or(125, |m| m.max_registers_per_read),
            span_gaps: m.map_or(0, |m| m.span_gaps),
            keep_out,
        }
    }

    /// The same rules without spanning: what a bus falls back to when a padded read is refused.
    pub fn unpadded(&self) -> Self {
        Self {
            span_gaps: 0,
            ..self.clone()
        }
    }

    /// Most registers (bits) one read of `table` may cover.
    pub fn limit(&self, table: PointTable) -> u32 {
        if table.holds_bits() {
            table.read_limit()
        } else {
            self.max_registers.clamp(1, table.read_limit())
        }
    }

    /// True if `from..to` of `table` may be read as padding: within `span_gaps` and clear of
    /// every keep-out.
    pub fn may_pad(&self, table: PointTable, from: u32, to: u32) -> bool {
        to.saturating_sub(from) <= self.span_gaps
            && !self
                .keep_out
                .iter()
                .any(|k| k.table == table && k.start < to && from < k.start + k.len)
    }
}

/// Merges `runs` into read requests of at most `max` registers (at least 1) without spanning
/// gaps (bit runs: at most 2000 bits).
pub fn merge_register_runs<K: Ord>(runs: Vec<RegisterRun<K>>, max: u32) -> Vec<MergedRead<K>> {
    merge_runs(runs, &ReadRules::contiguous(max))
}

/// Merges `runs` into read requests under `rules`, greedily in table and address order.
pub fn merge_runs<K: Ord>(mut runs: Vec<RegisterRun<K>>, rules: &ReadRules) -> Vec<MergedRead<K>> {
    runs.sort_by(|a, b| (a.table, a.start, a.len, &a.key).cmp(&(b.table, b.start, b.len, &b.key)));
    let mut reads: Vec<MergedRead<K>> = Vec::new();
    for run in runs {
        let end = run.start + run.len;
        if let Some(r) = reads.last_mut() {
            let r_end = r.start + r.len;
            let fits = end.max(r_end) - r.start <= rules.limit(run.table);
            let joins = run.start <= r_end || rules.may_pad(run.table, r_end, run.start);
            if r.table == run.table && fits && joins {
                r.padding += run.start.saturating_sub(r_end);
                r.len = r_end.max(end) - r.start;
                r.parts.push((run.start - r.start, run.key));
                continue;
            }
        }
        reads.push(MergedRead {
            table: run.table,
            start: run.start,
            len: run.len,
            padding: 0,
            parts: vec![(0, run.key)],
        });
    }
    reads
}

#[cfg(test)]
mod tests;
