//! The sim config format and `run_sim`: the example file, every kind of error, and a served
//! config read by a client through the printed endpoints.

mod common;

use std::path::Path;
use std::time::Duration;

use linevisor_modbus::{Client, RtuClient, RtuConfig, TcpClient, TcpConfig};
use linevisor_sim::{EndpointConfig, EndpointInfo, RunningSim, SimConfig};

fn example() -> SimConfig {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/sim/three-servos.toml");
    SimConfig::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_example_config_loads() {
    let c = example();
    assert_eq!(c.endpoints.len(), 2);
    assert_eq!(c.endpoints[1], EndpointConfig::Pty { baud: 115_200 });
    let units: Vec<u8> = c.drives.iter().map(|d| d.unit).collect();
    assert_eq!(units, [1, 2, 3]);
    assert_eq!(c.drives[1].options.drive.acceleration, 2000.0);
    assert_eq!(c.drives[1].options.factory["max_current"], 6.0);
    assert_eq!(c.drives[2].options.serial_number, 1003);
}

fn errors(text: &str) -> Vec<String> {
    match SimConfig::parse("sim.toml", text, None) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.diagnostics.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn every_problem_is_reported_with_its_place() {
    let text = r#"
[[endpoint]]
tcp = "localhost"

[[endpoint]]
pty = true
baud = 115000

[[endpoint]]
tcp = "127.0.0.1:0"
pty = true

[[drive]]
unit = 0
profile = { name = "linevisor-sim-servo", version = "1.1" }

[[drive]]
unit = 200
profile = { name = "generic-cia402-canopen", version = "1.0" }

[[drive]]
unit = 3
profile = { name = "linevisor-sim-servo", version = "1.0" }
acceleration = -5.0
factory = { max_curent = 3.0 }
"#;
    let e = errors(text);
    let expected = [
        "sim.toml:3:7: error: endpoint[0].tcp: \"localhost\" is not an ip:port address",
        "sim.toml:7:8: error: endpoint[1].baud: 115000 is not a standard baud rate",
        "sim.toml:9:1: error: endpoint[2]: an endpoint has exactly one of `tcp`, `pty` and `serial_pty`",
        "sim.toml:14:8: error: drive[0].unit: unit id 0 is outside 1–247",
        "sim.toml:15:11: error: drive[0].profile: unknown profile \"linevisor-sim-servo\" version \"1.1\"; available versions: 1.0",
        "sim.toml:18:8: error: drive[1].unit: CANopen node id 200 is outside 1–127",
        "sim.toml:24:16: error: drive[2].acceleration: -5 must be a positive number",
        "sim.toml:25:26: error: drive[2].factory.max_curent: profile \"linevisor-sim-servo\" has no parameter \"max_curent\"",
    ];
    for (got, want) in e.iter().zip(expected) {
        assert!(got.starts_with(want), "got  {got}\nwant {want}");
    }
    assert_eq!(e.len(), expected.len(), "{e:#?}");
}

#[test]
fn unknown_keys_and_wrong_types_are_errors() {
    let e = errors(
        "[[endpoint]]\ntcp = \"127.0.0.1:0\"\n\n[[drive]]\nunit = 1\nprofile = { name = \"linevisor-sim-servo\", version = \"1.0\" }\nserial = 5\n",
    );
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with("sim.toml:7:1: error: unknown field `serial`"),
        "{}",
        e[0]
    );
    let e = errors("[[drive]]\nunit = 300\n");
    assert!(e[0].starts_with("sim.toml:2:8: error:"), "{}", e[0]);
    let e = errors("[sim]\nstep_ms = 0\n");
    assert!(
        e.iter()
            .any(|l| l.contains("sim.step_ms: 0 ms is outside 1–100")),
        "{e:?}"
    );
    assert!(e.iter().any(|l| l.contains("no [[endpoint]]")), "{e:?}");
    assert!(e.iter().any(|l| l.contains("no [[drive]]")), "{e:?}");
}

#[tokio::test]
async fn a_running_sim_config_is_read_through_its_endpoints() {
    let mut config = example();
    config.endpoints[0] = EndpointConfig::Tcp("127.0.0.1:0".parse().unwrap());
    let sim = RunningSim::start(&config).await.unwrap();
    let endpoints = sim.endpoints();
    let (EndpointInfo::Tcp(addr), EndpointInfo::Pty(path)) = (&endpoints[0], &endpoints[1]) else {
        panic!("{endpoints:?}");
    };
    assert!(
        endpoints[0]
            .to_string()
            .starts_with("modbus tcp 127.0.0.1:")
    );
    let tcp_config = TcpConfig {
        response_timeout: Duration::from_secs(2),
        ..TcpConfig::default()
    };
    let mut tcp = TcpClient::new(*addr, tcp_config);
    assert_eq!(
        tcp.read_holding_registers(2, 100, 1)
            .await
            .unwrap()
            .unwrap(),
        [600],
        "factory 6.0 A"
    );
    // Another process would open the printed path; so does this client.
    let port =
        tokio_serial::SerialStream::open(&tokio_serial::new(path.to_string_lossy(), 115_200))
            .expect("open the printed pty path");
    let mut rtu_config = RtuConfig::new(115_200);
    rtu_config.response_timeout = Duration::from_secs(2);
    let mut rtu = RtuClient::new(port, rtu_config);
    assert_eq!(
        rtu.read_holding_registers(3, 20, 2).await.unwrap().unwrap(),
        [0, 1003]
    );
    // Both endpoints serve the same drives.
    tcp.write_single_register(1, 0, 6).await.unwrap().unwrap();
    assert_eq!(
        rtu.read_holding_registers(1, 10, 1).await.unwrap().unwrap()[0] & 0x6F,
        0x21
    );
}

#[tokio::test]
async fn run_sim_serves_until_shutdown() {
    let mut config = example();
    config.endpoints = vec![EndpointConfig::Tcp("127.0.0.1:0".parse().unwrap())];
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(linevisor_sim::run_sim(config, async {
        let _ = rx.await;
    }));
    tx.send(()).unwrap();
    run.await.unwrap().unwrap();
}

#[test]
fn canopen_drives_need_no_endpoint_and_are_checked_as_nodes() {
    let text = "[[drive]]\nunit = 5\nprofile = { name = \"generic-cia402-canopen\", version = \"1.0\" }\nserial_number = 77\n";
    let c = SimConfig::parse("sim.toml", text, None).expect("valid");
    assert!(c.endpoints.is_empty());
    assert_eq!(c.drives[0].unit, 5);
    assert_eq!(c.drives[0].options.serial_number, 77);
    // Node 5 on CANopen and unit 5 on Modbus are different devices.
    let both = format!(
        "{text}\n[[endpoint]]\ntcp = \"127.0.0.1:0\"\n\n[[drive]]\nunit = 5\nprofile = {{ name = \"linevisor-sim-servo\", version = \"1.0\" }}\n"
    );
    assert_eq!(
        SimConfig::parse("sim.toml", &both, None)
            .unwrap()
            .drives
            .len(),
        2
    );
    let e = errors(&format!(
        "{text}\n[[drive]]\nunit = 5\nprofile = {{ name = \"generic-cia402-canopen\", version = \"1.0\" }}\nfactory = {{ profile_acceleration = 1.0 }}\n"
    ));
    assert!(
        e[0].contains("drive[1].unit: CANopen node id 5 is simulated twice"),
        "{e:?}"
    );
    assert!(e[1].contains("drive[1].factory.profile_acceleration: factory values are simulated for Modbus drives only"), "{e:?}");
    assert_eq!(e.len(), 2, "{e:?}");
}
