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
            runtime.block_on(supervise(settings, line, journal, st, stopped));
            let _ = done_tx.send(());
        })
        .map_err(|e| NorthboundError::Unsupported {
            what: format!("cannot start its thread: {e}"),
        })?;
    Ok(Northbound { stats, done, stop })
}

/// A one-child supervisor: a crashed publisher is restarted after a pause; the line runs on.
async fn supervise(
    settings: settings::Settings,
    line: Arc<RunningLine>,
    journal: Journal,
    st: Arc<Stats>,
    stopped: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let p = task::Publisher::new(
            settings.clone(),
            Arc::clone(&line),
            journal.clone(),
            Arc::clone(&st),
        );
        match tokio::spawn(p.run(stopped.clone())).await {
            Ok(()) => return,
            Err(e) if e.is_panic() => {
                st.restarts
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                error!("The Sparkplug publisher crashed; restarting it in 1 s.");
            }
            Err(_) => {
                warn!("The Sparkplug publisher was cancelled.");
                return;
            }
        }
        if *stopped.borrow() {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
