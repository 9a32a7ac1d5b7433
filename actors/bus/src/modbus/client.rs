//! The Modbus client over an open link, and which of its faults mean the link is gone.

use std::time::Duration;

use linevisor_modbus::client::Attached;
use linevisor_modbus::{
    CallOptions, CallResult, LinkError, Request, Response, RtuClient, RtuConfig, TcpClient,
    TcpConfig,
};

use crate::link::Counted;

/// The Modbus client over an open link. Retries are the line's (so each attempt is counted
/// and a demoted unit is never retried), so both clients run with `retries = 0`.
pub(crate) enum Client {
    Rtu(RtuClient<Counted>),
    Tcp(TcpClient<Attached<Counted>>),
}

impl Client {
    pub(crate) fn rtu(io: Counted, config: &RtuConfig) -> Self {
        let mut config = config.clone();
        config.retries = 0;
        Client::Rtu(RtuClient::new(io, config))
    }

    pub(crate) fn tcp(io: Counted, config: &TcpConfig) -> Self {
        let mut config = config.clone();
        config.retries = 0;
        Client::Tcp(TcpClient::with_connector(Attached::new(io), config))
    }

    /// One transaction, without retries.
    pub(crate) async fn call(
        &mut self,
        unit: u8,
        request: &Request,
        timeout: Duration,
    ) -> CallResult<Response> {
        let opts = CallOptions {
            response_timeout: timeout,
            retries: 0,
        };
        match self {
            Client::Rtu(c) => c.call_with(unit, request, opts).await,
            Client::Tcp(c) => c.call_with(unit, request, opts).await,
        }
    }

    /// Several transactions pipelined up to the TCP window (RTU: one after the other), call
    /// `i` waiting `timeouts[i]` for its answer.
    pub(crate) async fn batch(
        &mut self,
        calls: &[(u8, Request)],
        timeouts: &[Duration],
    ) -> Vec<CallResult<Response>> {
        match self {
            Client::Tcp(c) => c.call_batch_timed(calls, timeouts).await,
            Client::Rtu(_) => {
                let mut out = Vec::with_capacity(calls.len());
                for (i, (unit, request)) in calls.iter().enumerate() {
                    let timeout = timeouts.get(i).copied().unwrap_or_default();
                    out.push(self.call(*unit, request, timeout).await);
                }
                out
            }
        }
    }

    /// A broadcast write (RTU only; the actor refuses it on TCP).
    pub(crate) async fn broadcast(&mut self, request: &Request) -> Result<(), LinkError> {
        match self {
            Client::Rtu(c) => c.broadcast(request).await,
            Client::Tcp(_) => Err(LinkError::InvalidRequest {
                unit: 0,
                source: linevisor_modbus::FrameError::Broadcast {
                    function: request.function(),
                },
            }),
        }
    }
}

/// True for faults that mean the port or connection is gone (reopen), as opposed to one
/// unit's or one frame's trouble.
pub(crate) fn is_link_down(e: &LinkError) -> bool {
    matches!(
        e,
        LinkError::Io(_)
            | LinkError::Unresponsive { .. }
            | LinkError::Disconnected
            | LinkError::Connect { .. }
            | LinkError::NotConnected { .. }
    )
}
