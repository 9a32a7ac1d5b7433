//! `mqtts://`: linevisor publishes to mosquitto over TLS, checking the broker's certificate
//! against `ca_file` and showing its own client certificate, which the broker requires; the
//! independent host, on the broker's plain listener, sees the births.

mod common;

use std::process::{Command, Stdio};

use common::sparkplug::{Proc, available, free_port, spawn_host, start_broker};

#[test]
fn births_reach_the_host_over_mutual_tls() {
    if !available() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("linevisor-spb-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let server = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).expect("cert");
    let client = rcgen::generate_simple_self_signed(vec!["linevisor".into()]).expect("cert");
    for (name, text) in [
        ("server.pem", server.cert.pem()),
        ("server.key", server.signing_key.serialize_pem()),
        ("client.pem", client.cert.pem()),
        ("client.key", client.signing_key.serialize_pem()),
    ] {
        std::fs::write(dir.join(name), text).expect("pem");
    }
    let (tls, plain) = (free_port(), free_port());
    let conf = dir.join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!(
            "per_listener_settings false\nallow_anonymous true\n\
             listener {tls} 127.0.0.1\ncertfile {d}/server.pem\nkeyfile {d}/server.key\n\
             cafile {d}/client.pem\nrequire_certificate true\n\
             listener {plain} 127.0.0.1\n",
            d = dir.display()
        ),
    )
    .expect("conf");
    let _broker = start_broker(&conf);
    let (_host, _host_in, mut h) = spawn_host(plain);
    let config = dir.join("line.toml");
    std::fs::write(
        &config,
        format!(
            "[line]\nname = \"tls\"\n\n[[bus]]\nid = \"sim\"\ntype = \"simulated\"\nprotocol = \"modbus\"\n\n\
             [[drive]]\nid = \"axis\"\nbus = \"sim\"\naddress = 1\nprofile = {{ name = \"linevisor-sim-servo\", version = \"1.0\" }}\n\n\
             [northbound.sparkplug]\nbrokers = [\"mqtts://127.0.0.1:{tls}\"]\ngroup_id = \"plant\"\n\
             ca_file = \"server.pem\"\nclient_cert = \"client.pem\"\nclient_key = \"client.key\"\n"
        ),
    )
    .expect("line");
    let run = Command::new(env!("CARGO_BIN_EXE_linevisor"))
        .arg("run")
        .arg(&config)
        .args(["--logs", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run");
    let _run = Proc(run);
    h.until("NBIRTH over TLS", |v| {
        v["type"] == "NBIRTH" && v["edge_node"] == "tls"
    });
    h.until("the drive's DBIRTH", |v| {
        v["type"] == "DBIRTH" && v["device"] == "axis"
    });
    std::fs::remove_dir_all(&dir).ok();
}
