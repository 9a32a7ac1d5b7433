//! Interoperability: `mbpoll` (libmodbus, not written by us) reads and writes the standalone
//! simulator (`linevisor sim`, a separate process) over Modbus TCP and over Modbus RTU on the
//! pseudo-terminal it prints. `.ci/run` installs mbpoll; elsewhere the test says it was skipped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Kills the simulator even when an assertion fails.
struct Sim(Child);

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn mbpoll_available() -> bool {
    let found = Command::new("mbpoll").arg("-V").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "mbpoll is missing in CI: .ci/run must install it"
        );
        eprintln!("skipped: mbpoll is not installed (apt-get install mbpoll)");
    }
    found
}

/// Starts `linevisor sim` on 127.0.0.1:0 and a pty; returns it with the TCP port and pty path.
fn start_sim() -> (Sim, u16, String) {
    let dir = std::env::temp_dir().join(format!("linevisor-interop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("sim.toml");
    std::fs::write(
        &cfg,
        "[sim]\nstep_ms = 1\n\n[[endpoint]]\ntcp = \"127.0.0.1:0\"\n\n[[endpoint]]\npty = true\nbaud = 115200\n\n\
         [[drive]]\nunit = 1\nprofile = { name = \"linevisor-sim-servo\", version = \"1.0\" }\nserial_number = 4242\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_linevisor"))
        .args(["sim", cfg.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let sim = Sim(child);
    // Event-driven: the endpoints are printed once they are bound; the timeout is a hang guard.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let (mut port, mut pty) = (None, None);
    while port.is_none() || pty.is_none() {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("sim printed its endpoints");
        if let Some(rest) = line.strip_prefix("modbus tcp ") {
            let addr = rest.split_whitespace().next().unwrap();
            port = addr.rsplit(':').next().and_then(|p| p.parse::<u16>().ok());
        } else if let Some(rest) = line.strip_prefix("modbus rtu ") {
            pty = rest.split_whitespace().next().map(str::to_owned);
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    (sim, port.unwrap(), pty.unwrap())
}

/// Runs mbpoll once and returns (success, stdout).
fn mbpoll(args: &[&str]) -> (bool, String) {
    let out = Command::new("mbpoll")
        .args(args)
        .arg("-1")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The value mbpoll printed for reference `reference` (`[11]: 592`).
fn value(stdout: &str, reference: u32) -> Option<i64> {
    let tag = format!("[{reference}]:");
    stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix(&tag).map(|v| v.trim().parse().ok()))?
}

#[test]
fn mbpoll_reads_and_writes_the_standalone_simulator() {
    if !mbpoll_available() {
        return;
    }
    let (_sim, port, pty) = start_sim();
    let port = port.to_string();
    // mbpoll counts references from 1: reference 11 is the statusword at protocol address 10.
    let tcp = ["-m", "tcp", "-p", port.as_str(), "-a", "1"];
    let (ok, out) = mbpoll(&[&tcp[..], &["-r", "11", "-c", "1", "127.0.0.1"]].concat());
    assert!(ok, "{out}");
    // Switch on disabled (0x0040) with voltage enabled (0x0010) and remote (0x0200).
    assert_eq!(value(&out, 11), Some(0x0250), "{out}");

    // Controlword "shutdown" (6) → ready to switch on (0x0021 | 0x0010 | 0x0200).
    let (ok, out) = mbpoll(&[&tcp[..], &["-r", "1", "127.0.0.1", "6"]].concat());
    assert!(ok, "{out}");
    let (ok, out) = mbpoll(&[&tcp[..], &["-r", "11", "-c", "1", "127.0.0.1"]].concat());
    assert!(ok, "{out}");
    assert_eq!(value(&out, 11), Some(0x0231), "{out}");

    // The serial number (identity) as a 32-bit big-endian value at address 20.
    let (ok, out) = mbpoll(&[&tcp[..], &["-t", "4:int", "-B", "-r", "21", "127.0.0.1"]].concat());
    assert!(ok, "{out}");
    assert_eq!(value(&out, 21), Some(4242), "{out}");

    // Modbus RTU on the printed pseudo-terminal: the same drive, the same state.
    let (ok, out) = mbpoll(&[
        "-m", "rtu", "-b", "115200", "-a", "1", "-r", "11", "-c", "1", &pty,
    ]);
    assert!(ok, "{out}");
    assert_eq!(value(&out, 11), Some(0x0231), "{out}");

    // A unit that is not served: exception 0x0B over TCP, which mbpoll reports as a failure.
    let (ok, _) = mbpoll(&[
        "-m",
        "tcp",
        "-p",
        port.as_str(),
        "-a",
        "9",
        "-r",
        "11",
        "127.0.0.1",
    ]);
    assert!(!ok);
}
