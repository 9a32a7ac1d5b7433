//! Test doubles shared by the transport tests.
#![allow(dead_code, unreachable_pub)]

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use linevisor_modbus::codec::{rtu, tcp};
use linevisor_modbus::server::{RegisterMap, UnitMemory};
use linevisor_modbus::{
    ExceptionCode, ExceptionResponse, MbapHeader, Request, Response, ResponsePdu,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

/// A register map with `units`, each with 64 entries; holding register i = 100·unit + i.
pub fn register_map(units: &[u8]) -> Arc<RegisterMap> {
    let map = RegisterMap::new();
    for &u in units {
        let mut m = UnitMemory::new(64);
        for (i, r) in m.holding_registers.iter_mut().enumerate() {
            *r = 100 * u16::from(u) + i as u16;
        }
        map.insert_unit(u, m);
    }
    Arc::new(map)
}

/// Reads one whole RTU request frame, as a scripted device would (exactly its bytes, so
/// frames sent back to back are not lost).
pub async fn read_rtu_request<T: AsyncRead + Unpin>(io: &mut T) -> (u8, Request) {
    let mut buf = vec![0u8; 2];
    io.read_exact(&mut buf).await.unwrap();
    let n = loop {
        match rtu::request_len(&buf).unwrap() {
            Some(n) => break n,
            None => {
                let mut b = [0u8; 1];
                io.read_exact(&mut b).await.unwrap();
                buf.push(b[0]);
            }
        }
    };
    let have = buf.len();
    buf.resize(n, 0);
    io.read_exact(&mut buf[have..]).await.unwrap();
    let f = rtu::decode_request(&buf).unwrap();
    (f.unit, f.pdu)
}

/// Reads one whole TCP request frame (exactly its bytes).
pub async fn read_tcp_request<T: AsyncRead + Unpin>(io: &mut T) -> (MbapHeader, Request) {
    let mut buf = vec![0u8; 6];
    io.read_exact(&mut buf).await.unwrap();
    let n = tcp::frame_len(&buf).unwrap().unwrap();
    buf.resize(n, 0);
    io.read_exact(&mut buf[6..]).await.unwrap();
    let f = tcp::decode_request(&buf).unwrap();
    (f.header, f.pdu)
}

pub fn rtu_frame(unit: u8, pdu: ResponsePdu) -> Vec<u8> {
    let mut out = Vec::new();
    rtu::encode_response(unit, &pdu, &mut out).unwrap();
    out
}

pub fn tcp_frame(header: MbapHeader, pdu: ResponsePdu) -> Vec<u8> {
    let mut out = Vec::new();
    tcp::encode_response(header, &pdu, &mut out).unwrap();
    out
}

pub fn registers(values: &[u16]) -> ResponsePdu {
    Ok(Response::ReadHoldingRegisters(values.to_vec()))
}

pub fn exception(function: u8, code: ExceptionCode) -> ResponsePdu {
    Err(ExceptionResponse { function, code })
}

pub fn read_holding(address: u16, quantity: u16) -> Request {
    Request::ReadHoldingRegisters { address, quantity }
}

/// A 2-wire RS-485 adapter without echo suppression: every byte written is read back first.
#[derive(Debug)]
pub struct Echo<S> {
    pub inner: S,
    echo: VecDeque<u8>,
}

impl<S> Echo<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            echo: VecDeque::new(),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Echo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if !self.echo.is_empty() {
            let n = buf.remaining().min(self.echo.len());
            let bytes: Vec<u8> = self.echo.drain(..n).collect();
            buf.put_slice(&bytes);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Echo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = r {
            self.echo.extend(&buf[..n]);
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
