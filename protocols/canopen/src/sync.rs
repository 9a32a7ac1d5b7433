//! SYNC producer (protocols.md §3.4): 0x080 at a fixed period, DLC 0 or DLC 1 with a counter
//! 1..=overflow. Ticks come from a tokio interval with `MissedTickBehavior::Skip` (a late
//! cycle is dropped, never bunched); the actual periods are measured and their jitter exposed.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use linevisor_can::{CanError, CanTransport};
use tokio::time::{Instant, Interval, MissedTickBehavior, interval};

use crate::cob::Cob;
use crate::nmt::frame;

/// SYNC settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncConfig {
    /// Communication cycle period (0x1006).
    pub period: Duration,
    /// Counter overflow (0x1019): `Some(2..=240)` adds a counter byte.
    pub counter_overflow: Option<u8>,
}

/// A SYNC configuration that cannot run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SyncConfigError {
    /// Zero period.
    #[error("SYNC period must be positive")]
    ZeroPeriod,
    /// Counter overflow outside 2–240.
    #[error("SYNC counter overflow {0} outside 2..=240")]
    CounterOverflow(u8),
}

/// One SYNC sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncTick {
    /// When it was sent.
    pub at: Instant,
    /// Counter carried, if configured.
    pub counter: Option<u8>,
    /// Time since the previous SYNC (`None` for the first).
    pub period: Option<Duration>,
}

/// Measured period statistics since the producer started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JitterReport {
    /// Periods measured.
    pub periods: u64,
    /// Periods longer than 1.5 × nominal (cycles skipped).
    pub missed: u64,
    /// Median of |actual − nominal| over the last 4096 periods.
    pub p50: Duration,
    /// 99th percentile of |actual − nominal| over the last 4096 periods.
    pub p99: Duration,
    /// Largest |actual − nominal| seen.
    pub max: Duration,
}

const WINDOW: usize = 4096;

#[derive(Debug)]
struct Meter {
    nominal: Duration,
    sent: u64,
    deviations: VecDeque<Duration>,
    report: JitterReport,
}

/// The SYNC producer's counts and period jitter, readable from another task while the producer
/// runs (e.g. a metrics request); clones share it.
#[derive(Debug, Clone)]
pub struct SyncMeter(Arc<Mutex<Meter>>);

impl SyncMeter {
    fn new(nominal: Duration) -> Self {
        Self(Arc::new(Mutex::new(Meter {
            nominal,
            sent: 0,
            deviations: VecDeque::with_capacity(WINDOW),
            report: JitterReport::default(),
        })))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Meter> {
        // Plain numbers, never left half-updated.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// SYNC frames sent.
    pub fn sent(&self) -> u64 {
        self.lock().sent
    }

    /// Jitter of the measured periods.
    pub fn report(&self) -> JitterReport {
        let m = self.lock();
        let mut sorted: Vec<Duration> = m.deviations.iter().copied().collect();
        let report = m.report;
        drop(m);
        sorted.sort_unstable();
        let pick = |q: f64| {
            let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
            sorted.get(i).copied().unwrap_or_default()
        };
        JitterReport {
            p50: pick(0.50),
            p99: pick(0.99),
            ..report
        }
    }

    fn record(&self, period: Option<Duration>) {
        let mut m = self.lock();
        m.sent += 1;
        let Some(period) = period else { return };
        let nominal = m.nominal;
        let deviation = period.abs_diff(nominal);
        m.report.periods += 1;
        if period > nominal.saturating_mul(3) / 2 {
            m.report.missed += 1;
        }
        m.report.max = m.report.max.max(deviation);
        if m.deviations.len() == WINDOW {
            m.deviations.pop_front();
        }
        m.deviations.push_back(deviation);
    }
}

/// Sends SYNC on every [`SyncProducer::tick`]. The caller sends its RPDOs after each tick;
/// nodes latch them at the next SYNC.
#[derive(Debug)]
pub struct SyncProducer<T> {
    transport: Arc<T>,
    config: SyncConfig,
    interval: Interval,
    counter: u8,
    last: Option<Instant>,
    meter: SyncMeter,
}

impl<T: CanTransport> SyncProducer<T> {
    /// A producer whose first SYNC goes out at once.
    pub fn new(transport: Arc<T>, config: SyncConfig) -> Result<Self, SyncConfigError> {
        if config.period.is_zero() {
            return Err(SyncConfigError::ZeroPeriod);
        }
        if let Some(o) = config.counter_overflow.filter(|o| !(2..=240).contains(o)) {
            return Err(SyncConfigError::CounterOverflow(o));
        }
        let mut interval = interval(config.period);
        interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
        Ok(Self {
            transport,
            config,
            interval,
            counter: 0,
            last: None,
            meter: SyncMeter::new(config.period),
        })
    }

    /// Waits for the next period and sends SYNC.
    pub async fn tick(&mut self) -> Result<SyncTick, CanError> {
        self.wait().await;
        self.send().await
    }

    /// Waits for the next period (cancel safe: usable as a `select!` branch). Follow with
    /// [`SyncProducer::send`]; a caller that must prepare the cycle first (so no answer to this
    /// SYNC can be taken for the previous cycle's) does it in between.
    pub async fn wait(&mut self) {
        self.interval.tick().await;
    }

    /// Sends the SYNC of the period just waited for.
    pub async fn send(&mut self) -> Result<SyncTick, CanError> {
        let counter = self.config.counter_overflow.map(|overflow| {
            self.counter = if self.counter >= overflow {
                1
            } else {
                self.counter + 1
            };
            self.counter
        });
        let data: &[u8] = match &counter {
            Some(c) => std::slice::from_ref(c),
            None => &[],
        };
        self.transport.send(&frame(Cob::Sync, data)).await?;
        let at = Instant::now();
        let period = self.last.replace(at).map(|last| at - last);
        self.meter.record(period);
        Ok(SyncTick {
            at,
            counter,
            period,
        })
    }

    /// The configuration.
    pub fn config(&self) -> SyncConfig {
        self.config
    }

    /// Jitter of the measured periods.
    pub fn jitter(&self) -> JitterReport {
        self.meter.report()
    }

    /// A handle on the counts and jitter that stays readable while the producer runs.
    pub fn meter(&self) -> SyncMeter {
        self.meter.clone()
    }
}
