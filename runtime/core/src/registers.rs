//! The one rule for turning Modbus registers into read requests, shared by the bus-load check,
//! the profile codec's read plans and the bus actor: sorted by table and address, contiguous or
//! overlapping registers of one table are read together while the request stays within `max`
//! registers.

/// A run of registers to read, carrying what the caller wants back (a point, a block index).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterRun<K> {
    /// Input registers (FC4) rather than holding registers (FC3).
    pub input: bool,
    /// First register.
    pub start: u32,
    /// Number of registers.
    pub len: u32,
    /// The caller's tag.
    pub key: K,
}

/// One read request and the runs inside it, each with its offset from `start`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergedRead<K> {
    /// Input registers (FC4) rather than holding registers (FC3).
    pub input: bool,
    /// First register.
    pub start: u32,
    /// Number of registers.
    pub len: u32,
    /// (offset from `start`, tag) of every run read by this request.
    pub parts: Vec<(u32, K)>,
}

/// Merges `runs` into read requests of at most `max` registers (at least 1).
pub fn merge_register_runs<K: Ord>(mut runs: Vec<RegisterRun<K>>, max: u32) -> Vec<MergedRead<K>> {
    let max = max.max(1);
    runs.sort_by(|a, b| (a.input, a.start, a.len, &a.key).cmp(&(b.input, b.start, b.len, &b.key)));
    let mut reads: Vec<MergedRead<K>> = Vec::new();
    for run in runs {
        let end = run.start + run.len;
        if let Some(r) = reads.last_mut() {
            let r_end = r.start + r.len;
            if r.input == run.input && run.start <= r_end && end - r.start <= max {
                r.len = r_end.max(end) - r.start;
                r.parts.push((run.start - r.start, run.key));
                continue;
            }
        }
        reads.push(MergedRead {
            input: run.input,
            start: run.start,
            len: run.len,
            parts: vec![(0, run.key)],
        });
    }
    reads
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: bool, start: u32, len: u32, key: u8) -> RegisterRun<u8> {
        RegisterRun {
            input,
            start,
            len,
            key,
        }
    }

    #[test]
    fn merges_contiguous_and_overlapping_runs_of_one_table_within_the_maximum() {
        let reads = merge_register_runs(
            vec![
                run(false, 12, 2, 2),
                run(false, 10, 2, 1),
                run(true, 10, 1, 3),
                run(false, 13, 2, 4),
                run(false, 20, 1, 5),
            ],
            125,
        );
        let read = |input, start, len, parts| MergedRead {
            input,
            start,
            len,
            parts,
        };
        assert_eq!(
            reads,
            vec![
                read(false, 10, 5, vec![(0, 1), (2, 2), (3, 4)]),
                read(false, 20, 1, vec![(0, 5)]),
                read(true, 10, 1, vec![(0, 3)]),
            ]
        );
    }

    #[test]
    fn splits_at_the_maximum() {
        let reads = merge_register_runs(vec![run(false, 0, 2, 1), run(false, 2, 2, 2)], 3);
        assert_eq!(reads.len(), 2);
    }
}
