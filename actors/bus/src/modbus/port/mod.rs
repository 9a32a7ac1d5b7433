//! The port task: one per bus, the only code that touches the port. It owns the Modbus client
//! and the scheduler, runs one batch of transactions at a time (one transaction on RTU, up to
//! the in-flight window on TCP), and reopens the link with backoff when it is lost. The actor
//! talks to it over bounded channels and never waits for it.

mod job;
mod settle;

pub(crate) use job::{Control, Job};

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use linevisor_modbus::Retry;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep_until};
use tracing::{debug, info, warn};

use crate::BusError;
use crate::breaker::Breakers;
use crate::link::{Counted, Opener};
use crate::metrics::{Metrics, Wire};
use crate::modbus::Modbus;
use crate::modbus::client::Client;
use crate::modbus::spec::{Settings, Transport};
use crate::reopen::Reopen;
use crate::units::Units;
use job::{JobTxn, Txn};

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
    client: Option<Client>,
    reopen: Reopen,
    units: Units<Modbus>,
    wire: Arc<Wire>,
    inbox: Inbox,
    stopping: bool,
    /// Acyclic jobs taken off the queue or waiting for a retry; they go before any poll.
    urgent: VecDeque<JobTxn>,
    /// Response timeouts of the attached units that have their own.
    timeouts: BTreeMap<u8, Duration>,
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
        Self {
            reopen: Reopen::new(opener.describe(), backoff),
            units: Units::new(
                Breakers::new(s.demote_after, s.probe_interval),
                metrics,
                stagger,
            ),
            s,
            opener,
            client: None,
            wire,
            inbox,
            stopping: false,
            urgent: VecDeque::new(),
            timeouts: BTreeMap::new(),
        }
    }

    /// Runs until the bus stops.
    pub(crate) async fn run(mut self) {
        info!(link = %self.reopen.link, "Bus port task started.");
        self.open().await;
        while !self.stopping {
            if !matches!(
                self.inbox.shutdown.try_recv(),
                Err(oneshot::error::TryRecvError::Empty)
            ) {
                break;
            }
            if self.client.is_none() {
                self.wait_down().await;
                continue;
            }
            let now = Instant::now();
            while let Ok(c) = self.inbox.control.try_recv() {
                self.on_control(c, now);
            }
            let batch = self.gather(now);
            if batch.is_empty() {
                self.idle().await;
            } else {
                self.execute(batch).await;
            }
        }
        self.finish();
    }

    /// While the link is down: serve the inbox (requests fail fast) until the next attempt.
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
                // Cannot happen if the scheduler is right; never spin on it.
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
            Some(j) = self.inbox.jobs.recv() => {
                let t = self.job_txn(j);
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
                let io = Counted::new(stream, Arc::clone(&self.wire));
                self.client = Some(match &self.s.transport {
                    Transport::Rtu(c) => Client::rtu(io, c),
                    Transport::Tcp(c) => Client::tcp(io, c),
                });
                self.reopen.opened();
                self.units.metrics().link_up = true;
                info!(link = %self.reopen.link, "Opened the link.");
                self.units.link_restored();
            }
            Err(e) => {
                let delay = self.reopen.open_failed(&e, now);
                self.units.metrics().open_failures += 1;
                warn!(link = %self.reopen.link, error = %e, retry_in = ?delay, "Cannot open the link.");
            }
        }
    }

    fn on_control(&mut self, c: Control, now: Instant) {
        match c {
            Control::Attach(a, options) => {
                match options.response_timeout {
                    Some(t) => self.timeouts.insert(a.unit, t),
                    None => self.timeouts.remove(&a.unit),
                };
                let down = self.client.is_none().then(|| self.down_error(now));
                self.units.attach(a, &options, now, down);
            }
            Control::Detach(unit) => {
                self.timeouts.remove(&unit);
                self.units.detach(unit);
            }
        }
    }

    /// How long to wait for `unit`'s answer: its own timeout, else the bus's.
    fn timeout_of(&self, unit: u8) -> Duration {
        self.timeouts
            .get(&unit)
            .copied()
            .unwrap_or(self.s.response_timeout)
    }

    fn job_txn(&self, job: Job) -> JobTxn {
        JobTxn {
            request: job.request(),
            job,
            attempt: 0,
            max_retries: self.s.retries,
        }
    }

    /// The next batch: acyclic jobs first, then polls by deadline, up to the window.
    fn gather(&mut self, now: Instant) -> Vec<Txn> {
        let room = self.s.window.max(1);
        let mut batch = Vec::new();
        while batch.len() < room {
            let t = match self.urgent.pop_front() {
                Some(t) => t,
                None => match self.inbox.jobs.try_recv() {
                    Ok(j) => self.job_txn(j),
                    Err(_) => break,
                },
            };
            let Some(t) = self.admit(t, now) else {
                continue;
            };
            let t = Txn::Job(t);
            if t.is_broadcast() {
                // A broadcast has the line to itself (no response, then the turnaround).
                if batch.is_empty() {
                    return vec![t];
                }
                if let Txn::Job(t) = t {
                    self.urgent.push_front(t);
                }
                return batch;
            }
            batch.push(t);
        }
        if batch.len() < room {
            let u = &mut self.units;
            let taken = u
                .sched
                .take(now, room - batch.len(), self.s.retries, &mut u.breakers);
            let mut m = u.metrics();
            for (unit, n) in taken.missed {
                m.count(unit, n, |c| &mut c.missed_cycles);
            }
            for unit in taken.late {
                m.count(unit, 1, |c| &mut c.late_cycles);
            }
            drop(m);
            batch.extend(taken.txns.into_iter().map(Txn::Poll));
        }
        batch
    }

    /// A job to a demoted unit fails fast unless it can be the unit's probe.
    fn admit(&mut self, mut t: JobTxn, now: Instant) -> Option<JobTxn> {
        let unit = t.job.unit();
        if unit == 0 {
            return Some(t);
        }
        if let Some(e) = self.units.refuse_demoted(&self.s.bus, unit, now) {
            t.job.fail(e);
            return None;
        }
        if self.units.breakers.is_demoted(unit) {
            // Its probe: one attempt.
            t.max_retries = 0;
        }
        Some(t)
    }

    fn down_error(&self, now: Instant) -> BusError {
        self.reopen.error(&self.s.bus, now)
    }

    /// Stop: answer everything queued, tell the drives, close the port.
    fn finish(&mut self) {
        let bus = self.s.bus.clone();
        let stopping = || BusError::ShuttingDown { bus: bus.clone() };
        for t in self.urgent.drain(..) {
            t.job.fail(stopping());
        }
        self.inbox.jobs.close();
        while let Ok(j) = self.inbox.jobs.try_recv() {
            j.fail(stopping());
        }
        self.inbox.control.close();
        while self.inbox.control.try_recv().is_ok() {}
        self.units.stopping(&stopping());
        self.client = None;
        self.units.metrics().link_up = false;
        info!(link = %self.reopen.link, "Bus stopped; link closed.");
    }
}
