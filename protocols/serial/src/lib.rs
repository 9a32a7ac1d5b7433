#![doc = include_str!("../README.md")]

pub mod ascii;
pub mod binary;
pub mod checksum;
mod device;
mod error;
pub mod framer;
pub mod number;

use linevisor_core::profile::{Point, SerialFraming, SerialRequest, SerialSection};

pub use ascii::AsciiCodec;
pub use binary::BinaryCodec;
pub use device::{Asked, Device};
pub use error::{ErrorKind, SerialError};
pub use framer::Framer;

/// What to do with a point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Read its value.
    Read,
    /// Write this raw value.
    Write(i64),
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Read => "read",
            Op::Write(_) => "write",
        }
    }
}

/// The request writing `raw`: its own from `write_values`, else the point's `write`.
fn write_request(point: &Point, raw: i64) -> Option<&SerialRequest> {
    point
        .write_values
        .get(&raw.to_string())
        .or(point.write.as_ref())
}

/// A request ready for the wire, with what its reply is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The bytes to send (terminator or checksum included).
    pub bytes: Vec<u8>,
    read: bool,
    addressed: bool,
    command: Option<i64>,
}

/// A well-formed reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// A read's raw value.
    Value(i64),
    /// The drive executed the write.
    Ack,
    /// The drive buffered the write and executes it later (ASCII `*`).
    Buffered,
}

/// One drive's codec, for either framing of its profile.
#[derive(Debug, Clone)]
pub enum Codec {
    /// ASCII lines.
    Ascii(AsciiCodec),
    /// Binary frames.
    Binary(BinaryCodec),
}

impl Codec {
    /// The codec of the profile's `[serial]` section for the drive at `address`.
    pub fn new(section: &SerialSection, address: u32) -> Result<Self, SerialError> {
        Ok(match section.framing {
            SerialFraming::Ascii => Codec::Ascii(AsciiCodec::new(section.clone(), address)),
            SerialFraming::Binary => Codec::Binary(BinaryCodec::new(section, address)?),
        })
    }

    /// The requests for `op` on `point`, sent in order: one, or a write's sequence.
    pub fn requests(&self, point: &Point, op: Op) -> Result<Vec<Request>, SerialError> {
        match self {
            Codec::Ascii(c) => c.requests(point, op),
            Codec::Binary(c) => c.requests(point, op),
        }
    }

    /// The first request for `op` on `point` (the only one unless the write is a sequence).
    pub fn request(&self, point: &Point, op: Op) -> Result<Request, SerialError> {
        self.requests(point, op)?
            .into_iter()
            .next()
            .ok_or(SerialError::Profile("an empty request sequence"))
    }

    /// Parses one framed reply to `request`.
    pub fn reply(
        &self,
        point: &Point,
        request: &Request,
        reply: &[u8],
    ) -> Result<Reply, SerialError> {
        match self {
            Codec::Ascii(c) => c.reply(point, request, reply),
            Codec::Binary(c) => c.reply(point, request, reply),
        }
    }

    /// A framer for this drive's replies.
    pub fn framer(section: &SerialSection) -> Framer {
        match section.framing {
            SerialFraming::Ascii => Framer::lines(
                section.terminator.as_bytes(),
                section.max_reply_bytes as usize,
            ),
            SerialFraming::Binary => Framer::frames(section.frame_bytes.unwrap_or(1) as usize),
        }
    }
}
