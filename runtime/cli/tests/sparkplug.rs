//! The demo line through a real mosquitto broker to an independent Sparkplug host application
//! (`tests/peers/sparkplug_host.py`: paho-mqtt and pysparkplug, no code shared with linevisor).
//! Births with every drive and metric, data by exception with declared aliases and continuous
//! `seq`, a DCMD that enables and moves a drive with its outcome published, a bad DCMD refused
//! and journalled, a rebirth on request, DDEATH/DBIRTH when one drive restarts, and the NDEATH
//! Will with the NBIRTH's `bdSeq` when linevisor is killed with SIGKILL. The host is the
//! primary host application: births wait for its `STATE` online, after a broker restart too. Real processes and real
//! time: waits are event-driven, timeouts only guard hangs.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::linevisor;
use common::sparkplug::{
    GUARD, Proc, available, broker_conf, free_port, lines_of, metric, spawn_host, start_broker,
};
use serde_json::Value;

#[test]
fn the_demo_line_as_a_sparkplug_edge_node_seen_by_an_independent_host() {
    if !available() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("linevisor-spb-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let port = free_port();
    let conf = broker_conf(&dir, "mosquitto.conf", port, "");
    let mut broker = start_broker(&conf);
    let (_host, mut host_in, mut h) = spawn_host(port);

    let demo = linevisor_config::DEMO_LINE;
    let drives: Vec<String> = demo
        .lines()
        .filter_map(|l| l.strip_prefix("id = \""))
        .filter_map(|l| l.strip_suffix('"'))
        .filter(|id| !id.starts_with("sim-"))
        .map(str::to_owned)
        .collect();
    assert_eq!(drives.len(), demo.matches("[[drive]]").count());
    let config = dir.join("line.toml");
    std::fs::write(
        &config,
        format!(
            "{demo}\n[northbound.sparkplug]\nbrokers = [\"mqtt://127.0.0.1:{port}\"]\ngroup_id = \"plant\"\nallow_commands = true\nprimary_host = \"independent-host\"\n"
        ),
    )
    .expect("line");
    let journal = dir.join("journal.jsonl");
    let mut run = Command::new(env!("CARGO_BIN_EXE_linevisor"))
        .arg("run")
        .arg(&config)
        .args(["--logs", "--listen", "127.0.0.1:0", "--journal"])
        .arg(&journal)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    let logs = lines_of(run.stderr.take().expect("stderr"));
    let mut run = Proc(run);
    let api = loop {
        let line = logs.recv_timeout(GUARD).expect("the API address");
        if let Some(a) = line.strip_prefix("linevisor: API on http://") {
            break a.to_owned();
        }
    };
    std::thread::spawn(move || while logs.recv().is_ok() {});

    // NBIRTH (seq 0, bdSeq), then a DBIRTH for every drive with every metric aliased.
    let nbirth = h.until("NBIRTH", |v| v["type"] == "NBIRTH");
    assert_eq!(nbirth["seq"], 0);
    let bd_seq = metric(&nbirth, "bdSeq").expect("bdSeq")["value"].clone();
    let mut born = std::collections::BTreeMap::new();
    while born.len() < drives.len() {
        let b = h.until("a DBIRTH per drive", |v| v["type"] == "DBIRTH");
        let aliases: std::collections::BTreeMap<u64, String> = b["metrics"]
            .as_array()
            .expect("metrics")
            .iter()
            .map(|m| {
                (
                    m["alias"].as_u64().expect("alias"),
                    m["name"].as_str().expect("name").to_owned(),
                )
            })
            .collect();
        for name in [
            "State",
            "Velocity",
            "Position",
            "Cycles",
            "Command/Enable",
            "Command/Result",
        ] {
            assert!(aliases.values().any(|n| n == name), "{name} not born: {b}");
        }
        born.insert(b["device"].as_str().expect("device").to_owned(), aliases);
    }
    for d in &drives {
        assert!(born.contains_key(d), "no DBIRTH for {d}");
    }

    // Data by exception: aliases only, each declared in its device's birth.
    let data = h.until("DDATA", |v| v["type"] == "DDATA");
    let device = data["device"].as_str().expect("device");
    for m in data["metrics"].as_array().expect("metrics") {
        assert!(m["name"].is_null(), "a data metric names itself: {m}");
        assert!(born[device].contains_key(&m["alias"].as_u64().expect("alias")));
    }

    // A DCMD enables a drive; the outcome and the state come back as data.
    let send = |w: &mut std::process::ChildStdin, line: &str| {
        writeln!(w, "{line}").expect("host stdin");
        w.flush().expect("flush");
    };
    let infeed = born["infeed-conveyor"].clone();
    let alias_of = |name: &str| *infeed.iter().find(|(_, n)| *n == name).expect(name).0;
    let (result, state) = (alias_of("Command/Result"), alias_of("State"));
    let has = |v: &Value, alias: u64, value: &str| {
        v["type"] == "DDATA"
            && v["device"] == "infeed-conveyor"
            && v["metrics"].as_array().is_some_and(|ms| {
                ms.iter()
                    .any(|m| m["alias"] == alias && m["value"] == value)
            })
    };
    send(
        &mut host_in,
        "dcmd demo infeed-conveyor Command/Enable bool true",
    );
    h.until("the enable's outcome", |v| has(v, result, "ok"));
    // The state is confirmed before the command is acknowledged, but the two reach the
    // publisher on different paths: seen already, or next.
    if !h.seen.iter().any(|v| has(v, state, "operation_enabled")) {
        h.until("operation enabled", |v| has(v, state, "operation_enabled"));
    }
    let velocity = alias_of("Velocity");
    send(
        &mut host_in,
        "dcmd demo infeed-conveyor Command/Set_Velocity double 100",
    );
    h.until("the drive moving", |v| {
        v["type"] == "DDATA"
            && v["device"] == "infeed-conveyor"
            && v["metrics"].as_array().is_some_and(|ms| {
                ms.iter().any(|m| {
                    m["alias"] == velocity && m["value"].as_f64().is_some_and(|x| x > 50.0)
                })
            })
    });

    // A DCMD for a metric that does not exist reaches no drive: refused and journalled.
    send(&mut host_in, "dcmd demo labeler Command/Explode bool true");
    send(
        &mut host_in,
        "dcmd demo no-such-drive Command/Enable bool true",
    );
    // Rebirth on request: NBIRTH seq 0 again, the same bdSeq.
    send(&mut host_in, "rebirth demo");
    let again = h.until("a second NBIRTH", |v| v["type"] == "NBIRTH");
    assert_eq!(again["seq"], 0);
    assert_eq!(metric(&again, "bdSeq").expect("bdSeq")["value"], bd_seq);
    let text = std::fs::read_to_string(&journal).unwrap_or_default();
    assert!(
        text.contains("unknown command metric") && text.contains("unknown drive"),
        "{text}"
    );

    // One drive restarts: DDEATH, then a new DBIRTH; nobody else dies.
    let (ok, out) = linevisor(&api, &["restart", "labeler"]);
    assert!(ok, "{out}");
    h.until("labeler's DDEATH", |v| {
        v["type"] == "DDEATH" && v["device"] == "labeler"
    });
    h.until("labeler's new DBIRTH", |v| {
        v["type"] == "DBIRTH" && v["device"] == "labeler"
    });

    // Store and forward across a broker restart: the broker dies and the drive is moved while
    // it is gone (the broker returns only after the command's acknowledgement, and linevisor
    // reconnects a backoff later); the new session (bdSeq + 1) births, then replays the start of
    // the ramp, kept while offline, as historical data.
    broker.0.kill().expect("kill the broker");
    let _ = broker.0.wait();
    let (ok, out) = linevisor(&api, &["drive", "infeed-conveyor", "set_velocity", "200"]);
    assert!(ok, "{out}");
    let mut broker = start_broker(&conf);
    let next_bd = Value::from(bd_seq.as_u64().expect("bdSeq") + 1);
    let reborn = h.until("the next session's NBIRTH", |v| v["type"] == "NBIRTH");
    assert_eq!(metric(&reborn, "bdSeq").expect("bdSeq")["value"], next_bd);
    let infeed = h.until("infeed-conveyor's DBIRTH", |v| {
        v["type"] == "DBIRTH" && v["device"] == "infeed-conveyor"
    });
    let velocity = metric(&infeed, "Velocity").expect("Velocity")["alias"].clone();
    h.until("the ramp replayed as history", |v| {
        v["type"] == "DDATA"
            && v["device"] == "infeed-conveyor"
            && v["metrics"].as_array().is_some_and(|ms| {
                ms.iter().any(|m| {
                    m["alias"] == velocity
                        && m["historical"] == true
                        && m["value"]
                            .as_f64()
                            .is_some_and(|x| (100.0..=190.0).contains(&x))
                })
            })
    });

    // SIGKILL: the broker publishes the Will, an NDEATH with this session's bdSeq.
    run.0.kill().expect("kill");
    let _ = run.0.wait();
    let death = h.until("the NDEATH Will", |v| v["type"] == "NDEATH");
    assert_eq!(death["bd_seq"], next_bd, "{death}");
    let _ = broker.0.kill();

    // Across the whole stream: seq +1 per message from each NBIRTH, wrapping at 255.
    let mut seq: Option<u64> = None;
    for v in &h.seen {
        let kind = v["type"].as_str().unwrap_or("");
        match kind {
            "NBIRTH" => seq = Some(0),
            "DBIRTH" | "DDATA" | "DDEATH" | "NDATA" => {
                let s = v["seq"].as_u64().expect("seq");
                let prev = seq.expect("data before NBIRTH");
                assert_eq!(s, (prev + 1) % 256, "seq after {prev}: {v}");
                seq = Some(s);
            }
            _ => {}
        }
        for d in ["DDEATH"] {
            if kind == d {
                assert_eq!(v["device"], "labeler", "only the restarted drive dies: {v}");
            }
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// A clean stop (here `--duration`) publishes the NDEATH itself: the broker sends no Will for a
/// clean disconnect.
#[test]
fn a_clean_stop_publishes_ndeath() {
    if !available() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("linevisor-spb-stop-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let port = free_port();
    let _broker = start_broker(&broker_conf(&dir, "mosquitto.conf", port, ""));
    let (_host, _host_in, mut h) = spawn_host(port);
    let config = dir.join("line.toml");
    std::fs::write(
        &config,
        format!(
            "[line]\nname = \"short\"\n\n[[bus]]\nid = \"sim\"\ntype = \"simulated\"\nprotocol = \"modbus\"\n\n\
             [[drive]]\nid = \"axis\"\nbus = \"sim\"\naddress = 1\nprofile = {{ name = \"linevisor-sim-servo\", version = \"1.0\" }}\n\n\
             [northbound.sparkplug]\nbrokers = [\"mqtt://127.0.0.1:{port}\"]\ngroup_id = \"plant\"\n"
        ),
    )
    .expect("line");
    let run = Command::new(env!("CARGO_BIN_EXE_linevisor"))
        .arg("run")
        .arg(&config)
        .args(["--logs", "--duration", "2", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    let mut run = run;
    let logs = lines_of(run.stderr.take().expect("stderr"));
    let mut run = Proc(run);
    let birth = h.until("NBIRTH", |v| {
        v["type"] == "NBIRTH" && v["edge_node"] == "short"
    });
    let bd_seq = metric(&birth, "bdSeq").expect("bdSeq")["value"].clone();
    let status = run.0.wait().expect("run ends");
    assert!(status.success(), "{status}");
    let death = h.until("NDEATH", |v| {
        v["type"] == "NDEATH" && v["edge_node"] == "short"
    });
    assert_eq!(death["bd_seq"], bd_seq);
    // Published by linevisor itself (an abrupt end would have the broker send the Will).
    let said: Vec<String> = logs.iter().collect();
    assert!(
        said.iter()
            .any(|l| l.contains("Offline: NDEATH published, disconnected.")),
        "{said:#?}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
