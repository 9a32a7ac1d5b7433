//! Test workers and event helpers shared by the supervision tests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use linevisor_supervisor::{
    ActorProcessingErr, ChildHandle, Deliverable, DeliveryPolicy, Event, EventKind, RpcReplyPort,
    StopCause, Worker, WorkerCtx, WorkerSpec,
};
use ractor::ActorCell;
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::RecvError;

#[derive(Debug)]
pub(crate) enum Msg {
    /// Replies with the instance generation.
    Ping(RpcReplyPort<u64>),
    /// A numbered message; the worker's `fault` rule may make it panic or fail.
    Num(u64),
    Crash,
    Fail,
    Exit(Option<String>),
    /// Never finishes (ignores stop; only a kill ends it).
    Hang,
    CrashCall(RpcReplyPort<u64>),
    NoReply(RpcReplyPort<u64>),
    Setpoint(u32),
    Command(u32),
    Poll(RpcReplyPort<u64>),
    /// Replies with the state counter (messages handled, plus any hand-over).
    Count(RpcReplyPort<u64>),
}

impl Deliverable for Msg {
    fn policy(&self) -> DeliveryPolicy {
        match self {
            Msg::Setpoint(_) => DeliveryPolicy::LatestWins(0),
            Msg::Poll(_) => DeliveryPolicy::FailFast,
            _ => DeliveryPolicy::EachCounts,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    None,
    Panic,
    Error,
}

/// What the test can see from outside: a log of lifecycle lines and handled messages.
#[derive(Clone, Default)]
pub(crate) struct Probe {
    pub(crate) log: Arc<Mutex<Vec<String>>>,
    pub(crate) processed: Arc<Mutex<Vec<u64>>>,
    pub(crate) cells: Arc<Mutex<HashMap<String, ActorCell>>>,
    /// Signalled when a `Hang` message is in hand.
    pub(crate) hanging: Arc<tokio::sync::Notify>,
}

impl Probe {
    pub(crate) fn push(&self, line: String) {
        self.log.lock().unwrap().push(line);
    }

    pub(crate) fn lines(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    pub(crate) fn lines_with(&self, prefix: &str) -> Vec<String> {
        self.lines()
            .into_iter()
            .filter(|l| l.starts_with(prefix))
            .collect()
    }

    pub(crate) fn cell(&self, name: &str) -> ActorCell {
        self.cells.lock().unwrap()[name].clone()
    }
}

pub(crate) struct TestWorker {
    pub(crate) name: String,
    pub(crate) version: u32,
    pub(crate) probe: Probe,
    pub(crate) fault: fn(u64) -> Fault,
    /// Panic when the n-th message of this instance is handled.
    pub(crate) crash_on_handled: Option<u64>,
    /// `Worker::proven` once this many messages were handled by the instance.
    pub(crate) proven_after: u64,
}

pub(crate) struct State {
    counter: u64,
    handled: u64,
}

impl Worker for TestWorker {
    type Msg = Msg;
    type State = State;
    type Args = u64;
    type Export = u64;

    async fn start(
        &self,
        ctx: &WorkerCtx<Msg>,
        handover: u64,
    ) -> Result<State, ActorProcessingErr> {
        self.probe.push(format!(
            "start:{}:v{}:g{}:h{handover}",
            self.name,
            self.version,
            ctx.generation()
        ));
        self.probe
            .cells
            .lock()
            .unwrap()
            .insert(self.name.clone(), ctx.cell());
        Ok(State {
            counter: handover,
            handled: 0,
        })
    }

    async fn handle(
        &self,
        ctx: &WorkerCtx<Msg>,
        msg: Msg,
        state: &mut State,
    ) -> Result<(), ActorProcessingErr> {
        state.handled += 1;
        if Some(state.handled) == self.crash_on_handled {
            panic!("v{} crashes on message {}", self.version, state.handled);
        }
        state.counter += 1;
        match msg {
            Msg::Ping(r) => {
                let _ = r.send(ctx.generation());
            }
            Msg::Num(n) => match (self.fault)(n) {
                Fault::Panic => panic!("boom at {n}"),
                Fault::Error => return Err(format!("error at {n}").into()),
                Fault::None => self.probe.processed.lock().unwrap().push(n),
            },
            Msg::Crash => panic!("boom"),
            Msg::Fail => return Err("failed on purpose".into()),
            Msg::Exit(reason) => ctx.stop(reason),
            Msg::Hang => {
                self.probe.hanging.notify_one();
                std::future::pending::<()>().await
            }
            Msg::CrashCall(_r) => panic!("boom in call"),
            Msg::NoReply(_r) => {}
            Msg::Setpoint(v) => self.probe.push(format!("sp:{}:{v}", self.name)),
            Msg::Command(v) => self.probe.push(format!("cmd:{}:{v}", self.name)),
            Msg::Poll(r) => {
                let _ = r.send(ctx.generation());
            }
            Msg::Count(r) => {
                let _ = r.send(state.counter);
            }
        }
        Ok(())
    }

    fn export(&self, state: &mut State) -> Option<u64> {
        Some(state.counter)
    }

    fn proven(&self, state: &State) -> bool {
        state.handled >= self.proven_after
    }
}

pub(crate) fn no_fault(_: u64) -> Fault {
    Fault::None
}

/// A worker spec named `name` whose safe-stop logs `safe:<name>`.
pub(crate) fn worker(name: &str, probe: &Probe) -> WorkerSpec<TestWorker> {
    worker_with(name, probe, no_fault)
}

pub(crate) fn worker_with(
    name: &str,
    probe: &Probe,
    fault: fn(u64) -> Fault,
) -> WorkerSpec<TestWorker> {
    let (n, p) = (name.to_owned(), probe.clone());
    let (n2, p2) = (name.to_owned(), probe.clone());
    WorkerSpec::new(name, move |handover: Option<u64>| {
        Ok((
            TestWorker {
                name: n.clone(),
                version: 1,
                probe: p.clone(),
                fault,
                crash_on_handled: None,
                proven_after: 0,
            },
            handover.unwrap_or(0),
        ))
    })
    .safe_stop(Duration::from_secs(1), move |cause| {
        let (n, p) = (n2.clone(), p2.clone());
        async move {
            match cause {
                StopCause::Shutdown => p.push(format!("safe:{n}")),
                StopCause::Restart => p.push(format!("safe:{n}@restart")),
                StopCause::Replace => p.push(format!("safe:{n}@replace")),
            }
            Ok(())
        }
    })
}

pub(crate) async fn ping(h: &ChildHandle<Msg>) -> u64 {
    h.call(Msg::Ping).await.expect("ping")
}

/// Next event matching `pred` (virtual-time guard: paused tests never wait for real).
pub(crate) async fn expect(rx: &mut Receiver<Event>, pred: impl Fn(&Event) -> bool) -> Event {
    let wait = async {
        loop {
            match rx.recv().await {
                Ok(e) if pred(&e) => return e,
                Ok(_) => {}
                Err(RecvError::Lagged(n)) => panic!("event subscriber lagged by {n}"),
                Err(RecvError::Closed) => panic!("event bus closed"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(3600), wait)
        .await
        .expect("expected event never came")
}

/// All events up to and including the first one matching `pred`.
pub(crate) async fn until(rx: &mut Receiver<Event>, pred: impl Fn(&Event) -> bool) -> Vec<Event> {
    let mut seen = Vec::new();
    let wait = async {
        loop {
            match rx.recv().await {
                Ok(e) => {
                    let done = pred(&e);
                    seen.push(e);
                    if done {
                        return;
                    }
                }
                Err(e) => panic!("event bus: {e}"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(3600), wait)
        .await
        .expect("expected event never came");
    seen
}

/// Events already delivered to `rx`, without waiting.
pub(crate) fn drain(rx: &mut Receiver<Event>) -> Vec<Event> {
    let mut out = Vec::new();
    while let Ok(e) = rx.try_recv() {
        out.push(e);
    }
    out
}

pub(crate) fn is(child: &'static str, kind: fn(&EventKind) -> bool) -> impl Fn(&Event) -> bool {
    move |e| e.child.as_str() == child && kind(&e.kind)
}

pub(crate) fn restarted(k: &EventKind) -> bool {
    matches!(k, EventKind::Restarted { .. })
}

pub(crate) fn stopped(k: &EventKind) -> bool {
    matches!(k, EventKind::Stopped { .. })
}

pub(crate) fn failed(k: &EventKind) -> bool {
    matches!(k, EventKind::Failed { .. })
}

/// A compact "child:kind" trace of events, for order assertions.
pub(crate) fn trace(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            let k = match &e.kind {
                EventKind::Started => "started",
                EventKind::Restarted { .. } => "restarted",
                EventKind::Failed { .. } => "failed",
                EventKind::Stopped { .. } => "stopped",
                EventKind::StartFailed { .. } => "start_failed",
                EventKind::ShutdownTimeout { .. } => "shutdown_timeout",
                EventKind::Killed => "killed",
                EventKind::KillTimedOut => "kill_timed_out",
                EventKind::SafeStopped => "safe_stopped",
                EventKind::SafeStopFailed { .. } => "safe_stop_failed",
                EventKind::Escalated { .. } => "escalated",
                EventKind::Replaced { .. } => "replaced",
                EventKind::Promoted { .. } => "promoted",
                EventKind::RolledBack { .. } => "rolled_back",
            };
            format!("{}:{k}", e.child)
        })
        .collect()
}
