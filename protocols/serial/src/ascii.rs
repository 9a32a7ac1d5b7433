//! ASCII command/response lines (Applied Motion SCL style): a request is the point's template
//! with `{address}` and `{value}` filled in plus the terminator; a reply is an acknowledgement
//! (`%`, `*`), a refusal (`?`, `?4`) or a value found by the point's pattern (`IP={value}`),
//! optionally after the drive's address.

use linevisor_core::profile::{Point, SerialRequest, SerialSection};

use crate::number::Number;
use crate::{Op, Reply, Request, SerialError};

/// Builds requests and parses replies for one drive address.
#[derive(Debug, Clone)]
pub struct AsciiCodec {
    section: SerialSection,
    address: String,
}

impl AsciiCodec {
    /// A codec for the drive at `address` (written in decimal where a template says
    /// `{address}`).
    pub fn new(section: SerialSection, address: u32) -> Self {
        AsciiCodec {
            section,
            address: address.to_string(),
        }
    }

    /// The requests for reading or writing `point`, in order (a write may be a sequence).
    pub fn requests(&self, point: &Point, op: Op) -> Result<Vec<Request>, SerialError> {
        let (request, raw) = match op {
            Op::Read => (point.read.as_ref(), None),
            Op::Write(raw) => (crate::write_request(point, raw), Some(raw)),
        };
        let no_request = || SerialError::NoRequest {
            op: op.name(),
            framing: "ascii",
        };
        let parts = request.ok_or_else(no_request)?.parts();
        parts
            .into_iter()
            .map(|part| match part {
                SerialRequest::Template(t) => self.render(point, t, raw),
                _ => Err(no_request()),
            })
            .collect()
    }

    fn render(&self, point: &Point, t: &str, raw: Option<i64>) -> Result<Request, SerialError> {
        let mut text = t.replace("{address}", &self.address);
        if let Some(raw) = raw {
            text = text.replace("{value}", &number(point).format(raw)?);
        }
        text.push_str(&self.section.terminator);
        Ok(Request {
            bytes: text.into_bytes(),
            read: raw.is_none(),
            addressed: t.contains("{address}"),
            command: None,
        })
    }

    /// Parses one reply (with or without its terminator) to `request`.
    pub fn reply(
        &self,
        point: &Point,
        request: &Request,
        reply: &[u8],
    ) -> Result<Reply, SerialError> {
        let limit = self.section.max_reply_bytes as usize;
        if reply.len() > limit {
            return Err(SerialError::OverLong { limit });
        }
        let term = self.section.terminator.as_bytes();
        let line = reply.strip_suffix(term).unwrap_or(reply);
        let garbage = || SerialError::Garbage {
            text: String::from_utf8_lossy(line).into_owned(),
        };
        let mut body = std::str::from_utf8(line).map_err(|_| garbage())?;
        if self.section.reply_address && request.addressed {
            body = self.strip_address(body)?;
        }
        let s = &self.section;
        if !s.ack.is_empty() && body == s.ack {
            return if request.read {
                Err(garbage())
            } else {
                Ok(Reply::Ack)
            };
        }
        if !s.buffered.is_empty() && body == s.buffered {
            return if request.read {
                Err(garbage())
            } else {
                Ok(Reply::Buffered)
            };
        }
        if let Some(code) = body
            .strip_prefix(s.nak.as_str())
            .filter(|_| !s.nak.is_empty())
        {
            let code = code.trim();
            return Err(SerialError::Nak {
                code: match code {
                    "" => None,
                    c => Some(c.parse().map_err(|_| garbage())?),
                },
            });
        }
        if !request.read {
            return Err(garbage());
        }
        let pattern = point.pattern.as_deref().unwrap_or("{value}");
        let (before, after) = pattern.split_once("{value}").unwrap_or((pattern, ""));
        let text = body
            .strip_prefix(before)
            .and_then(|b| b.strip_suffix(after))
            .ok_or_else(garbage)?;
        number(point).parse(text).map(Reply::Value)
    }

    /// Removes the expected address from the front of a reply. A reply that does not start
    /// with it carries another: its leading digits (or first character) name that one.
    fn strip_address<'t>(&self, body: &'t str) -> Result<&'t str, SerialError> {
        if let Some(rest) = body.strip_prefix(self.address.as_str()) {
            return Ok(rest);
        }
        let digits = body.bytes().take_while(u8::is_ascii_digit).count();
        let got = match (digits, body.chars().next()) {
            (0, Some(c)) => c.to_string(),
            (0, None) => "none".to_owned(),
            (n, _) => body[..n].to_owned(),
        };
        Err(SerialError::OtherAddress {
            expected: self.address.clone(),
            got,
        })
    }
}

/// The point's number format.
pub(crate) fn number(point: &Point) -> Number {
    Number {
        data_type: point.data_type,
        format: point.format,
        decimals: point.decimals.unwrap_or(0),
    }
}
