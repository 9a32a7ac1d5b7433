//! SYNC producer: period, counter, skipped cycles and jitter figures (paused time, so the
//! measured jitter is exactly zero unless a cycle is stalled on purpose).

use std::sync::Arc;
use std::time::Duration;

use linevisor_can::{CanTransport, VirtualBus};
use linevisor_canopen::{SyncConfig, SyncProducer};

#[tokio::test(start_paused = true)]
async fn sync_frames_counter_and_jitter() {
    let bus = VirtualBus::new();
    let monitor = bus.endpoint();
    let period = Duration::from_millis(10);
    let mut sync = SyncProducer::new(
        Arc::new(bus.endpoint()),
        SyncConfig {
            period,
            counter_overflow: Some(3),
        },
    )
    .unwrap();
    let mut counters = Vec::new();
    for _ in 0..7 {
        let tick = sync.tick().await.unwrap();
        let f = monitor.recv().await.unwrap();
        assert_eq!(f.id().raw(), 0x080);
        assert_eq!(f.data(), [tick.counter.unwrap()]);
        counters.push(tick.counter.unwrap());
    }
    assert_eq!(counters, [1, 2, 3, 1, 2, 3, 1]);
    let j = sync.jitter();
    assert_eq!(
        (j.periods, j.missed, j.p99, j.max),
        (6, 0, Duration::ZERO, Duration::ZERO)
    );

    // A stalled caller: Skip drops the late cycles instead of sending a burst.
    tokio::time::sleep(Duration::from_millis(35)).await;
    let late = sync.tick().await.unwrap();
    let next = sync.tick().await.unwrap();
    assert_eq!(
        next.at - late.at,
        Duration::from_millis(5),
        "back on the 10 ms grid"
    );
    let j = sync.jitter();
    assert_eq!(j.missed, 1);
    assert_eq!(j.max, Duration::from_millis(25), "35 ms instead of 10");
    assert!(
        SyncProducer::new(
            Arc::new(bus.endpoint()),
            SyncConfig {
                period,
                counter_overflow: Some(241)
            }
        )
        .is_err()
    );
}
