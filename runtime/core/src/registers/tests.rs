use proptest::prelude::*;

use super::*;

const TABLES: [PointTable; 4] = [
    PointTable::Holding,
    PointTable::Input,
    PointTable::Coil,
    PointTable::DiscreteInput,
];

fn run(table: PointTable, start: u32, len: u32, key: u8) -> RegisterRun<u8> {
    RegisterRun {
        table,
        start,
        len,
        key,
    }
}

fn read(table: PointTable, start: u32, len: u32, parts: Vec<(u32, u8)>) -> MergedRead<u8> {
    MergedRead {
        table,
        start,
        len,
        padding: 0,
        parts,
    }
}

#[test]
fn merges_contiguous_and_overlapping_runs_of_one_table_within_the_maximum() {
    use PointTable::{Holding, Input};
    let reads = merge_register_runs(
        vec![
            run(Holding, 12, 2, 2),
            run(Holding, 10, 2, 1),
            run(Input, 10, 1, 3),
            run(Holding, 13, 2, 4),
            run(Holding, 20, 1, 5),
        ],
        125,
    );
    assert_eq!(
        reads,
        vec![
            read(Holding, 10, 5, vec![(0, 1), (2, 2), (3, 4)]),
            read(Holding, 20, 1, vec![(0, 5)]),
            read(Input, 10, 1, vec![(0, 3)]),
        ]
    );
}

#[test]
fn splits_at_the_maximum() {
    let h = PointTable::Holding;
    let reads = merge_register_runs(vec![run(h, 0, 2, 1), run(h, 2, 2, 2)], 3);
    assert_eq!(reads.len(), 2);
}

/// The drive: status registers 1, 3, 5 and 8–10 are four reads, or one of 10 registers
/// when two registers of padding may be spanned.
#[test]
fn a_holed_status_map_is_one_read_when_gaps_of_two_are_spanned() {
    let h = PointTable::Holding;
    let runs = || {
        vec![
            run(h, 1, 1, 1),
            run(h, 3, 1, 2),
            run(h, 5, 1, 3),
            run(h, 8, 3, 4),
        ]
    };
    assert_eq!(merge_register_runs(runs(), 125).len(), 4);
    let mut rules = ReadRules::contiguous(125);
    rules.span_gaps = 1;
    let reads = merge_runs(runs(), &rules);
    assert_eq!(reads.iter().map(|r| r.len).collect::<Vec<_>>(), [5, 3]);
    rules.span_gaps = 2;
    let reads = merge_runs(runs(), &rules);
    assert_eq!(reads.len(), 1);
    let r = &reads[0];
    assert_eq!((r.start, r.len, r.padding), (1, 10, 4));
    assert_eq!(r.parts, vec![(0, 1), (2, 2), (4, 3), (7, 4)]);
}

#[test]
fn a_keep_out_point_in_a_gap_splits_the_read() {
    let h = PointTable::Holding;
    let rules = ReadRules {
        max_registers: 125,
        span_gaps: 10,
        keep_out: vec![KeepOut {
            table: h,
            start: 6,
            len: 2,
        }],
    };
    let runs = vec![run(h, 1, 1, 1), run(h, 3, 1, 2), run(h, 8, 1, 3)];
    let reads = merge_runs(runs, &rules);
    assert_eq!(
        reads.iter().map(|r| (r.start, r.len)).collect::<Vec<_>>(),
        [(1, 3), (8, 1)]
    );
    // A keep-out of another table is no obstacle.
    let mut other = rules.clone();
    other.keep_out[0].table = PointTable::Input;
    let runs = vec![run(h, 1, 1, 1), run(h, 8, 1, 3)];
    assert_eq!(merge_runs(runs, &other).len(), 1);
}

#[test]
fn bits_span_in_bits_and_stop_at_2000() {
    let c = PointTable::Coil;
    let mut rules = ReadRules::contiguous(10);
    rules.span_gaps = 5;
    let reads = merge_runs(
        vec![run(c, 0, 1, 1), run(c, 6, 1, 2), run(c, 13, 1, 3)],
        &rules,
    );
    assert_eq!(
        reads.iter().map(|r| (r.start, r.len)).collect::<Vec<_>>(),
        [(0, 7), (13, 1)]
    );
    rules.span_gaps = 2000;
    let reads = merge_runs(
        vec![run(c, 0, 1, 1), run(c, 1999, 1, 2), run(c, 2000, 1, 3)],
        &rules,
    );
    assert_eq!(
        reads.iter().map(|r| (r.start, r.len)).collect::<Vec<_>>(),
        [(0, 2000), (2000, 1)]
    );
}

fn arb_runs() -> impl Strategy<Value = Vec<RegisterRun<u8>>> {
    proptest::collection::vec((0..4usize, 0u32..400, 1u32..=2), 0..40).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (t, start, len))| {
                let table = TABLES[t];
                let len = if table.holds_bits() { 1 } else { len };
                run(table, start, len, i as u8)
            })
            .collect()
    })
}

fn arb_rules() -> impl Strategy<Value = ReadRules> {
    let keep = proptest::collection::vec((0..4usize, 0u32..400, 1u32..=2), 0..6);
    (2u32..=125, 0u32..40, keep).prop_map(|(max_registers, span_gaps, keep)| ReadRules {
        max_registers,
        span_gaps,
        keep_out: keep
            .into_iter()
            .map(|(t, start, len)| KeepOut {
                table: TABLES[t],
                start,
                len,
            })
            .collect(),
    })
}

/// Which registers of `r` the runs inside it cover.
fn covered(r: &MergedRead<u8>, runs: &[RegisterRun<u8>]) -> Vec<bool> {
    let mut c = vec![false; r.len as usize];
    for (off, key) in &r.parts {
        let run = runs.iter().find(|x| x.key == *key).unwrap();
        for i in *off..off + run.len {
            c[i as usize] = true;
        }
    }
    c
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

    #[test]
    fn every_run_is_read_once_within_the_limits_and_never_across_a_keep_out(
        runs in arb_runs(),
        rules in arb_rules(),
    ) {
        let reads = merge_runs(runs.clone(), &rules);
        // Each run is in exactly one read, at its own address.
        for x in &runs {
            let holders: Vec<&MergedRead<u8>> = reads
                .iter()
                .filter(|r| r.parts.iter().any(|(_, k)| *k == x.key))
                .collect();
            prop_assert_eq!(holders.len(), 1);
            let r = holders[0];
            let (off, _) = r.parts.iter().find(|(_, k)| *k == x.key).unwrap();
            prop_assert_eq!(r.table, x.table);
            prop_assert_eq!(r.start + off, x.start);
            prop_assert!(x.start + x.len <= r.start + r.len);
        }
        for r in &reads {
            // The drive's limit, and the protocol's 125 registers / 2000 bits, always.
            prop_assert!(r.len <= rules.limit(r.table));
            prop_assert!(r.len <= r.table.read_limit());
            // Padding never covers a keep-out, and is counted.
            let c = covered(r, &runs);
            let pad: Vec<u32> = (0..r.len).filter(|i| !c[*i as usize]).map(|i| r.start + i).collect();
            prop_assert_eq!(pad.len() as u32, r.padding);
            for a in pad {
                prop_assert!(!rules.keep_out.iter().any(|k| k.table == r.table && (k.start..k.start + k.len).contains(&a)));
            }
            prop_assert!(r.padding == 0 || rules.span_gaps > 0);
        }
        // Reads of one table overlap only where runs do (a run too long for the read that
        // holds the one it overlaps starts the next).
        let runs_overlap = runs.iter().any(|a| {
            runs.iter().any(|b| {
                a.key != b.key && a.table == b.table && a.start < b.start + b.len && b.start < a.start + a.len
            })
        });
        for w in reads.windows(2) {
            if w[0].table == w[1].table && !runs_overlap {
                prop_assert!(w[0].start + w[0].len <= w[1].start);
            }
        }
        // Spanning never costs more reads than not spanning.
        let plain = merge_runs(runs, &rules.unpadded());
        prop_assert!(reads.len() <= plain.len());
        prop_assert!(plain.iter().all(|r| r.padding == 0));
    }
}
