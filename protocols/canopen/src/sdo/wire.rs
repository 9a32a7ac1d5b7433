//! SDO frames (protocols.md §3.3): client requests and server responses as types, encoded to
//! and parsed from the 8 data bytes. Shared by the client and the simulated node's server.

use crate::abort::AbortCode;

/// An 8-byte SDO frame that does not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SdoFrameError {
    /// SDO frames always carry 8 bytes.
    #[error("SDO frame has {0} bytes, expected 8")]
    Length(usize),
    /// A command specifier this side does not expect.
    #[error("SDO command specifier {0:#04x} not valid here")]
    CommandSpecifier(u8),
}

/// Payload of an initiate frame: up to 4 bytes inline, or the announced size of a segmented
/// transfer (`None` if the server did not indicate it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Initiate {
    /// Expedited: 1–4 bytes (an upload without size indication carries 4).
    Expedited(Vec<u8>),
    /// Segmented: total size in bytes, if indicated.
    Segmented(Option<u32>),
}

/// Client → server (COB 0x600 + node).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// ccs 1.
    InitiateDownload {
        /// Object index.
        index: u16,
        /// Sub-index.
        subindex: u8,
        /// Data or size.
        payload: Initiate,
    },
    /// ccs 0: up to 7 bytes, `last` on the final segment.
    DownloadSegment {
        /// Toggle bit.
        toggle: bool,
        /// Data (≤ 7 bytes).
        data: Vec<u8>,
        /// No more segments.
        last: bool,
    },
    /// ccs 2.
    InitiateUpload {
        /// Object index.
        index: u16,
        /// Sub-index.
        subindex: u8,
    },
    /// ccs 3.
    UploadSegment {
        /// Toggle bit.
        toggle: bool,
    },
    /// ccs 4.
    Abort {
        /// Object index.
        index: u16,
        /// Sub-index.
        subindex: u8,
        code: AbortCode,
    },
}

/// Server → client (COB 0x580 + node).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// scs 3 (0x60).
    InitiateDownload {
        /// Object index.
        index: u16,
        /// Sub-index.
        subindex: u8,
    },
    /// scs 1.
    DownloadSegment {
        /// Toggle bit echoed.
        toggle: bool,
    },
    /// scs 2.
    InitiateUpload {
        /// Object index.
        index: u16,
        /// Sub-index.
        subindex: u8,
        /// Data or size.
        payload: Initiate,
    },
    /// scs 0.
    UploadSegment {
        /// Toggle bit.
        toggle: bool,
        /// Data (≤ 7 bytes).
        data: Vec<u8>,
        /// No more segments.
        last: bool,
    },
    /// scs 4 (0x80).
    Abort {
        /// Object index.
        index: u16,
        /// Sub-index.
        subindex: u8,
        code: AbortCode,
    },
}

fn mux(b: &mut [u8; 8], index: u16, subindex: u8) {
    b[1..3].copy_from_slice(&index.to_le_bytes());
    b[3] = subindex;
}

fn initiate(b: &mut [u8; 8], cs: u8, index: u16, subindex: u8, payload: &Initiate) {
    mux(b, index, subindex);
    b[0] = cs << 5;
    match payload {
        Initiate::Expedited(data) => {
            // An empty expedited payload cannot exist; it is sent as one zero byte.
            let n = data.len().min(4);
            b[0] |= (((4 - n.max(1)) as u8) << 2) | 0x03;
            b[4..4 + n].copy_from_slice(&data[..n]);
        }
        Initiate::Segmented(Some(size)) => {
            b[0] |= 0x01;
            b[4..8].copy_from_slice(&size.to_le_bytes());
        }
        Initiate::Segmented(None) => {}
    }
}

fn segment(b: &mut [u8; 8], cs: u8, toggle: bool, data: &[u8], last: bool) {
    let n = data.len().min(7);
    b[0] = cs << 5 | u8::from(toggle) << 4 | ((7 - n) as u8) << 1 | u8::from(last);
    b[1..1 + n].copy_from_slice(&data[..n]);
}

fn abort(b: &mut [u8; 8], index: u16, subindex: u8, code: AbortCode) {
    b[0] = 0x80;
    mux(b, index, subindex);
    b[4..8].copy_from_slice(&code.0.to_le_bytes());
}

struct Fields {
    cs: u8,
    index: u16,
    subindex: u8,
    b: [u8; 8],
}

fn fields(data: &[u8]) -> Result<Fields, SdoFrameError> {
    let b: [u8; 8] = data
        .try_into()
        .map_err(|_| SdoFrameError::Length(data.len()))?;
    Ok(Fields {
        cs: b[0] >> 5,
        index: u16::from_le_bytes([b[1], b[2]]),
        subindex: b[3],
        b,
    })
}

fn parse_initiate(b: &[u8; 8]) -> Initiate {
    let (expedited, sized) = (b[0] & 0x02 != 0, b[0] & 0x01 != 0);
    if expedited {
        let n = if sized {
            4 - usize::from((b[0] >> 2) & 0x03)
        } else {
            4
        };
        Initiate::Expedited(b[4..4 + n].to_vec())
    } else if sized {
        Initiate::Segmented(Some(u32::from_le_bytes([b[4], b[5], b[6], b[7]])))
    } else {
        Initiate::Segmented(None)
    }
}

fn parse_segment(b: &[u8; 8]) -> (bool, Vec<u8>, bool) {
    let n = 7 - usize::from((b[0] >> 1) & 0x07);
    (b[0] & 0x10 != 0, b[1..1 + n].to_vec(), b[0] & 0x01 != 0)
}

fn abort_code(b: &[u8; 8]) -> AbortCode {
    AbortCode(u32::from_le_bytes([b[4], b[5], b[6], b[7]]))
}

impl Request {
    /// The 8 data bytes.
    pub fn encode(&self) -> [u8; 8] {
        let mut b = [0u8; 8];
        match self {
            Request::InitiateDownload {
                index,
                subindex,
                payload,
            } => initiate(&mut b, 1, *index, *subindex, payload),
            Request::DownloadSegment { toggle, data, last } => {
                segment(&mut b, 0, *toggle, data, *last)
            }
            Request::InitiateUpload { index, subindex } => {
                b[0] = 0x40;
                mux(&mut b, *index, *subindex);
            }
            Request::UploadSegment { toggle } => b[0] = 0x60 | u8::from(*toggle) << 4,
            Request::Abort {
                index,
                subindex,
                code,
            } => abort(&mut b, *index, *subindex, *code),
        }
        b
    }

    /// Parses a request, as a server does.
    pub fn parse(data: &[u8]) -> Result<Request, SdoFrameError> {
        let Fields {
            cs,
            index,
            subindex,
            b,
        } = fields(data)?;
        Ok(match cs {
            1 => Request::InitiateDownload {
                index,
                subindex,
                payload: parse_initiate(&b),
            },
            0 => {
                let (toggle, data, last) = parse_segment(&b);
                Request::DownloadSegment { toggle, data, last }
            }
            2 => Request::InitiateUpload { index, subindex },
            3 => Request::UploadSegment {
                toggle: b[0] & 0x10 != 0,
            },
            4 => Request::Abort {
                index,
                subindex,
                code: abort_code(&b),
            },
            _ => return Err(SdoFrameError::CommandSpecifier(b[0])),
        })
    }
}

impl Response {
    /// The 8 data bytes.
    pub fn encode(&self) -> [u8; 8] {
        let mut b = [0u8; 8];
        match self {
            Response::InitiateDownload { index, subindex } => {
                b[0] = 0x60;
                mux(&mut b, *index, *subindex);
            }
            Response::DownloadSegment { toggle } => b[0] = 0x20 | u8::from(*toggle) << 4,
            Response::InitiateUpload {
                index,
                subindex,
                payload,
            } => initiate(&mut b, 2, *index, *subindex, payload),
            Response::UploadSegment { toggle, data, last } => {
                segment(&mut b, 0, *toggle, data, *last)
            }
            Response::Abort {
                index,
                subindex,
                code,
            } => abort(&mut b, *index, *subindex, *code),
        }
        b
    }

    /// Parses a response, as a client does.
    pub fn parse(data: &[u8]) -> Result<Response, SdoFrameError> {
        let Fields {
            cs,
            index,
            subindex,
            b,
        } = fields(data)?;
        Ok(match cs {
            3 => Response::InitiateDownload { index, subindex },
            1 => Response::DownloadSegment {
                toggle: b[0] & 0x10 != 0,
            },
            2 => Response::InitiateUpload {
                index,
                subindex,
                payload: parse_initiate(&b),
            },
            0 => {
                let (toggle, data, last) = parse_segment(&b);
                Response::UploadSegment { toggle, data, last }
            }
            4 => Response::Abort {
                index,
                subindex,
                code: abort_code(&b),
            },
            _ => return Err(SdoFrameError::CommandSpecifier(b[0])),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_bytes_match_the_reference() {
        let up = Request::InitiateUpload {
            index: 0x6041,
            subindex: 0,
        };
        assert_eq!(up.encode(), [0x40, 0x41, 0x60, 0, 0, 0, 0, 0]);
        let dl = |n: usize| Request::InitiateDownload {
            index: 0x6040,
            subindex: 0,
            payload: Initiate::Expedited(vec![0xAA; n]),
        };
        let cs: Vec<u8> = (1..=4).map(|n| dl(n).encode()[0]).collect();
        assert_eq!(cs, [0x2F, 0x2B, 0x27, 0x23]);
        let reply = |n: usize| Response::InitiateUpload {
            index: 1,
            subindex: 0,
            payload: Initiate::Expedited(vec![0; n]),
        };
        let cs: Vec<u8> = (1..=4).map(|n| reply(n).encode()[0]).collect();
        assert_eq!(cs, [0x4F, 0x4B, 0x47, 0x43]);
        let seg = Request::InitiateDownload {
            index: 0x1008,
            subindex: 0,
            payload: Initiate::Segmented(Some(11)),
        };
        assert_eq!(seg.encode()[..5], [0x21, 0x08, 0x10, 0x00, 11]);
        assert_eq!(
            Response::InitiateDownload {
                index: 0,
                subindex: 0
            }
            .encode()[0],
            0x60
        );
        assert_eq!(Request::UploadSegment { toggle: true }.encode()[0], 0x70);
        let last = Response::UploadSegment {
            toggle: true,
            data: vec![1, 2, 3],
            last: true,
        };
        assert_eq!(last.encode()[0], 0x10 | 4 << 1 | 1);
        assert_eq!(Response::parse(&last.encode()), Ok(last));
        assert_eq!(
            Response::parse(&[0xE0; 8]),
            Err(SdoFrameError::CommandSpecifier(0xE0))
        );
        assert_eq!(Response::parse(&[0x60; 4]), Err(SdoFrameError::Length(4)));
    }
}
