//! Scale-out: two linevisor gateways, each its own edge node, publish to two mosquitto brokers
//! bridged to each other; one independent host on the first broker sees every drive of both
//! lines and commands a drive of the gateway on the other broker through the bridge.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::sparkplug::{
    GUARD, Proc, available, broker_conf, free_port, spawn_host, start_broker, start_broker_logged,
};

fn line(name: &str, port: u16) -> String {
    let mut s = format!(
        "[line]\nname = \"{name}\"\n\n[[bus]]\nid = \"sim\"\ntype = \"simulated\"\nprotocol = \"modbus\"\n"
    );
    for i in 1..=2 {
        s.push_str(&format!(
            "\n[[drive]]\nid = \"{name}-{i}\"\nbus = \"sim\"\naddress = {i}\nprofile = {{ name = \"linevisor-sim-servo\", version = \"1.0\" }}\n"
        ));
    }
    s.push_str(&format!(
        "\n[northbound.sparkplug]\nbrokers = [\"mqtt://127.0.0.1:{port}\"]\ngroup_id = \"plant\"\nallow_commands = true\n"
    ));
    s
}

#[test]
fn two_gateways_on_two_bridged_brokers_reach_one_host() {
    if !available() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("linevisor-spb-cluster-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let (a, b) = (free_port(), free_port());
    let (_broker_a, log_a) = start_broker_logged(&broker_conf(&dir, "a.conf", a, ""));
    // Broker B bridges every Sparkplug topic both ways with broker A.
    let bridge = format!(
        "connection to-a\naddress 127.0.0.1:{a}\ntopic spBv1.0/# both 0\ncleansession true\n"
    );
    let _broker_b = start_broker(&broker_conf(&dir, "b.conf", b, &bridge));
    // The bridge is up once broker A has its client: only then can births cross it.
    loop {
        let line = log_a.recv_timeout(GUARD).expect("the bridge connected");
        if line.contains(".to-a") {
            break;
        }
    }
    std::thread::spawn(move || while log_a.recv().is_ok() {});
    let (_host, mut host_in, mut h) = spawn_host(a);

    let mut gateways = Vec::new();
    for (name, port) in [("filling", a), ("packing", b)] {
        let config = dir.join(format!("{name}.toml"));
        std::fs::write(&config, line(name, port)).expect("config");
        let child = Command::new(env!("CARGO_BIN_EXE_linevisor"))
            .arg("run")
            .arg(&config)
            .args(["--logs", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gateway");
        gateways.push(Proc(child));
    }
    // Every drive of both lines, each line its own edge node.
    let mut born = std::collections::BTreeSet::new();
    while born.len() < 4 {
        let v = h.until("a DBIRTH of each drive", |v| v["type"] == "DBIRTH");
        let (edge, device) = (v["edge_node"].as_str(), v["device"].as_str());
        let (Some(edge), Some(device)) = (edge, device) else {
            continue;
        };
        assert!(
            device.starts_with(edge),
            "{device} born by edge node {edge}"
        );
        born.insert(device.to_owned());
    }
    // A command from the host, on broker A, to a drive of the gateway on broker B.
    writeln!(host_in, "dcmd packing packing-2 Command/Enable bool true").expect("stdin");
    host_in.flush().expect("flush");
    h.until("the outcome through the bridge", |v| {
        v["type"] == "DDATA"
            && v["device"] == "packing-2"
            && v["metrics"]
                .as_array()
                .is_some_and(|ms| ms.iter().any(|m| m["value"] == "operation_enabled"))
    });
    drop(gateways);
    std::fs::remove_dir_all(&dir).ok();
}
