//! Store and forward: the backlog keeps what a live session would have published, within its
//! byte and age bounds, oldest dropped first and counted, in order; replayed as historical DDATA
//! after the births.

use linevisor_sparkplug::{Backlog, DeviceMetric, EdgeNode, MetricValue, NodeConfig};
use proptest::prelude::*;

proptest! {
    #[test]
    fn bounds_hold_and_order_is_kept(
        samples in proptest::collection::vec((0usize..3, -20i32..20, 1u64..50), 1..300),
        max_bytes in 200usize..5000,
        max_age in 100u64..3000,
    ) {
        let mut b = Backlog::new(max_bytes, max_age);
        let mut now = 0;
        let mut pushed = 0u64;
        for (d, v, dt) in samples {
            now += dt;
            let before = (b.len(), b.dropped);
            b.keep(&format!("d{d}"), &[("m", MetricValue::Int32(v))], now, |_| 2.0);
            if b.len() + b.dropped as usize > before.0 + before.1 as usize {
                pushed += 1;
            }
            prop_assert!(b.bytes() <= max_bytes, "{} > {max_bytes}", b.bytes());
        }
        let len = b.len() as u64;
        let dropped_before = b.dropped;
        let kept = b.drain(now);
        prop_assert_eq!(pushed, len + dropped_before);
        prop_assert!(kept.windows(2).all(|w| w[0].sample_ms <= w[1].sample_ms));
        prop_assert!(kept.iter().all(|k| now - k.sample_ms <= max_age));
        prop_assert!(b.is_empty());
    }
}

#[test]
fn changes_within_the_deadband_are_not_kept() {
    let mut b = Backlog::new(1 << 20, 60_000);
    for (t, v) in [(1, 0.0), (2, 0.4), (3, 0.8), (4, 1.2), (5, 1.3)] {
        b.keep("d", &[("v", MetricValue::Double(v))], t, |_| 1.0);
    }
    let kept: Vec<u64> = b.drain(5).iter().map(|k| k.sample_ms).collect();
    assert_eq!(kept, [1, 4]);
}

#[test]
fn replayed_history_is_flagged_and_sequenced_after_the_births() {
    let mut node = EdgeNode::new(NodeConfig {
        group: "g".into(),
        edge_node: "e".into(),
        max_interval_ms: 0,
    });
    let m = DeviceMetric {
        name: "v".into(),
        value: MetricValue::Double(0.0),
        unit: None,
        deadband: 0.0,
    };
    node.device_birth("d", vec![m], 0);
    let births = node.online(100);
    assert_eq!(births.len(), 2);
    let out = node.device_history("d", &[("v".into(), MetricValue::Double(3.0))], 50, 100);
    let p = &out[0];
    assert_eq!(p.payload.seq, Some(2));
    assert_eq!(p.payload.metrics[0].is_historical, Some(true));
    assert_eq!(p.payload.metrics[0].timestamp, Some(50));
    // Undeclared metrics are left out; an unborn device publishes nothing.
    assert!(
        node.device_history("d", &[("x".into(), MetricValue::Double(1.0))], 50, 100)
            .is_empty()
    );
    assert!(
        node.device_history("nobody", &[("v".into(), MetricValue::Double(1.0))], 50, 100)
            .is_empty()
    );
}
