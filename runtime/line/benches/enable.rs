//! State command times on a slow Modbus RTU line (issue 15), in real time: one simulated CiA 402
//! servo (`linevisor-sim-servo`, unit 1) on a 19200-baud RTU line, 300 ms cycle. The line runs
//! as in production: its config names a `modbus_rtu` bus on a serial port (the slave end of a
//! pseudo-terminal, opened by path like a USB adapter); the master end is relayed through a line
//! paced at 19200 baud (`linevisor_modbus::paced`, 11 bits a character) to the simulator serving
//! RTU (t3.5 silences). Commands go through the acknowledged path the API uses (`send_command`:
//! the reply comes once the statusword read back confirms the state).
//!
//! Per trial, `TRIALS` of them, measured: enable from switch-on-disabled → operation enabled;
//! disable from there → switch-on-disabled; (enable again, not measured) quick stop → quick
//! stop active or, once stood still, switch-on-disabled; (disable, not measured) a drive fault
//! injected in the simulator and seen by the drive → fault reset → switch-on-disabled. Each
//! measured command waits k/`TRIALS` of a cycle first (trial k), so the commands fall evenly
//! over the poll cycle, as an operator's do.
//! p50/p99 of each, in ms and in cycles, and the bus transactions during an enable (the cyclic
//! polls of that time included). Reference in the same run: one acyclic statusword read on the
//! same line (a transaction, queued behind a poll in flight as a command's read would be).
//!
//! Run: `cargo bench -p linevisor-line --bench enable` (LINEVISOR_BENCH_TRIALS overrides 20,
//! LINEVISOR_BENCH_CYCLE_MS the 300 ms cycle).
#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use linevisor_config::model::Profile;
use linevisor_config::{ValidLine, check_text};
use linevisor_drive::{
    Command, DriveEvent, DriveEventKind, DriveOptions, DriveState, PowerState, send_command,
    snapshot,
};
use linevisor_line::{LineOptions, RunningLine};
use linevisor_modbus::server::rtu::RtuServerConfig;
use linevisor_profile::{Direction, ProfileCodec};
use linevisor_sim::{SimDrive, SimDriveOptions, SimHandle};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_serial::{SerialPort, SerialStream};

const BAUD: u32 = 19_200;
const CYCLE_MS: u64 = 300;
const TRIALS: usize = 20;
const UNIT: u8 = 1;
const DRIVE: &str = "servo-1";
const SERVO: &str = "linevisor-sim-servo";
/// Only a hang guard: a command or event that never comes is a failure, not a figure.
const GUARD: Duration = Duration::from_secs(30);

fn emit(metric: &str, value: f64, unit: &str) {
    println!(r#"{{"bench":"enable","metric":"{metric}","value":{value:.3},"unit":"{unit}"}}"#);
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn servo_profile() -> Profile {
    let line = check_text("<bench>", "[line]\nname = \"b\"\n", None)
        .line
        .unwrap_or_else(|| panic!("the shipped profiles check clean"));
    line.profiles
        .into_values()
        .map(|lp| lp.profile)
        .find(|p| p.profile.name == SERVO)
        .unwrap_or_else(|| panic!("no profile {SERVO}"))
}

/// The serial line: the simulator behind a 19200-baud paced line, reached through a
/// pseudo-terminal whose slave path the bus opens. Dropping it ends the relay.
struct Wire {
    path: String,
    sim: SimHandle,
    /// Held open so the master never sees a hang-up while the bus (re)opens the path.
    _slave: SerialStream,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Wire {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn wire(profile: &Profile) -> Wire {
    let sim = SimHandle::new();
    let drive =
        SimDrive::new(profile, SimDriveOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    sim.add_drive(UNIT, drive).unwrap_or_else(|e| panic!("{e}"));
    let (mut master, slave) = SerialStream::pair().unwrap_or_else(|e| panic!("pty pair: {e}"));
    let path = slave.name().unwrap_or_else(|| panic!("pty slave path"));
    let (mut near, far) =
        linevisor_modbus::paced::paced_line(BAUD).unwrap_or_else(|e| panic!("paced line: {e}"));
    let server = sim.clone();
    let serve = tokio::spawn(async move {
        let _ = server.serve_rtu(far, RtuServerConfig::new(BAUD)).await;
    });
    let relay = tokio::spawn(async move {
        let _ = tokio::io::copy_bidirectional(&mut master, &mut near).await;
    });
    Wire {
        path,
        sim,
        _slave: slave,
        tasks: vec![serve, relay],
    }
}

fn config(port: &str, cycle_ms: u64) -> ValidLine {
    let text = format!(
        r#"[line]
name = "enable-bench"
cycle_ms = {cycle_ms}

[[bus]]
id = "rs485"
type = "modbus_rtu"
port = "{port}"
baud = {BAUD}
response_timeout_ms = 200

[[drive]]
id = "{DRIVE}"
bus = "rs485"
address = {UNIT}
profile = {{ name = "{SERVO}", version = "1.0" }}
limits = {{ velocity_max = 3000.0 }}
"#
    );
    let checked = check_text("enable-bench.toml", &text, None);
    checked
        .line
        .unwrap_or_else(|| panic!("bench config invalid: {:?}", checked.diagnostics))
}

async fn wait_event(
    rx: &mut broadcast::Receiver<DriveEvent>,
    what: &str,
    pred: impl Fn(&DriveEventKind) -> bool,
) {
    let wait = async {
        loop {
            match rx.recv().await {
                Ok(e) if pred(&e.kind) => return,
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => panic!("event channel closed"),
            }
        }
    };
    tokio::time::timeout(GUARD, wait)
        .await
        .unwrap_or_else(|_| panic!("no {what} within {GUARD:?}"));
}

/// The line's transactions so far.
async fn transactions(running: &RunningLine) -> u64 {
    let bus = running.bus("rs485").unwrap_or_else(|| panic!("rs485"));
    let m = bus.handle.metrics().await.unwrap_or_else(|e| panic!("{e}"));
    m.counters.transactions
}

/// Sends `command`, returns the time to its acknowledgement, in a state of `want`; a refused
/// command is an error (the line's, counted), an acknowledgement in another state a bug.
async fn timed(
    running: &RunningLine,
    command: Command,
    want: &[PowerState],
) -> Result<f64, String> {
    let d = running.drive(DRIVE).unwrap_or_else(|| panic!("{DRIVE}"));
    let t0 = Instant::now();
    let ack = tokio::time::timeout(GUARD, send_command(&d.handle, command))
        .await
        .unwrap_or_else(|_| panic!("{command:?}: no reply within {GUARD:?}"))
        .map_err(|e| format!("{command:?}: {e}"))?;
    let took = t0.elapsed().as_secs_f64() * 1e3;
    let state = ack.state.power();
    assert!(
        state.is_some_and(|s| want.contains(&s)),
        "{command:?} acknowledged in {:?}",
        ack.state
    );
    Ok(took)
}

/// After a failed command: back to switch-on-disabled.
async fn recover(running: &RunningLine, cycle: Duration) {
    let disabled = [PowerState::SwitchOnDisabled];
    for _ in 0..10 {
        let _ = timed(running, Command::FaultReset, &disabled).await;
        if timed(running, Command::Disable, &disabled).await.is_ok() {
            return;
        }
        tokio::time::sleep(cycle).await;
    }
    panic!("the drive does not return to switch-on-disabled");
}

#[derive(Debug, Default)]
struct Times {
    enable: Vec<f64>,
    enable_transactions: Vec<f64>,
    disable: Vec<f64>,
    quick_stop: Vec<f64>,
    fault_reset: Vec<f64>,
    statusword_read: Vec<f64>,
    read_errors: u32,
}

/// One acyclic statusword read per trial, on the drive's own bus and unit.
async fn statusword_reads(
    running: &RunningLine,
    profile: &Profile,
    cycle: Duration,
    trials: usize,
    t: &mut Times,
) {
    let bus = running.bus("rs485").unwrap_or_else(|| panic!("rs485"));
    let codec = Arc::new(ProfileCodec::new(profile).unwrap_or_else(|e| panic!("{e}")));
    let link = bus
        .handle
        .drive_link(codec, u32::from(UNIT))
        .unwrap_or_else(|e| panic!("{e}"));
    for k in 0..trials {
        tokio::time::sleep(cycle * k as u32 / trials as u32).await;
        let t0 = Instant::now();
        match link.read(&["statusword"]).await {
            Ok(_) => t.statusword_read.push(t0.elapsed().as_secs_f64() * 1e3),
            Err(e) => {
                eprintln!("statusword read: {e}");
                t.read_errors += 1;
            }
        }
    }
}

async fn trial(
    running: &RunningLine,
    sim: &SimHandle,
    phase: Duration,
    t: &mut Times,
) -> Result<(), String> {
    let d = running.drive(DRIVE).unwrap_or_else(|| panic!("{DRIVE}"));
    let enable = Command::Enable(Direction::Forward);
    let enabled = [PowerState::OperationEnabled];
    let disabled = [PowerState::SwitchOnDisabled];
    tokio::time::sleep(phase).await;
    let before = transactions(running).await;
    t.enable.push(timed(running, enable, &enabled).await?);
    t.enable_transactions
        .push((transactions(running).await - before) as f64);
    tokio::time::sleep(phase).await;
    t.disable
        .push(timed(running, Command::Disable, &disabled).await?);
    timed(running, enable, &enabled).await?;
    tokio::time::sleep(phase).await;
    // The simulated servo's quick stop ends in switch-on-disabled once it stands still.
    let stopped = [PowerState::QuickStopActive, PowerState::SwitchOnDisabled];
    t.quick_stop
        .push(timed(running, Command::QuickStop, &stopped).await?);
    timed(running, Command::Disable, &disabled).await?;
    let mut events = d.channels.events.subscribe();
    sim.inject_fault(UNIT, Some(0x2310))
        .unwrap_or_else(|e| panic!("{e}"));
    wait_event(&mut events, "fault", |k| {
        matches!(k, DriveEventKind::StateChanged { to, .. } if *to == DriveState::Power(PowerState::Fault))
    })
    .await;
    tokio::time::sleep(phase).await;
    t.fault_reset
        .push(timed(running, Command::FaultReset, &disabled).await?);
    Ok(())
}

fn report(name: &str, values: &[f64], cycle_ms: f64) {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let (p50, p99) = (quantile(&v, 0.5), quantile(&v, 0.99));
    emit(&format!("{name}_p50_ms"), p50, "ms");
    emit(&format!("{name}_p99_ms"), p99, "ms");
    emit(&format!("{name}_p50_cycles"), p50 / cycle_ms, "cycles");
}

fn main() {
    let trials: usize = env("LINEVISOR_BENCH_TRIALS", TRIALS);
    let cycle_ms: u64 = env("LINEVISOR_BENCH_CYCLE_MS", CYCLE_MS);
    let cycle = Duration::from_millis(cycle_ms);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    rt.block_on(async {
        let profile = servo_profile();
        let wire = wire(&profile);
        let line = config(&wire.path, cycle_ms);
        let options = LineOptions {
            // A bound only: each command is measured to its acknowledgement.
            drive: DriveOptions {
                command_timeout: Duration::from_secs(10),
                ..DriveOptions::default()
            },
            ..LineOptions::default()
        };
        let running = RunningLine::start(&line, options)
            .await
            .unwrap_or_else(|e| panic!("start: {e}"));
        let d = running.drive(DRIVE).unwrap_or_else(|| panic!("{DRIVE}"));
        let mut events = d.channels.events.subscribe();
        let s = snapshot(&d.handle).await.unwrap_or_else(|e| panic!("{e}"));
        if matches!(s.state, DriveState::Initializing | DriveState::Offline) {
            wait_event(&mut events, "ready", |k| {
                matches!(k, DriveEventKind::Ready { .. })
            })
            .await;
        }
        let s = snapshot(&d.handle).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.state, DriveState::Power(PowerState::SwitchOnDisabled));
        let mut t = Times::default();
        statusword_reads(&running, &profile, cycle, trials, &mut t).await;
        let (mut done, mut errors) = (0, 0u32);
        while done < trials {
            let phase = cycle * done as u32 / trials as u32;
            match trial(&running, &wire.sim, phase, &mut t).await {
                Ok(()) => done += 1,
                Err(e) => {
                    // The samples before the failure stand; the trial is run again.
                    errors += 1;
                    eprintln!("trial {done}: {e}; running it again");
                    assert!(errors as usize <= trials, "more command errors than trials");
                    recover(&running, cycle).await;
                }
            }
        }
        let c = cycle_ms as f64;
        emit("trials", trials as f64, "trials");
        emit("cycle_ms", c, "ms");
        emit("baud", f64::from(BAUD), "bit/s");
        report("statusword_read", &t.statusword_read, c);
        report("enable", &t.enable, c);
        report("disable", &t.disable, c);
        report("quick_stop", &t.quick_stop, c);
        report("fault_reset", &t.fault_reset, c);
        let mut tx = t.enable_transactions.clone();
        tx.sort_by(f64::total_cmp);
        emit(
            "enable_transactions_p50",
            quantile(&tx, 0.5),
            "transactions",
        );
        let median = |v: &[f64]| {
            let mut s = v.to_vec();
            s.sort_by(f64::total_cmp);
            quantile(&s, 0.5)
        };
        emit(
            "enable_over_statusword_read_p50_ratio",
            median(&t.enable) / median(&t.statusword_read),
            "ratio",
        );
        emit("command_errors", f64::from(errors), "commands");
        emit("statusword_read_errors", f64::from(t.read_errors), "reads");
        let bus = running.bus("rs485").unwrap_or_else(|| panic!("rs485"));
        let m = bus.handle.metrics().await.unwrap_or_else(|e| panic!("{e}"));
        let c = &m.counters;
        emit("bus_transactions", c.transactions as f64, "transactions");
        emit("bus_timeouts", c.timeouts as f64, "transactions");
        emit(
            "bus_crc_and_framing_errors",
            (c.crc_errors + c.framing_errors) as f64,
            "transactions",
        );
        let _ = running.shutdown().await;
        drop(wire);
    });
}
