//! "Drive the power state to X", once: the transition sequence of one state command, pure (no
//! I/O, time passed in). Given each decoded state, the next thing to do. The core runs it on
//! every cycle's sample for state commands; [`DriveTo`] runs it through acyclic reads and writes
//! for the safe states (safe-stop step, start-up procedures); the property tests run both
//! against device models.
//!
//! Freshness rules, so that only a readback confirms a command:
//! - a state observed before the last write of this sequence completed is stale: ignored;
//! - `Done` (and a fault refusal) needs a state observed after the command was accepted;
//! - the first step may be taken from the last state known at acceptance, to save a cycle.

use std::time::Duration;

use linevisor_profile::{
    CommandState, CommandStep, PointWrite, PowerState, ProfileCodec, Refusal, UniformCommand,
};
use tokio::time::Instant;

use crate::error::CommandError;
use crate::state::DriveState;

/// What a [`DriveTo`] run needs next.
#[derive(Debug, Clone, PartialEq)]
pub enum Poll {
    /// Read the status (see `startup::observed_points`), then call [`DriveTo::observed`].
    Read,
    /// Write these, then call [`DriveTo::written`].
    Write(Vec<PointWrite>),
    /// Wait this long, then read again.
    Sleep(Duration),
    /// The state confirms the command.
    Done(PowerState),
}

/// A state command run through acyclic reads and writes, polling at the drive's period: read,
/// step the [`Sequence`], write, wait, read again, until the state confirms it or the bound
/// passes. Every read is sent after the last write completed, so no observation is stale.
#[derive(Debug, Clone)]
pub struct DriveTo {
    seq: Sequence,
    memory: CommandState,
    poll: Duration,
}

impl DriveTo {
    /// `command` from `memory` (the last command word), started at `now`, within `timeout`.
    pub fn new(
        command: UniformCommand,
        memory: CommandState,
        now: Instant,
        poll: Duration,
        timeout: Duration,
    ) -> Self {
        Self {
            seq: Sequence::new(command, now, timeout),
            memory,
            poll,
        }
    }

    /// The command word as written so far (hand it back to the caller, also after an error).
    pub fn memory(&self) -> CommandState {
        self.memory
    }

    /// Write rounds so far.
    pub fn writes(&self) -> u32 {
        self.seq.writes()
    }

    /// The state read at `observed_at` (when the read was sent), with its fault code.
    pub fn observed(
        &mut self,
        codec: &ProfileCodec,
        state: PowerState,
        fault_code: Option<u32>,
        observed_at: Instant,
        now: Instant,
    ) -> Result<Poll, CommandError> {
        let next = self
            .seq
            .on_status(codec, state, fault_code, observed_at, now, &self.memory)?;
        Ok(match next {
            Next::Done(s) => Poll::Done(s),
            Next::Wait => Poll::Sleep(self.poll),
            Next::Write(w) => Poll::Write(w),
        })
    }

    /// The writes of the last step completed at `now`.
    pub fn written(&mut self, codec: &ProfileCodec, writes: &[PointWrite], now: Instant) -> Poll {
        codec.note_written(&mut self.memory, writes);
        self.seq.wrote(now);
        Poll::Sleep(self.poll)
    }
}

/// What to do after an observation.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// Write these, then call [`Sequence::wrote`].
    Write(Vec<PointWrite>),
    /// Nothing; wait for the next observation.
    Wait,
    /// The readback confirms the command in this state.
    Done(PowerState),
}

/// One state command in progress.
#[derive(Debug, Clone)]
pub struct Sequence {
    command: UniformCommand,
    accepted: Instant,
    deadline: Instant,
    timeout: Duration,
    last_write: Option<Instant>,
    writes: u32,
}

impl Sequence {
    /// `command` accepted at `now`, to be confirmed within `timeout`.
    pub fn new(command: UniformCommand, now: Instant, timeout: Duration) -> Self {
        Self {
            command,
            accepted: now,
            deadline: now + timeout,
            timeout,
            last_write: None,
            writes: 0,
        }
    }

    pub fn command(&self) -> UniformCommand {
        self.command
    }

    /// Write rounds so far.
    pub fn writes(&self) -> u32 {
        self.writes
    }

    /// True once the deadline has passed.
    pub fn expired(&self, now: Instant) -> bool {
        now >= self.deadline
    }

    /// The step for `state`, observed (its read sent) at `observed_at`; `fault_code` is the
    /// fault code read with it.
    pub fn on_status(
        &self,
        codec: &ProfileCodec,
        state: PowerState,
        fault_code: Option<u32>,
        observed_at: Instant,
        now: Instant,
        memory: &CommandState,
    ) -> Result<Next, CommandError> {
        let timeout = || CommandError::Timeout {
            after: self.timeout,
            state: DriveState::from(state),
        };
        if self.last_write.is_some_and(|w| observed_at < w) {
            return if self.expired(now) {
                Err(timeout())
            } else {
                Ok(Next::Wait)
            };
        }
        let confirmed = observed_at >= self.accepted;
        let step = codec
            .command_step(self.command, state, memory)
            .map_err(CommandError::from_codec)?;
        match step {
            CommandStep::Done if confirmed => Ok(Next::Done(state)),
            CommandStep::Refused(Refusal::InFault) if confirmed => {
                Err(CommandError::InFault { code: fault_code })
            }
            _ if self.expired(now) => Err(timeout()),
            CommandStep::Write(w) => Ok(Next::Write(w)),
            CommandStep::Done | CommandStep::Refused(_) | CommandStep::Wait => Ok(Next::Wait),
        }
    }

    /// The writes of the last step completed at `done_at`.
    pub fn wrote(&mut self, done_at: Instant) {
        self.last_write = Some(done_at);
        self.writes += 1;
    }
}
