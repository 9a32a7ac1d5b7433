//! What a journal record costs on this machine's disk, unsynced and synced (printed, not
//! asserted): `cargo test -p linevisor-control --test journal_cost -- --nocapture`;
//! `LINEVISOR_JOURNAL_BENCH_DIR` measures another folder (the gateway's state directory).

use std::path::PathBuf;
use std::time::Instant;

use linevisor_control::journal::{self, Journal, JournalLimits};
use serde_json::json;

#[test]
fn fsync_cost() {
    let given = std::env::var_os("LINEVISOR_JOURNAL_BENCH_DIR").map(PathBuf::from);
    let dir = given.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("linevisor-journal-cost-{}", std::process::id()))
    });
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("journal-cost.jsonl");
    let _ = std::fs::remove_file(&path);
    let j = Journal::open(&path, JournalLimits::default()).expect("open");
    let record = json!({"kind": "command", "drive": "transfer-axis", "command": "Stop",
        "by": "scada", "role": "operator", "outcome": "ok"});
    let n = 200;
    let times = |synced: bool| {
        let mut t: Vec<f64> = (0..n)
            .map(|_| {
                let start = Instant::now();
                let r = if synced {
                    j.append_synced(record.clone())
                } else {
                    j.append(record.clone())
                };
                r.expect("append");
                start.elapsed().as_secs_f64() * 1e6
            })
            .collect();
        t.sort_by(f64::total_cmp);
        (t[n / 2], t[n * 99 / 100], t[n - 1])
    };
    let plain = times(false);
    let synced = times(true);
    println!(
        "{}",
        json!({"bench": "journal_fsync", "dir": dir.display().to_string(), "records": n,
            "append_us": {"p50": plain.0, "p99": plain.1, "max": plain.2},
            "append_synced_us": {"p50": synced.0, "p99": synced.1, "max": synced.2}})
    );
    // Every record reads back, in order.
    let seqs: Vec<u64> = journal::read(&path)
        .expect("read")
        .records
        .iter()
        .filter_map(|r| r["seq"].as_u64())
        .collect();
    assert_eq!(seqs, (0..2 * n as u64).collect::<Vec<_>>());
    drop(j);
    let _ = std::fs::remove_file(&path);
    if given.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
