//! Sparkplug behaviour that spans sessions and processes, against real mosquitto brokers and
//! the independent host (`tests/peers/sparkplug_host.py`):
//! - the primary host going offline on one broker moves the edge node to the next broker
//!   (NDEATH on the first, births with the next `bdSeq` on the second), and a drive can publish
//!   its own selection of metrics;
//! - samples kept on disk while the broker is down survive a restart of linevisor and are all
//!   replayed, in order and flagged historical, after the next births.

mod common;

use std::io::Write;

use common::sparkplug::{
    available, broker_conf, free_port, log_until, metric, run_line, sim_line, spawn_host,
    start_broker,
};
use serde_json::Value;

fn names(record: &Value) -> Vec<String> {
    record["metrics"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["name"].as_str())
        .filter(|n| !n.starts_with("Command/"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_primary_host_going_offline_moves_the_node_to_the_next_broker() {
    if !available() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("linevisor-spb-failover-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let (a, b) = (free_port(), free_port());
    let _broker_a = start_broker(&broker_conf(&dir, "a.conf", a, ""));
    let _broker_b = start_broker(&broker_conf(&dir, "b.conf", b, ""));
    // The primary host is on both brokers (its retained STATE says online on each).
    let (_host_a, mut host_a_in, mut ha) = spawn_host(a);
    let (_host_b, _host_b_in, mut hb) = spawn_host(b);
    let config = dir.join("line.toml");
    let northbound = format!(
        "brokers = [\"mqtt://127.0.0.1:{a}\", \"mqtt://127.0.0.1:{b}\"]\ngroup_id = \"plant\"\n\
         primary_host = \"independent-host\"\n\n\
         [northbound.sparkplug.drives.cell-1]\nmetrics = [\"state\", \"velocity\"]\n"
    );
    std::fs::write(&config, sim_line("cell", 2, &northbound)).expect("config");
    let (_run, logs) = run_line(&config);
    std::thread::spawn(move || while logs.recv().is_ok() {});

    let nbirth = ha.until("NBIRTH on broker A", |v| v["type"] == "NBIRTH");
    let bd_seq = metric(&nbirth, "bdSeq").expect("bdSeq")["value"]
        .as_u64()
        .expect("bdSeq");
    // Per-drive selection: cell-1 publishes what its table says, cell-2 the line's default.
    for _ in 0..2 {
        let birth = ha.until("a DBIRTH", |v| v["type"] == "DBIRTH");
        let got = names(&birth);
        match birth["device"].as_str() {
            Some("cell-1") => assert_eq!(got, ["State", "Velocity"], "{birth}"),
            Some("cell-2") => assert_eq!(got.len(), 10, "{birth}"),
            other => panic!("a DBIRTH of {other:?}"),
        }
    }

    // The host leaves broker A: the node publishes its NDEATH there and moves to broker B,
    // where the host is online: a new session, the next bdSeq.
    writeln!(host_a_in, "state offline").expect("stdin");
    host_a_in.flush().expect("flush");
    let death = ha.until("NDEATH on broker A", |v| v["type"] == "NDEATH");
    assert_eq!(death["bd_seq"], bd_seq, "{death}");
    let reborn = hb.until("NBIRTH on broker B", |v| v["type"] == "NBIRTH");
    assert_eq!(
        metric(&reborn, "bdSeq").expect("bdSeq")["value"],
        (bd_seq + 1) % 256
    );
    let mut born = std::collections::BTreeSet::new();
    while born.len() < 2 {
        let v = hb.until("the DBIRTHs on broker B", |v| v["type"] == "DBIRTH");
        born.insert(v["device"].as_str().expect("device").to_owned());
    }
    // Nothing more on broker A after the NDEATH.
    assert!(
        !ha.seen
            .iter()
            .skip_while(|v| v["type"] != "NDEATH")
            .skip(1)
            .any(|v| v["edge_node"] == "cell"),
        "published on A after leaving it: {:#?}",
        ha.seen
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn samples_kept_on_disk_survive_a_restart_of_linevisor() {
    if !available() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("linevisor-spb-disk-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let port = free_port();
    let conf = broker_conf(&dir, "broker.conf", port, "");
    let mut broker = start_broker(&conf);
    let config = dir.join("line.toml");
    let buffer = dir.join("sparkplug.buffer");
    let northbound = format!(
        "brokers = [\"mqtt://127.0.0.1:{port}\"]\ngroup_id = \"plant\"\nbuffer_path = \"sparkplug.buffer\"\n"
    );
    std::fs::write(&config, sim_line("keep", 2, &northbound)).expect("config");
    let (mut run, logs) = run_line(&config);
    log_until(&logs, "Online: NBIRTH published.");

    // The broker goes; linevisor keeps samples on disk (every sample: `Cycles` changes).
    broker.0.kill().expect("kill the broker");
    let _ = broker.0.wait();
    // The first keeps of the session wait for the connection to be lost.
    log_until(&logs, "Broker connection lost");
    log_until(&logs, "keeping samples to replay.");
    // A clean stop: the samples written so far are what the next run must replay.
    let pid = run.0.id().to_string();
    let stopped = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(stopped.success());
    let status = run.0.wait().expect("linevisor stops");
    assert!(status.success(), "{status}");
    let kept: Vec<Value> = std::fs::read_to_string(&buffer)
        .expect("the buffer file")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a kept sample"))
        .collect();
    assert!(!kept.is_empty(), "nothing kept on disk");

    // Broker back, linevisor started again: births, then every kept sample as history.
    let _broker = start_broker(&conf);
    let (_host, _host_in, mut h) = spawn_host(port);
    let restarted_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    let (_run, logs) = run_line(&config);
    std::thread::spawn(move || while logs.recv().is_ok() {});
    h.until("NBIRTH", |v| v["type"] == "NBIRTH");
    let historical = |v: &Value| {
        v["type"] == "DDATA"
            && v["metrics"]
                .as_array()
                .is_some_and(|ms| !ms.is_empty() && ms.iter().all(|m| m["historical"] == true))
    };
    let mut replayed = Vec::new();
    while replayed.len() < kept.len() {
        replayed.push(h.until("every kept sample replayed", historical));
    }
    let mut last = std::collections::BTreeMap::new();
    for r in &replayed {
        let device = r["device"].as_str().expect("device").to_owned();
        let stamp = r["metrics"][0]["timestamp"].as_u64().expect("timestamp");
        assert!(
            stamp < restarted_ms,
            "a replayed sample from after the restart: {r}"
        );
        let prev = last.insert(device, stamp).unwrap_or(0);
        assert!(stamp >= prev, "replayed out of order: {r}");
    }
    // Replayed once: the file is empty now.
    let left = std::fs::read_to_string(&buffer).unwrap_or_default();
    assert!(left.trim().is_empty(), "still in the buffer file: {left}");
    std::fs::remove_dir_all(&dir).ok();
}
