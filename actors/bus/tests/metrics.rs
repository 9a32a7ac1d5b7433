//! The metrics snapshot counts exactly what the test did. Paused time, in-memory RTU line.

mod common;

use std::time::Duration;

use common::*;
use linevisor_bus::{BusSpec, ReadBlock, Write};
use linevisor_modbus::timing::RtuTiming;
use tokio::sync::mpsc;

const GUARD: Duration = Duration::from_secs(30);

#[tokio::test(start_paused = true)]
async fn snapshot_counts_match_the_transactions_made() {
    let service = TestService::new(register_map(&[1]));
    let line = DuplexLine::default();
    let opener = line.opener(service, 19_200, None);
    let (bus, _join) = spawn(BusSpec::Rtu(rtu_spec(19_200)), opener, options(100)).await;

    // 5 cycles of one 2-register read, then detach.
    let (sink, mut rx) = mpsc::channel(16);
    attach(&bus, 1, vec![ReadBlock::holding(0, 2)], 100, &sink).await;
    for seq in 0..5 {
        assert_eq!(sample_of(&mut rx, 1, GUARD).await.seq, seq);
    }
    bus.detach(1).unwrap();
    // 2 writes, 1 refused write, 1 read of a unit nobody hosts.
    for value in [1, 2] {
        bus.write(1, Write::Single { address: 10, value })
            .await
            .unwrap()
            .unwrap();
    }
    let refused = bus
        .write(
            1,
            Write::Single {
                address: 500,
                value: 0,
            },
        )
        .await
        .unwrap();
    assert!(refused.is_err());
    assert!(
        bus.read(9, ReadBlock::holding(0, 2))
            .await
            .unwrap_err()
            .is_timeout()
    );

    let m = bus.metrics().await.unwrap();
    let c = &m.counters;
    assert_eq!(
        (
            c.transactions,
            c.samples,
            c.exceptions,
            c.timeouts,
            c.crc_errors
        ),
        (9, 5, 1, 1, 0)
    );
    assert_eq!(
        (c.missed_cycles, c.overruns, c.demotions, c.cycle_failures),
        (0, 0, 0, 0)
    );
    let u1 = m.units.iter().find(|u| u.unit == 1).unwrap();
    let u9 = m.units.iter().find(|u| u.unit == 9).unwrap();
    assert!(!u1.attached);
    assert_eq!((u1.counters.transactions, u1.counters.samples), (8, 5));
    assert_eq!((u9.counters.transactions, u9.counters.timeouts), (1, 1));
    // Every answered transaction has a latency; the timeout has none.
    assert_eq!(m.latency.count, 8);
    assert_eq!(m.latency.counts.iter().sum::<u64>(), 8);
    assert_eq!(u1.latency.count, 8);

    // RTU frames: requests of 8 bytes; answers 9 (2 registers), 8 (write echo), 5 (exception).
    assert_eq!(m.bytes_sent, 9 * 8);
    assert_eq!(m.bytes_received, 5 * 9 + 2 * 8 + 5);
    let t = RtuTiming::from_baud(19_200);
    let chars = (m.bytes_sent + m.bytes_received) as f64;
    let frames = 9.0 + 8.0;
    let wire = chars * t.char_time.as_secs_f64() + frames * t.t35.as_secs_f64();
    let want = 100.0 * wire / m.uptime.as_secs_f64();
    let got = m.utilisation_percent.unwrap();
    assert!((got - want).abs() < 1e-6 * want.max(1.0), "{got} vs {want}");
    assert!(m.transactions_per_s > 0.0);
    assert_eq!((m.link_losses, m.open_failures, m.queued), (0, 0, 0));
}
