//! The callers' reply ports, by the command ids the core knows them by. Each is answered
//! exactly once: by the core's `Reply` action or, if the instance ends first (crash, stop), by
//! its drop with `Aborted`. Every outcome is also a `CommandCompleted` event.

use std::collections::BTreeMap;
use std::sync::Arc;

use linevisor_supervisor::RpcReplyPort;
use tokio::sync::broadcast;
use tokio::time::Instant;
use tracing::debug;

use crate::command::{Command, CommandResult};
use crate::core::CommandId;
use crate::error::CommandError;
use crate::telemetry::{DriveEvent, DriveEventKind};

/// Publishes one drive's events.
#[derive(Debug, Clone)]
pub(crate) struct Emitter {
    pub(crate) drive: Arc<str>,
    pub(crate) events: broadcast::Sender<DriveEvent>,
}

impl Emitter {
    /// Publishes an event (nobody listening is fine).
    pub(crate) fn emit(&self, kind: DriveEventKind) {
        let _ = self.events.send(DriveEvent {
            drive: self.drive.clone(),
            at: Instant::now(),
            kind,
        });
    }
}

/// One caller waiting for its command's outcome.
#[derive(Debug)]
struct Reply {
    emitter: Emitter,
    command: Command,
    port: Option<RpcReplyPort<CommandResult>>,
}

impl Reply {
    fn finish(&mut self, result: CommandResult) {
        let Some(port) = self.port.take() else {
            return;
        };
        debug!(command = ?self.command, outcome = ?result.as_ref().map(|a| a.took), "Command outcome.");
        self.emitter.emit(DriveEventKind::CommandCompleted {
            command: self.command,
            outcome: result.as_ref().map(|_| ()).map_err(Clone::clone),
        });
        // The caller may have given up waiting; the outcome is in the event either way.
        let _ = port.send(result);
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        if self.port.is_some() {
            self.finish(Err(CommandError::Aborted {
                reason: "the drive actor instance ended (crash or stop)".into(),
            }));
        }
    }
}

/// The reply ports of the commands the core has not answered yet.
#[derive(Debug)]
pub(crate) struct Replies {
    emitter: Emitter,
    next: u64,
    waiting: BTreeMap<CommandId, Reply>,
}

impl Replies {
    pub(crate) fn new(emitter: Emitter) -> Self {
        Self {
            emitter,
            next: 0,
            waiting: BTreeMap::new(),
        }
    }

    /// Keeps `port` until the outcome of `command`; returns the id to give the core.
    pub(crate) fn register(
        &mut self,
        command: Command,
        port: RpcReplyPort<CommandResult>,
    ) -> CommandId {
        let id = CommandId(self.next);
        self.next += 1;
        let reply = Reply {
            emitter: self.emitter.clone(),
            command,
            port: Some(port),
        };
        self.waiting.insert(id, reply);
        id
    }

    /// Answers command `id` (an unknown id was answered already: ignored).
    pub(crate) fn finish(&mut self, id: CommandId, result: CommandResult) {
        if let Some(mut reply) = self.waiting.remove(&id) {
            reply.finish(result);
        }
    }
}
