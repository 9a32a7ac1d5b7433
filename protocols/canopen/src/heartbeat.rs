//! Heartbeat (protocols.md §3.2): a consumer that declares a node lost when its heartbeat is
//! late, and a producer for the master's own heartbeat.
//!
//! The consumer is pure (time is passed in), so the bus dispatcher drives it from its event
//! loop and tests can drive it by hand.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use linevisor_can::{CanError, CanTransport};
use tokio::time::{Instant, MissedTickBehavior, interval};

use crate::cob::NodeId;
use crate::nmt::{NmtState, heartbeat_frame};

/// The consumer timeout for a producer period: 1.5 × the period, so one late heartbeat is
/// tolerated and a missing one is detected before the next would be due.
pub fn consumer_timeout(period: Duration) -> Duration {
    period.saturating_mul(3) / 2
}

#[derive(Debug, Clone)]
struct Watch {
    timeout: Duration,
    last_seen: Instant,
    state: Option<NmtState>,
    lost: bool,
}

/// What a heartbeat (or boot-up) told the consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observation {
    /// The first heartbeat, or a new state.
    StateChanged(NmtState),
    /// A heartbeat from a node that was declared lost.
    Resumed(NmtState),
    /// Same state as before.
    Alive,
    /// The node is not watched.
    Unwatched,
}

/// Heartbeat consumer: one deadline per watched node.
#[derive(Debug, Clone, Default)]
pub struct HeartbeatConsumer {
    watched: HashMap<NodeId, Watch>,
}

impl HeartbeatConsumer {
    /// An empty consumer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Expects a heartbeat from `node` at least every `timeout`, counting from `now`.
    pub fn watch(&mut self, node: NodeId, timeout: Duration, now: Instant) {
        self.watched.insert(
            node,
            Watch {
                timeout,
                last_seen: now,
                state: None,
                lost: false,
            },
        );
    }

    /// Stops watching `node`.
    pub fn unwatch(&mut self, node: NodeId) {
        self.watched.remove(&node);
    }

    /// Records a heartbeat (or boot-up) of `node` in `state`.
    pub fn observe(&mut self, node: NodeId, state: NmtState, now: Instant) -> Observation {
        let Some(w) = self.watched.get_mut(&node) else {
            return Observation::Unwatched;
        };
        w.last_seen = now;
        let previous = w.state.replace(state);
        if std::mem::take(&mut w.lost) {
            Observation::Resumed(state)
        } else if previous != Some(state) {
            Observation::StateChanged(state)
        } else {
            Observation::Alive
        }
    }

    /// Nodes whose deadline passed at `now`, with how long they have been silent. Each loss
    /// is reported once, until the node is heard again.
    pub fn expire(&mut self, now: Instant) -> Vec<(NodeId, Duration)> {
        let mut lost: Vec<_> = self
            .watched
            .iter_mut()
            .filter(|(_, w)| !w.lost && now >= w.last_seen + w.timeout)
            .map(|(node, w)| {
                w.lost = true;
                (*node, now - w.last_seen)
            })
            .collect();
        lost.sort_by_key(|(n, _)| *n);
        lost
    }

    /// The earliest pending deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.watched
            .values()
            .filter(|w| !w.lost)
            .map(|w| w.last_seen + w.timeout)
            .min()
    }

    /// True if `node` is watched and currently declared lost.
    pub fn is_lost(&self, node: NodeId) -> bool {
        self.watched.get(&node).is_some_and(|w| w.lost)
    }
}

/// The master's heartbeat: `0x700 + node` with its NMT state every `period`.
#[derive(Debug)]
pub struct HeartbeatProducer<T> {
    transport: Arc<T>,
    node: NodeId,
    period: Duration,
    state: NmtState,
}

impl<T: CanTransport> HeartbeatProducer<T> {
    /// A producer announcing `node` as operational every `period`.
    pub fn new(transport: Arc<T>, node: NodeId, period: Duration) -> Self {
        Self {
            transport,
            node,
            period,
            state: NmtState::Operational,
        }
    }

    /// Sends the heartbeat forever (until the transport closes).
    pub async fn run(self) -> Result<(), CanError> {
        let mut tick = interval(self.period.max(Duration::from_millis(1)));
        tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
        loop {
            tick.tick().await;
            match self
                .transport
                .send(&heartbeat_frame(self.node, self.state))
                .await
            {
                Err(e) if e.is_final() => return Err(e),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_is_reported_once_at_the_deadline_and_resumes() {
        let t0 = Instant::now();
        let n = NodeId::new(3).unwrap();
        let ms = Duration::from_millis;
        let mut c = HeartbeatConsumer::new();
        c.watch(n, consumer_timeout(ms(100)), t0);
        assert_eq!(c.next_deadline(), Some(t0 + ms(150)));
        assert_eq!(
            c.observe(n, NmtState::PreOperational, t0 + ms(100)),
            Observation::StateChanged(NmtState::PreOperational)
        );
        assert_eq!(
            c.observe(n, NmtState::PreOperational, t0 + ms(200)),
            Observation::Alive
        );
        assert!(c.expire(t0 + ms(349)).is_empty());
        assert_eq!(c.expire(t0 + ms(350)), vec![(n, ms(150))]);
        assert!(c.expire(t0 + ms(900)).is_empty() && c.is_lost(n));
        assert_eq!(c.next_deadline(), None);
        assert_eq!(
            c.observe(n, NmtState::Operational, t0 + ms(950)),
            Observation::Resumed(NmtState::Operational)
        );
        let other = NodeId::new(4).unwrap();
        assert_eq!(
            c.observe(other, NmtState::Operational, t0),
            Observation::Unwatched
        );
    }
}
