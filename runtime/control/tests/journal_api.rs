//! What the API does with its journal: a command's record is on disk (written and synced)
//! before the answer; when the journal cannot be written, commands still run (a safety
//! command is never refused for a full disk) and the operator learns it from the answer,
//! `/metrics`, the line's status and the log.

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use axum::http::StatusCode;
use common::*;
use linevisor_control::ControlOptions;
use linevisor_control::journal::{self, Journal, JournalLimits};
use serde_json::json;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "linevisor-journal-api-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

/// The sample of `name` in a Prometheus text, with any labels.
fn sample(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with('{'))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

fn seqs(path: &Path) -> Vec<u64> {
    journal::read(path)
        .expect("read")
        .records
        .iter()
        .filter_map(|r| r["seq"].as_u64())
        .collect()
}

const STOP: [&str; 3] = ["stop", "quick_stop", "disable"];

#[tokio::test(start_paused = true)]
async fn a_commands_record_is_on_disk_before_its_answer() {
    let dir = scratch("synced");
    let path = dir.join("journal.jsonl");
    let j = Journal::open(&path, JournalLimits::default()).expect("open");
    let (_line, control) = demo(ControlOptions {
        journal: Some(j),
        ..ControlOptions::default()
    })
    .await;
    let r = control.router();
    let (status, v) = post(
        &r,
        "/api/v1/drives/labeler/commands",
        None,
        r#"{"command":"enable"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["journal"]["ok"], true, "{v}");
    let seq = v["journal"]["seq"].as_u64().expect("seq in the answer");
    // Read right after the answer, without waiting: the record is there, whole.
    let records = journal::read(&path).expect("read").records;
    let rec = records
        .iter()
        .find(|r| r["seq"] == seq)
        .unwrap_or_else(|| panic!("seq {seq} not in the journal"));
    assert_eq!(
        (&rec["kind"], &rec["drive"], &rec["outcome"]),
        (&json!("command"), &json!("labeler"), &json!("ok"))
    );
    let (_, metrics) = get(&r, "/metrics", None).await;
    let text = metrics.as_str().expect("text");
    assert!(
        sample(text, "linevisor_journal_syncs_total") >= Some(1),
        "{text}"
    );
    assert_eq!(sample(text, "linevisor_journal_up"), Some(1), "{text}");
    assert_eq!(
        sample(text, "linevisor_journal_write_failures_total"),
        Some(0)
    );
    let (_, line) = get(&r, "/api/v1/line", None).await;
    assert_eq!(line["journal"]["ok"], true, "{}", line["journal"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(start_paused = true)]
async fn a_full_disk_never_refuses_a_command_and_says_so() {
    let dir = scratch("full");
    let path = dir.join("journal.jsonl");
    // Every write to the journal fails with ENOSPC, from the start.
    std::os::unix::fs::symlink("/dev/full", &path).expect("symlink");
    let j = Journal::open(&path, JournalLimits::default()).expect("open");
    let (_line, control) = demo(ControlOptions {
        journal: Some(j),
        ..ControlOptions::default()
    })
    .await;
    let r = control.router();
    let cmd = "/api/v1/drives/transfer-axis/commands";
    let (status, v) = post(&r, cmd, None, r#"{"command":"enable"}"#).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["journal"]["ok"], false, "{v}");
    for c in STOP {
        let (status, v) = post(&r, cmd, None, &format!(r#"{{"command":"{c}"}}"#)).await;
        assert_eq!(status, StatusCode::OK, "{c} refused on a full disk: {v}");
        assert_eq!(v["journal"]["ok"], false, "{v}");
        let error = v["journal"]["error"].as_str().unwrap_or_default();
        assert!(error.contains("No space left"), "{v}");
    }
    let (_, metrics) = get(&r, "/metrics", None).await;
    let text = metrics.as_str().expect("text");
    assert_eq!(sample(text, "linevisor_journal_up"), Some(0), "{text}");
    assert!(sample(text, "linevisor_journal_write_failures_total") >= Some(4));
    let (_, line) = get(&r, "/api/v1/line", None).await;
    let health = &line["journal"];
    assert_eq!(health["ok"], false, "{health}");
    assert!(health["write_failures"].as_u64() >= Some(4), "{health}");
    assert!(
        health["last_error"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("No space left")),
        "{health}"
    );

    // Space is back (here: the file is a file again). The next record is written.
    std::fs::remove_file(&path).expect("unlink");
    let back = Instant::now();
    let (status, v) = post(&r, cmd, None, r#"{"command":"stop"}"#).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["journal"]["ok"], true, "{v}");
    println!("journal writing again {:?} after the disk", back.elapsed());
    let seq = v["journal"]["seq"].as_u64().expect("seq");
    assert_eq!(seqs(&path).last(), Some(&seq));
    let (_, line) = get(&r, "/api/v1/line", None).await;
    assert_eq!(line["journal"]["ok"], true, "{}", line["journal"]);
    // The failures stay counted for whoever looks later.
    assert!(line["journal"]["write_failures"].as_u64() >= Some(4));
    let _ = std::fs::remove_dir_all(&dir);
}
