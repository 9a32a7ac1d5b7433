//! `configs/examples/mixed-line.toml` as shipped, its ports pointed at `linevisor sim`
//! processes: Modbus RTU servos on a pty, a VFD on Modbus TCP, a CiA 402 axis behind an
//! emulated slcan adapter and an ASCII stepper on a plain serial pty, all in one line. Every
//! drive becomes ready and acknowledges enable, a velocity and disable. Real processes and
//! real time: waits are event-driven (printed endpoints, the event stream), timeouts only guard
//! hangs.

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{linevisor, wait_ready};

const GUARD: Duration = Duration::from_secs(60);

/// Kills a child process even when an assertion fails.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Spawns `linevisor <args>` with its stdout (or stderr) read line by line on a thread.
fn spawn(args: &[&str], stderr: bool) -> (Proc, mpsc::Receiver<String>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_linevisor"));
    cmd.args(args);
    if stderr {
        cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    } else {
        cmd.stdout(Stdio::piped()).stderr(Stdio::null());
    }
    let mut child = cmd.spawn().expect("spawn linevisor");
    let out: Box<dyn std::io::Read + Send> = if stderr {
        Box::new(child.stderr.take().expect("stderr"))
    } else {
        Box::new(child.stdout.take().expect("stdout"))
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    (Proc(child), rx)
}

/// The first printed line starting with `prefix`, its next word.
fn printed(rx: &mpsc::Receiver<String>, prefix: &str) -> String {
    loop {
        let line = rx
            .recv_timeout(GUARD)
            .unwrap_or_else(|_| panic!("nothing printed starting with {prefix:?}"));
        if let Some(rest) = line.strip_prefix(prefix) {
            return rest.split_whitespace().next().expect("a word").to_owned();
        }
    }
}

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("linevisor-mixed-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

/// Starts `linevisor sim` on `config` (written to `dir/name`).
fn sim(dir: &std::path::Path, name: &str, config: &str) -> (Proc, mpsc::Receiver<String>) {
    let path = dir.join(name);
    std::fs::write(&path, config).expect("sim config");
    spawn(&["sim", path.to_str().expect("utf-8 path")], false)
}

#[test]
fn the_mixed_line_runs_modbus_canopen_and_serial_drives_against_the_simulator() {
    let dir = scratch();
    // One simulator per bus: each serves its own units (a unit id is unique per simulator).
    let (_rtu_sim, rtu_out) = sim(
        &dir,
        "rtu.toml",
        "[[endpoint]]\npty = true\nbaud = 115200\n\n\
         [[drive]]\nunit = 1\nprofile = { name = \"linevisor-sim-servo\", version = \"1.0\" }\n\n\
         [[drive]]\nunit = 2\nprofile = { name = \"linevisor-sim-servo\", version = \"1.0\" }\n\n\
         [[drive]]\nunit = 10\nprofile = { name = \"generic-cia402-canopen\", version = \"1.0\" }\n",
    );
    let (_tcp_sim, tcp_out) = sim(
        &dir,
        "tcp.toml",
        "[[endpoint]]\ntcp = \"127.0.0.1:0\"\n\n\
         [[drive]]\nunit = 1\nprofile = { name = \"delta-c2000-vfd\", version = \"1.0\" }\n",
    );
    let (_serial_sim, serial_out) = sim(
        &dir,
        "serial.toml",
        "[[endpoint]]\nserial_pty = true\nbaud = 57600\n\n\
         [[drive]]\nunit = 1\nprofile = { name = \"ascii-stepper\", version = \"1.0\" }\n",
    );
    let rtu = printed(&rtu_out, "modbus rtu ");
    let slcan = printed(&rtu_out, "slcan ");
    let tcp = printed(&tcp_out, "modbus tcp ");
    let serial = printed(&serial_out, "serial ");

    let shipped = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../configs/examples/mixed-line.toml"),
    )
    .expect("the shipped example");
    let line = shipped
        .replace("\"/dev/ttyUSB0\"", &format!("{rtu:?}"))
        .replace("\"10.0.5.30:502\"", &format!("{tcp:?}"))
        .replace("\"/dev/ttyUSB1\"", &format!("{slcan:?}"))
        .replace("\"/dev/ttyS1\"", &format!("{serial:?}"))
        // The shipped profiles are compiled in; the example's folder is not copied.
        .replace("profile_dirs = [\"../profiles\"]", "profile_dirs = []");
    for (old, new) in [
        (&rtu, "RTU"),
        (&tcp, "TCP"),
        (&slcan, "slcan"),
        (&serial, "serial"),
    ] {
        assert!(line.contains(old.as_str()), "{new} port not substituted");
    }
    let config = dir.join("mixed-line.toml");
    std::fs::write(&config, &line).expect("line config");

    let (_run, run_err) = spawn(
        &[
            "run",
            config.to_str().expect("utf-8 path"),
            "--logs",
            "--listen",
            "127.0.0.1:0",
        ],
        true,
    );
    let api = printed(&run_err, "linevisor: API on http://");
    // Keep draining the logs so the instance never blocks on a full pipe.
    std::thread::spawn(move || while run_err.recv().is_ok() {});

    let drives = [
        ("filler-pump", 100.0),
        ("star-wheel", 100.0),
        ("conveyor-vfd", 30.0),
        ("labeler-x", 100.0),
        ("capper", 1000.0),
    ];
    let (_follow, events) = spawn(&["events", "--follow", "--api", &api], false);
    let ids: Vec<&str> = drives.iter().map(|(id, _)| *id).collect();
    wait_ready(&api, &ids, &events, GUARD);

    for (id, velocity) in drives {
        for command in [
            vec!["drive", id, "enable"],
            vec!["drive", id, "set_velocity", &velocity.to_string()],
            vec!["drive", id, "disable"],
        ] {
            let (ok, text) = linevisor(&api, &command);
            assert!(ok && text.contains("acknowledged"), "{command:?}: {text}");
        }
    }
    let (ok, status) = linevisor(&api, &["status", "--json"]);
    assert!(ok, "{status}");
    let v: serde_json::Value = serde_json::from_str(&status).expect("status JSON");
    let buses = v["buses"].as_array().expect("buses");
    assert_eq!(buses.len(), 4, "{status}");
    std::fs::remove_dir_all(&dir).ok();
}
