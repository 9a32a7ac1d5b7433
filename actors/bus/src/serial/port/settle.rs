//! Running an exchange and settling it: the answer to its caller, the sample or the failed
//! cycle to its drive, retries, the circuit breaker, metrics, and port loss.

use linevisor_serial::{Reply, SerialError};
use tokio::time::Instant;
use tracing::{Instrument, debug_span, warn};

use super::{PortTask, Txn};
use crate::metrics::Counters;
use crate::serial::exchange::SerialLinkError;
use crate::serial::{refusal, value_words};
use crate::{BusError, BusEvent, CycleFault};

impl PortTask {
    /// Runs `t` on the line and settles it.
    pub(super) async fn execute(&mut self, t: Txn) {
        let unit = t.unit();
        let exchange = t.exchange().clone();
        let span = debug_span!("exchange", bus = %self.s.bus, unit);
        let started = Instant::now();
        let outcome = self.exchange(unit, &exchange).instrument(span).await;
        let now = Instant::now();
        self.units
            .metrics()
            .count(unit, 1, |c: &mut Counters| &mut c.transactions);
        match outcome {
            Ok(answer) => {
                {
                    let mut m = self.units.metrics();
                    m.latency(unit, now.saturating_duration_since(started));
                    m.frames_in += 1;
                    if answer.is_err() {
                        m.count(unit, 1, |c| &mut c.exceptions);
                    }
                }
                self.reopen.answered();
                self.units.answered(unit, now);
                self.deliver(t, answer, now);
            }
            Err(e) => self.failed(t, e, now),
        }
    }

    fn deliver(&mut self, t: Txn, answer: Result<Reply, SerialError>, now: Instant) {
        match t {
            Txn::Job(j) => {
                let _ = j.job.reply.send(Ok(answer));
            }
            Txn::Poll(p) => {
                let fault = match answer {
                    Ok(Reply::Value(v)) => {
                        if let Some(sample) = self.units.sched.complete(&p, value_words(v), now) {
                            self.units.count(p.unit, |c| &mut c.samples);
                            self.units.emit(p.unit, BusEvent::Sample(sample));
                        }
                        return;
                    }
                    // The codec answers a read with a value or an error; never an ack.
                    Ok(other) => CycleFault::Bus(BusError::Serial {
                        bus: self.s.bus.clone(),
                        source: SerialLinkError::Reply {
                            address: p.unit,
                            source: SerialError::Garbage {
                                text: format!("{other:?} to a read"),
                            },
                        },
                    }),
                    Err(e) => CycleFault::Device(refusal(p.unit, &e)),
                };
                self.units.cycle_failed(p.unit, p.seq, fault);
            }
        }
    }

    /// A link fault: count it, feed the breaker, retry or give up; reopen if the port is gone.
    fn failed(&mut self, t: Txn, e: SerialLinkError, now: Instant) {
        let unit = t.unit();
        if e.is_link_down() {
            let error = self.link_error(e.clone());
            self.give_up(t, error);
            self.lose_link(&e, now);
            return;
        }
        let counter: fn(&mut Counters) -> &mut u64 = match &e {
            SerialLinkError::Timeout { .. } => |c| &mut c.timeouts,
            SerialLinkError::Reply {
                source: SerialError::Checksum { .. },
                ..
            } => |c| &mut c.crc_errors,
            _ => |c| &mut c.framing_errors,
        };
        {
            let mut m = self.units.metrics();
            m.count(unit, 1, counter);
            if !e.is_timeout() {
                m.frames_in += 1;
            }
        }
        if e.is_timeout() {
            self.units.timed_out(unit, now);
        } else {
            // A reply came back, spoilt: the unit is there and the line is noisy.
            self.units.garbled(unit);
        }
        let demoted = self.units.breakers.is_demoted(unit);
        if t.may_retry() && !demoted && !self.stopping {
            warn!(unit, error = %e, "Retrying serial request.");
            match t {
                Txn::Job(mut j) => {
                    j.attempt += 1;
                    self.urgent.push_front(j);
                }
                Txn::Poll(p) => self.units.sched.retry(&p),
            }
            return;
        }
        let error = self.link_error(e);
        self.give_up(t, error);
    }

    fn link_error(&self, source: SerialLinkError) -> BusError {
        BusError::Serial {
            bus: self.s.bus.clone(),
            source,
        }
    }

    /// The exchange will not be attempted again.
    fn give_up(&mut self, t: Txn, e: BusError) {
        match t {
            Txn::Job(j) => j.job.fail(e),
            Txn::Poll(p) => self.units.cycle_failed(p.unit, p.seq, CycleFault::Bus(e)),
        }
    }

    /// The port is gone: close it, tell the drives, reopen with backoff.
    fn lose_link(&mut self, e: &SerialLinkError, now: Instant) {
        self.port = None;
        let delay = self.reopen.lost(e, now);
        {
            let mut m = self.units.metrics();
            m.link_up = false;
            m.link_losses += 1;
        }
        warn!(link = %self.reopen.link, error = %e, retry_in = ?delay, "Port lost; reopening with backoff.");
        let down = self.down_error(now);
        for t in std::mem::take(&mut self.urgent) {
            t.job.fail(down.clone());
        }
        self.units.link_lost(&down);
    }
}
