//! The simulated node's SDO server: expedited and segmented transfers both ways, toggle
//! checks, aborts. Object access goes through [`ObjectAccess`] so the node can apply its
//! rules (live drive values, PDO re-mapping only when allowed).

use crate::abort::AbortCode;
use crate::sdo::wire::{Initiate, Request, Response};

/// Reads and writes as the SDO server sees them.
pub(crate) trait ObjectAccess {
    fn read(&mut self, index: u16, subindex: u8) -> Result<Vec<u8>, AbortCode>;
    fn write(&mut self, index: u16, subindex: u8, data: &[u8]) -> Result<(), AbortCode>;
}

#[derive(Debug, Default)]
enum Pending {
    #[default]
    Idle,
    Download {
        index: u16,
        subindex: u8,
        size: Option<u32>,
        data: Vec<u8>,
        toggle: bool,
    },
    Upload {
        index: u16,
        subindex: u8,
        data: Vec<u8>,
        at: usize,
        toggle: bool,
    },
}

/// One SDO server channel.
#[derive(Debug, Default)]
pub(crate) struct SdoServer {
    pending: Pending,
    /// Fault injection: flip the toggle bit of the next segment response.
    pub(crate) corrupt_next_toggle: bool,
    /// Fault injection: abort every request with this code (an abort storm).
    pub(crate) refuse: Option<AbortCode>,
}

impl SdoServer {
    /// Answers one request (8 data bytes); `None` when no answer is due (client abort).
    pub(crate) fn handle(&mut self, data: &[u8], od: &mut dyn ObjectAccess) -> Option<Response> {
        let request = match Request::parse(data) {
            Ok(r) => r,
            Err(_) => return Some(self.abort(0, 0, AbortCode::INVALID_COMMAND)),
        };
        if let Some(code) = self.refuse
            && !matches!(request, Request::Abort { .. })
        {
            let (index, subindex) = match request {
                Request::InitiateDownload {
                    index, subindex, ..
                }
                | Request::InitiateUpload { index, subindex } => (index, subindex),
                _ => (0, 0),
            };
            return Some(self.abort(index, subindex, code));
        }
        let pending = std::mem::take(&mut self.pending);
        Some(match (request, pending) {
            (Request::Abort { .. }, _) => return None,
            (Request::InitiateUpload { index, subindex }, _) => match od.read(index, subindex) {
                Err(code) => self.abort(index, subindex, code),
                Ok(data) if data.len() <= 4 && !data.is_empty() => Response::InitiateUpload {
                    index,
                    subindex,
                    payload: Initiate::Expedited(data),
                },
                Ok(data) => {
                    let size = data.len() as u32;
                    self.pending = Pending::Upload {
                        index,
                        subindex,
                        data,
                        at: 0,
                        toggle: false,
                    };
                    Response::InitiateUpload {
                        index,
                        subindex,
                        payload: Initiate::Segmented(Some(size)),
                    }
                }
            },
            (
                Request::UploadSegment { toggle: t },
                Pending::Upload {
                    index,
                    subindex,
                    data,
                    at,
                    toggle,
                },
            ) => {
                if t != toggle {
                    return Some(self.abort(index, subindex, AbortCode::TOGGLE_BIT));
                }
                let end = (at + 7).min(data.len());
                let chunk = data[at..end].to_vec();
                let last = end == data.len();
                if !last {
                    self.pending = Pending::Upload {
                        index,
                        subindex,
                        data,
                        at: end,
                        toggle: !toggle,
                    };
                }
                let toggle = toggle ^ std::mem::take(&mut self.corrupt_next_toggle);
                Response::UploadSegment {
                    toggle,
                    data: chunk,
                    last,
                }
            }
            (
                Request::InitiateDownload {
                    index,
                    subindex,
                    payload,
                },
                _,
            ) => match payload {
                Initiate::Expedited(data) => match od.write(index, subindex, &data) {
                    Ok(()) => Response::InitiateDownload { index, subindex },
                    Err(code) => self.abort(index, subindex, code),
                },
                Initiate::Segmented(size) => {
                    self.pending = Pending::Download {
                        index,
                        subindex,
                        size,
                        data: Vec::new(),
                        toggle: false,
                    };
                    Response::InitiateDownload { index, subindex }
                }
            },
            (
                Request::DownloadSegment {
                    toggle: t,
                    data: chunk,
                    last,
                },
                Pending::Download {
                    index,
                    subindex,
                    size,
                    mut data,
                    toggle,
                },
            ) => {
                if t != toggle {
                    return Some(self.abort(index, subindex, AbortCode::TOGGLE_BIT));
                }
                data.extend_from_slice(&chunk);
                if data.len() > 64 * 1024 {
                    return Some(self.abort(index, subindex, AbortCode(0x0504_0005)));
                }
                if !last {
                    self.pending = Pending::Download {
                        index,
                        subindex,
                        size,
                        data,
                        toggle: !toggle,
                    };
                } else if size.is_some_and(|s| s as usize != data.len()) {
                    return Some(self.abort(index, subindex, AbortCode::LENGTH_MISMATCH));
                } else if let Err(code) = od.write(index, subindex, &data) {
                    return Some(self.abort(index, subindex, code));
                }
                let toggle = toggle ^ std::mem::take(&mut self.corrupt_next_toggle);
                Response::DownloadSegment { toggle }
            }
            (_, _) => self.abort(0, 0, AbortCode::INVALID_COMMAND),
        })
    }

    fn abort(&mut self, index: u16, subindex: u8, code: AbortCode) -> Response {
        self.pending = Pending::Idle;
        Response::Abort {
            index,
            subindex,
            code,
        }
    }
}
