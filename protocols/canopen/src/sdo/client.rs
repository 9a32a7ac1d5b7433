//! SDO client: expedited and segmented upload and download with toggle checks, timeouts and
//! abort decoding (protocols.md §3.3). One transfer per node at a time; transfers to
//! different nodes run concurrently.

use std::sync::Arc;
use std::time::Duration;

use linevisor_can::CanTransport;
use tokio::sync::{Mutex, MutexGuard, mpsc};
use tokio::time::timeout;
use tracing::{Instrument as _, debug, debug_span};

use super::wire::{Initiate, Request, Response};
use crate::abort::AbortCode;
use crate::cob::{Cob, NodeId};
use crate::error::{LinkError, SdoAbort, SdoResult};
use crate::nmt::frame;
use crate::stats::Stats;

/// SDO client settings.
#[derive(Debug, Clone, Copy)]
pub struct SdoConfig {
    /// Wait for each response (default 500 ms; python-canopen uses 300 ms and a retry).
    pub timeout: Duration,
    /// Largest upload accepted; beyond it the client aborts with "out of memory"
    /// (default 64 KiB).
    pub max_upload: usize,
}

impl Default for SdoConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_millis(500),
            max_upload: 64 * 1024,
        }
    }
}

/// Responses of one node, routed here by the bus dispatcher.
#[derive(Debug)]
pub(crate) struct SdoChannel {
    pub(crate) rx: Mutex<mpsc::Receiver<Vec<u8>>>,
}

/// The SDO client of one node. Clones share the node's channel.
#[derive(Debug)]
pub struct SdoClient<T> {
    node: NodeId,
    bus: Arc<str>,
    transport: Arc<T>,
    channel: Arc<SdoChannel>,
    config: SdoConfig,
    stats: Arc<Stats>,
}

impl<T> Clone for SdoClient<T> {
    fn clone(&self) -> Self {
        Self {
            node: self.node,
            bus: self.bus.clone(),
            transport: self.transport.clone(),
            channel: self.channel.clone(),
            config: self.config,
            stats: self.stats.clone(),
        }
    }
}

/// One transfer in progress: owns the node's channel until it ends.
struct Transfer<'a, T> {
    client: &'a SdoClient<T>,
    rx: MutexGuard<'a, mpsc::Receiver<Vec<u8>>>,
    index: u16,
    subindex: u8,
}

macro_rules! typed {
    ($read:ident, $write:ident, $t:ty) => {
        #[doc = concat!("Uploads a `", stringify!($t), "` (little endian).")]
        pub async fn $read(&self, index: u16, subindex: u8) -> SdoResult<$t> {
            const N: usize = std::mem::size_of::<$t>();
            Ok(match self.upload(index, subindex).await? {
                Ok(bytes) => match <[u8; N]>::try_from(bytes.as_slice()) {
                    Ok(b) => Ok(<$t>::from_le_bytes(b)),
                    Err(_) => {
                        return Err(LinkError::Size {
                            node: self.node,
                            index,
                            subindex,
                            expected: N,
                            got: bytes.len(),
                        });
                    }
                },
                Err(abort) => Err(abort),
            })
        }

        #[doc = concat!("Downloads a `", stringify!($t), "` (little endian).")]
        pub async fn $write(&self, index: u16, subindex: u8, value: $t) -> SdoResult<()> {
            self.download(index, subindex, &value.to_le_bytes()).await
        }
    };
}

impl<T: CanTransport> SdoClient<T> {
    pub(crate) fn new(
        node: NodeId,
        bus: Arc<str>,
        transport: Arc<T>,
        channel: Arc<SdoChannel>,
        config: SdoConfig,
        stats: Arc<Stats>,
    ) -> Self {
        Self {
            node,
            bus,
            transport,
            channel,
            config,
            stats,
        }
    }

    /// The node this client talks to.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// Reads object `index:subindex`.
    pub async fn upload(&self, index: u16, subindex: u8) -> SdoResult<Vec<u8>> {
        let span =
            debug_span!("sdo_upload", bus = %self.bus, node = self.node.get(), index, subindex);
        let outcome = async move {
            let mut t = self.begin(index, subindex).await;
            t.upload().await
        }
        .instrument(span)
        .await;
        self.stats.sdo(self.node, &outcome);
        outcome
    }

    /// Writes `data` to object `index:subindex` (expedited up to 4 bytes, else segmented).
    pub async fn download(&self, index: u16, subindex: u8, data: &[u8]) -> SdoResult<()> {
        let span =
            debug_span!("sdo_download", bus = %self.bus, node = self.node.get(), index, subindex);
        let outcome = async move {
            let mut t = self.begin(index, subindex).await;
            t.download(data).await
        }
        .instrument(span)
        .await;
        self.stats.sdo(self.node, &outcome);
        outcome
    }

    typed!(read_u8, write_u8, u8);
    typed!(read_i8, write_i8, i8);
    typed!(read_u16, write_u16, u16);
    typed!(read_i16, write_i16, i16);
    typed!(read_u32, write_u32, u32);
    typed!(read_i32, write_i32, i32);

    async fn begin(&self, index: u16, subindex: u8) -> Transfer<'_, T> {
        let mut rx = self.channel.rx.lock().await;
        // Late answers to an earlier, timed-out transfer must not be taken for ours.
        while let Ok(stale) = rx.try_recv() {
            debug!(?stale, "Dropped a stale SDO response.");
        }
        Transfer {
            client: self,
            rx,
            index,
            subindex,
        }
    }
}

impl<T: CanTransport> Transfer<'_, T> {
    async fn send(&self, request: Request) -> Result<(), LinkError> {
        let f = frame(Cob::SdoRx(self.client.node), &request.encode());
        Ok(self.client.transport.send(&f).await?)
    }

    /// The next response; a timeout or a protocol violation aborts the transfer.
    async fn receive(&mut self) -> Result<Response, LinkError> {
        let wait = self.client.config.timeout;
        match timeout(wait, self.rx.recv()).await {
            Ok(Some(data)) => match Response::parse(&data) {
                Ok(r) => Ok(r),
                Err(e) => Err(self.fail(AbortCode::INVALID_COMMAND, e.to_string()).await),
            },
            Ok(None) => Err(LinkError::Transport(linevisor_can::CanError::Closed)),
            Err(_) => {
                let _ = self.abort(AbortCode::TIMEOUT).await;
                Err(LinkError::Timeout {
                    node: self.client.node,
                    index: self.index,
                    subindex: self.subindex,
                    timeout: wait,
                })
            }
        }
    }

    async fn abort(&self, code: AbortCode) -> Result<(), LinkError> {
        let (index, subindex) = (self.index, self.subindex);
        self.send(Request::Abort {
            index,
            subindex,
            code,
        })
        .await
    }

    /// Aborts with `code` and returns the protocol error to report.
    async fn fail(&self, code: AbortCode, detail: String) -> LinkError {
        let _ = self.abort(code).await;
        LinkError::Protocol {
            node: self.client.node,
            index: self.index,
            subindex: self.subindex,
            detail,
        }
    }

    fn device_abort(&self, index: u16, subindex: u8, code: AbortCode) -> SdoAbort {
        SdoAbort {
            node: self.client.node,
            index,
            subindex,
            code,
        }
    }

    fn same_object(&self, index: u16, subindex: u8) -> bool {
        (index, subindex) == (self.index, self.subindex)
    }

    async fn upload(&mut self) -> SdoResult<Vec<u8>> {
        let (index, subindex) = (self.index, self.subindex);
        self.send(Request::InitiateUpload { index, subindex })
            .await?;
        let size = match self.receive().await? {
            Response::Abort {
                index,
                subindex,
                code,
            } => {
                return Ok(Err(self.device_abort(index, subindex, code)));
            }
            Response::InitiateUpload {
                index,
                subindex,
                payload,
            } if self.same_object(index, subindex) => match payload {
                Initiate::Expedited(data) => return Ok(Ok(data)),
                Initiate::Segmented(size) => size,
            },
            other => return Err(self.unexpected(&other).await),
        };
        if let Some(size) = size.filter(|s| *s as usize > self.client.config.max_upload) {
            let detail = format!(
                "announced size {size} exceeds the {} byte limit",
                self.client.config.max_upload
            );
            return Err(self.fail(AbortCode(0x0504_0005), detail).await);
        }
        let mut data = Vec::new();
        let mut toggle = false;
        loop {
            self.send(Request::UploadSegment { toggle }).await?;
            match self.receive().await? {
                Response::Abort {
                    index,
                    subindex,
                    code,
                } => {
                    return Ok(Err(self.device_abort(index, subindex, code)));
                }
                Response::UploadSegment { toggle: t, .. } if t != toggle => {
                    return Err(self
                        .fail(AbortCode::TOGGLE_BIT, "toggle bit not alternated".into())
                        .await);
                }
                Response::UploadSegment {
                    data: chunk, last, ..
                } => {
                    data.extend_from_slice(&chunk);
                    if data.len() > self.client.config.max_upload {
                        let detail = format!(
                            "upload exceeds the {} byte limit",
                            self.client.config.max_upload
                        );
                        return Err(self.fail(AbortCode(0x0504_0005), detail).await);
                    }
                    if last {
                        break;
                    }
                }
                other => return Err(self.unexpected(&other).await),
            }
            toggle = !toggle;
        }
        match size {
            Some(size) if size as usize != data.len() => {
                let detail = format!("announced {size} bytes, received {}", data.len());
                Err(self.fail(AbortCode::LENGTH_MISMATCH, detail).await)
            }
            _ => Ok(Ok(data)),
        }
    }

    async fn download(&mut self, data: &[u8]) -> SdoResult<()> {
        let (index, subindex) = (self.index, self.subindex);
        let expedited = !data.is_empty() && data.len() <= 4;
        let payload = if expedited {
            Initiate::Expedited(data.to_vec())
        } else {
            Initiate::Segmented(Some(data.len() as u32))
        };
        self.send(Request::InitiateDownload {
            index,
            subindex,
            payload,
        })
        .await?;
        match self.receive().await? {
            Response::Abort {
                index,
                subindex,
                code,
            } => {
                return Ok(Err(self.device_abort(index, subindex, code)));
            }
            Response::InitiateDownload { index, subindex } if self.same_object(index, subindex) => {
            }
            other => return Err(self.unexpected(&other).await),
        }
        if expedited {
            return Ok(Ok(()));
        }
        let mut chunks: Vec<&[u8]> = data.chunks(7).collect();
        if chunks.is_empty() {
            chunks.push(&[]);
        }
        let count = chunks.len();
        for (i, chunk) in chunks.into_iter().enumerate() {
            let toggle = i % 2 == 1;
            let last = i + 1 == count;
            self.send(Request::DownloadSegment {
                toggle,
                data: chunk.to_vec(),
                last,
            })
            .await?;
            match self.receive().await? {
                Response::Abort {
                    index,
                    subindex,
                    code,
                } => {
                    return Ok(Err(self.device_abort(index, subindex, code)));
                }
                Response::DownloadSegment { toggle: t } if t == toggle => {}
                Response::DownloadSegment { .. } => {
                    return Err(self
                        .fail(AbortCode::TOGGLE_BIT, "toggle bit not alternated".into())
                        .await);
                }
                other => return Err(self.unexpected(&other).await),
            }
        }
        Ok(Ok(()))
    }

    async fn unexpected(&self, response: &Response) -> LinkError {
        self.fail(
            AbortCode::INVALID_COMMAND,
            format!("unexpected response {response:?}"),
        )
        .await
    }
}
