//! The transport boundary: [`CanTransport`] and its object-safe twin [`DynCanTransport`].
//!
//! Methods take `&self` so one transport can be shared (`Arc`) between a receive loop and any
//! number of senders (SYNC producer, SDO clients): every implementation serialises internally.

use std::future::Future;
use std::pin::Pin;

use crate::{CanError, CanFrame};

/// A CAN interface: send frames, receive frames, close.
///
/// Contract for implementations:
/// - `recv` is cancel safe (it is used inside `tokio::select!`): a cancelled call loses no frame.
/// - Frames sent through a transport are not received back through the same transport.
/// - Errors other than [`CanError::is_final`] ones are transient: the transport recovers
///   (reopens, reconnects) by itself and the next call may succeed.
/// - After `close`, every call returns [`CanError::Closed`].
pub trait CanTransport: Send + Sync + 'static {
    /// Queues `frame` for transmission; returns once the interface has taken it.
    fn send(&self, frame: &CanFrame) -> impl Future<Output = Result<(), CanError>> + Send;
    /// The next frame received from the bus. Only one receiver should call this at a time:
    /// frames are handed out, not copied.
    fn recv(&self) -> impl Future<Output = Result<CanFrame, CanError>> + Send;
    /// Closes the interface (puts an slcan adapter back into the closed state).
    fn close(&self) -> impl Future<Output = Result<(), CanError>> + Send;
}

/// A boxed future, as [`DynCanTransport`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// [`CanTransport`] with boxed futures, so transports chosen at run time fit one type
/// ([`AnyTransport`]). Implemented for every [`CanTransport`].
pub trait DynCanTransport: Send + Sync + 'static {
    /// See [`CanTransport::send`].
    fn send_boxed<'a>(&'a self, frame: &'a CanFrame) -> BoxFuture<'a, Result<(), CanError>>;
    /// See [`CanTransport::recv`].
    fn recv_boxed(&self) -> BoxFuture<'_, Result<CanFrame, CanError>>;
    /// See [`CanTransport::close`].
    fn close_boxed(&self) -> BoxFuture<'_, Result<(), CanError>>;
}

impl<T: CanTransport> DynCanTransport for T {
    fn send_boxed<'a>(&'a self, frame: &'a CanFrame) -> BoxFuture<'a, Result<(), CanError>> {
        Box::pin(self.send(frame))
    }
    fn recv_boxed(&self) -> BoxFuture<'_, Result<CanFrame, CanError>> {
        Box::pin(self.recv())
    }
    fn close_boxed(&self) -> BoxFuture<'_, Result<(), CanError>> {
        Box::pin(self.close())
    }
}

/// A transport chosen at run time (see [`crate::open`]).
pub type AnyTransport = Box<dyn DynCanTransport>;

impl CanTransport for AnyTransport {
    async fn send(&self, frame: &CanFrame) -> Result<(), CanError> {
        self.as_ref().send_boxed(frame).await
    }
    async fn recv(&self) -> Result<CanFrame, CanError> {
        self.as_ref().recv_boxed().await
    }
    async fn close(&self) -> Result<(), CanError> {
        self.as_ref().close_boxed().await
    }
}

impl<T: CanTransport> CanTransport for std::sync::Arc<T> {
    async fn send(&self, frame: &CanFrame) -> Result<(), CanError> {
        self.as_ref().send(frame).await
    }
    async fn recv(&self) -> Result<CanFrame, CanError> {
        self.as_ref().recv().await
    }
    async fn close(&self) -> Result<(), CanError> {
        self.as_ref().close().await
    }
}
