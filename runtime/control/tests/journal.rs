//! Journal integrity: a writer killed with SIGKILL in the middle of a burst, a torn last
//! record, appending after a torn tail, and rotation with retention.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use linevisor_control::journal::{self, Journal, JournalLimits};
use serde_json::json;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("linevisor-journal-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

const CHILD_ENV: &str = "LINEVISOR_JOURNAL_CHILD";

/// Not a test on its own: the writer process of `kill_9_mid_burst` (re-executed with the env
/// var set). Writes a long burst (bounded, so a broken parent cannot fill the disk), saying
/// "ready" on stdout once 200 records are on disk.
#[test]
#[ignore = "run by kill_9_mid_burst as a child process"]
fn burst_writer_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let j = Journal::open(
        Path::new(&path),
        JournalLimits {
            max_bytes: u64::MAX,
            keep: 0,
        },
    )
    .expect("open");
    let pad = "x".repeat(200);
    for i in 0u64..100_000 {
        j.append(json!({"kind": "burst", "i": i, "pad": pad}))
            .expect("append");
        if i == 200 {
            // Straight to the fd: the test harness captures `println!`.
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(b"ready\n");
            let _ = out.flush();
        }
    }
}

#[test]
fn kill_9_mid_burst_leaves_only_complete_records() {
    let dir = scratch("kill");
    let path = dir.join("journal.jsonl");
    let mut child = Command::new(std::env::current_exe().expect("exe"))
        .args([
            "burst_writer_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn writer");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            out.read_line(&mut line).expect("read") > 0,
            "writer ended before ready"
        );
        if line.trim_end().ends_with("ready") {
            break;
        }
    }
    // SIGKILL while it is still writing.
    child.kill().expect("kill");
    let _ = child.wait();
    let bytes = std::fs::read(&path).expect("journal");
    let contents = journal::parse(&bytes);
    let n = contents.records.len();
    assert!(n > 200, "{n} records");
    assert!(n < 100_000, "the writer finished its burst before the kill");
    for (i, r) in contents.records.iter().enumerate() {
        assert_eq!(
            r["i"].as_u64(),
            Some(i as u64),
            "records out of order or lost"
        );
    }
    // At most the last write is torn, never one in the middle.
    assert!(contents.rejected.len() <= 1, "{:?}", contents.rejected);

    // Cut the file inside its last record, as a crash mid-write would: that record is
    // rejected, every earlier one still reads.
    let complete_len = bytes.len()
        - contents
            .rejected
            .first()
            .map_or(0, |r| bytes.len() - r.offset);
    let torn = &bytes[..complete_len - 100];
    let again = journal::parse(torn);
    assert_eq!(again.records.len(), n - 1);
    assert_eq!(again.rejected.len(), 1);
    assert!(
        again.rejected[0].reason.contains("torn"),
        "{:?}",
        again.rejected
    );

    // A journal reopened after the crash appends cleanly after the torn fragment.
    std::fs::write(&path, torn).expect("write torn");
    let j = Journal::open(&path, JournalLimits::default()).expect("reopen");
    j.append(json!({"kind": "after_crash"})).expect("append");
    let after = journal::read(&path).expect("read");
    assert_eq!(after.records.len(), n);
    assert_eq!(
        after.records.last().map(|r| r["kind"].clone()),
        Some(json!("after_crash"))
    );
    assert_eq!(after.rejected.len(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn corrupt_bytes_are_rejected_with_the_reason() {
    let good = journal::frame(r#"{"a":1}"#);
    let mut flipped = journal::frame(r#"{"a":2}"#);
    flipped[20] ^= 0x01;
    let mut bytes = good.clone();
    bytes.extend_from_slice(&flipped);
    bytes.extend_from_slice(b"garbage line\n");
    bytes.extend_from_slice(&good);
    let c = journal::parse(&bytes);
    assert_eq!(c.records, vec![json!({"a": 1}), json!({"a": 1})]);
    assert_eq!(c.rejected.len(), 2);
    assert_eq!(c.rejected[0].offset, good.len());
    assert!(
        c.rejected[0].reason.contains("checksum"),
        "{:?}",
        c.rejected
    );
}

#[test]
fn rotates_by_size_and_keeps_the_retention_count() {
    let dir = scratch("rotate");
    let path = dir.join("journal.jsonl");
    let j = Journal::open(
        &path,
        JournalLimits {
            max_bytes: 1000,
            keep: 2,
        },
    )
    .expect("open");
    for i in 0..100 {
        j.append(json!({"i": i, "pad": "y".repeat(100)}))
            .expect("append");
    }
    let rotated = |k: usize| PathBuf::from(format!("{}.{k}", path.display()));
    assert!(rotated(1).exists() && rotated(2).exists());
    assert!(!rotated(3).exists(), "more files than the retention count");
    for p in [&path, &rotated(1), &rotated(2)] {
        assert!(std::fs::metadata(p).expect("meta").len() <= 1000);
    }
    // Newest file holds the last record; the rotated ones hold the ones just before, in order.
    let newest = journal::read(&path).expect("read").records;
    let older = journal::read(&rotated(1)).expect("read").records;
    assert_eq!(newest.last().map(|r| r["i"].clone()), Some(json!(99)));
    let first_newest = newest[0]["i"].as_u64().expect("i");
    assert_eq!(
        older.last().and_then(|r| r["i"].as_u64()),
        Some(first_newest - 1)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
