//! The stable handle's message guarantee across restarts.

use std::collections::BTreeSet;
use std::time::Duration;

use linevisor_supervisor::{
    Backoff, ChildHandle, EventBus, HandleState, Intensity, SeededJitter, Strategy,
    SupervisorError, SupervisorRef, SupervisorSpec, WorkerSpec,
};

use crate::common::*;

async fn single(
    spec: WorkerSpec<TestWorker>,
    backoff: Backoff,
) -> (SupervisorRef, ChildHandle<Msg>, EventBus) {
    let h = spec.handle();
    let events = EventBus::new(1 << 16);
    let sup = SupervisorSpec::new(Strategy::OneForOne)
        .intensity(Intensity::new(100_000, Duration::from_secs(1)))
        .backoff(backoff)
        .jitter(SeededJitter::new(11))
        .child(spec)
        .start("sup", events.clone())
        .await
        .unwrap();
    (sup, h, events)
}

fn stream_fault(n: u64) -> Fault {
    if n % 7 == 3 {
        Fault::Panic
    } else if n % 11 == 5 {
        Fault::Error
    } else {
        Fault::None
    }
}

#[derive(Debug, Default)]
struct Accounting {
    delivered: Vec<u64>,
    failed: Vec<u64>,
    killed: Vec<u64>,
    overloaded: Vec<u64>,
    other: Vec<(u64, SupervisorError)>,
}

impl Accounting {
    fn record(&mut self, n: u64, outcome: Result<(), SupervisorError>) {
        match outcome {
            Ok(()) => self.delivered.push(n),
            Err(SupervisorError::Failed { reason, .. }) if reason.contains("killed") => {
                self.killed.push(n)
            }
            Err(SupervisorError::Failed { .. }) => self.failed.push(n),
            Err(e) => self.other.push((n, e)),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn no_message_is_lost_across_repeated_crashes() {
    let (faulty, delivered) = stream(4000, true).await;
    assert!(faulty > 300, "{faulty} faulty");
    assert!(delivered > 1000, "{delivered} delivered");
}

/// The same accounting with real threads racing (no pacing, real-time backoff of 1-2 ms).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_message_is_lost_across_repeated_crashes_on_two_threads() {
    let (faulty, delivered) = stream(4000, false).await;
    assert!(
        faulty > 0 && delivered > 0,
        "{faulty} faulty, {delivered} delivered"
    );
}

/// Stream N numbered messages while the child crashes on every 7th (panic) and 11th (error)
/// and is killed from outside now and then; check the full accounting. Returns the number of
/// accepted faulty messages and of delivered ones. Unpaced, the producer backs off on
/// `Overloaded` by awaiting its oldest outstanding receipt.
async fn stream(n_messages: u64, paced: bool) -> (usize, usize) {
    let probe = Probe::default();
    let spec = worker_with("w", &probe, stream_fault).capacity(16);
    let backoff = Backoff::exponential(Duration::from_millis(1), Duration::from_millis(2))
        .with_reset_after(Duration::from_millis(3));
    let (_sup, h, events) = single(spec, backoff).await;
    let mut rx = events.subscribe();

    let mut receipts = std::collections::VecDeque::new();
    let mut hangs = Vec::new();
    let mut hangs_refused = 0;
    let mut acc = Accounting::default();
    for n in 0..n_messages {
        match h.send(Msg::Num(n)) {
            Ok(r) => receipts.push_back((n, r)),
            Err(SupervisorError::Overloaded { capacity: 16, .. }) => {
                acc.overloaded.push(n);
                if !paced && let Some((m, r)) = receipts.pop_front() {
                    acc.record(m, r.await);
                }
            }
            Err(e) => acc.other.push((n, e)),
        }
        tokio::task::yield_now().await;
        if paced && n % 4 == 0 {
            // A cyclic producer: 4 messages per ms of tokio time.
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        if n % 400 == 399 {
            // Now and then someone kills the instance from outside while it is busy.
            match h.send(Msg::Hang) {
                Ok(r) => {
                    probe.hanging.notified().await;
                    probe.cell("w").kill();
                    hangs.push(r);
                }
                Err(SupervisorError::Overloaded { .. }) => hangs_refused += 1,
                Err(e) => panic!("{e}"),
            }
        }
    }
    let hang_count = hangs.len() as u64;
    assert!(!paced || hang_count > 0);
    for r in hangs {
        assert!(
            matches!(r.await, Err(SupervisorError::Failed { reason, .. }) if reason.contains("killed"))
        );
    }
    for (n, r) in receipts {
        acc.record(n, r.await);
    }
    acc.delivered.sort_unstable();

    // Every message has exactly one outcome.
    assert!(acc.other.is_empty(), "unexpected outcomes: {:?}", acc.other);
    let total = acc.delivered.len() + acc.failed.len() + acc.killed.len() + acc.overloaded.len();
    assert_eq!(total as u64, n_messages);
    let all: BTreeSet<u64> = acc
        .delivered
        .iter()
        .chain(&acc.failed)
        .chain(&acc.killed)
        .chain(&acc.overloaded)
        .copied()
        .collect();
    assert_eq!(all.len() as u64, n_messages, "a message got two outcomes");

    // Handled exactly once, in order, and exactly the ones reported delivered.
    let processed = probe.processed.lock().unwrap().clone();
    assert_eq!(processed, acc.delivered);
    assert!(processed.windows(2).all(|w| w[0] < w[1]));

    // Failed ones are exactly the accepted faulty ones: the message in hand at a crash is
    // reported, never redelivered; nothing else died with the instance.
    let accepted_faulty: Vec<u64> = (0..n_messages)
        .filter(|n| stream_fault(*n) != Fault::None && !acc.overloaded.contains(n))
        .collect();
    let mut failed_all = acc.failed.clone();
    failed_all.extend(&acc.killed);
    failed_all.sort_unstable();
    let mut expected_failed = accepted_faulty.clone();
    expected_failed.extend(&acc.killed);
    expected_failed.sort_unstable();
    assert_eq!(failed_all, expected_failed);

    // The handle's own accounting agrees.
    let stats = h.stats();
    assert_eq!(stats.delivered, acc.delivered.len() as u64);
    assert_eq!(
        stats.failed,
        (acc.failed.len() + acc.killed.len()) as u64 + hang_count
    );
    assert_eq!(stats.rejected, acc.overloaded.len() as u64 + hangs_refused);
    assert_eq!((stats.superseded, stats.discarded), (0, 0));

    // Every instance death restarted the child: one per faulty message, one per kill.
    // The last crash's restart is done once a ping is answered.
    ping(&h).await;
    let restarts = drain(&mut rx).iter().filter(|e| restarted(&e.kind)).count();
    eprintln!(
        "delivered {} failed {} overloaded {} restarts {restarts}",
        acc.delivered.len(),
        acc.failed.len(),
        acc.overloaded.len()
    );
    assert_eq!(restarts as u64, accepted_faulty.len() as u64 + hang_count);
    assert_eq!(h.state(), HandleState::Running);
    (accepted_faulty.len(), acc.delivered.len())
}

/// Crash twice so the child sits in a 1 s backoff (the first restart of a streak is immediate).
async fn into_backoff(h: &ChildHandle<Msg>, events: &EventBus) {
    let mut rx = events.subscribe();
    h.cast(Msg::Crash).unwrap();
    expect(&mut rx, is("w", restarted)).await;
    h.cast(Msg::Crash).unwrap();
    expect(&mut rx, is("w", failed)).await;
    assert_eq!(h.state(), HandleState::Restarting);
}

fn one_second() -> Backoff {
    Backoff::exponential(Duration::from_secs(1), Duration::from_secs(1)).with_jitter(0.0)
}

#[tokio::test(start_paused = true)]
async fn latest_wins_supersedes_and_each_counts_keeps_order_across_a_restart() {
    let probe = Probe::default();
    let (_sup, h, events) = single(worker("w", &probe), one_second()).await;
    into_backoff(&h, &events).await;

    let c1 = h.send(Msg::Command(1)).unwrap();
    let s10 = h.send(Msg::Setpoint(10)).unwrap();
    let c2 = h.send(Msg::Command(2)).unwrap();
    let s20 = h.send(Msg::Setpoint(20)).unwrap();
    let s30 = h.send(Msg::Setpoint(30)).unwrap();
    let c3 = h.send(Msg::Command(3)).unwrap();
    // A fail-fast kind is refused at once while the child is down.
    assert!(matches!(
        h.call(Msg::Poll).await,
        Err(SupervisorError::Restarting { .. })
    ));
    assert_eq!(h.queued(), 4);

    assert!(matches!(
        s10.await,
        Err(SupervisorError::Superseded { key: 0, .. })
    ));
    assert!(matches!(
        s20.await,
        Err(SupervisorError::Superseded { key: 0, .. })
    ));
    for r in [c1, c2, s30, c3] {
        r.await.unwrap();
    }
    let handled: Vec<_> = probe
        .lines()
        .into_iter()
        .filter(|l| l.starts_with("cmd:") || l.starts_with("sp:"))
        .collect();
    assert_eq!(handled, ["cmd:w:1", "cmd:w:2", "sp:w:30", "cmd:w:3"]);
    // Running again: fail-fast kinds pass.
    assert!(h.call(Msg::Poll).await.unwrap() > 0);
    let s = h.stats();
    assert_eq!((s.superseded, s.rejected), (2, 1));
}

#[tokio::test(start_paused = true)]
async fn a_full_queue_refuses_each_counts_but_latest_wins_still_replaces() {
    let probe = Probe::default();
    let (_sup, h, events) = single(worker("w", &probe).capacity(3), one_second()).await;
    into_backoff(&h, &events).await;

    let s1 = h.send(Msg::Setpoint(1)).unwrap();
    let c1 = h.send(Msg::Command(1)).unwrap();
    let c2 = h.send(Msg::Command(2)).unwrap();
    assert!(matches!(
        h.send(Msg::Command(3)),
        Err(SupervisorError::Overloaded { capacity: 3, .. })
    ));
    let s2 = h.send(Msg::Setpoint(2)).unwrap();
    assert!(matches!(s1.await, Err(SupervisorError::Superseded { .. })));
    for r in [c1, c2, s2] {
        r.await.unwrap();
    }
    let handled: Vec<_> = probe
        .lines()
        .into_iter()
        .filter(|l| l.starts_with("cmd:") || l.starts_with("sp:"))
        .collect();
    assert_eq!(handled, ["cmd:w:1", "cmd:w:2", "sp:w:2"]);
}

#[tokio::test(start_paused = true)]
async fn calls_report_why_they_got_no_answer() {
    let probe = Probe::default();
    let (_sup, h, _events) = single(worker("w", &probe), Backoff::NONE).await;
    match h.call(Msg::CrashCall).await {
        Err(SupervisorError::Failed { child, reason }) => {
            assert_eq!(child.as_str(), "w");
            assert_eq!(&*reason, "panicked: boom in call");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        h.call(Msg::NoReply).await,
        Err(SupervisorError::NoReply { .. })
    ));
    // The crash restarted it; the same handle reaches the new instance.
    assert_eq!(ping(&h).await, 2);
}

#[tokio::test(start_paused = true)]
async fn an_external_kill_fails_the_message_in_hand_and_keeps_the_queue() {
    let probe = Probe::default();
    let (_sup, h, events) = single(worker("w", &probe), Backoff::NONE).await;
    let mut rx = events.subscribe();
    let hang = h.send(Msg::Hang).unwrap();
    let next = h.send(Msg::Command(5)).unwrap();
    tokio::task::yield_now().await;
    probe.cell("w").kill();
    match hang.await {
        Err(SupervisorError::Failed { reason, .. }) => assert!(reason.contains("killed")),
        other => panic!("{other:?}"),
    }
    let e = expect(&mut rx, is("w", failed)).await;
    assert!(
        matches!(e.kind, linevisor_supervisor::EventKind::Failed { ref reason } if reason == "killed")
    );
    next.await.unwrap();
    assert_eq!(probe.lines_with("cmd:"), ["cmd:w:5"]);
}
