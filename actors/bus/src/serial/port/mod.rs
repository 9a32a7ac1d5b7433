//! The serial port task: one per bus, the only code that touches the port. One exchange at a
//! time (a serial line has no pipelining): acyclic exchanges first (commands before polls),
//! then polls by deadline; the inter-request gap between them; reopen with backoff when the
//! port vanishes (a USB adapter unplugged).

mod settle;
mod wire;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use linevisor_modbus::Retry;
use ractor::RpcReplyPort;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep_until};
use tracing::{debug, info, warn};

use super::Serial;
use super::exchange::{Exchange, SerialResult};
use super::spec::Settings;
use crate::breaker::Breakers;
use crate::link::{Counted, Opener};
use crate::metrics::{Metrics, Wire};
use crate::reopen::Reopen;
use crate::scheduler::PollTxn;
use crate::units::Units;
use crate::{Attach, BusError};

/// Attach and detach, on their own channel so a full request queue never holds them up.
#[derive(Debug)]
pub(crate) enum Control {
    Attach(Attach<Exchange>),
    Detach(u8),
}

/// An acyclic exchange and where its answer goes.
#[derive(Debug)]
pub(crate) struct Job {
    pub(crate) unit: u8,
    pub(crate) exchange: Exchange,
    pub(crate) reply: RpcReplyPort<SerialResult>,
}

impl Job {
    /// Answers with a bus error. A caller that stopped waiting is not an error.
    pub(crate) fn fail(self, e: BusError) {
        let _ = self.reply.send(Err(e));
    }
}

/// An acyclic exchange being carried out.
#[derive(Debug)]
struct JobTxn {
    job: Job,
    attempt: u8,
    max_retries: u8,
}

/// The exchange on the line now.
#[derive(Debug)]
enum Txn {
    Job(JobTxn),
    Poll(PollTxn<Exchange>),
}

impl Txn {
    fn unit(&self) -> u8 {
        match self {
            Txn::Job(t) => t.job.unit,
            Txn::Poll(t) => t.unit,
        }
    }

    fn exchange(&self) -> &Exchange {
        match self {
            Txn::Job(t) => &t.job.exchange,
            Txn::Poll(t) => &t.request,
        }
    }

    fn may_retry(&self) -> bool {
        match self {
            Txn::Job(t) => t.attempt < t.max_retries,
            Txn::Poll(t) => t.attempt < t.max_retries,
        }
    }
}

/// The ends of the channels the port task listens on.
#[derive(Debug)]
pub(crate) struct Inbox {
    pub(crate) control: mpsc::Receiver<Control>,
    pub(crate) jobs: mpsc::Receiver<Job>,
    /// Fires (or is dropped) when the bus stops.
    pub(crate) shutdown: oneshot::Receiver<()>,
}

/// State of the port task.
pub(crate) struct PortTask {
    s: Settings,
    opener: Box<dyn Opener>,
    port: Option<Counted>,
    reopen: Reopen,
    /// When the line went idle: the next request waits for the gap after it.
    idle_since: Instant,
    units: Units<Serial>,
    wire: Arc<Wire>,
    inbox: Inbox,
    stopping: bool,
    /// Acyclic exchanges taken off the queue or waiting for a retry; they go before any poll.
    urgent: VecDeque<JobTxn>,
}

impl std::fmt::Debug for PortTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortTask")
            .field("bus", &self.s.bus)
            .field("link", &self.reopen.link)
            .finish_non_exhaustive()
    }
}

impl PortTask {
    pub(crate) fn new(
        s: Settings,
        opener: Box<dyn Opener>,
        backoff: Retry,
        stagger: bool,
        metrics: Arc<Mutex<Metrics>>,
        wire: Arc<Wire>,
        inbox: Inbox,
    ) -> Self {
        let breakers = Breakers::new(s.demote_after, s.probe_interval);
        Self {
            reopen: Reopen::new(opener.describe(), backoff),
            units: Units::new(breakers, metrics, stagger),
            s,
            opener,
            port: None,
            idle_since: Instant::now(),
            wire,
            inbox,
            stopping: false,
            urgent: VecDeque::new(),
        }
    }

    /// Runs until the bus stops.
    pub(crate) async fn run(mut self) {
        info!(link = %self.reopen.link, "Serial port task started.");
        self.open().await;
        while !self.stopping {
            if !matches!(
                self.inbox.shutdown.try_recv(),
                Err(oneshot::error::TryRecvError::Empty)
            ) {
                break;
            }
            if self.port.is_none() {
                self.wait_down().await;
                continue;
            }
            let now = Instant::now();
            while let Ok(c) = self.inbox.control.try_recv() {
                self.on_control(c, now);
            }
            match self.next_txn(now) {
                Some(t) => self.execute(t).await,
                None => self.idle().await,
            }
        }
        self.finish();
    }

    /// While the port is down: serve the inbox (requests fail fast) until the next attempt.
    async fn wait_down(&mut self) {
        let at = self.reopen.next_open;
        tokio::select! {
            biased;
            _ = &mut self.inbox.shutdown => self.stopping = true,
            Some(c) = self.inbox.control.recv() => self.on_control(c, Instant::now()),
            Some(j) = self.inbox.jobs.recv() => j.fail(self.down_error(Instant::now())),
            () = sleep_until(at) => self.open().await,
        }
    }

    /// Nothing due: wait for a request, a control change or the next deadline.
    async fn idle(&mut self) {
        let now = Instant::now();
        let due = self.units.sched.next_due(&self.units.breakers).map(|at| {
            if at <= now {
                debug!("A due cycle could not be taken; waiting 1 ms.");
                now + Duration::from_millis(1)
            } else {
                at
            }
        });
        let wake = async move {
            match due {
                Some(at) => crate::wake::wake_at(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            _ = &mut self.inbox.shutdown => self.stopping = true,
            Some(c) = self.inbox.control.recv() => self.on_control(c, Instant::now()),
            Some(job) = self.inbox.jobs.recv() => {
                let t = self.job_txn(job);
                self.urgent.push_back(t);
            }
            () = wake => {}
        }
    }

    async fn open(&mut self) {
        let result = tokio::select! {
            biased;
            _ = &mut self.inbox.shutdown => {
                self.stopping = true;
                return;
            }
            r = self.opener.open() => r,
        };
        let now = Instant::now();
        match result {
            Ok(stream) => {
                self.port = Some(Counted::new(stream, Arc::clone(&self.wire)));
                self.reopen.opened();
                self.idle_since = now;
                self.units.metrics().link_up = true;
                info!(link = %self.reopen.link, "Opened the port.");
                self.units.link_restored();
            }
            Err(e) => {
                let delay = self.reopen.open_failed(&e, now);
                self.units.metrics().open_failures += 1;
                warn!(link = %self.reopen.link, error = %e, retry_in = ?delay, "Cannot open the port.");
            }
        }
    }

    fn on_control(&mut self, c: Control, now: Instant) {
        match c {
            Control::Attach(a) => {
                let down = self.port.is_none().then(|| self.down_error(now));
                self.units.attach(a, &(), now, down);
            }
            Control::Detach(unit) => self.units.detach(unit),
        }
    }

    fn job_txn(&self, job: Job) -> JobTxn {
        JobTxn {
            job,
            attempt: 0,
            max_retries: self.s.retries,
        }
    }

    /// The next exchange: acyclic ones first, then the poll most overdue.
    fn next_txn(&mut self, now: Instant) -> Option<Txn> {
        loop {
            let mut t = match self.urgent.pop_front() {
                Some(t) => t,
                None => match self.inbox.jobs.try_recv() {
                    Ok(job) => self.job_txn(job),
                    Err(_) => break,
                },
            };
            // A demoted drive's requests fail fast, unless one may be its probe now.
            if let Some(e) = self.units.refuse_demoted(&self.s.bus, t.job.unit, now) {
                t.job.fail(e);
                continue;
            }
            if self.units.breakers.is_demoted(t.job.unit) {
                t.max_retries = 0;
            }
            return Some(Txn::Job(t));
        }
        let u = &mut self.units;
        let taken = u.sched.take(now, 1, self.s.retries, &mut u.breakers);
        let mut m = u.metrics();
        for (unit, n) in taken.missed {
            m.count(unit, n, |c| &mut c.missed_cycles);
        }
        for unit in taken.late {
            m.count(unit, 1, |c| &mut c.late_cycles);
        }
        drop(m);
        taken.txns.into_iter().next().map(Txn::Poll)
    }

    fn down_error(&self, now: Instant) -> BusError {
        self.reopen.error(&self.s.bus, now)
    }

    /// Stop: answer everything queued, tell the drives, close the port.
    fn finish(&mut self) {
        let stopping = BusError::ShuttingDown {
            bus: self.s.bus.clone(),
        };
        for t in self.urgent.drain(..) {
            t.job.fail(stopping.clone());
        }
        self.inbox.jobs.close();
        while let Ok(j) = self.inbox.jobs.try_recv() {
            j.fail(stopping.clone());
        }
        self.inbox.control.close();
        while self.inbox.control.try_recv().is_ok() {}
        self.units.stopping(&stopping);
        self.port = None;
        self.units.metrics().link_up = false;
        info!(link = %self.reopen.link, "Bus stopped; port closed.");
    }
}

impl crate::front::Job for Job {
    fn fail(self, e: BusError) {
        Job::fail(self, e);
    }
}
