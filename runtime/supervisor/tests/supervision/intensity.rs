//! Restart intensity and escalation, backoff growth and jitter.

use std::time::Duration;

use linevisor_supervisor::{
    Backoff, EventBus, EventKind, HandleState, Intensity, SeededJitter, Strategy, SupervisorError,
    SupervisorSpec,
};

use crate::common::*;

#[tokio::test(start_paused = true)]
async fn intensity_exceeded_stops_everything_and_escalates_to_the_parent() {
    let probe = Probe::default();
    let inner_a = worker("a", &probe);
    let inner_b = worker("b", &probe);
    let other = worker("other", &probe);
    let (ha, hb, ho) = (inner_a.handle(), inner_b.handle(), other.handle());
    let inner = SupervisorSpec::new(Strategy::OneForOne)
        .intensity(Intensity::new(2, Duration::from_secs(10)))
        .backoff(Backoff::NONE)
        .child(inner_a)
        .child(inner_b);
    let inner_ref = inner.handle();
    let events = EventBus::default();
    let mut rx = events.subscribe();
    let root = SupervisorSpec::new(Strategy::OneForOne)
        .intensity(Intensity::new(1, Duration::from_secs(60)))
        .backoff(Backoff::NONE)
        .child(inner.into_child("inner"))
        .child(other)
        .start("root", events)
        .await
        .unwrap();
    assert_eq!(&*inner_ref.path(), "root/inner");
    let other_gen = ping(&ho).await;

    // Two restarts are tolerated...
    for _ in 0..2 {
        ha.cast(Msg::Crash).unwrap();
        expect(&mut rx, is("a", restarted)).await;
    }
    // ... the third within 10 s is a meltdown: b is stopped (safe-stop runs) and the inner
    // supervisor fails, so root restarts the whole inner subtree once.
    ha.cast(Msg::Crash).unwrap();
    let seen = until(&mut rx, is("inner", restarted)).await;
    let t = trace(&seen);
    let pos = |s: &str| {
        t.iter()
            .position(|x| x == s)
            .unwrap_or_else(|| panic!("{s} in {t:?}"))
    };
    assert!(pos("a:escalated") < pos("b:stopped"));
    assert!(pos("b:stopped") < pos("inner:failed"));
    assert!(pos("inner:failed") < pos("inner:restarted"));
    let esc = seen
        .iter()
        .find(|e| matches!(e.kind, EventKind::Escalated { .. }))
        .unwrap();
    assert_eq!(&*esc.supervisor, "root/inner");
    assert_eq!(
        esc.kind,
        EventKind::Escalated {
            restarts: 3,
            max: 2,
            period: Duration::from_secs(10)
        }
    );
    // Same handles work again with the restarted subtree; the other subtree was untouched.
    assert!(ping(&ha).await > 0 && ping(&hb).await > 0);
    assert_eq!(ping(&ho).await, other_gen);
    assert!(probe.lines_with("safe:").contains(&"safe:b".to_owned()));

    // A second inner meltdown within root's 60 s exceeds root's intensity: the root gives up.
    for _ in 0..3 {
        ha.cast(Msg::Crash).unwrap();
    }
    expect(&mut rx, |e| {
        &*e.supervisor == "root" && matches!(e.kind, EventKind::Escalated { .. })
    })
    .await;
    root.wait().await;
    assert!(!root.is_running());
    assert_eq!(ho.state(), HandleState::Unavailable);
    assert!(matches!(
        root.which_children().await,
        Err(SupervisorError::SupervisorDown { .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn restarts_spread_beyond_the_period_never_melt_down() {
    let probe = Probe::default();
    let a = worker("a", &probe);
    let ha = a.handle();
    let events = EventBus::default();
    let mut rx = events.subscribe();
    let sup = SupervisorSpec::new(Strategy::OneForOne)
        .intensity(Intensity::new(1, Duration::from_secs(5)))
        .backoff(Backoff::NONE)
        .child(a)
        .start("sup", events)
        .await
        .unwrap();
    for _ in 0..10 {
        ha.cast(Msg::Crash).unwrap();
        expect(&mut rx, is("a", restarted)).await;
        tokio::time::advance(Duration::from_secs(5)).await;
    }
    assert!(sup.is_running());
}

async fn backoff_run(seed: u64) -> Vec<(Duration, Duration)> {
    let probe = Probe::default();
    let a = worker("a", &probe);
    let ha = a.handle();
    let events = EventBus::default();
    let mut rx = events.subscribe();
    let backoff = Backoff::exponential(Duration::from_millis(100), Duration::from_millis(800))
        .with_jitter(0.5)
        .with_reset_after(Duration::from_secs(30));
    let _sup = SupervisorSpec::new(Strategy::OneForOne)
        .intensity(Intensity::new(100, Duration::from_secs(60)))
        .backoff(backoff)
        .jitter(SeededJitter::new(seed))
        .child(a)
        .start("sup", events)
        .await
        .unwrap();
    let mut out = Vec::new();
    for _ in 0..7 {
        ha.cast(Msg::Crash).unwrap();
        expect(&mut rx, is("a", failed)).await;
        let t0 = tokio::time::Instant::now();
        let e = expect(&mut rx, is("a", restarted)).await;
        let EventKind::Restarted { backoff, .. } = e.kind else {
            unreachable!()
        };
        out.push((backoff, t0.elapsed()));
    }
    // Running for reset_after ends the streak: the next restart is immediate again.
    tokio::time::advance(Duration::from_secs(30)).await;
    ha.cast(Msg::Crash).unwrap();
    let e = expect(&mut rx, is("a", restarted)).await;
    assert_eq!(
        e.kind,
        EventKind::Restarted {
            count: 8,
            backoff: Duration::ZERO
        }
    );
    out
}

#[tokio::test(start_paused = true)]
async fn backoff_grows_exponentially_with_bounded_jitter() {
    let run = backoff_run(3).await;
    let bases = [0u64, 100, 200, 400, 800, 800, 800];
    for ((delay, waited), base) in run.iter().zip(bases) {
        let base = Duration::from_millis(base);
        assert!(*delay <= base, "{delay:?} > {base:?}");
        assert!(
            base.is_zero() || *delay > base / 2,
            "{delay:?} <= half {base:?}"
        );
        // The restart really waited that long (tokio timers have 1 ms resolution).
        assert!(*waited >= *delay && *waited <= *delay + Duration::from_millis(1));
    }
    // Jitter is seeded: same seed, same delays; another seed, other delays.
    assert_eq!(backoff_run(3).await, run);
    assert_ne!(backoff_run(4).await, run);
}
