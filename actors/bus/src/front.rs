//! The actor side of a request/response bus (Modbus, plain serial): the channel ends to its
//! port task, which it never awaits. A full request queue is an immediate `QueueFull`; a stop
//! drains the mailbox, then ends the port task within a bound (an OTP-style shutdown timeout).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ractor::RpcReplyPort;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::warn;

use crate::BusError;
use crate::metrics::{BusMetrics, Metrics, Wire};
use crate::units::lock;

/// Room for attach/detach changes in flight (a bus has at most 255 units).
pub(crate) const CONTROL_CAPACITY: usize = 256;

/// A request the port task answers; failed here when it cannot be queued.
pub(crate) trait Job: Send + 'static {
    fn fail(self, e: BusError);
}

/// The actor's half of the channels to its port task.
#[derive(Debug)]
pub(crate) struct Front<C, J> {
    pub(crate) bus: String,
    pub(crate) queue_capacity: usize,
    pub(crate) control: mpsc::Sender<C>,
    pub(crate) jobs: mpsc::Sender<J>,
    pub(crate) metrics: Arc<Mutex<Metrics>>,
    pub(crate) wire: Arc<Wire>,
    /// Sent on stop; dropped with the state when the actor is killed, which also ends the
    /// port task after the transaction in flight (no task outlives the actor).
    pub(crate) shutdown: Option<oneshot::Sender<()>>,
    pub(crate) task: Option<JoinHandle<()>>,
    pub(crate) stopping: bool,
    pub(crate) stop_replies: Vec<RpcReplyPort<()>>,
    /// Longest the transaction in flight can take (what a clean stop waits for).
    pub(crate) drain_bound: Duration,
}

impl<C, J: Job> Front<C, J> {
    pub(crate) fn shutting_down(&self) -> BusError {
        BusError::ShuttingDown {
            bus: self.bus.clone(),
        }
    }

    /// Hands a control change to the port task.
    pub(crate) fn control(&self, c: C) -> Result<(), BusError> {
        self.control.try_send(c).map_err(|e| match e {
            TrySendError::Full(_) => BusError::QueueFull {
                bus: self.bus.clone(),
                capacity: CONTROL_CAPACITY,
            },
            TrySendError::Closed(_) => self.shutting_down(),
        })
    }

    /// Queues a request, or answers it at once with why not.
    pub(crate) fn queue(&self, job: J) {
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(job)) => job.fail(BusError::QueueFull {
                bus: self.bus.clone(),
                capacity: self.queue_capacity,
            }),
            Err(TrySendError::Closed(job)) => job.fail(self.shutting_down()),
        }
    }

    /// A metrics snapshot, with the requests waiting now.
    pub(crate) fn metrics(&self) -> BusMetrics {
        let queued = self.jobs.max_capacity() - self.jobs.capacity();
        lock(&self.metrics).snapshot(&self.wire, queued)
    }

    /// Records a stop request; true the first time (the caller then drains its mailbox).
    pub(crate) fn stop(&mut self, reply: Option<RpcReplyPort<()>>) -> bool {
        self.stop_replies.extend(reply);
        !std::mem::replace(&mut self.stopping, true)
    }

    /// Ends the port task (bounded) and answers every stop request.
    pub(crate) async fn post_stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = self.task.take() {
            let bound = self.drain_bound;
            if tokio::time::timeout(bound, &mut task).await.is_err() {
                warn!(bus = %self.bus, ?bound, "Port task did not stop in time; aborting it.");
                task.abort();
            }
        }
        for reply in self.stop_replies.drain(..) {
            let _ = reply.send(());
        }
    }
}
