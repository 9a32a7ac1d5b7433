//! The forwarding task: owned by one instance (aborted when the instance ends), it attaches the
//! drive's cyclic data to the bus and casts every [`BusEvent`] into the drive's own handle.
//!
//! Samples go in as latest-wins messages, so a busy instance finds only the newest one queued;
//! each sample carries the count of samples received so far, so the drive counts the replaced
//! ones as overruns. An attach the bus refuses (its actor is restarting) is reported as comm
//! loss and tried again after a delay.

use std::future::Future;
use std::time::Duration;

use linevisor_bus::BusEvent;
use linevisor_supervisor::{ChildHandle, SupervisorError};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};
use tracing::{Instrument, Span, debug, warn};

use super::Link;
use crate::msg::{DriveMsg, Internal, InternalKind};

/// A task owned by an instance: aborted when dropped (with the instance's state).
#[derive(Debug)]
pub(crate) struct Task(JoinHandle<()>);

impl Task {
    /// Spawns `f` in `span`.
    pub(crate) fn spawn(f: impl Future<Output = ()> + Send + 'static, span: Span) -> Self {
        Task(tokio::spawn(f.instrument(span)))
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What the forwarding task needs.
#[derive(Debug)]
pub(crate) struct ForwardArgs {
    pub(crate) link: Link,
    pub(crate) period: Duration,
    pub(crate) handle: ChildHandle<DriveMsg>,
    pub(crate) generation: u64,
    pub(crate) sink_capacity: usize,
    pub(crate) retry: Duration,
}

/// Spawns the forwarding task in `span`.
pub(crate) fn spawn_forwarder(args: ForwardArgs, span: Span) -> Task {
    Task::spawn(run(args), span)
}

/// False when the child is down for good (nothing will ever take the message).
fn cast(args: &ForwardArgs, kind: InternalKind) -> bool {
    let msg = DriveMsg::Internal(Internal {
        generation: args.generation,
        kind,
    });
    match args.handle.cast(msg) {
        Ok(()) => true,
        Err(SupervisorError::Unavailable { .. }) => false,
        // Overloaded (or restarting): this event is lost; a sample shows as an overrun.
        Err(e) => {
            debug!(error = %e, "Bus event not queued.");
            true
        }
    }
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
                if !cast(&args, InternalKind::Bus { n, event }) {
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
                        let reason = format!("cannot attach to the bus: {e}");
                        if !cast(&args, InternalKind::LinkLost { reason }) {
                            return;
                        }
                        attach_at = Instant::now() + args.retry;
                    }
                }
            }
        }
    }
}
