//! What the actor hands the port task: control changes and acyclic jobs with their reply ports.

use linevisor_modbus::{Exception, LinkError, Request, Response};
use ractor::RpcReplyPort;

use crate::scheduler::PollTxn;
use crate::{Attach, BusError, BusResult, ReadBlock, UnitOptions, Write};

/// Attach and detach, on their own channel so a full request queue never holds them up.
#[derive(Debug)]
pub(crate) enum Control {
    Attach(Attach, UnitOptions),
    Detach(u8),
}

/// An acyclic request and where its answer goes.
#[derive(Debug)]
pub(crate) enum Job {
    Read {
        unit: u8,
        block: ReadBlock,
        reply: RpcReplyPort<BusResult<Vec<u16>>>,
    },
    Write {
        unit: u8,
        write: Write,
        reply: RpcReplyPort<BusResult<()>>,
    },
    Broadcast {
        write: Write,
        reply: RpcReplyPort<Result<(), BusError>>,
    },
}

impl Job {
    /// Unit addressed (0 for a broadcast).
    pub(crate) fn unit(&self) -> u8 {
        match self {
            Job::Read { unit, .. } | Job::Write { unit, .. } => *unit,
            Job::Broadcast { .. } => 0,
        }
    }

    pub(crate) fn request(&self) -> Request {
        match self {
            Job::Read { block, .. } => block.request(),
            Job::Write { write, .. } | Job::Broadcast { write, .. } => write.request(),
        }
    }

    /// Answers with a bus error. A caller that stopped waiting is not an error.
    pub(crate) fn fail(self, e: BusError) {
        match self {
            Job::Read { reply, .. } => drop(reply.send(Err(e))),
            Job::Write { reply, .. } => drop(reply.send(Err(e))),
            Job::Broadcast { reply, .. } => drop(reply.send(Err(e))),
        }
    }

    /// Answers with the device's answer.
    pub(crate) fn answer(self, bus: &str, answer: Result<Response, Exception>) {
        match self {
            Job::Read {
                unit, block, reply, ..
            } => {
                let r = match answer {
                    Ok(resp) => words(resp).map(Ok).map_err(|got| {
                        let source = LinkError::UnexpectedFunction {
                            unit,
                            expected: block.request().function(),
                            got,
                        };
                        BusError::link(bus, source)
                    }),
                    Err(exception) => Ok(Err(exception)),
                };
                let _ = reply.send(r);
            }
            Job::Write { reply, .. } => {
                let _ = reply.send(Ok(answer.map(|_| ())));
            }
            Job::Broadcast { reply, .. } => {
                let _ = reply.send(Ok(()));
            }
        }
    }
}

/// The registers of a read response (bits as words of 0 or 1); the function byte of anything
/// else.
pub(crate) fn words(resp: Response) -> Result<Vec<u16>, u8> {
    match resp {
        Response::ReadHoldingRegisters(w) | Response::ReadInputRegisters(w) => Ok(w),
        Response::ReadCoils(b) | Response::ReadDiscreteInputs(b) => {
            Ok(b.into_iter().map(u16::from).collect())
        }
        other => Err(other.function()),
    }
}

/// An acyclic job being carried out.
#[derive(Debug)]
pub(crate) struct JobTxn {
    pub(crate) job: Job,
    pub(crate) request: Request,
    pub(crate) attempt: u8,
    pub(crate) max_retries: u8,
}

/// One transaction of a batch.
#[derive(Debug)]
pub(crate) enum Txn {
    Job(JobTxn),
    Poll(PollTxn<Request>),
}

impl Txn {
    pub(crate) fn unit(&self) -> u8 {
        match self {
            Txn::Job(t) => t.job.unit(),
            Txn::Poll(t) => t.unit,
        }
    }

    pub(crate) fn request(&self) -> &Request {
        match self {
            Txn::Job(t) => &t.request,
            Txn::Poll(t) => &t.request,
        }
    }

    pub(crate) fn is_broadcast(&self) -> bool {
        matches!(self, Txn::Job(t) if matches!(t.job, Job::Broadcast { .. }))
    }

    /// True if another attempt is allowed.
    pub(crate) fn may_retry(&self) -> bool {
        match self {
            Txn::Job(t) => t.attempt < t.max_retries,
            Txn::Poll(t) => t.attempt < t.max_retries,
        }
    }
}

impl crate::front::Job for Job {
    fn fail(self, e: BusError) {
        Job::fail(self, e);
    }
}
