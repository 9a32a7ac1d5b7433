//! The Sparkplug tests' processes: mosquitto, the independent host, their output.
#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

pub const GUARD: Duration = Duration::from_secs(60);

pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn available() -> bool {
    let mosquitto = Command::new("mosquitto").arg("-h").output().is_ok();
    let host = Command::new("python3")
        .args(["-c", "import paho.mqtt, pysparkplug"])
        .status()
        .is_ok_and(|s| s.success());
    if !(mosquitto && host) {
        assert!(
            std::env::var_os("CI").is_none(),
            "mosquitto and the Python host (paho-mqtt, pysparkplug) are missing in CI: .ci/run installs them"
        );
        eprintln!("skipped: mosquitto or pysparkplug is not installed");
    }
    mosquitto && host
}

pub fn lines_of(out: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
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

/// The host's records, read as they come.
pub struct Host {
    pub rx: mpsc::Receiver<String>,
    pub seen: Vec<Value>,
}

impl Host {
    /// The first record from now on that `pick` accepts; every record is kept in `seen`.
    pub fn until(&mut self, what: &str, pick: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + GUARD;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .rx
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("the host never saw {what}"));
            let Ok(v) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            assert_ne!(v["type"], "host-error", "{v}");
            assert!(
                v.get("error").is_none(),
                "a payload the host cannot decode: {v}"
            );
            self.seen.push(v.clone());
            if pick(&v) {
                return v;
            }
        }
    }
}

pub fn metric<'a>(record: &'a Value, name: &str) -> Option<&'a Value> {
    record["metrics"]
        .as_array()?
        .iter()
        .find(|m| m["name"] == name)
}

/// mosquitto on `conf`, once it says it is running.
pub fn start_broker(conf: &std::path::Path) -> Proc {
    let (p, log) = start_broker_logged(conf);
    std::thread::spawn(move || while log.recv().is_ok() {});
    p
}

/// mosquitto on `conf`, once it says it is running, with the rest of its log.
pub fn start_broker_logged(conf: &std::path::Path) -> (Proc, mpsc::Receiver<String>) {
    let mut broker = Command::new("mosquitto")
        .arg("-c")
        .arg(conf)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("mosquitto");
    let log = lines_of(broker.stderr.take().expect("stderr"));
    loop {
        let line = log.recv_timeout(GUARD).expect("mosquitto started");
        if line.contains("running") {
            break;
        }
    }
    (Proc(broker), log)
}

/// A port the OS picked, handed to a broker.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A mosquitto config file in `dir` listening on `port`, with `extra` lines (a bridge).
pub fn broker_conf(
    dir: &std::path::Path,
    name: &str,
    port: u16,
    extra: &str,
) -> std::path::PathBuf {
    let conf = dir.join(name);
    std::fs::write(
        &conf,
        format!("listener {port} 127.0.0.1\nallow_anonymous true\n{extra}"),
    )
    .expect("conf");
    conf
}

/// The independent host on `port`, subscribed: its process, stdin and records.
pub fn spawn_host(port: u16) -> (Proc, std::process::ChildStdin, Host) {
    let script = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/peers/sparkplug_host.py");
    let mut host = Command::new("python3")
        .arg(script)
        .args(["127.0.0.1", &port.to_string(), "plant"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("host");
    let stdin = host.stdin.take().expect("stdin");
    let mut h = Host {
        rx: lines_of(host.stdout.take().expect("stdout")),
        seen: Vec::new(),
    };
    let p = Proc(host);
    h.until("its subscription", |v| v["type"] == "ready");
    (p, stdin, h)
}

/// `linevisor run config` with logs on stderr (API on a port the OS picks): the process and
/// its log lines.
pub fn run_line(config: &std::path::Path) -> (Proc, mpsc::Receiver<String>) {
    run_line_with(config, &[])
}

/// [`run_line`] with more arguments (`--journal FILE`).
pub fn run_line_with(config: &std::path::Path, more: &[&str]) -> (Proc, mpsc::Receiver<String>) {
    let mut run = Command::new(env!("CARGO_BIN_EXE_linevisor"))
        .arg("run")
        .arg(config)
        .args(["--logs", "--listen", "127.0.0.1:0"])
        .args(more)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    let logs = lines_of(run.stderr.take().expect("stderr"));
    (Proc(run), logs)
}

/// Reads `logs` until a line contains `text`; the line.
pub fn log_until(logs: &mpsc::Receiver<String>, text: &str) -> String {
    loop {
        let line = logs
            .recv_timeout(GUARD)
            .unwrap_or_else(|_| panic!("linevisor never logged {text:?}"));
        if line.contains(text) {
            return line;
        }
    }
}

/// A line of `n` simulated servos `<name>-1…n` with `northbound` as its
/// `[northbound.sparkplug]` body.
pub fn sim_line(name: &str, n: usize, northbound: &str) -> String {
    let mut s = format!(
        "[line]\nname = \"{name}\"\n\n[[bus]]\nid = \"sim\"\ntype = \"simulated\"\nprotocol = \"modbus\"\n"
    );
    for i in 1..=n {
        s.push_str(&format!(
            "\n[[drive]]\nid = \"{name}-{i}\"\nbus = \"sim\"\naddress = {i}\nprofile = {{ name = \"linevisor-sim-servo\", version = \"1.0\" }}\n"
        ));
    }
    s.push_str("\n[northbound.sparkplug]\n");
    s.push_str(northbound);
    s
}
