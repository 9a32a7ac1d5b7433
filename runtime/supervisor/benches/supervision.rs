//! Supervision benchmarks: restart latency, handle call overhead, siblings during a restart
//! storm. Prints one JSON object per figure. Run with
//! `cargo bench -p linevisor-supervisor --bench supervision`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use linevisor_supervisor::{
    ActorProcessingErr, Backoff, ChildHandle, EventBus, Intensity, RpcReplyPort, Strategy,
    SupervisorSpec, Worker, WorkerCtx, WorkerSpec, install_panic_hook,
};
use ractor::{Actor, ActorRef, SupervisionEvent};
use serde_json::json;
use tokio::sync::mpsc;

const RESTARTS: usize = 10_000;
const CALLS_PER_ROUND: usize = 100_000;
const ROUNDS: usize = 5;
const CHILDREN: usize = 1_000;
const STORM_TIME: Duration = Duration::from_secs(3);

static PANIC_AT: Mutex<Option<Instant>> = Mutex::new(None);

fn emit(metric: &str, value: f64, unit: &str) {
    println!(
        "{}",
        json!({"bench": "supervision", "metric": metric, "value": (value * 1000.0).round() / 1000.0, "unit": unit})
    );
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e6
}

// ---------------------------------------------------------------- the bench actors

#[derive(Debug)]
enum Msg {
    Crash,
    /// Reply with the time since the last recorded panic (restart latency probe).
    Stamp(mpsc::UnboundedSender<Duration>),
    Ping(RpcReplyPort<u64>),
}

impl linevisor_supervisor::Deliverable for Msg {}

fn crash() -> ! {
    *PANIC_AT.lock().unwrap() = Some(Instant::now());
    panic!("bench crash")
}

fn stamp(tx: &mpsc::UnboundedSender<Duration>) {
    if let Some(t) = PANIC_AT.lock().unwrap().take() {
        let _ = tx.send(t.elapsed());
    }
}

/// Supervised worker.
struct Echo;

impl Worker for Echo {
    type Msg = Msg;
    type State = u64;
    type Args = ();
    type Export = ();

    async fn start(&self, _: &WorkerCtx<Msg>, _: ()) -> Result<u64, ActorProcessingErr> {
        Ok(0)
    }

    async fn handle(
        &self,
        _: &WorkerCtx<Msg>,
        msg: Msg,
        n: &mut u64,
    ) -> Result<(), ActorProcessingErr> {
        *n += 1;
        match msg {
            Msg::Crash => crash(),
            Msg::Stamp(tx) => stamp(&tx),
            Msg::Ping(r) => {
                let _ = r.send(*n);
            }
        }
        Ok(())
    }
}

/// The same actor on bare ractor.
struct BareEcho;

impl Actor for BareEcho {
    type Msg = Msg;
    type State = u64;
    type Arguments = ();

    async fn pre_start(&self, _: ActorRef<Msg>, _: ()) -> Result<u64, ActorProcessingErr> {
        Ok(0)
    }

    async fn handle(
        &self,
        _: ActorRef<Msg>,
        msg: Msg,
        n: &mut u64,
    ) -> Result<(), ActorProcessingErr> {
        *n += 1;
        match msg {
            Msg::Crash => crash(),
            Msg::Stamp(tx) => stamp(&tx),
            Msg::Ping(r) => {
                let _ = r.send(*n);
            }
        }
        Ok(())
    }
}

/// Reference: a minimal hand-written ractor supervisor that respawns on failure and sends the
/// replacement a stamp (the "bare ractor respawn").
struct BareSup {
    current: Arc<Mutex<Option<ActorRef<Msg>>>>,
    stamps: mpsc::UnboundedSender<Duration>,
}

impl Actor for BareSup {
    type Msg = ();
    type State = ();
    type Arguments = ();

    async fn pre_start(&self, myself: ActorRef<()>, _: ()) -> Result<(), ActorProcessingErr> {
        let (child, _) = Actor::spawn_linked(None, BareEcho, (), myself.get_cell()).await?;
        *self.current.lock().unwrap() = Some(child);
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<()>,
        evt: SupervisionEvent,
        _: &mut (),
    ) -> Result<(), ActorProcessingErr> {
        if let SupervisionEvent::ActorFailed(..) = evt {
            let (child, _) = Actor::spawn_linked(None, BareEcho, (), myself.get_cell()).await?;
            *self.current.lock().unwrap() = Some(child.clone());
            let _ = child.cast(Msg::Stamp(self.stamps.clone()));
        }
        Ok(())
    }
}

fn worker(id: String) -> WorkerSpec<Echo> {
    WorkerSpec::new(id, |_| Ok((Echo, ()))).capacity(1024)
}

async fn supervisor_of(children: Vec<WorkerSpec<Echo>>) -> linevisor_supervisor::SupervisorRef {
    children
        .into_iter()
        .fold(
            SupervisorSpec::new(Strategy::OneForOne)
                .intensity(Intensity::new(u32::MAX, Duration::from_secs(1)))
                .backoff(Backoff::NONE),
            SupervisorSpec::child,
        )
        .start("bench", EventBus::default())
        .await
        .unwrap()
}

// ---------------------------------------------------------------- 1. restart latency

async fn restart_latency(suffix: &str) {
    const WARMUP: usize = 500;
    let spec = worker("w".into());
    let h = spec.handle();
    let sup = supervisor_of(vec![spec]).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut lat = Vec::with_capacity(RESTARTS);
    for i in 0..RESTARTS + WARMUP {
        // The stamp waits in the handle's queue and is the replacement's first message.
        h.cast(Msg::Crash).unwrap();
        h.cast(Msg::Stamp(tx.clone())).unwrap();
        let d = rx.recv().await.unwrap();
        if i >= WARMUP {
            lat.push(d);
        }
    }
    sup.shutdown().await.unwrap();

    // Reference in the same run: bare ractor respawn.
    let current = Arc::new(Mutex::new(None));
    let bare_sup = BareSup {
        current: current.clone(),
        stamps: tx.clone(),
    };
    let (bare_ref, _) = Actor::spawn(None, bare_sup, ()).await.unwrap();
    let mut bare = Vec::with_capacity(RESTARTS);
    for i in 0..RESTARTS + WARMUP {
        let child = current.lock().unwrap().clone().unwrap();
        child.cast(Msg::Crash).unwrap();
        let d = rx.recv().await.unwrap();
        if i >= WARMUP {
            bare.push(d);
        }
    }
    bare_ref.stop(None);

    lat.sort();
    bare.sort();
    let m = |name: &str| format!("{name}{suffix}");
    emit(&m("restart_p50_us"), pct(&lat, 0.5), "us");
    emit(&m("restart_p99_us"), pct(&lat, 0.99), "us");
    emit(&m("restart_max_us"), pct(&lat, 1.0), "us");
    emit(&m("bare_ractor_restart_p50_us"), pct(&bare, 0.5), "us");
    emit(&m("bare_ractor_restart_p99_us"), pct(&bare, 0.99), "us");
    emit(
        &m("restart_p50_ratio_vs_bare"),
        pct(&lat, 0.5) / pct(&bare, 0.5),
        "ratio",
    );
}

// ---------------------------------------------------------------- 2. call round trip

async fn call_overhead() {
    let spec = worker("w".into());
    let h = spec.handle();
    let sup = supervisor_of(vec![spec]).await;
    let (bare, _) = Actor::spawn(None, BareEcho, ()).await.unwrap();
    let (mut via_handle, mut via_bare) = (Vec::new(), Vec::new());
    let (mut handle_total, mut bare_total) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..ROUNDS {
        // Interleaved rounds so both see the same machine conditions.
        let t = Instant::now();
        for _ in 0..CALLS_PER_ROUND {
            let t0 = Instant::now();
            h.call(Msg::Ping).await.unwrap();
            via_handle.push(t0.elapsed());
        }
        handle_total += t.elapsed();
        let t = Instant::now();
        for _ in 0..CALLS_PER_ROUND {
            let t0 = Instant::now();
            bare.call(Msg::Ping, None).await.unwrap();
            via_bare.push(t0.elapsed());
        }
        bare_total += t.elapsed();
    }
    sup.shutdown().await.unwrap();
    bare.stop(None);
    via_handle.sort();
    via_bare.sort();
    let n = (ROUNDS * CALLS_PER_ROUND) as f64;
    let (hm, bm) = (
        handle_total.as_secs_f64() * 1e6 / n,
        bare_total.as_secs_f64() * 1e6 / n,
    );
    emit("handle_call_p50_us", pct(&via_handle, 0.5), "us");
    emit("handle_call_p99_us", pct(&via_handle, 0.99), "us");
    emit("handle_call_mean_us", hm, "us");
    emit("bare_call_p50_us", pct(&via_bare, 0.5), "us");
    emit("bare_call_p99_us", pct(&via_bare, 0.99), "us");
    emit("bare_call_mean_us", bm, "us");
    emit(
        "handle_call_p50_ratio",
        pct(&via_handle, 0.5) / pct(&via_bare, 0.5),
        "ratio",
    );
    emit("handle_call_mean_ratio", hm / bm, "ratio");
}

// ---------------------------------------------------------------- 3. restart storm

async fn probe_siblings(handles: &[ChildHandle<Msg>], time: Duration) -> Vec<Duration> {
    let mut lat = Vec::new();
    let end = Instant::now() + time;
    'outer: loop {
        for h in handles {
            let t0 = Instant::now();
            h.call(Msg::Ping).await.unwrap();
            lat.push(t0.elapsed());
            if t0 > end {
                break 'outer;
            }
        }
    }
    lat.sort();
    lat
}

async fn storm() {
    let specs: Vec<_> = (0..CHILDREN).map(|i| worker(format!("c{i}"))).collect();
    let handles: Vec<_> = specs.iter().map(|s| s.handle()).collect();
    let sup = supervisor_of(specs).await;
    let (crasher, siblings) = (handles[0].clone(), &handles[1..]);

    let idle_before = probe_siblings(siblings, STORM_TIME).await;

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let storm = tokio::spawn({
        let stop = stop.clone();
        async move {
            let mut crashes = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // Each crash is answered (Failed) before the next is sent: a continuous loop.
                let _ = crasher.send(Msg::Crash).unwrap().await;
                crashes += 1;
            }
            crashes
        }
    });
    let t = Instant::now();
    let busy = probe_siblings(siblings, STORM_TIME).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let crashes = storm.await.unwrap();
    let rate = crashes as f64 / t.elapsed().as_secs_f64();
    let idle_after = probe_siblings(siblings, STORM_TIME).await;

    // Control: the same load on the runtime without any crash (a task burning ~15 µs of CPU
    // per iteration, about what a restart costs), to tell supervision effects from a
    // saturated 2-core runtime.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let hog = tokio::spawn({
        let stop = stop.clone();
        async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let t = Instant::now();
                while t.elapsed() < Duration::from_micros(15) {
                    std::hint::spin_loop();
                }
                tokio::task::yield_now().await;
            }
        }
    });
    let control = probe_siblings(siblings, STORM_TIME).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    hog.await.unwrap();
    sup.shutdown().await.unwrap();
    emit("siblings_cpu_hog_p99_us", pct(&control, 0.99), "us");
    emit("siblings_cpu_hog_max_us", pct(&control, 1.0), "us");
    emit(
        "siblings_storm_vs_cpu_hog_max_ratio",
        pct(&busy, 1.0) / pct(&control, 1.0),
        "ratio",
    );
    emit(
        "siblings_cpu_hog_over_1ms",
        control
            .iter()
            .filter(|d| **d > Duration::from_millis(1))
            .count() as f64,
        "count",
    );
    emit("siblings_idle_before_p99_us", pct(&idle_before, 0.99), "us");
    emit("siblings_idle_after_p99_us", pct(&idle_after, 0.99), "us");
    // Compare against the quieter idle run (the conservative ratio).
    let idle = if pct(&idle_before, 0.99) <= pct(&idle_after, 0.99) {
        idle_before
    } else {
        idle_after
    };

    emit("storm_crashes_per_s", rate, "1/s");
    emit("siblings_idle_p50_us", pct(&idle, 0.5), "us");
    emit("siblings_idle_p99_us", pct(&idle, 0.99), "us");
    emit("siblings_idle_p999_us", pct(&idle, 0.999), "us");
    emit("siblings_idle_max_us", pct(&idle, 1.0), "us");
    emit("siblings_storm_p50_us", pct(&busy, 0.5), "us");
    emit("siblings_storm_p99_us", pct(&busy, 0.99), "us");
    emit("siblings_storm_p999_us", pct(&busy, 0.999), "us");
    emit("siblings_storm_max_us", pct(&busy, 1.0), "us");
    let over = |v: &[Duration]| v.iter().filter(|d| **d > Duration::from_millis(1)).count() as f64;
    emit("siblings_idle_over_1ms", over(&idle), "count");
    emit("siblings_storm_over_1ms", over(&busy), "count");
    emit("siblings_storm_samples", busy.len() as f64, "count");
    emit(
        "siblings_p99_ratio_storm_vs_idle",
        pct(&busy, 0.99) / pct(&idle, 0.99),
        "ratio",
    );
    emit(
        "siblings_max_ratio_storm_vs_idle",
        pct(&busy, 1.0) / pct(&idle, 1.0),
        "ratio",
    );
}

/// Cost of a panic and its unwinding alone (quiet hook), the floor of any restart.
fn unwind_alone() {
    let n = 20_000;
    let t = Instant::now();
    for _ in 0..n {
        let _ = std::panic::catch_unwind(|| panic!("bench unwind"));
    }
    emit(
        "panic_unwind_alone_us",
        t.elapsed().as_secs_f64() * 1e6 / n as f64,
        "us",
    );
}

fn main() {
    install_panic_hook();
    unwind_alone();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // The driver runs on a runtime worker, like the actors it talks to.
    rt.block_on(async {
        tokio::spawn(async {
            restart_latency("").await;
            call_overhead().await;
            storm().await;
        })
        .await
        .unwrap();
    });
    drop(rt);
    // The same restart path on a single-threaded runtime (no cross-thread wake-ups).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(restart_latency("_current_thread"));
}
