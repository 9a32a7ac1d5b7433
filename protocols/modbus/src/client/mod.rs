//! Clients: one transaction engine per transport over any async byte stream, behind one trait.

mod connect;
mod io;
pub mod rtu;
pub mod tcp;

pub use connect::{Attached, Connect, TcpConnector};

use std::future::Future;
use std::time::Duration;

use crate::{CallResult, LinkError, Request, Response};

/// Response timeout and retries for one call, when a unit needs other values than the
/// connection's defaults (`RtuConfig` / `TcpConfig`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallOptions {
    /// Time from sent-complete (RTU) or send (TCP) to the response.
    pub response_timeout: Duration,
    /// Resends after a retryable link fault.
    pub retries: u8,
}

/// A Modbus client: sends a request to a unit and waits for its answer.
///
/// The typed methods wrap [`Client::call`]; each documents its function code. Calls end by
/// themselves (response timeout, retries); dropping one mid-write can leave a partial frame on
/// the link, so callers should let them finish rather than wrap them in their own timeout.
pub trait Client: Send {
    /// One transaction (with the transport's retries). See [`CallResult`] for the two levels.
    fn call(
        &mut self,
        unit: u8,
        request: &Request,
    ) -> impl Future<Output = CallResult<Response>> + Send;

    /// Read coils (0x01).
    fn read_coils(
        &mut self,
        unit: u8,
        address: u16,
        quantity: u16,
    ) -> impl Future<Output = CallResult<Vec<bool>>> + Send {
        async move {
            let r = self
                .call(unit, &Request::ReadCoils { address, quantity })
                .await;
            typed(unit, 0x01, r, |r| match r {
                Response::ReadCoils(v) => Ok(v),
                other => Err(other),
            })
        }
    }

    /// Read discrete inputs (0x02).
    fn read_discrete_inputs(
        &mut self,
        unit: u8,
        address: u16,
        quantity: u16,
    ) -> impl Future<Output = CallResult<Vec<bool>>> + Send {
        async move {
            let r = self
                .call(unit, &Request::ReadDiscreteInputs { address, quantity })
                .await;
            typed(unit, 0x02, r, |r| match r {
                Response::ReadDiscreteInputs(v) => Ok(v),
                other => Err(other),
            })
        }
    }

    /// Read holding registers (0x03).
    fn read_holding_registers(
        &mut self,
        unit: u8,
        address: u16,
        quantity: u16,
    ) -> impl Future<Output = CallResult<Vec<u16>>> + Send {
        async move {
            let r = self
                .call(unit, &Request::ReadHoldingRegisters { address, quantity })
                .await;
            typed(unit, 0x03, r, |r| match r {
                Response::ReadHoldingRegisters(v) => Ok(v),
                other => Err(other),
            })
        }
    }

    /// Read input registers (0x04).
    fn read_input_registers(
        &mut self,
        unit: u8,
        address: u16,
        quantity: u16,
    ) -> impl Future<Output = CallResult<Vec<u16>>> + Send {
        async move {
            let r = self
                .call(unit, &Request::ReadInputRegisters { address, quantity })
                .await;
            typed(unit, 0x04, r, |r| match r {
                Response::ReadInputRegisters(v) => Ok(v),
                other => Err(other),
            })
        }
    }

    /// Write single coil (0x05).
    fn write_single_coil(
        &mut self,
        unit: u8,
        address: u16,
        value: bool,
    ) -> impl Future<Output = CallResult<()>> + Send {
        async move {
            let r = self
                .call(unit, &Request::WriteSingleCoil { address, value })
                .await;
            typed(unit, 0x05, r, |_| Ok(()))
        }
    }

    /// Write single register (0x06).
    fn write_single_register(
        &mut self,
        unit: u8,
        address: u16,
        value: u16,
    ) -> impl Future<Output = CallResult<()>> + Send {
        async move {
            let r = self
                .call(unit, &Request::WriteSingleRegister { address, value })
                .await;
            typed(unit, 0x06, r, |_| Ok(()))
        }
    }

    /// Write multiple coils (0x0F).
    fn write_multiple_coils(
        &mut self,
        unit: u8,
        address: u16,
        values: &[bool],
    ) -> impl Future<Output = CallResult<()>> + Send {
        let request = Request::WriteMultipleCoils {
            address,
            values: values.to_vec(),
        };
        async move {
            let r = self.call(unit, &request).await;
            typed(unit, 0x0F, r, |_| Ok(()))
        }
    }

    /// Write multiple registers (0x10).
    fn write_multiple_registers(
        &mut self,
        unit: u8,
        address: u16,
        values: &[u16],
    ) -> impl Future<Output = CallResult<()>> + Send {
        let request = Request::WriteMultipleRegisters {
            address,
            values: values.to_vec(),
        };
        async move {
            let r = self.call(unit, &request).await;
            typed(unit, 0x10, r, |_| Ok(()))
        }
    }
}

/// Unwraps the expected response variant; the engines already matched the function, so the
/// error arm only guards against a bug.
fn typed<T>(
    unit: u8,
    function: u8,
    r: CallResult<Response>,
    pick: impl FnOnce(Response) -> Result<T, Response>,
) -> CallResult<T> {
    match r? {
        Ok(resp) => pick(resp)
            .map(Ok)
            .map_err(|other| LinkError::UnexpectedFunction {
                unit,
                expected: function,
                got: other.function(),
            }),
        Err(exception) => Ok(Err(exception)),
    }
}
