//! Cuts a byte stream into replies, sans IO: push what the port delivered, take the complete
//! replies. ASCII replies end at the terminator, binary ones after `frame_bytes`. The buffer is
//! bounded: a line longer than the limit is reported once, then skipped up to the next
//! terminator. On 2-wire RS-485 the transceiver hears our own request first: the exact request
//! bytes announced by [`Framer::expect_echo`] are skipped when they come back before the reply.

use crate::SerialError;

/// A reply framer for one port.
#[derive(Debug, Clone)]
pub struct Framer {
    end: End,
    limit: usize,
    buf: Vec<u8>,
    skipping: bool,
    echo: Vec<u8>,
    echo_at: usize,
}

#[derive(Debug, Clone)]
enum End {
    Terminator(Vec<u8>),
    Length(usize),
}

impl Framer {
    /// Lines ended by `terminator`, at most `limit` bytes with the terminator. An empty
    /// terminator never ends a line.
    pub fn lines(terminator: &[u8], limit: usize) -> Self {
        Framer::new(End::Terminator(terminator.to_vec()), limit.max(1))
    }

    /// Frames of exactly `frame_bytes` bytes.
    pub fn frames(frame_bytes: usize) -> Self {
        Framer::new(End::Length(frame_bytes.max(1)), frame_bytes.max(1))
    }

    fn new(end: End, limit: usize) -> Self {
        Framer {
            end,
            limit,
            buf: Vec::new(),
            skipping: false,
            echo: Vec::new(),
            echo_at: 0,
        }
    }

    /// Announces the request just sent: if these bytes come back first, they are our echo.
    pub fn expect_echo(&mut self, request: &[u8]) {
        self.echo = request.to_vec();
        self.echo_at = 0;
    }

    /// Forgets a partial reply and any pending echo (after a timeout, before the next request).
    /// Returns the partial reply as a truncation error, if bytes were pending.
    pub fn reset(&mut self) -> Option<SerialError> {
        let got = self.buf.len();
        let pending = !self.skipping && got > 0;
        self.buf.clear();
        self.skipping = false;
        self.echo.clear();
        self.echo_at = 0;
        pending.then(|| SerialError::Truncated {
            expected: match &self.end {
                End::Length(n) => *n,
                End::Terminator(t) => got + t.len(),
            },
            got,
        })
    }

    /// Feeds received bytes; returns the replies they complete (terminator removed) and the
    /// over-long lines they reveal, in order.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Result<Vec<u8>, SerialError>> {
        let mut out = Vec::new();
        for &b in bytes {
            if self.echo_at < self.echo.len() {
                if self.echo[self.echo_at] == b {
                    self.echo_at += 1;
                    continue;
                }
                // Not our echo after all: what matched so far belongs to the reply.
                let matched = self.echo[..self.echo_at].to_vec();
                self.echo.clear();
                self.echo_at = 0;
                for m in matched {
                    self.byte(m, &mut out);
                }
            }
            self.echo.clear();
            self.echo_at = 0;
            self.byte(b, &mut out);
        }
        out
    }

    fn byte(&mut self, b: u8, out: &mut Vec<Result<Vec<u8>, SerialError>>) {
        self.buf.push(b);
        match &self.end {
            End::Length(n) => {
                if self.buf.len() == *n {
                    out.push(Ok(std::mem::take(&mut self.buf)));
                }
            }
            End::Terminator(t) => {
                if !t.is_empty() && self.buf.ends_with(t) {
                    let mut line = std::mem::take(&mut self.buf);
                    line.truncate(line.len() - t.len());
                    if !std::mem::replace(&mut self.skipping, false) {
                        out.push(Ok(line));
                    }
                } else if self.skipping {
                    // Keep only what could be the start of the terminator.
                    let keep = t.len().saturating_sub(1);
                    let drop = self.buf.len().saturating_sub(keep);
                    self.buf.drain(..drop);
                } else if self.buf.len() >= self.limit {
                    out.push(Err(SerialError::OverLong { limit: self.limit }));
                    self.skipping = true;
                    let keep = t.len().saturating_sub(1);
                    let drop = self.buf.len().saturating_sub(keep);
                    self.buf.drain(..drop);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_across_pushes() {
        let mut f = Framer::lines(b"\r", 64);
        assert!(f.push(b"1IP=1").is_empty());
        assert_eq!(
            f.push(b"23\r1%\r"),
            vec![Ok(b"1IP=123".to_vec()), Ok(b"1%".to_vec())]
        );
    }

    #[test]
    fn over_long_line_is_reported_once_then_resyncs() {
        let mut f = Framer::lines(b"\r\n", 4);
        let got = f.push(b"abcdefgh\r\nok\r\n");
        assert_eq!(
            got,
            vec![Err(SerialError::OverLong { limit: 4 }), Ok(b"ok".to_vec())]
        );
    }

    #[test]
    fn echo_is_skipped_and_a_partial_match_is_kept() {
        let mut f = Framer::lines(b"\r", 64);
        f.expect_echo(b"1IP\r");
        assert_eq!(f.push(b"1IP\r1IP=5\r"), vec![Ok(b"1IP=5".to_vec())]);
        f.expect_echo(b"1IP\r");
        // No echo on this line (4-wire): the reply starts like the request.
        assert_eq!(f.push(b"1IP=7\r"), vec![Ok(b"1IP=7".to_vec())]);
    }

    #[test]
    fn frames_by_length_and_truncation_on_reset() {
        let mut f = Framer::frames(9);
        f.expect_echo(&[1, 6, 1, 0, 0, 0, 0, 0, 8]);
        let got = f.push(&[1, 6, 1, 0, 0, 0, 0, 0, 8, 2, 1, 100, 6, 0, 0, 0, 0]);
        assert!(got.is_empty());
        assert_eq!(
            f.reset(),
            Some(SerialError::Truncated {
                expected: 9,
                got: 8
            })
        );
        assert_eq!(f.reset(), None);
    }
}
