//! The binary's contract: exit 0 valid, 1 invalid, 2 usage error; plain diagnostics when stderr
//! is not a terminal; the tree and loads on success; a schema on request.

use std::process::Command;

fn linevisor() -> Command {
    Command::new(env!("CARGO_BIN_EXE_linevisor"))
}

fn configs(rel: &str) -> String {
    format!("{}/../../configs/{rel}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn check_without_a_file_checks_the_embedded_demo_line() {
    let out = linevisor().arg("check").output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("line \"demo\""), "{stdout}");
    assert!(stdout.contains("├─ buses supervisor"));
    assert!(stdout.contains("drive infeed-conveyor on sim-modbus @1"));
    assert!(stdout.contains("drive palletizer-x on sim-canopen @1"));
    assert!(stdout.starts_with("line"));
}

#[test]
fn check_prints_each_bus_load() {
    let out = linevisor()
        .args(["check", &configs("examples/rtu-three-drives.toml")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("bus rs485-a [modbus_rtu"), "{stdout}");
    assert!(stdout.contains("% (3 drives"), "{stdout}");
}

#[test]
fn invalid_config_exits_1_and_lists_every_error_plainly() {
    let out = linevisor()
        .args(["check", &configs("invalid/several-mistakes.toml")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let errors = stderr.lines().filter(|l| l.contains(": error: ")).count();
    assert_eq!(errors, 8, "{stderr}");
    assert!(stderr.contains("drive[0].bus: unknown bus \"rs485-b\"; did you mean \"rs485-a\"?"));
    assert!(stderr.contains("invalid: 8 errors, 0 warnings"));
}

#[test]
fn warnings_fail_only_with_deny_warnings() {
    let dir = std::env::temp_dir().join(format!("linevisor-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("warn.toml");
    // Six servos polled every 50 ms on 115200 baud: about 75 % of the wire.
    let mut text = String::from(
        "[line]\nname = \"w\"\ncycle_ms = 50\n\n[[bus]]\nid = \"rs\"\ntype = \"modbus_rtu\"\nport = \"/dev/ttyUSB9\"\nbaud = 115200\n",
    );
    for i in 1..=6 {
        text.push_str(&format!(
            "\n[[drive]]\nid = \"d{i}\"\nbus = \"rs\"\naddress = {i}\nprofile = {{ name = \"linevisor-sim-servo\", version = \"1.0\" }}\n"
        ));
    }
    std::fs::write(&cfg, text).unwrap();
    let ok = linevisor()
        .args(["check", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    let strict = linevisor()
        .args(["check", "--deny-warnings", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    let stderr = String::from_utf8_lossy(&ok.stderr);
    assert!(stderr.contains(": warning: bus[0].baud"), "{stderr}");
    assert_eq!(ok.status.code(), Some(0));
    assert_eq!(strict.status.code(), Some(1));
}

#[test]
fn usage_errors_exit_2() {
    let out = linevisor()
        .args(["check", "--no-such-flag"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = linevisor().arg("frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn garbage_file_is_an_error_not_a_crash() {
    let dir = std::env::temp_dir().join(format!("linevisor-garbage-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("garbage.toml");
    std::fs::write(&cfg, [0xff, 0xfe, 0x00, 0x5b, 0x5b, 0x0a]).unwrap();
    let out = linevisor()
        .args(["check", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("error"));
}

#[test]
fn schema_is_json_with_the_bus_types() {
    let out = linevisor().arg("schema").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = v.to_string();
    for kind in ["modbus_rtu", "modbus_tcp", "canopen", "serial", "simulated"] {
        assert!(text.contains(kind), "{kind}");
    }
    let out = linevisor().args(["schema", "--profile"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v.to_string().contains("controlword_edge"));
}

#[test]
fn run_starts_the_demo_line_and_stops_it_to_safe_states() {
    let out = linevisor()
        .args([
            "run",
            "--logs",
            "--duration",
            "2",
            "--listen",
            "127.0.0.1:0",
        ])
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("Line started."), "{stderr}");
    // Every drive of the demo line (Modbus, CANopen and serial segments).
    let drives = linevisor_config::DEMO_LINE.matches("[[drive]]").count();
    assert_eq!(
        stderr.matches("Safe state applied on stop.").count(),
        drives,
        "{stderr}"
    );
    assert!(stderr.contains("bus=sim-serial-tmcl"), "{stderr}");
    assert!(stderr.contains("Node operational."), "{stderr}");
    assert!(stderr.contains("linevisor: stopped"), "{stderr}");
}

#[test]
fn run_refuses_an_invalid_config() {
    let out = linevisor()
        .args(["run", &configs("invalid/unknown-bus.toml")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown bus \"rs485-b\""));
}
