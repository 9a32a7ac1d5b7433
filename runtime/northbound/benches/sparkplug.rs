//! The northbound benchmark of issue 13, in real time: 100 simulated drives at 10 ms (4 Modbus
//! segments, as the line benchmark), publishing through a real mosquitto broker.
//!
//! 1. Reference: the same running line without the publisher, same window: CPU, RSS, missed
//!    cycles.
//! 2. With the publisher: messages/s received by a subscriber, latency sample → receipt
//!    (p50/p99; the sample's own timestamp against the receipt clock, millisecond resolution),
//!    CPU, RSS, missed cycles.
//! 3. The broker killed for 5 s and restarted: the drives' missed cycles over that window
//!    (target 0), and what the store-and-forward backlog dropped.
//!
//! The subscriber runs in this process: its decoding counts in the CPU figure.
//! Run: `cargo bench -p linevisor-northbound --bench sparkplug` (needs mosquitto;
//! LINEVISOR_BENCH_SECONDS sets the windows, default 20).
#![allow(clippy::print_stdout)]

use std::fmt::Write as _;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use linevisor_config::check_text;
use linevisor_drive::snapshot;
use linevisor_line::{LineOptions, RunningLine};
use linevisor_sparkplug::proto::Payload;
use prost::Message as _;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

const DRIVES: usize = 100;
const SEGMENTS: usize = 4;

fn emit(metric: &str, value: f64, unit: &str) {
    println!(r#"{{"bench":"sparkplug","metric":"{metric}","value":{value:.3},"unit":"{unit}"}}"#);
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn cpu_and_rss() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let f: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|i| f.get(*i)?.parse::<f64>().ok())
        .sum();
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let rss_kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    (ticks / 100.0, rss_kib / 1024.0)
}

fn line_config(port: u16, northbound: bool) -> linevisor_config::ValidLine {
    let mut s = String::from("[line]\nname = \"bench\"\ncycle_ms = 10\n");
    for b in 0..SEGMENTS {
        let _ = write!(
            s,
            "\n[[bus]]\nid = \"sim{b}\"\ntype = \"simulated\"\nprotocol = \"modbus\"\n"
        );
    }
    for i in 0..DRIVES {
        let _ = write!(
            s,
            "\n[[drive]]\nid = \"d{i:03}\"\nbus = \"sim{}\"\naddress = {}\nprofile = {{ name = \"linevisor-sim-servo\", version = \"1.0\" }}\n",
            i % SEGMENTS,
            i / SEGMENTS + 1
        );
    }
    if northbound {
        let _ = write!(
            s,
            "\n[northbound.sparkplug]\nbrokers = [\"mqtt://127.0.0.1:{port}\"]\ngroup_id = \"plant\"\n"
        );
    }
    let c = check_text("bench.toml", &s, None);
    c.line.unwrap_or_else(|| panic!("{:#?}", c.diagnostics))
}

fn broker(conf: &std::path::Path) -> Child {
    Command::new("mosquitto")
        .arg("-c")
        .arg(conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("mosquitto: {e}"))
}

async fn missed(line: &RunningLine) -> u64 {
    let mut n = 0;
    for d in line.drives().values() {
        if let Ok(s) = snapshot(&d.handle).await {
            n += s.stats.missed;
        }
    }
    n
}

#[derive(Default)]
struct Received {
    messages: u64,
    latencies_ms: Vec<f64>,
}

async fn subscriber(port: u16, into: Arc<Mutex<Received>>) {
    let mut o = MqttOptions::new("bench-subscriber", "127.0.0.1", port);
    o.set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut events) = AsyncClient::new(o, 1024);
    let _ = client.subscribe("spBv1.0/plant/#", QoS::AtMostOnce).await;
    loop {
        match events.poll().await {
            Ok(Event::Incoming(Packet::Publish(p))) => {
                let now = now_ms() as f64;
                let mut r = into.lock().unwrap_or_else(|e| e.into_inner());
                r.messages += 1;
                if p.topic.contains("/DDATA/")
                    && let Ok(payload) = Payload::decode(p.payload.as_ref())
                {
                    for m in payload
                        .metrics
                        .iter()
                        .filter(|m| m.is_historical != Some(true))
                    {
                        if let Some(t) = m.timestamp {
                            r.latencies_ms.push(now - t as f64);
                        }
                    }
                }
            }
            Ok(_) => {}
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let seconds: u64 = std::env::var("LINEVISOR_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let window = Duration::from_secs(seconds);
    let dir = std::env::temp_dir().join(format!("linevisor-bench-spb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let conf = dir.join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!("listener {port} 127.0.0.1\nallow_anonymous true\n"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut mosquitto = broker(&conf);
    linevisor_supervisor::install_panic_hook();
    let valid = line_config(port, true);
    let line = Arc::new(
        RunningLine::start(&line_config(port, false), LineOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    emit("drives", DRIVES as f64, "count");
    emit("seconds_per_window", seconds as f64, "s");

    // 1. Reference: no publisher.
    let (cpu0, _) = cpu_and_rss();
    let m0 = missed(&line).await;
    tokio::time::sleep(window).await;
    let (cpu1, rss1) = cpu_and_rss();
    let m1 = missed(&line).await;
    let ref_cpu = 100.0 * (cpu1 - cpu0) / seconds as f64;
    emit("reference_cpu_percent_of_one_core", ref_cpu, "%");
    emit("reference_rss_mib", rss1, "MiB");
    emit("reference_missed_cycles", (m1 - m0) as f64, "cycles");

    // 2. With the publisher and a subscriber.
    let received = Arc::new(Mutex::new(Received::default()));
    tokio::spawn(subscriber(port, Arc::clone(&received)));
    let section = valid
        .config
        .northbound
        .sparkplug
        .clone()
        .unwrap_or_else(|| panic!("section"));
    let journal: linevisor_northbound::Journal = Arc::new(|_| {});
    let nb = linevisor_northbound::start(Arc::clone(&line), &section, None, journal)
        .unwrap_or_else(|e| panic!("{e}"));
    tokio::time::sleep(Duration::from_secs(2)).await;
    {
        let mut r = received.lock().unwrap_or_else(|e| e.into_inner());
        *r = Received::default();
    }
    let (cpu0, _) = cpu_and_rss();
    let m0 = missed(&line).await;
    tokio::time::sleep(window).await;
    let (cpu1, rss1) = cpu_and_rss();
    let m1 = missed(&line).await;
    let (messages, mut lat) = {
        let mut r = received.lock().unwrap_or_else(|e| e.into_inner());
        (r.messages, std::mem::take(&mut r.latencies_ms))
    };
    let cpu = 100.0 * (cpu1 - cpu0) / seconds as f64;
    emit(
        "messages_received_per_s",
        messages as f64 / seconds as f64,
        "msg/s",
    );
    emit("metrics_received", lat.len() as f64, "count");
    emit("latency_sample_to_receipt_p50_ms", pct(&mut lat, 0.5), "ms");
    emit(
        "latency_sample_to_receipt_p99_ms",
        pct(&mut lat, 0.99),
        "ms",
    );
    emit("cpu_percent_of_one_core", cpu, "%");
    emit("cpu_over_reference_ratio", cpu / ref_cpu, "ratio");
    emit("rss_mib", rss1, "MiB");
    emit("missed_cycles", (m1 - m0) as f64, "cycles");
    emit(
        "dropped_client_queue_full",
        nb.stats.dropped_full.load(Ordering::Relaxed) as f64,
        "messages",
    );

    // 3. Broker outage of 5 s, then back; the drives' cycles over the whole window.
    let m0 = missed(&line).await;
    let _ = mosquitto.kill();
    let _ = mosquitto.wait();
    tokio::time::sleep(Duration::from_secs(5)).await;
    mosquitto = broker(&conf);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let m1 = missed(&line).await;
    emit("outage_missed_cycles", (m1 - m0) as f64, "cycles");
    emit(
        "outage_backlog_dropped_samples",
        nb.stats.dropped_offline.load(Ordering::Relaxed) as f64,
        "samples",
    );
    emit(
        "outage_disconnects",
        nb.stats.disconnects.load(Ordering::Relaxed) as f64,
        "count",
    );
    nb.stop().await;
    let _ = mosquitto.kill();
    let _ = mosquitto.wait();
    std::fs::remove_dir_all(&dir).ok();
}
