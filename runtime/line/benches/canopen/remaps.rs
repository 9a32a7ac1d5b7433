//! Counts what the PDO set-up of linevisor-canopen did, from its own log events: a re-mapping
//! (`pdo::configure`, the SDO writes of one PDO) and a PDO found already mapped (`auto`, nothing
//! written). The bus metrics count SDO transfers, not which ones were writes.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use tracing::field::{Field, Visit};
use tracing::{Event, Metadata, Subscriber, span};

static REMAPPED: AtomicU64 = AtomicU64::new(0);
static ALREADY_MAPPED: AtomicU64 = AtomicU64::new(0);

/// PDOs re-mapped and PDOs found already mapped, since the start.
pub(crate) fn counts() -> (u64, u64) {
    (
        REMAPPED.load(Ordering::Relaxed),
        ALREADY_MAPPED.load(Ordering::Relaxed),
    )
}

/// Installs the counter as the process's subscriber (it sees nothing else).
pub(crate) fn install() {
    if tracing::subscriber::set_global_default(PdoEvents).is_err() {
        panic!("a tracing subscriber is already installed");
    }
}

struct PdoEvents;

struct Message(Option<String>);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.0 = Some(format!("{value:?}"));
        }
    }
}

impl Subscriber for PdoEvents {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.is_event() && metadata.target().starts_with("linevisor_canopen::pdo")
    }

    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        // Never called: no span is enabled.
        span::Id::from_u64(1)
    }

    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}

    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut message = Message(None);
        event.record(&mut message);
        match message.0.as_deref() {
            Some("Re-mapping PDO.") => REMAPPED.fetch_add(1, Ordering::Relaxed),
            Some("PDO already mapped.") => ALREADY_MAPPED.fetch_add(1, Ordering::Relaxed),
            _ => 0,
        };
    }

    fn enter(&self, _: &span::Id) {}

    fn exit(&self, _: &span::Id) {}
}
