//! Planned replacement with state hand-over, and rollback during probation.

use std::time::Duration;

use linevisor_supervisor::{
    ActorProcessingErr, Backoff, EventBus, EventKind, Probation, Replacement, Strategy,
    SupervisorError, SupervisorRef, SupervisorSpec, Worker, WorkerCtx,
};

use crate::common::*;

async fn start(
    probe: &Probe,
) -> (
    SupervisorRef,
    linevisor_supervisor::ChildHandle<Msg>,
    EventBus,
) {
    let spec = worker("w", probe);
    let h = spec.handle();
    let events = EventBus::default();
    let sup = SupervisorSpec::new(Strategy::OneForOne)
        .backoff(Backoff::NONE)
        .child(spec)
        .start("sup", events.clone())
        .await
        .unwrap();
    (sup, h, events)
}

fn v2(probe: &Probe, crash_on_handled: Option<u64>) -> Replacement<TestWorker> {
    v2_proven_after(probe, crash_on_handled, 0)
}

fn v2_proven_after(
    probe: &Probe,
    crash_on_handled: Option<u64>,
    proven_after: u64,
) -> Replacement<TestWorker> {
    let probe = probe.clone();
    Replacement::new("2", move |handover: Option<u64>| {
        Ok((
            TestWorker {
                name: "w".into(),
                version: 2,
                probe: probe.clone(),
                fault: no_fault,
                crash_on_handled,
                proven_after,
            },
            handover.unwrap_or(0),
        ))
    })
    .probation(Probation {
        cycles: 3,
        duration: Duration::from_secs(1),
    })
}

#[tokio::test(start_paused = true)]
async fn replacement_hands_state_over_and_keeps_every_message() {
    let probe = Probe::default();
    let (sup, h, events) = start(&probe).await;
    let mut rx = events.subscribe();
    for i in 1..=5 {
        h.send(Msg::Command(i)).unwrap().await.unwrap();
    }
    assert_eq!(h.call(Msg::Count).await.unwrap(), 6);

    let replacing = tokio::spawn({
        let (sup, r) = (sup.clone(), v2(&probe, None));
        async move { sup.replace("w", r).await }
    });
    // A cyclic producer keeps sending while the swap and the probation go on; every message
    // waits in the handle for whichever version is running.
    let mut sent = 0u32;
    while !replacing.is_finished() {
        sent += 1;
        h.send(Msg::Command(5 + sent)).unwrap().await.unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    replacing.await.unwrap().unwrap();
    assert!(sent >= 3, "probation needs 3 messages and 1 s, took {sent}");

    // v2 continued from v1's exported counter: 6 + the commands + this call.
    assert_eq!(h.call(Msg::Count).await.unwrap(), 6 + u64::from(sent) + 1);
    let cmds: Vec<_> = probe.lines_with("cmd:");
    let expected: Vec<_> = (1..=5 + sent).map(|i| format!("cmd:w:{i}")).collect();
    assert_eq!(cmds, expected);
    let starts = probe.lines_with("start:");
    assert_eq!(starts.len(), 2);
    assert!(starts[1].starts_with("start:w:v2:g2:h"), "{starts:?}");
    // The old version's stop was planned: its safe-stop ran, told that a new version follows.
    assert_eq!(probe.lines_with("safe:"), ["safe:w@replace"]);

    let kinds: Vec<_> = drain(&mut rx).into_iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&EventKind::Replaced {
        from: "1".into(),
        to: "2".into()
    }));
    assert!(kinds.contains(&EventKind::Promoted {
        version: "2".into()
    }));
    assert_eq!(&*sup.which_children().await.unwrap()[0].version, "2");
}

#[tokio::test(start_paused = true)]
async fn a_new_version_failing_during_probation_is_rolled_back() {
    let probe = Probe::default();
    let (sup, h, events) = start(&probe).await;
    let mut rx = events.subscribe();
    for i in 1..=3 {
        h.send(Msg::Command(i)).unwrap().await.unwrap();
    }
    let replacing = tokio::spawn({
        let (sup, r) = (sup.clone(), v2(&probe, Some(2)));
        async move { sup.replace("w", r).await }
    });
    let mut outcomes = Vec::new();
    let mut i = 4;
    while !replacing.is_finished() {
        outcomes.push(h.send(Msg::Command(i)).unwrap().await);
        i += 1;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    match replacing.await.unwrap() {
        Err(SupervisorError::RolledBack {
            version,
            previous,
            reason,
            ..
        }) => {
            assert_eq!((&*version, &*previous), ("2", "1"));
            assert!(reason.contains("v2 crashes on message 2"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    // Exactly the message v2 died on failed; the rest were handled, in order.
    let failed: Vec<_> = outcomes.iter().filter(|o| o.is_err()).collect();
    assert_eq!(failed.len(), 1);
    assert!(matches!(failed[0], Err(SupervisorError::Failed { .. })));

    // v1 runs again from the state it had handed over.
    let starts = probe.lines_with("start:");
    assert_eq!(starts.len(), 3, "{starts:?}");
    let handover = |l: &str| l.rsplit(":h").next().unwrap().to_owned();
    assert!(starts[1].starts_with("start:w:v2:"));
    assert!(starts[2].starts_with("start:w:v1:"));
    assert_eq!(handover(&starts[1]), handover(&starts[2]));
    assert_eq!(&*sup.which_children().await.unwrap()[0].version, "1");
    assert!(ping(&h).await >= 3);

    let t = trace(&drain(&mut rx));
    let pos = |s: &str| {
        t.iter()
            .position(|x| x == s)
            .unwrap_or_else(|| panic!("{s} in {t:?}"))
    };
    assert!(pos("w:replaced") < pos("w:failed"));
    assert!(pos("w:failed") < pos("w:rolled_back"));
    assert!(pos("w:rolled_back") < pos("w:restarted"));
}

#[tokio::test(start_paused = true)]
async fn a_new_version_that_cannot_start_is_rolled_back_at_once() {
    let probe = Probe::default();
    let (sup, h, _events) = start(&probe).await;
    let broken = Replacement::<TestWorker>::new("2", |_| Err("bad profile".into()));
    match sup.replace("w", broken).await {
        Err(SupervisorError::RolledBack { reason, .. }) => assert!(reason.contains("bad profile")),
        other => panic!("{other:?}"),
    }
    assert!(ping(&h).await > 0);
    assert_eq!(&*sup.which_children().await.unwrap()[0].version, "1");
}

struct Other;

impl Worker for Other {
    type Msg = Msg;
    type State = ();
    type Args = ();
    type Export = ();

    async fn start(&self, _: &WorkerCtx<Msg>, _: ()) -> Result<(), ActorProcessingErr> {
        Ok(())
    }

    async fn handle(
        &self,
        _: &WorkerCtx<Msg>,
        _: Msg,
        _: &mut (),
    ) -> Result<(), ActorProcessingErr> {
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_replacement_of_another_worker_type_is_refused() {
    let probe = Probe::default();
    let (sup, h, _events) = start(&probe).await;
    let other = Replacement::<Other>::new("x", |_| Ok((Other, ())));
    assert!(matches!(
        sup.replace("w", other).await,
        Err(SupervisorError::WrongType { .. })
    ));
    assert_eq!(ping(&h).await, 1);
}

#[tokio::test(start_paused = true)]
async fn probation_counts_only_once_the_new_version_has_proven_itself() {
    let probe = Probe::default();
    let (sup, h, _events) = start(&probe).await;
    let replacing = tokio::spawn({
        let (sup, r) = (sup.clone(), v2_proven_after(&probe, None, 5));
        async move { sup.replace("w", r).await }
    });
    // Past the 1 s deadline, with messages 1..=6 handled: only 5 and 6 counted (3 needed).
    tokio::time::sleep(Duration::from_secs(2)).await;
    for i in 1..=6 {
        h.send(Msg::Command(i)).unwrap().await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(!replacing.is_finished(), "promoted before it was proven");
    h.send(Msg::Command(7)).unwrap().await.unwrap();
    replacing.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn restart_now_is_a_planned_restart_whose_safe_stop_knows_it() {
    let probe = Probe::default();
    let (sup, h, events) = start(&probe).await;
    let mut rx = events.subscribe();
    let before = ping(&h).await;
    sup.restart_now("w").await.unwrap();
    assert_eq!(ping(&h).await, before + 1);
    assert_eq!(probe.lines_with("safe:"), ["safe:w@restart"]);
    let restarted = expect(&mut rx, |e| matches!(e.kind, EventKind::Restarted { .. })).await;
    assert_eq!(
        restarted.kind,
        EventKind::Restarted {
            count: 1,
            backoff: Duration::ZERO
        }
    );
    let unknown = sup.restart_now("nope").await.unwrap_err();
    assert!(
        matches!(unknown, SupervisorError::UnknownChild { .. }),
        "{unknown}"
    );
    // Removal is for good: the step hears Shutdown.
    sup.remove_child("w").await.unwrap();
    assert_eq!(probe.lines_with("safe:"), ["safe:w@restart", "safe:w"]);
}

#[tokio::test(start_paused = true)]
async fn a_planned_stop_during_probation_rolls_back_instead_of_promoting() {
    let probe = Probe::default();
    let (sup, h, _events) = start(&probe).await;
    let replacing = tokio::spawn({
        let (sup, r) = (sup.clone(), v2_proven_after(&probe, None, 1000));
        async move { sup.replace("w", r).await }
    });
    h.send(Msg::Command(1)).unwrap().await.unwrap();
    assert!(!replacing.is_finished());
    sup.terminate_child("w").await.unwrap();
    let err = replacing.await.unwrap().unwrap_err();
    assert!(
        matches!(&err, SupervisorError::RolledBack { reason, .. } if reason == "stopped during probation"),
        "{err}"
    );
    sup.restart_child("w").await.unwrap();
    let starts = probe.lines_with("start:");
    assert!(
        starts.last().unwrap().starts_with("start:w:v1:"),
        "{starts:?}"
    );
}
