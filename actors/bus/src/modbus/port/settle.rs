//! Running a batch and settling its results: answers to callers, samples and events to drives,
//! retries, the circuit breaker, metrics, and link loss.

use linevisor_modbus::{CallResult, Exception, ExceptionCode, LinkError, Response};
use tokio::time::{Duration, Instant};
use tracing::{Instrument, debug_span, warn};

use super::PortTask;
use super::job::{JobTxn, Txn, words};
use crate::metrics::Counters;
use crate::modbus::client::is_link_down;
use crate::{BusError, BusEvent, CycleFault};

impl PortTask {
    /// Runs one batch to the end (never cancelled half-way: a frame cut short would confuse
    /// the devices) and settles every transaction in it.
    pub(super) async fn execute(&mut self, batch: Vec<Txn>) {
        if self.client.is_none() {
            let e = self.down_error(Instant::now());
            batch.into_iter().for_each(|t| self.give_up(t, e.clone()));
            return;
        }
        let timeouts: Vec<Duration> = batch.iter().map(|t| self.timeout_of(t.unit())).collect();
        let Some(client) = self.client.as_mut() else {
            return;
        };
        let started = Instant::now();
        let results: Vec<CallResult<Response>> = if let [t] = batch.as_slice() {
            let unit = t.unit();
            let span = debug_span!("transaction", bus = %self.s.bus, unit);
            let request = t.request();
            let r = if t.is_broadcast() {
                let echo = Response::write_echo(request);
                client
                    .broadcast(request)
                    .instrument(span)
                    .await
                    .and_then(|()| {
                        echo.map(Ok).ok_or(LinkError::InvalidRequest {
                            unit: 0,
                            source: linevisor_modbus::FrameError::Broadcast {
                                function: request.function(),
                            },
                        })
                    })
            } else {
                let timeout = timeouts[0];
                client.call(unit, request, timeout).instrument(span).await
            };
            vec![r]
        } else {
            let calls: Vec<_> = batch
                .iter()
                .map(|t| (t.unit(), t.request().clone()))
                .collect();
            let span = debug_span!("batch", bus = %self.s.bus, size = calls.len());
            client.batch(&calls, &timeouts).instrument(span).await
        };
        let now = Instant::now();
        let latency = now.saturating_duration_since(started);
        let timed_out = results
            .iter()
            .any(|r| r.as_ref().is_err_and(LinkError::is_timeout));
        let mut lost = None;
        let mut retries = Vec::new();
        for (t, r) in batch.into_iter().zip(results) {
            if let Some(t) = self.settle(t, r, latency, now, &mut lost) {
                retries.push(t);
            }
        }
        // Retried jobs keep their order, ahead of everything else.
        for t in retries.into_iter().rev() {
            self.urgent.push_front(t);
        }
        if lost.is_none() && timed_out {
            lost = self.unresponsive();
        }
        if let Some(e) = lost {
            self.lose_link(&e, now);
        }
    }

    /// On TCP, a connection on which every unit is demoted answers nothing at all: most likely
    /// half-open (the peer went away without closing it; no probe through it can succeed). It
    /// is dropped and opened again like a lost one. An RTU port is local: never.
    fn unresponsive(&self) -> Option<LinkError> {
        let u = &self.units;
        (!self.s.is_rtu() && u.sched.all_demoted(&u.breakers)).then(|| LinkError::Unresponsive {
            units: u.sched.attached().len(),
        })
    }

    /// Settles one transaction; returns a job to retry.
    fn settle(
        &mut self,
        t: Txn,
        r: CallResult<Response>,
        latency: Duration,
        now: Instant,
        lost: &mut Option<LinkError>,
    ) -> Option<JobTxn> {
        let unit = t.unit();
        let broadcast = t.is_broadcast();
        let mut m = self.units.metrics();
        m.count(unit, 1, |c| &mut c.transactions);
        let e = match r {
            Ok(answer) => {
                m.latency(unit, latency);
                if !broadcast {
                    m.frames_in += 1;
                }
                if answer.is_err() {
                    m.count(unit, 1, |c| &mut c.exceptions);
                }
                drop(m);
                self.reopen.answered();
                if !broadcast {
                    self.units.answered(unit, now);
                }
                self.deliver(t, answer, now);
                return None;
            }
            Err(e) => e,
        };
        if is_link_down(&e) {
            drop(m);
            lost.get_or_insert_with(|| e.clone());
            self.give_up(t, BusError::link(&self.s.bus, e));
            return None;
        }
        let counter: Option<fn(&mut Counters) -> &mut u64> = match &e {
            LinkError::Timeout { .. } => Some(|c| &mut c.timeouts),
            LinkError::Crc { .. } => Some(|c| &mut c.crc_errors),
            LinkError::Framing { .. }
            | LinkError::Echo { .. }
            | LinkError::UnexpectedUnit { .. }
            | LinkError::UnexpectedFunction { .. }
            | LinkError::Mismatch { .. } => Some(|c| &mut c.framing_errors),
            _ => None,
        };
        if let Some(field) = counter {
            m.count(unit, 1, field);
            if !e.is_timeout() {
                m.frames_in += 1;
            }
        }
        drop(m);
        if e.is_timeout() && !broadcast {
            self.units.timed_out(unit, now);
        } else if counter.is_some() && !matches!(e, LinkError::Echo { .. }) {
            // Bytes came back, spoilt: the unit is there and the line is noisy.
            self.units.garbled(unit);
        }
        let demoted = self.units.breakers.is_demoted(unit);
        if e.is_retryable() && t.may_retry() && !demoted && !self.stopping {
            warn!(unit, error = %e, "Retrying Modbus request.");
            match t {
                Txn::Job(mut j) => {
                    j.attempt += 1;
                    return Some(j);
                }
                Txn::Poll(p) => self.units.sched.retry(&p),
            }
            return None;
        }
        self.give_up(t, BusError::link(&self.s.bus, e));
        None
    }

    fn deliver(&mut self, t: Txn, answer: Result<Response, Exception>, now: Instant) {
        match t {
            Txn::Job(j) => j.job.answer(&self.s.bus, answer),
            Txn::Poll(p) => {
                if !self.units.sched.is_live(&p) {
                    // A read of a plan given up for its unpadded twin since it was sent.
                    return;
                }
                let fault = match answer.map(words) {
                    Ok(Ok(w)) => {
                        if let Some(sample) = self.units.sched.complete(&p, w, now) {
                            self.units.count(p.unit, |c| &mut c.samples);
                            self.units.emit(p.unit, BusEvent::Sample(sample));
                        }
                        return;
                    }
                    Ok(Err(got)) => {
                        let source = LinkError::UnexpectedFunction {
                            unit: p.unit,
                            expected: p.request.function(),
                            got,
                        };
                        CycleFault::Bus(BusError::link(&self.s.bus, source))
                    }
                    Err(exception) => {
                        if refuses_padding(&exception) && self.units.sched.fall_back(&p) {
                            self.units.count(p.unit, |c| &mut c.span_fallbacks);
                            warn!(
                                unit = p.unit,
                                request = ?p.request,
                                exception = %exception,
                                "The unit refused a read spanning register gaps; reading it without padding from now on."
                            );
                            return;
                        }
                        CycleFault::Device(crate::modbus::refusal(&exception))
                    }
                };
                self.units.cycle_failed(p.unit, p.seq, fault);
            }
        }
    }

    /// The transaction will not be attempted again.
    pub(super) fn give_up(&mut self, t: Txn, e: BusError) {
        match t {
            Txn::Job(j) => j.job.fail(e),
            Txn::Poll(p) => {
                if self.units.sched.is_live(&p) {
                    self.units.cycle_failed(p.unit, p.seq, CycleFault::Bus(e));
                }
            }
        }
    }

    /// The port or connection is gone: close it, tell the drives, reopen with backoff.
    fn lose_link(&mut self, e: &LinkError, now: Instant) {
        self.client = None;
        let delay = self.reopen.lost(e, now);
        {
            let mut m = self.units.metrics();
            m.link_up = false;
            m.link_losses += 1;
        }
        warn!(link = %self.reopen.link, error = %e, retry_in = ?delay, "Link lost; reopening with backoff.");
        let down = self.down_error(now);
        for t in std::mem::take(&mut self.urgent) {
            t.job.fail(down.clone());
        }
        self.units.link_lost(&down);
    }
}

/// Exceptions 02 (illegal data address) and 03 (illegal data value): how devices refuse a
/// read that covers registers they do not map.
fn refuses_padding(e: &Exception) -> bool {
    matches!(
        e.code,
        ExceptionCode::IllegalDataAddress | ExceptionCode::IllegalDataValue
    )
}
