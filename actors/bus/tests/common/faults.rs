//! Fault injection: a `Service` wrapper around a register map (silent units, dropped
//! responses, a gate that holds one request, a request log) and a stream wrapper that
//! corrupts the CRC of the next frames the server writes.

use std::collections::{HashMap, HashSet};
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use linevisor_modbus::server::{RegisterMap, Service};
use linevisor_modbus::{ExceptionCode, Request, Response};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::oneshot;

/// Holds the first request to `unit` until released.
pub struct Gate {
    pub unit: u8,
    pub entered: Option<oneshot::Sender<()>>,
    pub release: Option<oneshot::Receiver<()>>,
}

/// A register map with fault knobs.
pub struct TestService {
    pub map: Arc<RegisterMap>,
    /// Units that never answer.
    pub silent: Mutex<HashSet<u8>>,
    /// Responses to drop per unit (the request is carried out, the answer is lost).
    pub drop_next: Mutex<HashMap<u8, u32>>,
    /// Every request received, in order.
    pub log: Mutex<Vec<(u8, Request)>>,
    pub gate: Mutex<Option<Gate>>,
}

impl TestService {
    pub fn new(map: Arc<RegisterMap>) -> Arc<Self> {
        Arc::new(Self {
            map,
            silent: Mutex::default(),
            drop_next: Mutex::default(),
            log: Mutex::default(),
            gate: Mutex::default(),
        })
    }

    pub fn silence(&self, unit: u8, silent: bool) {
        let mut s = self.silent.lock().unwrap();
        if silent {
            s.insert(unit);
        } else {
            s.remove(&unit);
        }
    }

    pub fn drop_responses(&self, unit: u8, n: u32) {
        self.drop_next.lock().unwrap().insert(unit, n);
    }

    /// Holds the next request to `unit`; returns (entered, release).
    pub fn hold_next(&self, unit: u8) -> (oneshot::Receiver<()>, oneshot::Sender<()>) {
        let (entered_tx, entered) = oneshot::channel();
        let (release, release_rx) = oneshot::channel();
        *self.gate.lock().unwrap() = Some(Gate {
            unit,
            entered: Some(entered_tx),
            release: Some(release_rx),
        });
        (entered, release)
    }

    pub fn log(&self) -> Vec<(u8, Request)> {
        self.log.lock().unwrap().clone()
    }

    /// Requests logged for `unit`.
    pub fn requests_to(&self, unit: u8) -> usize {
        self.log().iter().filter(|(u, _)| *u == unit).count()
    }
}

impl Service for TestService {
    async fn call(&self, unit: u8, request: Request) -> Option<Result<Response, ExceptionCode>> {
        self.log.lock().unwrap().push((unit, request.clone()));
        let held = {
            let mut g = self.gate.lock().unwrap();
            match g.as_mut() {
                Some(gate) if gate.unit == unit => {
                    let gate = g.take().unwrap();
                    Some(gate)
                }
                _ => None,
            }
        };
        if let Some(mut gate) = held {
            let _ = gate.entered.take().unwrap().send(());
            let _ = gate.release.take().unwrap().await;
        }
        if self.silent.lock().unwrap().contains(&unit) {
            return None;
        }
        let answer = self.map.handle(unit, &request);
        let mut drops = self.drop_next.lock().unwrap();
        if let Some(n) = drops.get_mut(&unit).filter(|n| **n > 0) {
            *n -= 1;
            return None;
        }
        answer
    }
}

/// Corrupts the last byte (the CRC) of the next `counter` writes.
pub struct Corrupting<S> {
    inner: S,
    counter: Arc<AtomicU32>,
}

impl<S> Corrupting<S> {
    pub fn new(inner: S, counter: Arc<AtomicU32>) -> Self {
        Self { inner, counter }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Corrupting<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Corrupting<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let armed = self.counter.load(Ordering::SeqCst) > 0;
        if !armed || buf.is_empty() {
            return Pin::new(&mut self.inner).poll_write(cx, buf);
        }
        let mut bad = buf.to_vec();
        let last = bad.len() - 1;
        bad[last] ^= 0xFF;
        let r = Pin::new(&mut self.inner).poll_write(cx, &bad);
        if matches!(r, Poll::Ready(Ok(n)) if n == buf.len()) {
            self.counter.fetch_sub(1, Ordering::SeqCst);
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
