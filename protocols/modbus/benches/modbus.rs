//! Modbus transport benchmarks (issue 4). Prints one JSON object per figure.
//!
//! 1. Modbus TCP on loopback, FC3 × 10 registers, one in flight: linevisor's client and a
//!    libmodbus client against the same server in the same run; the ratio is the figure.
//! 2. Modbus RTU on a line paced at the baud rate (bytes delayed by their 11-bit character time
//!    in a relay between client and server): transactions/s as % of the wire limit (§2.3).
//!
//! Run: `cargo bench -p linevisor-modbus --bench modbus` (needs `cc` and libmodbus-dev for the
//! reference client; without them that figure is skipped with a note on stderr).
#![allow(clippy::print_stdout, clippy::disallowed_methods)]

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use linevisor_modbus::client::Client;
use linevisor_modbus::server::{self, RegisterMap, UnitMemory, rtu::RtuServerConfig};
use linevisor_modbus::{RtuClient, RtuConfig, TcpClient, TcpConfig};

const TCP_SECONDS: f64 = 4.0;
const ROUNDS: usize = 3;

fn emit(metric: &str, value: f64, unit: &str) {
    println!(r#"{{"bench":"modbus","metric":"{metric}","value":{value:.3},"unit":"{unit}"}}"#);
}

fn register_map() -> Arc<RegisterMap> {
    let mut mem = UnitMemory::new(200);
    for (i, r) in mem.holding_registers.iter_mut().enumerate() {
        *r = i as u16;
    }
    Arc::new(RegisterMap::new().with_unit(1, mem))
}

/// The server runs on its own thread and runtime, as a device would be another process.
fn start_tcp_server() -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let _ = server::tcp::serve(listener, register_map()).await;
        });
    });
    rx.recv().unwrap()
}

fn ours_tcp(addr: SocketAddr) -> f64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let mut client = TcpClient::new(addr, TcpConfig::default());
        client.connect().await.unwrap();
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed().as_secs_f64() < TCP_SECONDS {
            let v = client
                .read_holding_registers(1, 0, 10)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(v.len(), 10);
            n += 1;
        }
        n as f64 / start.elapsed().as_secs_f64()
    })
}

fn build_libmodbus_client() -> Option<std::path::PathBuf> {
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/libmodbus_client.c");
    let out =
        std::env::temp_dir().join(format!("linevisor-libmodbus-client-{}", std::process::id()));
    let status = Command::new("cc")
        .args(["-O2", src, "-I/usr/include/modbus", "-lmodbus", "-o"])
        .arg(&out)
        .status();
    match status {
        Ok(s) if s.success() => Some(out),
        _ => {
            eprintln!(
                "skipped: cannot build the libmodbus reference client (install cc and libmodbus-dev)"
            );
            None
        }
    }
}

fn libmodbus_tcp(bin: &std::path::Path, addr: SocketAddr) -> f64 {
    let out = Command::new(bin)
        .args([
            addr.ip().to_string(),
            addr.port().to_string(),
            TCP_SECONDS.to_string(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut it = text.split_whitespace();
    let n: f64 = it.next().unwrap().parse().unwrap();
    let secs: f64 = it.next().unwrap().parse().unwrap();
    n / secs
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn tcp_figures() {
    let addr = start_tcp_server();
    let Some(bin) = build_libmodbus_client() else {
        emit(
            "tcp_linevisor_tx_per_s",
            median((0..ROUNDS).map(|_| ours_tcp(addr)).collect()),
            "tx/s",
        );
        return;
    };
    // Interleave rounds so both clients see the same machine load.
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        ours.push(ours_tcp(addr));
        theirs.push(libmodbus_tcp(&bin, addr));
    }
    let _ = std::fs::remove_file(&bin);
    let (o, t) = (median(ours), median(theirs));
    emit("tcp_linevisor_tx_per_s", o, "tx/s");
    emit("tcp_libmodbus_tx_per_s", t, "tx/s");
    emit("tcp_ratio_linevisor_over_libmodbus", o / t, "ratio");
}

/// The wire limit of §2.3 for FC3 × 10 registers: 33 characters plus two t3.5 gaps.
fn wire_limit_tx_per_s(baud: u32) -> f64 {
    let t35 = if baud > 19_200 {
        1.75e-3
    } else {
        3.5 * 11.0 / f64::from(baud)
    };
    1.0 / (33.0 * 11.0 / f64::from(baud) + 2.0 * t35)
}

fn rtu_figure(baud: u32, seconds: f64) {
    let (client_io, server_io) = linevisor_modbus::paced::paced_line(baud).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let achieved = rt.block_on(async move {
        tokio::spawn(server::rtu::serve(
            server_io,
            register_map(),
            RtuServerConfig::new(baud),
        ));
        let mut client = RtuClient::new(client_io, RtuConfig::new(baud));
        // One warm-up transaction, then the measured run.
        client
            .read_holding_registers(1, 0, 10)
            .await
            .unwrap()
            .unwrap();
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed().as_secs_f64() < seconds {
            let v = client
                .read_holding_registers(1, 0, 10)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(v[9], 9);
            n += 1;
        }
        n as f64 / start.elapsed().as_secs_f64()
    });
    let limit = wire_limit_tx_per_s(baud);
    emit(&format!("rtu_{baud}_tx_per_s"), achieved, "tx/s");
    emit(&format!("rtu_{baud}_wire_limit_tx_per_s"), limit, "tx/s");
    emit(
        &format!("rtu_{baud}_percent_of_wire_limit"),
        achieved / limit * 100.0,
        "%",
    );
}

fn main() {
    tcp_figures();
    for baud in [19_200, 115_200] {
        rtu_figure(baud, 10.0);
    }
}
