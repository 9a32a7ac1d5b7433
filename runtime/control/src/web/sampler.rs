//! The dashboard's sampler: twice a second, every drive's latest values, cycle counters and the
//! jitter of the samples since the last tick, as one JSON text shared by every live stream, and
//! a 5-minute trend per drive.
//!
//! It runs only while a live stream is open. It reads each drive's telemetry broadcast through
//! a receiver it drains with `try_recv` once per tick: a receiver that is not waiting costs the
//! drive's send nothing, and no task wakes per cycle. A receiver that falls behind skips ahead
//! (the drive never waits for it). The draining and the JSON run on the blocking pool, off the
//! threads that carry the drives' cycles. Bus health comes from the bus actors' metrics every
//! other second, as `GET /api/v1/line` reads it.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use futures_util::future::join_all;
use linevisor_drive::TelemetrySample;
use serde_json::{Value, json};
use tokio::sync::broadcast::{self, error::TryRecvError};
use tokio::time::Instant;

use crate::state::AppState;

/// Time between two ticks.
pub(crate) const PERIOD: Duration = Duration::from_millis(500);
/// Trend points kept per drive: 5 minutes of ticks.
pub(crate) const TREND_POINTS: usize = 600;
/// Bus health is read every this many ticks.
const BUS_EVERY: u64 = 4;

/// One tick, framed once as a Server-Sent Event (`event: tick`) and shared by every stream: the
/// whole line, and each drive alone (for a stream of one drive).
#[derive(Debug)]
pub(crate) struct Tick {
    pub(crate) all: Bytes,
    pub(crate) drives: BTreeMap<String, Bytes>,
}

/// `event: <kind>` with `json` (one line: serde_json writes no newline) as its data.
pub(crate) fn frame(kind: &str, json: &str) -> Bytes {
    Bytes::from(format!("event: {kind}\ndata: {json}\n\n"))
}

/// One trend point: time (ms since the epoch), position, velocity, current, torque, jitter (µs).
pub(crate) type Point = (u64, [Option<f32>; 5]);

/// The sampler's handle: its ticks while it runs, the last tick, the trends.
#[derive(Debug, Default)]
pub(crate) struct Hub {
    ticks: Mutex<Option<broadcast::Sender<Arc<Tick>>>>,
    last: Mutex<Option<Arc<Tick>>>,
    trends: Mutex<BTreeMap<String, VecDeque<Point>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Hub {
    /// Ticks from now on, and the last one; starts the sampler if it is not running.
    pub(crate) fn subscribe(
        self: &Arc<Self>,
        s: &AppState,
    ) -> (broadcast::Receiver<Arc<Tick>>, Option<Arc<Tick>>) {
        let mut ticks = lock(&self.ticks);
        if let Some(tx) = ticks.as_ref() {
            return (tx.subscribe(), lock(&self.last).clone());
        }
        let (tx, rx) = broadcast::channel(4);
        *ticks = Some(tx.clone());
        tokio::spawn(run(Arc::clone(self), s.clone(), tx));
        (rx, None)
    }

    /// The trend of drive `id` (empty when no live stream ran lately).
    pub(crate) fn trend(&self, id: &str) -> Vec<Point> {
        lock(&self.trends)
            .get(id)
            .map(|t| t.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Whether the sampler runs now.
    pub(crate) fn running(&self) -> bool {
        lock(&self.ticks).is_some()
    }

    /// Stops when nobody listens; the check and the removal are atomic with `subscribe`.
    fn stop_if_unwatched(&self, tx: &broadcast::Sender<Arc<Tick>>) -> bool {
        let mut ticks = lock(&self.ticks);
        if tx.receiver_count() > 0 {
            return false;
        }
        *ticks = None;
        *lock(&self.last) = None;
        lock(&self.trends).clear();
        true
    }

    /// Stops whoever listens (the server stops, or a tick failed): open streams end once the
    /// sampler's sender is gone, and the next stream starts a new sampler.
    fn stop(&self) {
        *lock(&self.ticks) = None;
        *lock(&self.last) = None;
        lock(&self.trends).clear();
    }
}

/// What the sampler keeps of one drive between ticks.
#[derive(Debug)]
struct Follow {
    rx: broadcast::Receiver<TelemetrySample>,
    /// The channel followed (weak: the sampler must not keep a removed drive's channel open).
    tx: broadcast::WeakSender<TelemetrySample>,
    last: Option<TelemetrySample>,
    /// When the last sample was taken from the receiver.
    last_at: Option<Instant>,
    /// Completion offset of the previous sample, for the jitter between two cycles.
    prev_offset: Option<Duration>,
}

async fn run(hub: Arc<Hub>, s: AppState, tx: broadcast::Sender<Arc<Tick>>) {
    let mut follows: BTreeMap<String, Follow> = BTreeMap::new();
    let mut buses = Value::Null;
    let mut interval = tokio::time::interval_at(Instant::now() + PERIOD, PERIOD);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for n in 0u64.. {
        // Drives added or removed by a change are followed from the next tick on; one
        // re-created by a change has new channels and is followed afresh.
        let drives = s.line.drives();
        follows.retain(|id, f| {
            drives.get(id).is_some_and(|d| {
                f.tx.upgrade()
                    .is_some_and(|tx| tx.same_channel(&d.channels.telemetry))
            })
        });
        for (id, d) in &drives {
            follows.entry(id.clone()).or_insert_with(|| Follow {
                rx: d.channels.telemetry.subscribe(),
                tx: d.channels.telemetry.downgrade(),
                last: None,
                last_at: None,
                prev_offset: None,
            });
        }
        tokio::select! {
            _ = interval.tick() => {}
            _ = async { s.closing.subscribe().wait_for(|c| *c).await.map(|_| ()) } => {
                hub.stop();
                return;
            }
        }
        if hub.stop_if_unwatched(&tx) {
            return;
        }
        if n % BUS_EVERY == 0 {
            buses = bus_health(&s).await;
        }
        let with_buses = (n % BUS_EVERY == 0).then(|| buses.clone());
        let work = tokio::task::spawn_blocking(move || {
            let tick = sample(&mut follows, with_buses);
            (follows, tick)
        });
        let Ok((back, (tick, points))) = work.await else {
            tracing::warn!("the dashboard's sampler failed a tick; live streams restart");
            hub.stop();
            return;
        };
        follows = back;
        {
            let mut trends = lock(&hub.trends);
            trends.retain(|id, _| follows.contains_key(id));
            for (id, p) in points {
                let t = trends.entry(id).or_default();
                if t.len() == TREND_POINTS {
                    t.pop_front();
                }
                t.push_back(p);
            }
        }
        let tick = Arc::new(tick);
        *lock(&hub.last) = Some(Arc::clone(&tick));
        let _ = tx.send(tick);
    }
}

/// Drains every receiver and builds the tick and each drive's trend point.
fn sample(
    follows: &mut BTreeMap<String, Follow>,
    buses: Option<Value>,
) -> (Tick, Vec<(String, Point)>) {
    let t = crate::events::now_ms();
    let now = Instant::now();
    let mut drives = BTreeMap::new();
    let mut points = Vec::with_capacity(follows.len());
    for (id, f) in follows.iter_mut() {
        let (mut samples, mut jitter, mut latency) = (0u64, None::<Duration>, None::<Duration>);
        loop {
            match f.rx.try_recv() {
                Ok(s) => {
                    let offset = s.completed_at.saturating_duration_since(s.scheduled_at);
                    let fresh = f.last.as_ref().is_none_or(|l| {
                        l.generation == s.generation && s.seq == l.seq.wrapping_add(1)
                    });
                    if let (true, Some(prev)) = (fresh, f.prev_offset) {
                        jitter = jitter.max(Some(offset.abs_diff(prev)));
                    }
                    latency = latency.max(Some(s.latency));
                    f.prev_offset = Some(offset);
                    f.last = Some(s);
                    f.last_at = Some(now);
                    samples += 1;
                }
                Err(TryRecvError::Lagged(_)) => f.prev_offset = None,
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        let us = |d: Option<Duration>| d.map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
        let v = match &f.last {
            Some(l) => json!({
                "id": id, "state": l.state.name(), "generation": l.generation,
                "position": l.position, "velocity": l.velocity, "current": l.current,
                "torque": l.torque, "fault_code": l.fault_code,
                "cycles": l.stats.cycles, "missed": l.stats.missed, "failed": l.stats.failed,
                "overruns": l.stats.overruns, "late": l.stats.late,
                "jitter_max_us": l.stats.jitter_max_us,
                "samples": samples, "jitter_us": us(jitter), "latency_us": us(latency),
                "age_ms": f.last_at.map(|a| ms(now.saturating_duration_since(a))),
            }),
            None => json!({ "id": id, "samples": 0 }),
        };
        let fresh = samples > 0;
        let value = |x: Option<f64>| x.filter(|_| fresh).map(|x| x as f32);
        let l = f.last.as_ref();
        points.push((
            id.clone(),
            (
                t,
                [
                    value(l.and_then(|l| l.position)),
                    value(l.and_then(|l| l.velocity)),
                    value(l.and_then(|l| l.current)),
                    value(l.and_then(|l| l.torque)),
                    jitter.map(|j| j.as_micros() as f32),
                ],
            ),
        ));
        drives.insert(id.clone(), v);
    }
    // Each drive's JSON is written once and used in both frames.
    let period = ms(PERIOD);
    let texts: Vec<(String, String)> = drives
        .into_iter()
        .map(|(id, v)| (id, v.to_string()))
        .collect();
    let list: Vec<&str> = texts.iter().map(|(_, t)| t.as_str()).collect();
    let buses = buses.unwrap_or(Value::Null);
    let all = format!(
        r#"{{"t":{t},"period_ms":{period},"drives":[{}],"buses":{buses}}}"#,
        list.join(",")
    );
    let drives = texts
        .iter()
        .map(|(id, one)| {
            let json = format!(r#"{{"t":{t},"period_ms":{period},"drives":[{one}]}}"#);
            (id.clone(), frame("tick", &json))
        })
        .collect();
    (
        Tick {
            all: frame("tick", &all),
            drives,
        },
        points,
    )
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Link, load and error counters of every bus; `null` for one that does not answer in time.
async fn bus_health(s: &AppState) -> Value {
    let buses = s.line.buses();
    let asks = buses.values().map(|b| async move {
        let m = tokio::time::timeout(Duration::from_millis(500), b.handle.metrics()).await;
        match m {
            Ok(Ok(m)) => json!({
                "id": b.id, "link_up": m.link_up, "link_losses": m.link_losses,
                "queued": m.queued, "transactions_per_s": m.transactions_per_s,
                "utilisation_percent": m.utilisation_percent,
                "transactions": m.counters.transactions, "timeouts": m.counters.timeouts,
                "crc_errors": m.counters.crc_errors, "exceptions": m.counters.exceptions,
                "latency_max_us": m.latency.max_us,
            }),
            Ok(Err(e)) => json!({ "id": b.id, "unavailable": e.to_string() }),
            Err(_) => json!({ "id": b.id, "unavailable": "no answer within 500 ms" }),
        }
    });
    Value::Array(join_all(asks).await)
}
