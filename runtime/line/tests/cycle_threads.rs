//! The execution model (issue 17): on a multi-thread runtime each bus runs on a cycle thread
//! of its own (`per_bus`, the default) or all on one (`shared`); on a current-thread runtime
//! (paused-time tests) buses stay on it. A real-time priority is applied to the cycle
//! threads, or refused with the capability it needs; a CPU the machine lacks is refused by
//! name. Real time, event-driven waits; the 60 s bounds are hang guards, not timing checks.

use std::time::Duration;

use linevisor_config::{DEMO_LINE, DEMO_LINE_NAME, ValidLine, check_text};
use linevisor_drive::{DriveEventKind, DriveState, snapshot};
use linevisor_line::{LineError, LineOptions, RunningLine};

fn demo(realtime: &str) -> ValidLine {
    let text = format!("{DEMO_LINE}\n[realtime]\n{realtime}\n");
    let checked = check_text(DEMO_LINE_NAME, &text, None);
    checked.line.unwrap_or_else(|| {
        let d: Vec<String> = checked
            .diagnostics
            .iter()
            .map(ToString::to_string)
            .collect();
        panic!("{d:#?}")
    })
}

/// (name, rt_priority, policy) of every thread of this process, from /proc.
fn threads() -> Vec<(String, u32, u32)> {
    let mut out = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").expect("/proc") {
        let Ok(stat) = std::fs::read_to_string(task.expect("task").path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = stat[open + 1..close].to_owned();
        // Fields after the name start at field 3; rt_priority is field 40, policy field 41.
        let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
        let num = |i: usize| fields.get(i).and_then(|f| f.parse().ok()).unwrap_or(0);
        out.push((name, num(37), num(38)));
    }
    out
}

/// Waits until every drive of `running` is ready (a drive may be ready already).
async fn all_ready(running: &RunningLine) {
    for d in running.drives().values() {
        let mut events = d.channels.events.subscribe();
        let snap = snapshot(&d.handle).await.expect("snapshot");
        if matches!(snap.state, DriveState::Initializing | DriveState::Offline) {
            let wait = async {
                loop {
                    match events.recv().await {
                        Ok(ev) if matches!(ev.kind, DriveEventKind::Ready { .. }) => return,
                        Ok(_) => {}
                        Err(e) => panic!("{}: {e}", d.id),
                    }
                }
            };
            tokio::time::timeout(Duration::from_secs(60), wait)
                .await
                .unwrap_or_else(|_| panic!("{} not ready (hang guard)", d.id));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_bus_runs_on_a_cycle_thread_of_its_own() {
    let line = demo("cycle_threads = \"per_bus\"");
    let running = RunningLine::start(&line, LineOptions::default())
        .await
        .expect("start");
    let carried = running.cycle_threads();
    let buses: Vec<String> = line.config.bus.iter().map(|b| b.id().to_owned()).collect();
    assert_eq!(carried.keys().cloned().collect::<Vec<_>>(), {
        let mut b = buses.clone();
        b.sort();
        b
    });
    let names: Vec<String> = threads().into_iter().map(|t| t.0).collect();
    for name in carried.values() {
        assert!(name.starts_with("lvc-"), "{name}");
        assert!(names.contains(name), "{name} not among {names:?}");
    }
    all_ready(&running).await;
    running.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_runs_every_bus_on_one_cycle_thread() {
    let running = RunningLine::start(&demo("cycle_threads = \"shared\""), LineOptions::default())
        .await
        .expect("start");
    let carried = running.cycle_threads();
    assert_eq!(carried.len(), 1, "{carried:?}");
    assert_eq!(
        carried.get("shared").map(String::as_str),
        Some("lvc-shared")
    );
    all_ready(&running).await;
    running.shutdown().await.expect("shutdown");
}

#[tokio::test(start_paused = true)]
async fn a_current_thread_runtime_keeps_the_buses_on_it() {
    let running = RunningLine::start(&demo(""), LineOptions::default())
        .await
        .expect("start");
    assert!(running.cycle_threads().is_empty());
    all_ready(&running).await;
    running.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_priority_is_applied_or_refused_naming_what_it_needs() {
    match RunningLine::start(&demo("priority = 10"), LineOptions::default()).await {
        Ok(running) => {
            let carried = running.cycle_threads();
            assert!(!carried.is_empty());
            for name in carried.values() {
                let t = threads()
                    .into_iter()
                    .find(|t| &t.0 == name)
                    .expect("thread");
                assert_eq!(
                    (t.1, t.2),
                    (10, 1),
                    "{name}: rt_priority, policy (1 = SCHED_FIFO)"
                );
            }
            // Nothing else was raised.
            for (name, prio, policy) in threads() {
                if !name.starts_with("lvc-") {
                    assert_eq!((prio, policy), (0, 0), "{name}");
                }
            }
            running.shutdown().await.expect("shutdown");
        }
        Err(LineError::Realtime(e)) => {
            let msg = e.to_string();
            assert!(
                msg.contains("SCHED_FIFO priority 10") && msg.contains("CAP_SYS_NICE"),
                "{msg}"
            );
            assert!(msg.contains("LimitRTPRIO=10"), "{msg}");
        }
        Err(other) => panic!("{other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cpu_the_machine_lacks_is_refused_by_name() {
    let checked = check_text(
        DEMO_LINE_NAME,
        &format!("{DEMO_LINE}\n[realtime]\ncpus = [1023]\n"),
        None,
    );
    let warned = checked
        .diagnostics
        .iter()
        .any(|d| d.to_string().contains("this machine has no CPU 1023"));
    assert!(warned, "{:?}", checked.diagnostics);
    let line = checked.line.expect("a warning only");
    match RunningLine::start(&line, LineOptions::default()).await {
        Err(LineError::Realtime(e)) => {
            let msg = e.to_string();
            assert!(
                msg.contains("CPUs [1023]") && msg.contains("this machine has"),
                "{msg}"
            );
        }
        Ok(_) => panic!("started on a CPU the machine lacks"),
        Err(other) => panic!("{other}"),
    }
}
