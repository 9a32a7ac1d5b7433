//! An in-memory CAN bus for tests and the in-process simulator: every frame sent by one
//! endpoint is received by all the others, in one global order. Fault injection: drop every
//! frame of an identifier, disconnect an endpoint (cable pulled), reconnect it.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::mpsc;

use crate::{CanError, CanFrame, CanId, CanTransport};

/// Identifies one endpoint on a [`VirtualBus`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EndpointId(pub u64);

#[derive(Debug)]
struct Slot {
    tx: mpsc::UnboundedSender<CanFrame>,
    connected: bool,
}

#[derive(Debug, Default)]
struct Inner {
    endpoints: BTreeMap<EndpointId, Slot>,
    next_id: u64,
    dropped_ids: HashSet<CanId>,
    delivered: u64,
    dropped: u64,
    /// Fault injection: the bus is unusable (bus-off, a short, a missing terminator).
    bus_off: bool,
}

/// The bus itself; clones share it.
#[derive(Debug, Clone, Default)]
pub struct VirtualBus {
    inner: Arc<Mutex<Inner>>,
}

impl VirtualBus {
    /// An empty bus.
    pub fn new() -> Self {
        Self::default()
    }

    /// Attaches a new endpoint; it receives every frame sent from now on by the others.
    pub fn endpoint(&self) -> VirtualEndpoint {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut inner = self.lock();
        let id = EndpointId(inner.next_id);
        inner.next_id += 1;
        inner.endpoints.insert(
            id,
            Slot {
                tx,
                connected: true,
            },
        );
        VirtualEndpoint {
            id,
            bus: self.clone(),
            rx: tokio::sync::Mutex::new(rx),
            closed: AtomicBool::new(false),
        }
    }

    /// From now on, frames with `id` reach no endpoint (a node whose transmitter is dead,
    /// or a filter gone wrong).
    pub fn drop_frames(&self, id: CanId) {
        self.lock().dropped_ids.insert(id);
    }

    /// Undoes [`VirtualBus::drop_frames`].
    pub fn restore_frames(&self, id: CanId) {
        self.lock().dropped_ids.remove(&id);
    }

    /// Pulls the endpoint's cable: it receives nothing and its sends fail with
    /// [`CanError::Disconnected`] until [`VirtualBus::reconnect`].
    pub fn disconnect(&self, endpoint: EndpointId) {
        if let Some(slot) = self.lock().endpoints.get_mut(&endpoint) {
            slot.connected = false;
        }
    }

    /// Plugs a disconnected endpoint back in.
    pub fn reconnect(&self, endpoint: EndpointId) {
        if let Some(slot) = self.lock().endpoints.get_mut(&endpoint) {
            slot.connected = true;
        }
    }

    /// The bus goes unusable (`true`: every send fails with a bus error and nothing is
    /// delivered, as after bus-off or a shorted pair) or works again.
    pub fn set_bus_off(&self, off: bool) {
        self.lock().bus_off = off;
    }

    /// Endpoints attached.
    pub fn endpoint_count(&self) -> usize {
        self.lock().endpoints.len()
    }

    /// Frame deliveries so far (one frame to three receivers counts three) and frames
    /// dropped by [`VirtualBus::drop_frames`].
    pub fn counts(&self) -> (u64, u64) {
        let inner = self.lock();
        (inner.delivered, inner.dropped)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The lock guards plain data and is never held across a panic point that leaves it
        // inconsistent, so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn broadcast(&self, from: EndpointId, frame: &CanFrame) -> Result<(), CanError> {
        let mut inner = self.lock();
        match inner.endpoints.get(&from) {
            None => return Err(CanError::Closed),
            Some(slot) if !slot.connected => return Err(CanError::Disconnected),
            Some(_) => {}
        }
        if inner.bus_off {
            inner.dropped += 1;
            return Err(CanError::Bus {
                detail: "bus-off".into(),
            });
        }
        if inner.dropped_ids.contains(&frame.id()) {
            inner.dropped += 1;
            return Ok(());
        }
        let mut delivered = 0;
        for (id, slot) in &inner.endpoints {
            if *id != from && slot.connected && slot.tx.send(*frame).is_ok() {
                delivered += 1;
            }
        }
        inner.delivered += delivered;
        Ok(())
    }

    fn detach(&self, id: EndpointId) {
        self.lock().endpoints.remove(&id);
    }
}

/// One node's connection to a [`VirtualBus`]. Implements [`CanTransport`].
#[derive(Debug)]
pub struct VirtualEndpoint {
    id: EndpointId,
    bus: VirtualBus,
    rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<CanFrame>>,
    closed: AtomicBool,
}

impl VirtualEndpoint {
    /// This endpoint's id, for fault injection.
    pub fn id(&self) -> EndpointId {
        self.id
    }

    /// The bus it is attached to.
    pub fn bus(&self) -> &VirtualBus {
        &self.bus
    }
}

impl CanTransport for VirtualEndpoint {
    async fn send(&self, frame: &CanFrame) -> Result<(), CanError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(CanError::Closed);
        }
        self.bus.broadcast(self.id, frame)
    }

    async fn recv(&self) -> Result<CanFrame, CanError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(CanError::Closed);
        }
        let mut rx = self.rx.lock().await;
        rx.recv().await.ok_or(CanError::Closed)
    }

    async fn close(&self) -> Result<(), CanError> {
        self.closed.store(true, Ordering::Release);
        self.bus.detach(self.id);
        Ok(())
    }
}

impl Drop for VirtualEndpoint {
    fn drop(&mut self) {
        self.bus.detach(self.id);
    }
}
