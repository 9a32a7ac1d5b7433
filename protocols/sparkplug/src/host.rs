//! Primary host application awareness (Sparkplug 3.0 §5.11, §7.1): the host's retained
//! `spBv1.0/STATE/<host_id>` message says whether it is online. An edge node publishes only
//! while its primary host is online, and leaves the broker when the host goes offline there
//! (the host may be online through another broker). Within a session, a `STATE` older than
//! the last one seen is stale (a retained message delivered late) and ignored; a new session
//! (another broker) starts from that broker's retained `STATE`.

use serde::Deserialize;

/// What a `STATE` message changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostChange {
    /// Offline (or unknown) → online: publish the births.
    CameOnline,
    /// Online → offline: publish NDEATH, disconnect, try the next broker.
    WentOffline,
    /// Same state as before.
    Unchanged,
    /// Older than a `STATE` already seen: ignored.
    Stale,
}

/// A `STATE` payload that is not the specification's JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("STATE payload is not {{\"online\": bool, \"timestamp\": ms}}: {reason}")]
pub struct StateError {
    pub reason: String,
}

#[derive(Deserialize)]
struct State {
    online: bool,
    timestamp: u64,
}

/// The primary host as this edge node knows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrimaryHost {
    online: bool,
    /// Timestamp of the last `STATE` taken.
    seen: Option<u64>,
}

impl PrimaryHost {
    /// True while the host's last `STATE` said online.
    pub fn is_online(&self) -> bool {
        self.online
    }

    /// A new MQTT session: the host's state is unknown until that broker's retained `STATE`
    /// arrives.
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// Takes a `STATE` payload.
    pub fn on_state(&mut self, payload: &[u8]) -> Result<HostChange, StateError> {
        let st: State = serde_json::from_slice(payload).map_err(|e| StateError {
            reason: e.to_string(),
        })?;
        if self.seen.is_some_and(|t| st.timestamp < t) {
            return Ok(HostChange::Stale);
        }
        self.seen = Some(st.timestamp);
        let was = std::mem::replace(&mut self.online, st.online);
        Ok(match (was, st.online) {
            (false, true) => HostChange::CameOnline,
            (true, false) => HostChange::WentOffline,
            _ => HostChange::Unchanged,
        })
    }
}
