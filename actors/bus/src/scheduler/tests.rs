use std::time::Duration;

use proptest::prelude::*;
use tokio::sync::mpsc;
use tokio::time::{Instant, advance};

use super::*;
use crate::modbus::{Modbus, merge};
use crate::{ReadBlock, RegisterTable, UnitOptions};
use linevisor_config::ReadRules;
use linevisor_modbus::Request;

fn attach(unit: u8, blocks: Vec<ReadBlock>, period_ms: u64) -> (Attach, mpsc::Receiver<BusEvent>) {
    let (sink, rx) = mpsc::channel(8);
    let a = Attach {
        unit,
        blocks,
        period: Duration::from_millis(period_ms),
        sink,
    };
    (a, rx)
}

/// A register's value in the fake device: its address, offset by table.
fn word(table: RegisterTable, address: u32) -> u16 {
    let base = if table == RegisterTable::Input {
        0x8000
    } else {
        0
    };
    (address as u16).wrapping_add(base)
}

fn answer(t: &PollTxn<Request>) -> Vec<u16> {
    let (table, address, count) = match t.request {
        Request::ReadHoldingRegisters { address, quantity } => {
            (RegisterTable::Holding, address, quantity)
        }
        Request::ReadInputRegisters { address, quantity } => {
            (RegisterTable::Input, address, quantity)
        }
        _ => panic!("not a read: {:?}", t.request),
    };
    (0..u32::from(count))
        .map(|i| word(table, u32::from(address) + i))
        .collect()
}

#[test]
fn merges_adjacent_and_overlapping_blocks_of_one_table_only() {
    let blocks = [
        ReadBlock::holding(10, 2),
        ReadBlock::input(0, 4),
        ReadBlock::holding(12, 3),
        ReadBlock::holding(11, 2),
        ReadBlock::holding(100, 1),
    ];
    let reads = merge(&blocks, &ReadRules::default());
    let got: Vec<ReadBlock> = reads.iter().map(|r| r.block).collect();
    assert_eq!(
        got,
        [
            ReadBlock::holding(10, 5),
            ReadBlock::holding(100, 1),
            ReadBlock::input(0, 4)
        ]
    );
    assert_eq!(reads[0].parts, [(0, 0), (3, 1), (2, 2)]);
}

#[test]
fn never_merges_past_125_registers() {
    let reads = merge(
        &[ReadBlock::holding(0, 100), ReadBlock::holding(100, 26)],
        &ReadRules::default(),
    );
    assert_eq!(reads.len(), 2);
    let reads = merge(
        &[ReadBlock::holding(0, 100), ReadBlock::holding(100, 25)],
        &ReadRules::default(),
    );
    assert_eq!(reads.len(), 1);
    assert_eq!(reads[0].block.count, 125);
}

proptest! {
    /// Whatever the blocks and the gaps spanned, each comes back with exactly its own
    /// registers, and no read is longer than 125 registers or more numerous than the blocks.
    #[test]
    fn merged_reads_give_every_block_its_words(
        raw in proptest::collection::vec((any::<bool>(), 0u16..300, 1u16..=125), 1..12),
        span_gaps in 0u32..40,
    ) {
        let blocks: Vec<ReadBlock> = raw
            .iter()
            .map(|&(input, address, count)| {
                if input { ReadBlock::input(address, count) } else { ReadBlock::holding(address, count) }
            })
            .collect();
        let options = spanning(span_gaps);
        let reads = merge(&blocks, &options.reads);
        prop_assert!(reads.len() <= blocks.len());
        prop_assert!(reads.iter().all(|r| (1..=125).contains(&r.block.count)));
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        rt.block_on(async {
            let mut s = Scheduler::<Modbus>::default();
            let (a, _rx) = attach(1, blocks.clone(), 10);
            s.attach(a, &options, Instant::now());
            let mut b = Breakers::new(3, Duration::from_secs(1));
            let taken = s.take(Instant::now(), 100, 0, &mut b);
            prop_assert_eq!(taken.txns.len(), reads.len());
            let mut sample = None;
            for t in &taken.txns {
                sample = s.complete(t, answer(t), Instant::now());
            }
            let sample = sample.expect("complete after the last read");
            for (block, got) in blocks.iter().zip(&sample.blocks) {
                let want: Vec<u16> = (0..u32::from(block.count))
                    .map(|i| word(block.table, u32::from(block.address) + i))
                    .collect();
                prop_assert_eq!(got, &want);
            }
            Ok(())
        })?;
    }
}

#[tokio::test(start_paused = true)]
async fn a_cycle_overdue_by_a_whole_period_is_skipped_and_counted() {
    let mut s = Scheduler::<Modbus>::default();
    let mut b = Breakers::new(3, Duration::from_secs(1));
    let t0 = Instant::now();
    let (a, _rx) = attach(1, vec![ReadBlock::holding(0, 2)], 10);
    s.attach(a, &UnitOptions::default(), t0);
    let taken = s.take(t0, 1, 2, &mut b);
    assert_eq!((taken.txns.len(), taken.missed.len()), (1, 0));
    let t = &taken.txns[0];
    assert_eq!((t.seq, t.max_retries), (0, 2));
    let sample = s.complete(t, vec![7, 8], t0).unwrap();
    assert_eq!((sample.seq, sample.scheduled_at), (0, t0));
    assert_eq!(sample.blocks, [vec![7, 8]]);
    assert_eq!(s.next_due(&b), Some(t0 + Duration::from_millis(10)));

    // 35 ms: cycles 1 and 2 are overdue by a whole period; 3 (due at 30 ms) runs, late.
    advance(Duration::from_millis(35)).await;
    let taken = s.take(Instant::now(), 1, 2, &mut b);
    assert_eq!(taken.missed, [(1, 2)]);
    assert_eq!(taken.late, [1]);
    let t = &taken.txns[0];
    assert_eq!(t.seq, 3);
    let sample = s.complete(t, vec![1, 2], Instant::now()).unwrap();
    assert_eq!(sample.scheduled_at, t0 + Duration::from_millis(30));

    // 45 ms: cycle 4 (due at 40 ms) is late by less than a period: it runs, nothing missed.
    advance(Duration::from_millis(10)).await;
    let taken = s.take(Instant::now(), 1, 2, &mut b);
    assert!(taken.missed.is_empty());
    assert_eq!(taken.txns[0].seq, 4);
}

#[tokio::test(start_paused = true)]
async fn units_due_together_are_taken_by_deadline_then_unit() {
    let mut s = Scheduler::<Modbus>::default();
    let mut b = Breakers::new(3, Duration::from_secs(1));
    let t0 = Instant::now();
    for unit in [3, 1, 2] {
        let (a, rx) = attach(unit, vec![ReadBlock::holding(0, 1)], 100);
        std::mem::forget(rx);
        s.attach(a, &UnitOptions::default(), t0);
    }
    let units: Vec<u8> = s
        .take(t0, 8, 0, &mut b)
        .txns
        .iter()
        .map(|t| t.unit)
        .collect();
    assert_eq!(units, [1, 2, 3]);
    assert!(s.take(t0, 8, 0, &mut b).txns.is_empty(), "cycles in flight");
}

#[tokio::test(start_paused = true)]
async fn a_demoted_unit_is_only_probed_one_read_at_a_time_without_retries() {
    let mut s = Scheduler::<Modbus>::default();
    let probe = Duration::from_millis(500);
    let mut b = Breakers::new(1, probe);
    let t0 = Instant::now();
    let (a, _rx) = attach(
        4,
        vec![ReadBlock::holding(0, 1), ReadBlock::input(0, 1)],
        10,
    );
    s.attach(a, &UnitOptions::default(), t0);
    // A healthy neighbour (the probe interval protects it), idle for a minute once polled.
    let (n, _nrx) = attach(9, vec![ReadBlock::holding(0, 1)], 60_000);
    s.attach(n, &UnitOptions::default(), t0);
    assert!(b.timed_out(4, t0).is_some());
    let first = s.take(t0, 8, 3, &mut b).txns;
    assert!(first.iter().all(|t| t.unit == 9), "not before the probe");
    assert!(s.complete(&first[0], vec![9], t0).is_some());
    assert_eq!(s.next_due(&b), Some(t0 + probe));
    advance(probe).await;
    let taken = s.take(Instant::now(), 8, 3, &mut b);
    assert_eq!(taken.txns.len(), 1, "a probe is one transaction");
    assert!(
        taken.missed.is_empty(),
        "a dead unit's cycles are not counted as missed"
    );
    assert_eq!(taken.txns[0].max_retries, 0);
    assert_eq!(taken.txns[0].seq, 50);
    let t = taken.txns[0].clone();
    // It answers: restored, and the rest of the cycle goes with normal retries.
    assert!(b.answered(4, Instant::now()).is_some());
    assert!(s.complete(&t, vec![1], Instant::now()).is_none());
    let rest = s.take(Instant::now(), 8, 3, &mut b);
    assert_eq!((rest.txns.len(), rest.txns[0].max_retries), (1, 3));
    let sample = s.complete(&rest.txns[0], vec![2], Instant::now()).unwrap();
    assert_eq!(sample.blocks, [vec![1], vec![2]]);
}

fn spanning(span_gaps: u32) -> UnitOptions {
    UnitOptions {
        reads: ReadRules {
            span_gaps,
            ..ReadRules::default()
        },
        response_timeout: None,
    }
}

#[test]
fn the_profiles_most_registers_per_read_holds_on_the_bus_too() {
    // Two touching blocks of 4: one read by default, two when the drive reads at most 4.
    let blocks = [ReadBlock::holding(0, 4), ReadBlock::holding(4, 4)];
    assert_eq!(merge(&blocks, &ReadRules::default()).len(), 1);
    assert_eq!(merge(&blocks, &ReadRules::contiguous(4)).len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_refused_padded_read_restarts_the_cycle_with_the_unpadded_plan() {
    let mut s = Scheduler::<Modbus>::default();
    let mut b = Breakers::new(3, Duration::from_secs(1));
    let t0 = Instant::now();
    let blocks = vec![
        ReadBlock::holding(0, 1),
        ReadBlock::holding(2, 1),
        ReadBlock::input(0, 1),
        ReadBlock::input(3, 1),
    ];
    let (a, _rx) = attach(1, blocks.clone(), 10);
    s.attach(a, &spanning(2), t0);
    // Both padded reads in flight at once (a TCP window).
    let taken = s.take(t0, 8, 0, &mut b);
    assert_eq!(taken.txns.len(), 2);
    let (first, second) = (taken.txns[0].clone(), taken.txns[1].clone());
    assert!(s.fall_back(&first), "the holding read was padded");
    assert!(
        !s.is_live(&second),
        "the other read belongs to the old plan"
    );
    assert!(s.complete(&second, answer(&second), t0).is_none());
    assert!(!s.fall_back(&second), "once");
    // Same cycle, four unpadded reads; the sample carries every block's own words.
    let rest = s.take(t0, 8, 0, &mut b);
    assert!(rest.missed.is_empty());
    assert_eq!(rest.txns.len(), 4);
    assert!(rest.txns.iter().all(|t| t.seq == 0));
    let mut sample = None;
    for t in &rest.txns {
        sample = s.complete(t, answer(t), t0);
    }
    let sample = sample.expect("the cycle completes");
    assert_eq!((sample.seq, sample.scheduled_at), (0, t0));
    for (block, got) in blocks.iter().zip(&sample.blocks) {
        assert_eq!(got, &vec![word(block.table, u32::from(block.address))]);
    }
    // The next cycle keeps the unpadded plan.
    advance(Duration::from_millis(10)).await;
    assert_eq!(s.take(Instant::now(), 8, 0, &mut b).txns.len(), 4);
}

#[tokio::test(start_paused = true)]
async fn an_unpadded_read_has_nothing_to_fall_back_to() {
    let mut s = Scheduler::<Modbus>::default();
    let mut b = Breakers::new(3, Duration::from_secs(1));
    let t0 = Instant::now();
    let (a, _rx) = attach(
        1,
        vec![ReadBlock::holding(0, 1), ReadBlock::holding(5, 1)],
        10,
    );
    s.attach(a, &spanning(2), t0);
    let taken = s.take(t0, 8, 0, &mut b);
    assert_eq!(taken.txns.len(), 2, "a gap of 4 is not spanned");
    assert!(!s.fall_back(&taken.txns[0]));
    assert!(s.is_live(&taken.txns[0]));
}

#[tokio::test(start_paused = true)]
async fn with_every_unit_demoted_probes_keep_to_the_period_until_the_line_is_back() {
    let mut s = Scheduler::<Modbus>::default();
    let probe = Duration::from_millis(1000);
    let mut b = Breakers::new(1, probe);
    let t0 = Instant::now();
    let mut sinks = Vec::new();
    for unit in [1, 2] {
        let (a, rx) = attach(unit, vec![ReadBlock::holding(0, 1)], 100);
        sinks.push(rx);
        s.attach(a, &UnitOptions::default(), t0);
        assert!(b.timed_out(unit, t0).is_some());
    }
    assert!(s.all_demoted(&b));
    // No healthy unit to protect: both are probed at once and then every period.
    let taken = s.take(t0, 8, 3, &mut b).txns;
    assert_eq!(
        taken
            .iter()
            .map(|t| (t.unit, t.max_retries))
            .collect::<Vec<_>>(),
        [(1, 0), (2, 0)]
    );
    for t in &taken {
        s.fail(t.unit, t.seq);
    }
    assert_eq!(s.next_due(&b), Some(t0 + Duration::from_millis(100)));
    advance(Duration::from_millis(100)).await;
    let now = Instant::now();
    let taken = s.take(now, 1, 3, &mut b).txns;
    assert_eq!((taken.len(), taken[0].unit, taken[0].seq), (1, 1, 1));
    // Unit 1 answers: the line is back, and unit 2 keeps its period for one probe interval.
    assert!(b.answered(1, now).is_some());
    b.line_back(now);
    assert!(!s.all_demoted(&b) && s.probe_freely(&b, now));
    let taken = s.take(now, 8, 3, &mut b).txns;
    assert_eq!(taken.iter().map(|t| t.unit).collect::<Vec<_>>(), [2]);
    s.fail(2, taken[0].seq);
    // Past the interval, unit 2 (still silent) is back to one probe per interval.
    advance(probe).await;
    let later = Instant::now();
    assert!(!s.probe_freely(&b, later));
    assert!(b.take_probe(2, later));
    assert!(!b.take_probe(2, later + Duration::from_millis(100)));
}

/// A cycle started within a tenth of its period after its slot is on time; later than that,
/// it is sent late and counted late; overdue by a whole period, the slots passed are skipped
/// (missed) and the current one is sent, late if it is.
#[tokio::test(start_paused = true)]
async fn late_cycles_are_sent_and_counted_apart_from_skipped_ones() {
    let mut s = Scheduler::<Modbus>::default();
    let mut b = Breakers::new(3, Duration::from_secs(1));
    let t0 = Instant::now();
    let (a, _rx) = attach(1, vec![ReadBlock::holding(0, 2)], 10);
    s.attach(a, &UnitOptions::default(), t0);
    let mut run = |at: Duration| {
        let taken = s.take(t0 + at, 1, 2, &mut b);
        let t = taken.txns[0].clone();
        s.complete(&t, vec![0, 0], t0 + at);
        (t.seq, taken.late, taken.missed)
    };
    assert_eq!(run(Duration::ZERO), (0, vec![], vec![]));
    assert_eq!(
        run(Duration::from_millis(11)),
        (1, vec![], vec![]),
        "1 ms: on time"
    );
    assert_eq!(
        run(Duration::from_millis(24)),
        (2, vec![1], vec![]),
        "4 ms: late"
    );
    assert_eq!(
        run(Duration::from_millis(51)),
        (5, vec![], vec![(1, 2)]),
        "skips 3 and 4"
    );
    assert_eq!(
        run(Duration::from_millis(68)),
        (6, vec![1], vec![]),
        "8 ms: late"
    );
}
