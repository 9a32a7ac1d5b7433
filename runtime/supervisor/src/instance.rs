//! The ractor actor that runs one instance of a [`Worker`].

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use futures::FutureExt;
use ractor::{Actor, ActorProcessingErr, ActorRef};
use tokio::sync::oneshot;

use crate::handle::ChildHandle;
use crate::mailbox::{Mailbox, Outcome, Ticket};
use crate::supervisor::SupervisorMsg;
use crate::worker::{Worker, WorkerCtx};

/// What travels through an instance's ractor mailbox: never a user message.
#[derive(Debug)]
pub(crate) enum InstanceMsg {
    /// One envelope waits in the handle's queue.
    Wake,
    /// Planned replacement: export the state (type-erased `Option<W::Export>`).
    Export(oneshot::Sender<Box<dyn Any + Send>>),
}

pub(crate) struct Instance<W: Worker> {
    pub(crate) worker: W,
    pub(crate) mailbox: Arc<Mailbox<W::Msg>>,
    pub(crate) generation: u64,
    pub(crate) supervisor: ActorRef<SupervisorMsg>,
}

pub(crate) struct Live<W: Worker> {
    /// `None` once exported for a replacement.
    state: Option<W::State>,
    ctx: WorkerCtx<W::Msg>,
}

/// Settles the in-flight message as failed if the handler future is dropped mid-way (kill).
struct InFlight<'a, M: crate::handle::Deliverable> {
    mailbox: &'a Mailbox<M>,
    ticket: Option<Ticket>,
}

impl<M: crate::handle::Deliverable> InFlight<'_, M> {
    fn settle(mut self, outcome: Outcome) {
        if let Some(ticket) = self.ticket.take() {
            self.mailbox.settle(ticket, outcome);
        }
    }
}

impl<M: crate::handle::Deliverable> Drop for InFlight<'_, M> {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            let reason = "instance killed while handling the message";
            self.mailbox.settle(ticket, Outcome::Failed(reason.into()));
        }
    }
}

pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        format!("panicked: {s}")
    } else if let Some(s) = payload.downcast_ref::<String>() {
        format!("panicked: {s}")
    } else {
        "panicked (non-string payload)".to_owned()
    }
}

impl<W: Worker> Instance<W> {
    async fn handle_next(&self, live: &mut Live<W>) -> Result<(), ActorProcessingErr> {
        let Some(state) = live.state.as_mut() else {
            return Ok(());
        };
        let Some(envelope) = self.mailbox.take(self.generation) else {
            return Ok(());
        };
        let in_flight = InFlight {
            mailbox: &self.mailbox,
            ticket: Some(envelope.ticket),
        };
        // Caught here (not only by ractor) so the sender of this very message learns the reason.
        let result = AssertUnwindSafe(self.worker.handle(&live.ctx, envelope.msg, state))
            .catch_unwind()
            .await;
        match result {
            Ok(Ok(())) => {
                in_flight.settle(Outcome::Delivered);
                if self.worker.proven(state) {
                    self.count_probation_cycle();
                }
                Ok(())
            }
            Ok(Err(err)) => {
                self.mailbox.instance_failed(self.generation);
                in_flight.settle(Outcome::Failed(err.to_string().into()));
                Err(err)
            }
            Err(payload) => {
                let reason = panic_message(&*payload);
                self.mailbox.instance_failed(self.generation);
                in_flight.settle(Outcome::Failed(reason.as_str().into()));
                Err(reason.into())
            }
        }
    }

    fn count_probation_cycle(&self) {
        let left = &self.mailbox.probation_left;
        if left.load(Ordering::Relaxed) == 0 {
            return;
        }
        if left.fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| v.checked_sub(1)) == Ok(1) {
            let _ = self.supervisor.cast(SupervisorMsg::ProbationCycles {
                child: self.mailbox.id.clone(),
                generation: self.generation,
            });
        }
    }
}

impl<W: Worker> Actor for Instance<W> {
    type Msg = InstanceMsg;
    type State = Live<W>;
    type Arguments = W::Args;

    async fn pre_start(
        &self,
        myself: ActorRef<InstanceMsg>,
        args: W::Args,
    ) -> Result<Live<W>, ActorProcessingErr> {
        let ctx = WorkerCtx {
            handle: ChildHandle {
                mailbox: self.mailbox.clone(),
            },
            myself,
            generation: self.generation,
        };
        let state = self.worker.start(&ctx, args).await?;
        Ok(Live {
            state: Some(state),
            ctx,
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<InstanceMsg>,
        msg: InstanceMsg,
        live: &mut Live<W>,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            InstanceMsg::Wake => self.handle_next(live).await,
            InstanceMsg::Export(reply) => {
                let exported: Option<W::Export> = match live.state.take() {
                    Some(mut state) => self.worker.export(&mut state),
                    None => None,
                };
                let _ = reply.send(Box::new(exported));
                Ok(())
            }
        }
    }
}
