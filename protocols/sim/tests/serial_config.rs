//! The `serial_pty` endpoint of a sim config: the example file, its errors at their place, and
//! a running config's serial lines read by a linevisor-serial master through the printed paths.

mod common;

use std::path::Path;

use common::master::{Master, PTY_TIMEOUT, SCL, TMCL};
use linevisor_sim::{EndpointConfig, EndpointInfo, RunningSim, SimConfig};

fn example() -> SimConfig {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/sim/serial-steppers.toml");
    SimConfig::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn errors(text: &str) -> Vec<String> {
    match SimConfig::parse("sim.toml", text, None) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.diagnostics.iter().map(ToString::to_string).collect(),
    }
}

const SCL_DRIVE: &str = "profile = { name = \"applied-motion-scl-stepper\", version = \"1.0\" }";
const TMCL_DRIVE: &str = "profile = { name = \"trinamic-tmcl-axis\", version = \"1.0\" }";
const SERVO: &str = "profile = { name = \"linevisor-sim-servo\", version = \"1.0\" }";

#[test]
fn the_serial_example_loads_with_a_line_per_framing() {
    let c = example();
    assert_eq!(
        c.endpoints,
        [
            EndpointConfig::SerialPty {
                baud: 9600,
                units: Some(vec![1])
            },
            EndpointConfig::SerialPty {
                baud: 9600,
                units: Some(vec![2])
            },
        ]
    );
    let names: Vec<&str> = c
        .drives
        .iter()
        .map(|d| d.profile.profile.name.as_str())
        .collect();
    assert_eq!(names, [SCL, TMCL]);
    assert_eq!(c.drives[0].options.factory["run_current"], 2.0);
}

#[test]
fn a_serial_drive_needs_a_serial_line() {
    let text = format!("[[endpoint]]\ntcp = \"127.0.0.1:0\"\n\n[[drive]]\nunit = 4\n{SCL_DRIVE}\n");
    let e = errors(&text);
    assert_eq!(e.len(), 1, "{e:#?}");
    assert!(
        e[0].starts_with("sim.toml:5:8: error: drive[0].unit: serial drive 4 is on no serial line"),
        "{e:#?}"
    );
    assert!(e[0].contains("serial_pty = true"), "{e:#?}");
}

#[test]
fn one_serial_line_carries_one_framing() {
    let text = format!(
        "[[endpoint]]\nserial_pty = true\n\n[[drive]]\nunit = 1\n{SCL_DRIVE}\n\n[[drive]]\nunit = 2\n{TMCL_DRIVE}\n"
    );
    let e = errors(&text);
    assert_eq!(e.len(), 1, "{e:#?}");
    assert!(
        e[0].starts_with(
            "sim.toml:1:1: error: endpoint[0]: one line carries one framing: unit 1 speaks ascii lines ended by \"\\r\", unit 2 speaks binary 9-byte frames"
        ),
        "{e:#?}"
    );
    assert!(e[0].contains("units = [...]"), "{e:#?}");
}

#[test]
fn every_serial_line_problem_is_reported_with_its_place() {
    let text = format!(
        r#"[[endpoint]]
serial_pty = true
units = [1, 3, 9]

[[endpoint]]
serial_pty = true
units = [1]

[[endpoint]]
tcp = "127.0.0.1:0"
units = [1]

[[endpoint]]
serial_pty = false

[[endpoint]]
serial_pty = true
units = []

[[drive]]
unit = 1
{SCL_DRIVE}

[[drive]]
unit = 2
{TMCL_DRIVE}

[[drive]]
unit = 3
{SERVO}
"#
    );
    // Field errors first; the lines are checked against the drives once those are fixed.
    let e = errors(&text);
    let expected = [
        "sim.toml:11:9: error: endpoint[2].units: units applies to serial_pty endpoints only",
        "sim.toml:14:14: error: endpoint[3].serial_pty: serial_pty = false serves nothing",
        "sim.toml:18:9: error: endpoint[4].units: units = [] serves nothing",
    ];
    for (got, want) in e.iter().zip(expected) {
        assert!(got.starts_with(want), "got  {got}\nwant {want}");
    }
    assert_eq!(e.len(), expected.len(), "{e:#?}");

    let fixed = text
        .replace(
            "tcp = \"127.0.0.1:0\"\nunits = [1]",
            "tcp = \"127.0.0.1:0\"",
        )
        .replace("serial_pty = false", "pty = true")
        .replace("units = []", "units = [2]");
    let e = errors(&fixed);
    let expected = [
        "sim.toml:3:9: error: endpoint[0].units: unit 3 runs \"linevisor-sim-servo\", a modbus profile, not a serial one",
        "sim.toml:3:9: error: endpoint[0].units: no serial drive at unit 9",
        "sim.toml:7:9: error: endpoint[1].units: unit 1 is on two serial lines",
    ];
    for (got, want) in e.iter().zip(expected) {
        assert!(got.starts_with(want), "got  {got}\nwant {want}");
    }
    assert_eq!(e.len(), expected.len(), "{e:#?}");
}

#[tokio::test]
async fn a_running_serial_config_is_read_through_its_printed_lines() {
    let sim = RunningSim::start(&example()).await.unwrap();
    let endpoints = sim.endpoints();
    assert_eq!(endpoints.len(), 2, "{endpoints:?}");
    for (e, (name, unit)) in endpoints.iter().zip([(SCL, 1u8), (TMCL, 2)]) {
        let EndpointInfo::Serial(path) = e else {
            panic!("{e:?}");
        };
        assert!(e.to_string().starts_with("serial /dev/"), "{e}");
        // Another process would open the printed path; so does this master.
        let port =
            tokio_serial::SerialStream::open(&tokio_serial::new(path.to_string_lossy(), 9600))
                .expect("open the printed pty path");
        let mut m = Master::new(port, &common::profile(name), u32::from(unit));
        m.timeout = PTY_TIMEOUT;
        assert_eq!(m.read("position_actual").await, 0, "{name}");
        m.write("command", 1).await;
        assert_eq!(sim.handle().writes_received(unit).unwrap(), 1);
    }
    // Each line carries only its own drive.
    let EndpointInfo::Serial(path) = &endpoints[0] else {
        unreachable!()
    };
    let port =
        tokio_serial::SerialStream::open(&tokio_serial::new(path.to_string_lossy(), 9600)).unwrap();
    let mut m = Master::new(port, &common::profile(SCL), 2);
    assert_eq!(
        m.exchange("position_actual", linevisor_serial::Op::Read)
            .await,
        Err(common::master::Seen::Timeout)
    );
}
