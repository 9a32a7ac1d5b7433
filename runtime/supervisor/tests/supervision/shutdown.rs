//! Ordered shutdown: reverse start order, per-child timeouts, kill, safe-stop.

use std::time::Duration;

use linevisor_supervisor::{
    Backoff, EventBus, EventKind, HandleState, Shutdown, Strategy, SupervisorError, SupervisorSpec,
};

use crate::common::*;

#[tokio::test(start_paused = true)]
async fn children_stop_in_reverse_order_with_their_safe_stop() {
    let probe = Probe::default();
    let specs: Vec<_> = ["a", "b", "c"].iter().map(|n| worker(n, &probe)).collect();
    let handles: Vec<_> = specs.iter().map(|s| s.handle()).collect();
    let events = EventBus::default();
    let mut rx = events.subscribe();
    let sup = specs
        .into_iter()
        .fold(
            SupervisorSpec::new(Strategy::OneForOne),
            SupervisorSpec::child,
        )
        .start("sup", events)
        .await
        .unwrap();
    sup.shutdown().await.unwrap();
    let t = trace(&drain(&mut rx));
    assert_eq!(
        t,
        [
            "a:started",
            "b:started",
            "c:started",
            "c:stopped",
            "c:safe_stopped",
            "b:stopped",
            "b:safe_stopped",
            "a:stopped",
            "a:safe_stopped"
        ]
    );
    assert_eq!(probe.lines_with("safe:"), ["safe:c", "safe:b", "safe:a"]);
    assert!(
        handles
            .iter()
            .all(|h| h.state() == HandleState::Unavailable)
    );
    assert!(!sup.is_running());
}

#[tokio::test(start_paused = true)]
async fn a_child_ignoring_stop_is_killed_after_its_timeout_and_still_safe_stopped() {
    let probe = Probe::default();
    let a = worker("a", &probe);
    let stuck = worker("stuck", &probe).shutdown(Shutdown::Timeout(Duration::from_secs(2)));
    let c = worker("c", &probe).shutdown(Shutdown::BrutalKill);
    let hs = stuck.handle();
    let events = EventBus::default();
    let mut rx = events.subscribe();
    let sup = SupervisorSpec::new(Strategy::OneForOne)
        .child(a)
        .child(stuck)
        .child(c)
        .start("sup", events)
        .await
        .unwrap();
    // The stuck child is busy in a handler that never ends; a queued message waits behind it.
    let hang = hs.send(Msg::Hang).unwrap();
    let queued = hs.send(Msg::Command(1)).unwrap();
    tokio::task::yield_now().await;

    let t0 = tokio::time::Instant::now();
    sup.shutdown().await.unwrap();
    assert_eq!(
        t0.elapsed(),
        Duration::from_secs(2),
        "waited exactly the stuck child's timeout"
    );

    let t: Vec<_> = trace(&drain(&mut rx))
        .into_iter()
        .filter(|s| !s.ends_with("started"))
        .collect();
    assert_eq!(
        t,
        [
            "c:killed",
            "c:stopped",
            "c:safe_stopped",
            "stuck:shutdown_timeout",
            "stuck:killed",
            "stuck:stopped",
            "stuck:safe_stopped",
            "a:stopped",
            "a:safe_stopped"
        ]
    );
    assert_eq!(
        probe.lines_with("safe:"),
        ["safe:c", "safe:stuck", "safe:a"]
    );
    // The message in hand when it was killed is reported failed; the queued one unavailable.
    assert!(
        matches!(hang.await, Err(SupervisorError::Failed { reason, .. }) if reason.contains("killed"))
    );
    assert!(matches!(
        queued.await,
        Err(SupervisorError::Unavailable { .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn a_stopping_parent_stops_nested_children_properly() {
    // ractor alone would kill the grandchildren without any cleanup.
    let probe = Probe::default();
    let inner = SupervisorSpec::new(Strategy::OneForOne)
        .child(worker("x", &probe))
        .child(worker("y", &probe));
    let events = EventBus::default();
    let root = SupervisorSpec::new(Strategy::OneForOne)
        .child(worker("first", &probe))
        .child(inner.into_child("inner"))
        .child(worker("last", &probe))
        .start("root", events)
        .await
        .unwrap();
    root.shutdown().await.unwrap();
    assert_eq!(
        probe.lines_with("safe:"),
        ["safe:last", "safe:y", "safe:x", "safe:first"]
    );
}

#[tokio::test(start_paused = true)]
async fn safe_stop_failures_and_timeouts_are_reported() {
    let probe = Probe::default();
    let slow = worker("slow", &probe).safe_stop(Duration::from_millis(50), |_| async {
        std::future::pending::<()>().await;
        Ok(())
    });
    let bad = worker("bad", &probe).safe_stop(Duration::from_secs(1), |_| async {
        Err("drive did not reach its safe state".into())
    });
    let events = EventBus::default();
    let mut rx = events.subscribe();
    let sup = SupervisorSpec::new(Strategy::OneForOne)
        .backoff(Backoff::NONE)
        .child(slow)
        .child(bad)
        .start("sup", events)
        .await
        .unwrap();
    sup.shutdown().await.unwrap();
    let failures: Vec<_> = drain(&mut rx)
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::SafeStopFailed { reason } => Some((e.child.to_string(), reason)),
            _ => None,
        })
        .collect();
    assert_eq!(
        failures,
        [
            (
                "bad".to_owned(),
                "drive did not reach its safe state".to_owned()
            ),
            ("slow".to_owned(), "timed out after 50ms".to_owned())
        ]
    );
}
