//! Streaming side of the slcan codec: splits received bytes into CR- or BELL-terminated units
//! and resynchronises after garbage (protocols.md §4.1: "resync on garbage").

use super::codec::{BELL, CR, Command, DecodeError, MAX_LINE, Reply, parse_command, parse_reply};

/// One unit split off the byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unit {
    /// Bytes before a CR (CR removed).
    Line(Vec<u8>),
    /// A BELL.
    Bell,
    /// Bytes skipped: text before a BELL, or a line longer than [`MAX_LINE`].
    Garbage(Vec<u8>),
}

/// Splits a byte stream into CR/BELL-terminated units. Bytes that cannot start a unit are
/// reported as [`Unit::Garbage`] and skipped up to the next CR or BELL.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
    skipping: bool,
}

impl Decoder {
    /// An empty decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes buffered and not yet split.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Drops everything buffered (after the stream was reopened).
    pub fn clear(&mut self) {
        self.buf.clear();
        self.skipping = false;
    }

    /// The next complete unit, if any.
    pub fn next_unit(&mut self) -> Option<Unit> {
        loop {
            let end = self.buf.iter().position(|b| *b == CR || *b == BELL);
            let Some(end) = end else {
                if self.buf.len() > MAX_LINE {
                    let junk: Vec<u8> = std::mem::take(&mut self.buf);
                    let was_skipping = std::mem::replace(&mut self.skipping, true);
                    if !was_skipping {
                        return Some(Unit::Garbage(junk));
                    }
                }
                return None;
            };
            let is_bell = self.buf[end] == BELL;
            if std::mem::take(&mut self.skipping) {
                // End of an over-long line: drop it (a BELL still counts as a unit).
                self.buf.drain(..if is_bell { end } else { end + 1 });
                continue;
            }
            if is_bell && end > 0 {
                return Some(Unit::Garbage(self.buf.drain(..end).collect()));
            }
            let unit: Vec<u8> = self.buf.drain(..=end).collect();
            if is_bell {
                return Some(Unit::Bell);
            }
            let line = &unit[..unit.len() - 1];
            if line.len() > MAX_LINE {
                return Some(Unit::Garbage(line.to_vec()));
            }
            return Some(Unit::Line(line.to_vec()));
        }
    }

    /// The next reply, as the host reads the adapter.
    pub fn next_reply(&mut self) -> Option<Result<Reply, DecodeError>> {
        Some(match self.next_unit()? {
            Unit::Line(line) => parse_reply(&line),
            Unit::Bell => Ok(Reply::Error),
            Unit::Garbage(junk) => Err(DecodeError::new("garbage skipped", &junk)),
        })
    }

    /// The next command, as an adapter reads the host.
    pub fn next_command(&mut self) -> Option<Result<Command, DecodeError>> {
        Some(match self.next_unit()? {
            Unit::Line(line) => parse_command(&line),
            Unit::Bell => Err(DecodeError::new("BELL from the host", &[BELL])),
            Unit::Garbage(junk) => Err(DecodeError::new("garbage skipped", &junk)),
        })
    }
}
