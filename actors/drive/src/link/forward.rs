//! The forwarding task: owned by one instance (aborted when the instance ends), it attaches the
//! drive's cyclic data to the bus and hands every [`BusEvent`] to the instance's callback (the
//! shell casts it into the drive's own handle).
//!
//! Each event carries the count of samples received so far, so the drive counts samples that
//! were replaced in its queue as overruns. An attach the bus refuses (its actor is restarting)
//! is reported and tried again after a delay.

use std::future::Future;
use std::time::Duration;

use linevisor_bus::BusEvent;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};
use tracing::{Instrument, Span, debug, warn};

use super::Link;

/// A task owned by an instance: aborted when dropped (with the instance's state).
#[derive(Debug)]
pub(crate) struct OwnedTask(JoinHandle<()>);

impl OwnedTask {
    /// Spawns `f` in `span`.
    pub(crate) fn spawn(f: impl Future<Output = ()> + Send + 'static, span: Span) -> Self {
        OwnedTask(tokio::spawn(f.instrument(span)))
    }
}

impl Drop for OwnedTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What the forwarding task needs. The callbacks return false when nothing will ever take
/// events again (the task ends).
pub(crate) struct ForwardArgs {
    pub(crate) link: Link,
    pub(crate) period: Duration,
    pub(crate) sink_capacity: usize,
    pub(crate) retry: Duration,
    /// A bus event, with the count of samples received so far.
    pub(crate) on_event: Box<dyn Fn(u64, BusEvent) -> bool + Send + Sync>,
    /// The attachment failed (the reason); it is tried again after `retry`.
    pub(crate) on_attach_failed: Box<dyn Fn(String) -> bool + Send + Sync>,
}

impl std::fmt::Debug for ForwardArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForwardArgs")
            .field("link", &self.link)
            .field("period", &self.period)
            .field("sink_capacity", &self.sink_capacity)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// Spawns the forwarding task in `span`.
pub(crate) fn spawn_forwarder(args: ForwardArgs, span: Span) -> OwnedTask {
    OwnedTask::spawn(run(args), span)
}

async fn run(args: ForwardArgs) {
    // The sink lives as long as the instance: the bus handle remembers the attachment and makes
    // it again when its bus actor is replaced, so events resume on the same channel.
    let (tx, mut rx) = mpsc::channel(args.sink_capacity.max(1));
    let mut n = 0;
    let mut attached = false;
    let mut attach_at = Instant::now();
    loop {
        tokio::select! {
            event = rx.recv() => {
                // `tx` is held here, so the channel never closes.
                let Some(event) = event else { return };
                if matches!(event, BusEvent::Sample(_)) {
                    n += 1;
                }
                if !(args.on_event)(n, event) {
                    return;
                }
            }
            () = sleep_until(attach_at), if !attached => {
                match args.link.attach(tx.clone(), args.period).await {
                    Ok(()) => {
                        debug!("Attached to the bus.");
                        attached = true;
                    }
                    Err(e) => {
                        warn!(error = %e, "Cannot attach to the bus; retrying.");
                        if !(args.on_attach_failed)(format!("cannot attach to the bus: {e}")) {
                            return;
                        }
                        attach_at = Instant::now() + args.retry;
                    }
                }
            }
        }
    }
}
