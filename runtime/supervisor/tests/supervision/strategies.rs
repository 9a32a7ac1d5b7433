//! Strategies, restart types, dynamic children.

use std::time::Duration;

use linevisor_supervisor::{
    Backoff, ChildStatus, EventBus, EventKind, HandleState, Intensity, Restart, Strategy,
    SupervisorError, SupervisorRef, SupervisorSpec,
};

use crate::common::*;

fn generous() -> Intensity {
    Intensity::new(100, Duration::from_secs(1))
}

async fn three(
    strategy: Strategy,
    probe: &Probe,
) -> (
    SupervisorRef,
    Vec<linevisor_supervisor::ChildHandle<Msg>>,
    EventBus,
) {
    let specs: Vec<_> = ["a", "b", "c"].iter().map(|n| worker(n, probe)).collect();
    let handles: Vec<_> = specs.iter().map(|s| s.handle()).collect();
    let spec = specs.into_iter().fold(
        SupervisorSpec::new(strategy)
            .intensity(generous())
            .backoff(Backoff::NONE),
        SupervisorSpec::child,
    );
    let events = EventBus::default();
    let sup = spec.start("sup", events.clone()).await.unwrap();
    (sup, handles, events)
}

async fn generations(handles: &[linevisor_supervisor::ChildHandle<Msg>]) -> Vec<u64> {
    let mut out = Vec::new();
    for h in handles {
        out.push(ping(h).await);
    }
    out
}

#[tokio::test(start_paused = true)]
async fn one_for_one_restarts_only_the_failed_child() {
    let probe = Probe::default();
    let (_sup, h, events) = three(Strategy::OneForOne, &probe).await;
    let mut rx = events.subscribe();
    let before = generations(&h).await;
    h[1].cast(Msg::Crash).unwrap();
    let seen = until(&mut rx, is("b", restarted)).await;
    assert_eq!(trace(&seen), ["b:failed", "b:restarted"]);
    let after = generations(&h).await;
    assert_eq!(after[0], before[0]);
    assert!(after[1] > before[1]);
    assert_eq!(after[2], before[2]);
    // A crash-restart is not a planned stop: no safe-stop.
    assert!(probe.lines_with("safe:").is_empty());
}

#[tokio::test(start_paused = true)]
async fn one_for_all_stops_the_others_in_reverse_and_restarts_all_in_order() {
    let probe = Probe::default();
    let (_sup, h, events) = three(Strategy::OneForAll, &probe).await;
    let mut rx = events.subscribe();
    let before = generations(&h).await;
    h[1].cast(Msg::Crash).unwrap();
    let seen = until(&mut rx, is("c", restarted)).await;
    let relevant: Vec<_> = trace(&seen)
        .into_iter()
        .filter(|t| !t.ends_with("safe_stopped"))
        .collect();
    assert_eq!(
        relevant,
        [
            "b:failed",
            "c:stopped",
            "a:stopped",
            "a:restarted",
            "b:restarted",
            "c:restarted"
        ]
    );
    // Planned stops of the siblings ran their safe-stop, in reverse order, told that a new
    // instance follows.
    assert_eq!(
        probe.lines_with("safe:"),
        ["safe:c@restart", "safe:a@restart"]
    );
    let after = generations(&h).await;
    assert!(after.iter().zip(&before).all(|(a, b)| a > b));
}

#[tokio::test(start_paused = true)]
async fn rest_for_one_restarts_the_failed_child_and_those_after_it() {
    let probe = Probe::default();
    let (_sup, h, events) = three(Strategy::RestForOne, &probe).await;
    let mut rx = events.subscribe();
    let before = generations(&h).await;
    h[1].cast(Msg::Fail).unwrap();
    let seen = until(&mut rx, is("c", restarted)).await;
    let relevant: Vec<_> = trace(&seen)
        .into_iter()
        .filter(|t| !t.ends_with("safe_stopped"))
        .collect();
    assert_eq!(
        relevant,
        ["b:failed", "c:stopped", "b:restarted", "c:restarted"]
    );
    let after = generations(&h).await;
    assert_eq!(after[0], before[0]);
    assert!(after[1] > before[1] && after[2] > before[2]);
}

#[tokio::test(start_paused = true)]
async fn restart_types_follow_otp() {
    let probe = Probe::default();
    let perm = worker("perm", &probe);
    let trans = worker("trans", &probe).restart(Restart::Transient);
    let trans2 = worker("trans2", &probe).restart(Restart::Transient);
    let temp = worker("temp", &probe).restart(Restart::Temporary);
    let (hp, ht, ht2, hx) = (
        perm.handle(),
        trans.handle(),
        trans2.handle(),
        temp.handle(),
    );
    let events = EventBus::default();
    let mut rx = events.subscribe();
    let sup = SupervisorSpec::new(Strategy::OneForOne)
        .intensity(generous())
        .backoff(Backoff::NONE)
        .child(perm)
        .child(trans)
        .child(trans2)
        .child(temp)
        .start("sup", events)
        .await
        .unwrap();

    // Permanent: restarted even after a normal exit.
    hp.cast(Msg::Exit(None)).unwrap();
    expect(&mut rx, is("perm", restarted)).await;
    // Transient: restarted after an abnormal exit...
    ht.cast(Msg::Crash).unwrap();
    expect(&mut rx, is("trans", restarted)).await;
    // ... but not after a normal one.
    ht2.cast(Msg::Exit(Some("shutdown: done".into()))).unwrap();
    expect(&mut rx, is("trans2", stopped)).await;
    // Temporary: never restarted, and forgotten.
    hx.cast(Msg::Crash).unwrap();
    expect(&mut rx, is("temp", failed)).await;

    let info = sup.which_children().await.unwrap();
    let rows: Vec<_> = info.iter().map(|i| (i.id.as_str(), i.status)).collect();
    assert_eq!(
        rows,
        [
            ("perm", ChildStatus::Running),
            ("trans", ChildStatus::Running),
            ("trans2", ChildStatus::Stopped)
        ]
    );
    assert_eq!(ht2.state(), HandleState::Unavailable);
    assert_eq!(hx.state(), HandleState::Unavailable);
    assert!(matches!(
        hx.cast(Msg::Command(1)),
        Err(SupervisorError::Unavailable { .. })
    ));
    // A transient child that went down stays restartable through the API.
    sup.restart_child("trans2").await.unwrap();
    assert!(ping(&ht2).await > 0);
    // Children that went down for good ran their safe-stop.
    assert_eq!(probe.lines_with("safe:"), ["safe:trans2", "safe:temp"]);
}

#[tokio::test(start_paused = true)]
async fn temporary_sibling_is_not_restarted_by_one_for_all() {
    let probe = Probe::default();
    let a = worker("a", &probe);
    let t = worker("t", &probe).restart(Restart::Temporary);
    let (ha, ht) = (a.handle(), t.handle());
    let events = EventBus::default();
    let mut rx = events.subscribe();
    let sup = SupervisorSpec::new(Strategy::OneForAll)
        .intensity(generous())
        .backoff(Backoff::NONE)
        .child(a)
        .child(t)
        .start("sup", events)
        .await
        .unwrap();
    ha.cast(Msg::Crash).unwrap();
    expect(&mut rx, is("a", restarted)).await;
    let ids: Vec<_> = sup
        .which_children()
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.id.to_string())
        .collect();
    assert_eq!(ids, ["a"]);
    assert_eq!(ht.state(), HandleState::Unavailable);
}

#[tokio::test(start_paused = true)]
async fn dynamic_children_are_added_removed_terminated_and_restarted() {
    let probe = Probe::default();
    let events = EventBus::default();
    let mut rx = events.subscribe();
    let sup = SupervisorSpec::new(Strategy::OneForOne)
        .start("drives", events)
        .await
        .unwrap();
    let x1 = worker("x1", &probe);
    let h1 = x1.handle();
    // Messages sent before the child exists wait for its first instance.
    let early = h1.send(Msg::Command(7)).unwrap();
    sup.add_child(x1).await.unwrap();
    early.await.unwrap();
    expect(&mut rx, is("x1", |k| matches!(k, EventKind::Started))).await;
    assert!(matches!(
        sup.add_child(worker("x1", &probe)).await,
        Err(SupervisorError::DuplicateChild { .. })
    ));
    sup.add_child(worker("x2", &probe)).await.unwrap();

    sup.terminate_child("x1").await.unwrap();
    assert_eq!(h1.state(), HandleState::Unavailable);
    assert!(matches!(
        sup.restart_child("x2").await,
        Err(SupervisorError::WrongState {
            actual: "running",
            ..
        })
    ));
    sup.restart_child("x1").await.unwrap();
    assert_eq!(ping(&h1).await, 2);

    sup.remove_child("x1").await.unwrap();
    assert!(matches!(
        sup.remove_child("x1").await,
        Err(SupervisorError::UnknownChild { .. })
    ));
    let ids: Vec<_> = sup
        .which_children()
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.id.to_string())
        .collect();
    assert_eq!(ids, ["x2"]);
    assert_eq!(probe.lines_with("safe:"), ["safe:x1", "safe:x1"]);
    assert_eq!(probe.lines_with("cmd:"), ["cmd:x1:7"]);
}
