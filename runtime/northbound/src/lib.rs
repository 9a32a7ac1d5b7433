//! The northbound publisher: the running line as an MQTT Sparkplug B 3.0 edge node, each drive
//! a device (`linevisor-sparkplug` decides what to publish; this crate connects it to the line
//! and to a broker). It runs in its own tasks: a broker outage, a slow broker or a crash here
//! never delays a drive's cycle, since drives only ever offer samples to broadcast channels.

mod commands;
mod device;
mod disk;
mod feed;
mod mqtt;
mod session;
mod settings;
mod store;
mod task;
mod tls;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use linevisor_config::model::SparkplugSection;
use linevisor_line::RunningLine;
use tracing::{error, warn};

/// Where the publisher journals commands from the plant (the control plane's journal).
pub type Journal = Arc<dyn Fn(serde_json::Value) + Send + Sync>;

/// Counters of the publisher.
#[derive(Debug, Default)]
pub struct Stats {
    /// Messages handed to the MQTT client.
    pub published: AtomicU64,
    /// Samples the store-and-forward backlog dropped to stay within its bounds.
    pub dropped_offline: AtomicU64,
    /// Messages dropped because the MQTT client's queue was full.
    pub dropped_full: AtomicU64,
    /// Broker connections lost or refused.
    pub disconnects: AtomicU64,
    /// NCMD/DCMD payloads refused before reaching a drive.
    pub commands_refused: AtomicU64,
    /// Times the publisher task crashed and was restarted.
    pub restarts: AtomicU64,
}

/// Why the publisher cannot start.
#[derive(Debug, Clone, thiserror::Error)]
pub enum NorthboundError {
    #[error("northbound.sparkplug.{key}: {reason}")]
    Config { key: &'static str, reason: String },
    #[error("northbound.sparkplug: {what}")]
    Unsupported { what: String },
}

/// The running publisher; dropping it stops it.
#[derive(Debug)]
pub struct Northbound {
    pub stats: Arc<Stats>,
    done: tokio::sync::oneshot::Receiver<()>,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Northbound {
    /// A clean stop: the node publishes its NDEATH and disconnects (bounded), then the publisher
    /// ends. Called before the line stops its drives.
    pub async fn stop(mut self) {
        self.stop.send_replace(true);
        let _ = tokio::time::timeout(Duration::from_secs(3), &mut self.done).await;
    }
}

impl Drop for Northbound {
    fn drop(&mut self) {
        // Dropped without `stop`: the publisher ends (its Will tells the plant).
        self.stop.send_replace(true);
    }
}

/// Starts publishing `line` as `section` says; paths are relative to `base`.
pub fn start(
    line: Arc<RunningLine>,
    section: &SparkplugSection,
    base: Option<&Path>,
    journal: Journal,
) -> Result<Northbound, NorthboundError> {
    let name = line.config().config.line.name.clone();
    let mut settings = settings::Settings::new(section, &name, base)?;
    settings.buffer_path = section
        .buffer_path
        .as_deref()
        .map(|p| linevisor_config::model::resolve(base, p));
    let stats = Arc::new(Stats::default());
    let st = Arc::clone(&stats);
    let st2 = Arc::clone(&stats);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let (done_tx, done) = tokio::sync::oneshot::channel();
    // Its own thread and runtime: encoding, a replay burst or a crash here takes no worker of
    // the runtime that carries the drives' cycles.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| NorthboundError::Unsupported {
            what: format!("cannot start its runtime: {e}"),
        })?;
    std::thread::Builder::new()
        .name("northbound".into())
        .spawn(move || {
            let run = move |stopped| {
                task::Publisher::new(
                    settings.clone(),
                    Arc::clone(&line),
                    journal.clone(),
                    Arc::clone(&st2),
                )
                .run(stopped)
            };
            runtime.block_on(supervise(run, st, stopped));
            let _ = done_tx.send(());
        })
        .map_err(|e| NorthboundError::Unsupported {
            what: format!("cannot start its thread: {e}"),
        })?;
    Ok(Northbound { stats, done, stop })
}

/// A one-child supervisor: a crashed publisher is restarted after a pause (1 s, doubling to
/// 30 s while it keeps crashing within a minute of its start); the line runs on. It never
/// escalates: losing the plant's view is no reason to stop a drive.
async fn supervise<F, Fut>(run: F, st: Arc<Stats>, stopped: tokio::sync::watch::Receiver<bool>)
where
    F: Fn(tokio::sync::watch::Receiver<bool>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let mut pause = Duration::from_secs(1);
    loop {
        let started = tokio::time::Instant::now();
        match tokio::spawn(run(stopped.clone())).await {
            Ok(()) => return,
            Err(e) if e.is_panic() => {
                st.restarts
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                error!(
                    pause_s = pause.as_secs(),
                    "The Sparkplug publisher crashed; restarting it."
                );
            }
            Err(_) => {
                warn!("The Sparkplug publisher was cancelled.");
                return;
            }
        }
        if *stopped.borrow() {
            return;
        }
        if started.elapsed() > Duration::from_secs(60) {
            pause = Duration::from_secs(1);
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(30));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test(start_paused = true)]
    async fn a_crashing_publisher_is_restarted_with_growing_pauses_until_it_runs() {
        let st = Arc::new(Stats::default());
        let (_stop, stopped) = tokio::sync::watch::channel(false);
        let runs = Arc::new(AtomicU32::new(0));
        let r = Arc::clone(&runs);
        let t0 = tokio::time::Instant::now();
        supervise(
            move |_| {
                let n = r.fetch_add(1, Ordering::SeqCst);
                async move {
                    assert!(n >= 3, "crash number {n}");
                }
            },
            Arc::clone(&st),
            stopped,
        )
        .await;
        assert_eq!(runs.load(Ordering::SeqCst), 4);
        assert_eq!(st.restarts.load(Ordering::Relaxed), 3);
        // Pauses of 1, 2 and 4 s.
        assert_eq!(t0.elapsed(), Duration::from_secs(7));
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_ends_the_restarts() {
        let st = Arc::new(Stats::default());
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let stop = Arc::new(stop);
        let s = Arc::clone(&stop);
        supervise(
            move |_| {
                s.send_replace(true);
                async { panic!("crash while stopping") }
            },
            Arc::clone(&st),
            stopped,
        )
        .await;
        assert_eq!(st.restarts.load(Ordering::Relaxed), 1);
    }
}
