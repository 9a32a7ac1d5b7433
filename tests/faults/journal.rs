//! Journal rows: disk full, descriptors exhausted, `kill -9` mid-rotation. Each runs the demo
//! line under its control plane (library level, paused tokio time, commands through the
//! router) and measures, in real time, how long after the fault ends the journal writes again.
//! The faults are real and unprivileged: the journal on `/dev/full` (ENOSPC), a child process
//! whose descriptors are all taken under a low `RLIMIT_NOFILE`, a child writer killed.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt as _;
use linevisor_config::{DEMO_LINE, DEMO_LINE_NAME, check_text};
use linevisor_control::journal::{self, Journal, JournalLimits};
use linevisor_control::{ControlOptions, ControlPlane};
use linevisor_line::{LineOptions, RunningLine};
use serde_json::{Value, json};
use tower::ServiceExt as _;

use crate::report::{Row, soak};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "linevisor-faults-journal-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

/// The demo line under a control plane with `journal` (2 s in), and when its start was journalled.
async fn demo(journal: Journal) -> (Arc<RunningLine>, ControlPlane, Router, Instant) {
    let line = check_text(DEMO_LINE_NAME, DEMO_LINE, None)
        .line
        .expect("valid demo line");
    let running = Arc::new(
        RunningLine::start(&line, LineOptions::default())
            .await
            .expect("start"),
    );
    let control = ControlPlane::new(
        running.clone(),
        ControlOptions {
            journal: Some(journal),
            ..ControlOptions::default()
        },
    );
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let router = control.router();
    (running, control, router, started)
}

async fn call(router: &Router, method: &str, path: &str, body: &str) -> (u16, Value) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .expect("request");
    let resp = router.clone().oneshot(req).await.expect("infallible");
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, v)
}

/// Sends `command` to `drive`: answered (ok, or refused with a reason)? And the answer.
async fn command(router: &Router, drive: &str, command: &str) -> (bool, Value) {
    let (path, body) = (
        format!("/api/v1/drives/{drive}/commands"),
        format!(r#"{{"command":"{command}"}}"#),
    );
    let (status, v) = call(router, "POST", &path, &body).await;
    let answered = (200..300).contains(&status) || v["message"].is_string();
    (answered, v)
}

/// Cycles and missed cycles summed over every drive.
async fn cycles(router: &Router) -> (u64, u64) {
    let (_, line) = call(router, "GET", "/api/v1/line", "").await;
    let drives = line["drives"].as_array().cloned().unwrap_or_default();
    let sum = |k: &str| drives.iter().filter_map(|d| d[k].as_u64()).sum();
    (sum("cycles"), sum("missed"))
}

/// Commands sent during a fault; stop, quick stop and disable must never be refused for it.
const SEQUENCE: [(&str, &str); 6] = [
    ("transfer-axis", "enable"),
    ("transfer-axis", "stop"),
    ("transfer-axis", "quick_stop"),
    ("transfer-axis", "disable"),
    ("labeler", "enable"),
    ("labeler", "disable"),
];

/// Every `seq` of the journal at `path` and its archives (oldest first), and the lines
/// rejected as torn or corrupt.
fn seqs(path: &Path, keep: usize) -> (Vec<u64>, usize) {
    let (mut seqs, mut rejected) = (Vec::new(), 0);
    for p in (1..=keep)
        .rev()
        .map(|i| PathBuf::from(format!("{}.{i}", path.display())))
        .chain([path.to_owned()])
    {
        if let Ok(c) = journal::read(&p) {
            seqs.extend(c.records.iter().filter_map(|r| r["seq"].as_u64()));
            rejected += c.rejected.len();
        }
    }
    (seqs, rejected)
}

/// One unbroken run of `seq`: nothing lost between the oldest record kept and the newest.
fn assert_unbroken(seqs: &[u64]) {
    let first = seqs.first().copied().unwrap_or(0);
    let want: Vec<u64> = (first..first + seqs.len() as u64).collect();
    assert_eq!(seqs, want, "records lost or out of order");
}

#[tokio::test(start_paused = true)]
async fn disk_full() {
    let mut row = Row {
        layer: "journal",
        fault: "disk full (ENOSPC)",
        ..Row::default()
    };
    let until = soak().map(|d| Instant::now() + d);
    loop {
        row.rounds += 1;
        let dir = scratch("full");
        let path = dir.join("journal.jsonl");
        // The disk is full from the start (a gateway rebooted on a full disk).
        std::os::unix::fs::symlink("/dev/full", &path).expect("symlink");
        let j = Journal::open(&path, JournalLimits::default()).expect("open");
        let (line, _control, r, _) = demo(j).await;
        let before = cycles(&r).await;
        for (drive, c) in SEQUENCE {
            let (answered, v) = command(&r, drive, c).await;
            row.commands += 1;
            row.answered += u32::from(answered);
            if v["journal"].is_object() {
                assert_eq!(v["journal"]["ok"], false, "{v}");
            }
        }
        let (_, status) = call(&r, "GET", "/api/v1/line", "").await;
        assert_eq!(status["journal"]["ok"], false, "{}", status["journal"]);
        // Space is back: the next record is written.
        std::fs::remove_file(&path).expect("unlink");
        let back = Instant::now();
        let (answered, v) = command(&r, "transfer-axis", "stop").await;
        row.recovery = row.recovery.max(Some(back.elapsed()));
        row.commands += 1;
        row.answered += u32::from(answered);
        assert_eq!(v["journal"]["ok"], true, "{v}");
        let after = cycles(&r).await;
        row.same_bus_cycles += after.0 - before.0;
        row.same_bus_missed += after.1 - before.1;
        let (written, rejected) = seqs(&path, 0);
        assert_eq!(rejected, 0);
        assert!(
            v["journal"]["seq"]
                .as_u64()
                .is_some_and(|s| written.contains(&s))
        );
        line.shutdown().await.expect("the line stops cleanly");
        let _ = std::fs::remove_dir_all(&dir);
        if until.is_none_or(|u| Instant::now() >= u) {
            break;
        }
    }
    row.finish();
}

const CHILD_ENV: &str = "LINEVISOR_FAULTS_JOURNAL_DIR";
const FD_LIMITS: JournalLimits = JournalLimits {
    max_bytes: 2000,
    keep: 3,
};

/// The child of `fd_exhaustion`: the demo line runs out of descriptors while its journal
/// rotates. Prints its figures as one JSON line.
#[tokio::test(start_paused = true)]
#[ignore = "run by fd_exhaustion as a child process"]
async fn fd_exhaustion_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let path = Path::new(&dir).join("journal.jsonl");
    let j = Journal::open(&path, FD_LIMITS).expect("open");
    let (line, control, r, _) = demo(j).await;
    let (mut commands, mut answered) = (0u32, 0u32);
    let before = cycles(&r).await;
    // Every descriptor taken (under a lowered limit, so quickly), and taken again before each
    // command: a file the journal's sync thread lets go must not end the fault early.
    let pid = format!("--pid={}", std::process::id());
    let lowered = Command::new("prlimit")
        .args([&pid, "--nofile=128:"])
        .status();
    assert!(lowered.is_ok_and(|s| s.success()), "prlimit");
    let mut hog = Vec::new();
    let mut take_all = || {
        while let Ok(f) = std::fs::File::open("/dev/null") {
            hog.push(f);
        }
    };
    // Enough records to need several rotations, each of whose reopen fails.
    for _ in 0..4 {
        for (drive, c) in SEQUENCE {
            take_all();
            let (a, _) = command(&r, drive, c).await;
            commands += 1;
            answered += u32::from(a);
        }
    }
    take_all();
    let during = call(&r, "GET", "/api/v1/line", "").await.1["journal"].clone();
    drop(hog);
    let back = Instant::now();
    let (a, v) = command(&r, "transfer-axis", "stop").await;
    let recovery = back.elapsed();
    commands += 1;
    answered += u32::from(a);
    let after = cycles(&r).await;
    let (_, status) = call(&r, "GET", "/api/v1/line", "").await;
    drop(control);
    line.shutdown().await.expect("the line stops cleanly");
    println!(
        "{}",
        json!({"commands": commands, "answered": answered,
            "recovery_us": recovery.as_micros() as u64, "last": v["journal"],
            "cycles": after.0 - before.0, "missed": after.1 - before.1,
            "during": during, "after": status["journal"]})
    );
}

#[test]
fn fd_exhaustion() {
    let mut row = Row {
        layer: "journal",
        fault: "file descriptors exhausted",
        ..Row::default()
    };
    let until = soak().map(|d| Instant::now() + d);
    loop {
        row.rounds += 1;
        let dir = scratch("fds");
        let out = Command::new(std::env::current_exe().expect("exe"))
            .args(["journal::fd_exhaustion_child", "--exact", "--ignored"])
            .args(["--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &dir)
            .output()
            .expect("spawn child");
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            row.crashes += 1;
            eprintln!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        }
        let f = stdout
            .lines()
            .find_map(|l| serde_json::from_str::<Value>(&l[l.find('{')?..]).ok())
            .unwrap_or_default();
        row.commands += f["commands"].as_u64().unwrap_or(0) as u32;
        row.answered += f["answered"].as_u64().unwrap_or(0) as u32;
        row.same_bus_cycles += f["cycles"].as_u64().unwrap_or(0);
        row.same_bus_missed += f["missed"].as_u64().unwrap_or(0);
        row.recovery = row
            .recovery
            .max(f["recovery_us"].as_u64().map(Duration::from_micros));
        // The fault hit the rotation and was reported; the record after it went to a bounded
        // file again; nothing was lost.
        assert!(f["during"]["rotation_failures"].as_u64() > Some(0), "{f}");
        assert_eq!(f["last"]["ok"], true, "{f}");
        assert_eq!(f["after"]["ok"], true, "{f}");
        assert_eq!(f["after"]["write_failures"], 0, "{f}");
        let path = dir.join("journal.jsonl");
        assert!(std::fs::metadata(&path).expect("journal").len() <= FD_LIMITS.max_bytes);
        let (written, rejected) = seqs(&path, FD_LIMITS.keep);
        assert_eq!(rejected, 0);
        assert_unbroken(&written);
        let (current, _) = seqs(&path, 0);
        assert!(
            f["last"]["seq"]
                .as_u64()
                .is_some_and(|s| current.contains(&s)),
            "{f}"
        );
        let _ = std::fs::remove_dir_all(&dir);
        if until.is_none_or(|u| Instant::now() >= u) {
            break;
        }
    }
    row.finish();
}

const KILL_LIMITS: JournalLimits = JournalLimits {
    max_bytes: 600,
    keep: 3,
};

/// The writer of `kill_9_mid_rotation`: a burst into a journal that rotates every other record,
/// so a `kill -9` lands inside or next to a rotation. Bounded, so a broken parent cannot fill
/// the disk; says "ready" once 100 records are written.
#[test]
#[ignore = "run by kill_9_mid_rotation as a child process"]
fn rotation_burst_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let j = Journal::open(&Path::new(&dir).join("journal.jsonl"), KILL_LIMITS).expect("open");
    let pad = "k".repeat(150);
    for i in 0u64..200_000 {
        j.append(json!({"kind": "burst", "i": i, "pad": pad}))
            .expect("append");
        if i == 100 {
            // Straight to the fd: the test harness captures `println!`.
            let _ = std::io::stdout().lock().write_all(b"ready\n");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn kill_9_mid_rotation() {
    let mut row = Row {
        layer: "journal",
        fault: "kill -9 mid-rotation",
        ..Row::default()
    };
    let until = soak().map(|d| Instant::now() + d);
    loop {
        row.rounds += 1;
        let dir = scratch("kill");
        let path = dir.join("journal.jsonl");
        let mut child = Command::new(std::env::current_exe().expect("exe"))
            .args(["journal::rotation_burst_child", "--exact", "--ignored"])
            .args(["--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn writer");
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        while !line.trim_end().ends_with("ready") {
            line.clear();
            assert!(
                out.read_line(&mut line).expect("read") > 0,
                "writer ended early"
            );
        }
        child.kill().expect("kill");
        let _ = child.wait();
        let killed = Instant::now();
        let (before, rejected) = seqs(&path, KILL_LIMITS.keep);
        // At most the one write the kill cut is torn; the rest is one unbroken run.
        assert!(rejected <= 1, "{rejected} lines rejected");
        assert_unbroken(&before);
        let last = *before.last().expect("records before the kill");
        assert!(last < 200_000, "the writer finished before the kill");

        // linevisor starts again on the same journal: it writes at once, `seq` goes on.
        let j = Journal::open(&path, KILL_LIMITS).expect("reopen");
        assert_eq!(j.health().next_seq, last + 1, "seq does not go on");
        let (line, control, r, started) = demo(j).await;
        // Open, the line started, its start journalled: as long as a restart takes.
        row.recovery = row.recovery.max(Some(started - killed));
        let (_, status) = call(&r, "GET", "/api/v1/line", "").await;
        assert_eq!(status["journal"]["ok"], true, "{}", status["journal"]);
        let before_cycles = cycles(&r).await;
        for (drive, c) in SEQUENCE {
            let (answered, v) = command(&r, drive, c).await;
            row.commands += 1;
            row.answered += u32::from(answered);
            if v["journal"].is_object() {
                assert_eq!(v["journal"]["ok"], true, "{v}");
            }
        }
        let after_cycles = cycles(&r).await;
        row.same_bus_cycles += after_cycles.0 - before_cycles.0;
        row.same_bus_missed += after_cycles.1 - before_cycles.1;
        drop(control);
        line.shutdown().await.expect("the line stops cleanly");
        let (after, rejected) = seqs(&path, KILL_LIMITS.keep);
        assert!(rejected <= 1, "{rejected} lines rejected");
        assert_unbroken(&after);
        assert!(after.first() > Some(&last), "{after:?} after {last}");
        let _ = std::fs::remove_dir_all(&dir);
        if until.is_none_or(|u| Instant::now() >= u) {
            break;
        }
    }
    row.finish();
}
