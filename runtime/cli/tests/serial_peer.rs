//! Interoperability on the plain serial wire: `linevisor run` drives a TMCL module and an SCL
//! stepper implemented independently in Python from the vendors' manuals
//! (`tests/peers/serial_drive.py`, no code shared with linevisor), each on a pseudo-terminal.
//! The peer checks every request strictly (frame length, checksum, address, the SCL grammar);
//! the test requires zero malformed requests, the commands each uniform command must put on
//! the wire, and every command acknowledged. Real processes and real time: waits are
//! event-driven, timeouts only guard hangs.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{linevisor, wait_ready};

const GUARD: Duration = Duration::from_secs(60);

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn python_available() -> bool {
    let found = Command::new("python3").arg("--version").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "python3 is missing in CI: .ci/run must install it"
        );
        eprintln!("skipped: python3 is not installed");
    }
    found
}

fn lines_of(out: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

fn next_with(rx: &mpsc::Receiver<String>, prefix: &str) -> String {
    loop {
        let line = rx
            .recv_timeout(GUARD)
            .unwrap_or_else(|_| panic!("nothing printed starting with {prefix:?}"));
        if let Some(rest) = line.strip_prefix(prefix) {
            return rest.trim().to_owned();
        }
    }
}

/// The peer drive: its pty path, its stdin (closing it ends the peer), its output.
fn peer(family: &str) -> (Proc, String, ChildStdin, mpsc::Receiver<String>) {
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/peers/serial_drive.py");
    let mut child = Command::new("python3")
        .arg(script)
        .args([family, "1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn the peer");
    let stdin = child.stdin.take().expect("stdin");
    let out = lines_of(child.stdout.take().expect("stdout"));
    let path = next_with(&out, "pty ");
    (Proc(child), path, stdin, out)
}

/// Runs one drive of `profile` against the peer; returns the peer's report.
fn run_against_peer(
    family: &str,
    profile: &str,
    limits: &str,
    velocity: &str,
) -> serde_json::Value {
    let (_peer, path, mut stdin, out) = peer(family);
    let dir = std::env::temp_dir().join(format!("linevisor-peer-{family}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let config = dir.join("line.toml");
    std::fs::write(
        &config,
        format!(
            "[line]\nname = \"peer\"\ncycle_ms = 50\n\n\
             [[bus]]\nid = \"line\"\ntype = \"serial\"\nport = {path:?}\nbaud = 115200\nresponse_timeout_ms = 1000\n\n\
             [[drive]]\nid = \"axis\"\nbus = \"line\"\naddress = 1\n\
             profile = {{ name = \"{profile}\", version = \"1.0\" }}\nlimits = {{ {limits} }}\n"
        ),
    )
    .expect("line config");
    let mut run = Command::new(env!("CARGO_BIN_EXE_linevisor"))
        .args([
            "run",
            config.to_str().expect("utf-8"),
            "--logs",
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn run");
    let logs = lines_of(run.stderr.take().expect("stderr"));
    let run = Proc(run);
    let api = next_with(&logs, "linevisor: API on http://");
    std::thread::spawn(move || while logs.recv().is_ok() {});
    let mut follow = Command::new(env!("CARGO_BIN_EXE_linevisor"))
        .args(["events", "--follow", "--api", &api])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("follow");
    let events = lines_of(follow.stdout.take().expect("stdout"));
    let _follow = Proc(follow);
    wait_ready(&api, &["axis"], &events, GUARD);
    for command in [
        vec!["enable"],
        vec!["set_velocity", velocity],
        vec!["move_to", "500"],
        vec!["home"],
        vec!["disable"],
    ] {
        let args: Vec<&str> = ["drive", "axis"]
            .into_iter()
            .chain(command.iter().copied())
            .collect();
        let (ok, text) = linevisor(&api, &args);
        assert!(
            ok && text.contains("acknowledged"),
            "{family} {command:?}: {text}"
        );
    }
    drop(run);
    // Closing its stdin makes the peer print its report.
    stdin.write_all(b"").expect("stdin");
    drop(stdin);
    let report = next_with(&out, "{");
    std::fs::remove_dir_all(&dir).ok();
    serde_json::from_str(&format!("{{{report}")).expect("the peer's report")
}

fn commands(report: &serde_json::Value) -> Vec<String> {
    report["commands"]
        .as_array()
        .expect("commands")
        .iter()
        .filter_map(|c| c.as_str().map(str::to_owned))
        .collect()
}

#[test]
fn a_tmcl_module_written_from_the_manual_accepts_every_request() {
    if !python_available() {
        return;
    }
    let report = run_against_peer(
        "tmcl",
        "trinamic-tmcl-axis",
        "velocity_max = 100000.0, position_min = -100000.0, position_max = 100000.0",
        "20000",
    );
    assert_eq!(report["malformed"], 0, "{report}");
    assert!(report["requests"].as_u64() > Some(20), "{report}");
    let seen = commands(&report);
    // GAP 1, 3, 208 polled; ROR, MVP, RFS, MST sent; GAP 2 and 0 read the setpoints back.
    for want in [
        "6:1", "6:3", "6:208", "1:0", "6:2", "4:0", "6:0", "13:0", "3:0",
    ] {
        assert!(seen.iter().any(|c| c == want), "{want} not sent: {report}");
    }
}

#[test]
fn an_scl_stepper_written_from_the_manual_accepts_every_request() {
    if !python_available() {
        return;
    }
    let report = run_against_peer(
        "scl",
        "applied-motion-scl-stepper",
        "velocity_max = 40.0, position_min = -100000.0, position_max = 100000.0",
        "10",
    );
    assert_eq!(report["malformed"], 0, "{report}");
    let seen = commands(&report);
    // Polls; enable; JS then CJ; DI then FP; SH; MD; the setpoints queried back.
    for want in [
        "SC", "AL", "IP", "ME", "JS=", "CJ", "JS", "DI=", "FP", "DI", "SH=", "MD",
    ] {
        assert!(seen.iter().any(|c| c == want), "{want} not sent: {report}");
    }
}
