//! Modbus TCP rows: three simulated servos behind an in-memory TCP peer whose connections can
//! be reset, refused, go half-open or slow down, and two servos behind a clean peer of their own
//! (the neighbours). Each fault is switched on for a few seconds while both buses get commands.

use std::io;
use std::time::Duration;

use linevisor_bus::{BusSpec, FnOpener, LinkStream, Opener};
use linevisor_config::model::ModbusTcpBus;
use linevisor_sim::SimHandle;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, duplex};
use tokio::sync::watch;

use crate::modbus_rtu::{Drives, Fault, run, servos};

const FAULTY: [u8; 3] = [1, 2, 3];
const NEIGHBOURS: [u8; 2] = [1, 2];
const ON_FOR: Duration = Duration::from_secs(3);
const CONNECT_TIMEOUT: Duration = Duration::from_millis(1000);

/// What the peer does to connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Serve,
    /// Every connection is closed at once (open ones too): the peer resets them.
    Reset,
    /// Nobody listens: connects are refused, open connections reset.
    Refuse,
    /// The peer is gone without closing: open connections stay open and silent for good,
    /// connects time out.
    HalfOpen,
}

/// The config defaults: 200 ms response timeout, 1 retry, one request in flight, demoted
/// after 3 timeouts, probed every second.
fn spec(id: &str) -> BusSpec {
    BusSpec::Tcp(ModbusTcpBus {
        id: id.into(),
        address: format!("{id}.cell:502"),
        connect_timeout_ms: CONNECT_TIMEOUT.as_millis() as u32,
        response_timeout_ms: 200,
        retries: 1,
        max_in_flight: 1,
        demote_after_timeouts: 3,
        probe_interval_ms: 1000,
    })
}

/// Opens an in-memory connection to `sim` through a relay that obeys `mode`.
fn opener(sim: SimHandle, mode: watch::Receiver<Mode>) -> Box<dyn Opener> {
    Box::new(FnOpener::new("in-memory tcp peer", move || {
        let (sim, mode) = (sim.clone(), mode.clone());
        async move {
            let now = *mode.borrow();
            match now {
                Mode::Refuse => Err(io::Error::from(io::ErrorKind::ConnectionRefused)),
                Mode::HalfOpen => {
                    tokio::time::sleep(CONNECT_TIMEOUT).await;
                    Err(io::Error::from(io::ErrorKind::TimedOut))
                }
                Mode::Serve | Mode::Reset => {
                    let (client, ours) = duplex(4096);
                    tokio::spawn(relay(ours, sim, mode));
                    Ok(Box::new(client) as LinkStream)
                }
            }
        }
    }))
}

/// Carries one connection between the bus and the simulator as long as the peer serves.
async fn relay(client: DuplexStream, sim: SimHandle, mut mode: watch::Receiver<Mode>) {
    let (near, far) = duplex(4096);
    // Ends at EOF, when the relay drops its end.
    tokio::spawn(async move { sim.serve_tcp_stream(far).await });
    let (mut from_bus, mut to_bus) = tokio::io::split(client);
    let (mut from_sim, mut to_sim) = tokio::io::split(near);
    let (mut a, mut b) = ([0u8; 512], [0u8; 512]);
    // A peer whose mode can no longer change keeps the last one.
    let mut watching = true;
    loop {
        let now = *mode.borrow_and_update();
        match now {
            Mode::Serve => {}
            Mode::Reset | Mode::Refuse => return,
            Mode::HalfOpen => {
                // Open and silent for good: what the bus sends goes nowhere.
                while matches!(from_bus.read(&mut a).await, Ok(n) if n > 0) {}
                drop(to_bus);
                return;
            }
        }
        tokio::select! {
            r = mode.changed(), if watching => watching = r.is_ok(),
            r = from_bus.read(&mut a) => match r {
                Ok(n) if n > 0 => if to_sim.write_all(&a[..n]).await.is_err() { return },
                _ => return,
            },
            r = from_sim.read(&mut b) => match r {
                Ok(n) if n > 0 => if to_bus.write_all(&b[..n]).await.is_err() { return },
                _ => return,
            },
        }
    }
}

/// The bus under test and its peer's mode, and the neighbours behind a clean peer.
async fn line() -> (Drives, Drives, watch::Sender<Mode>, SimHandle) {
    let (mode, rx) = watch::channel(Mode::Serve);
    let sim = servos(&FAULTY);
    let faulty = Drives::start(spec("cell-a"), opener(sim.clone(), rx), &FAULTY).await;
    let (_clean, rx) = watch::channel(Mode::Serve);
    // The sender of a clean peer may go: its receivers keep the last mode.
    let neighbour =
        Drives::start(spec("cell-b"), opener(servos(&NEIGHBOURS), rx), &NEIGHBOURS).await;
    (faulty, neighbour, mode, sim)
}

async fn mode_row(name: &'static str, during: Mode) {
    let (mut faulty, mut neighbour, mode, _sim) = line().await;
    let fault = Fault {
        layer: "modbus_tcp",
        name,
        on_for: ON_FOR,
        set: Box::new(move |on| {
            mode.send_replace(if on { during } else { Mode::Serve });
        }),
    };
    run(fault, &mut faulty, &mut neighbour).await.finish();
}

#[tokio::test(start_paused = true)]
async fn tcp_reset() {
    mode_row("connections reset", Mode::Reset).await;
}

#[tokio::test(start_paused = true)]
async fn tcp_refused() {
    mode_row("connection refused", Mode::Refuse).await;
}

#[tokio::test(start_paused = true)]
async fn tcp_half_open() {
    mode_row(
        "half-open: the peer stops answering, never closes",
        Mode::HalfOpen,
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn tcp_slow_peer() {
    let (mut faulty, mut neighbour, _mode, sim) = line().await;
    let fault = Fault {
        layer: "modbus_tcp",
        name: "slow peer: answers 300 ms late (timeout 200 ms)",
        on_for: ON_FOR,
        set: Box::new(move |on| {
            let delay = if on {
                Duration::from_millis(300)
            } else {
                Duration::ZERO
            };
            for unit in FAULTY {
                sim.delay_responses(unit, delay).expect("delay");
            }
        }),
    };
    run(fault, &mut faulty, &mut neighbour).await.finish();
}
