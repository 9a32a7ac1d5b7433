//! Who may command the drives from the plant: a DCMD runs with the role of the MQTT identity
//! linevisor logs in with (`role`); a viewer identity's DCMDs reach no drive, are counted and
//! journalled with the identity, its role and the reason, and the publisher keeps running.

mod common;

use std::io::Write;

use common::sparkplug::{
    available, broker_conf, free_port, log_until, run_line_with, sim_line, spawn_host, start_broker,
};

#[test]
fn a_viewer_identity_commands_nothing_and_the_refusal_is_journalled() {
    if !available() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("linevisor-spb-roles-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let port = free_port();
    let _broker = start_broker(&broker_conf(&dir, "broker.conf", port, ""));
    let (_host, mut host_in, mut h) = spawn_host(port);
    std::fs::write(dir.join("mqtt-password"), "secret\n").expect("password");
    let northbound = format!(
        "brokers = [\"mqtt://127.0.0.1:{port}\"]\ngroup_id = \"plant\"\nusername = \"line-view\"\n\
         password_file = \"mqtt-password\"\nallow_commands = true\nrole = \"viewer\"\n"
    );
    let config = dir.join("line.toml");
    std::fs::write(&config, sim_line("view", 1, &northbound)).expect("config");
    let journal = dir.join("journal.jsonl");
    let (_run, logs) = run_line_with(&config, &["--journal", journal.to_str().expect("path")]);
    h.until("view-1's DBIRTH", |v| {
        v["type"] == "DBIRTH" && v["device"] == "view-1"
    });
    writeln!(host_in, "dcmd view view-1 Command/Enable bool true").expect("stdin");
    host_in.flush().expect("flush");
    log_until(&logs, "DCMD refused.");
    let records: Vec<serde_json::Value> = std::fs::read_to_string(&journal)
        .expect("journal")
        .lines()
        // Each record is framed: `<length> <crc32> <json>`.
        .filter_map(|l| l.splitn(3, ' ').nth(2))
        .filter_map(|body| serde_json::from_str(body).ok())
        .collect();
    let refused = records
        .iter()
        .find(|r| r["kind"] == "command" && r["drive"] == "view-1")
        .unwrap_or_else(|| panic!("no journal record: {records:#?}"));
    assert_eq!(refused["outcome"], "refused", "{refused}");
    assert_eq!(refused["role"], "viewer", "{refused}");
    assert_eq!(refused["mqtt_user"], "line-view", "{refused}");
    assert_eq!(refused["by"], "sparkplug:linevisor-view", "{refused}");
    assert_eq!(
        refused["reason"], "the MQTT identity line-view has role viewer",
        "{refused}"
    );
    // No command metrics declared for a viewer, and the drive was never enabled.
    assert!(
        !h.seen
            .iter()
            .any(|v| v["metrics"].as_array().is_some_and(|ms| ms
                .iter()
                .any(|m| m["name"] == "Command/Enable" || m["value"] == "operation_enabled"))),
        "{:#?}",
        h.seen
    );
    std::fs::remove_dir_all(&dir).ok();
}
