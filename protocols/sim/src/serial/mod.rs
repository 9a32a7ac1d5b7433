//! Serving serial drives on one shared line (multi-drop): requests are framed with the line's
//! framing, every drive on the line parses them, the addressed one answers and the others stay
//! silent; a request nobody understands gets no answer, as on a real line.

mod answer;

use std::collections::BTreeSet;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use linevisor_core::profile::{Profile, Protocol, SerialFraming};
use linevisor_serial::Framer;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream, duplex};
use tokio::time::timeout;
use tokio_serial::{SerialPort, SerialStream};

use crate::serve::{DUPLEX_BUFFER, ServeTask};
use crate::{PtyEndpoint, SimDrive, SimError, SimHandle};

/// Longest request line a simulated ASCII drive buffers; longer ones are skipped.
const REQUEST_LIMIT: usize = 256;

/// A partial request is dropped after this much silence (the RTU server's backstop).
const PARTIAL_TIMEOUT: Duration = Duration::from_millis(20);

/// How a line cuts its byte stream: one per line, shared by every drive on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LineFraming {
    Lines(String),
    Frames(u32),
}

impl LineFraming {
    fn of(drive: &SimDrive) -> Self {
        Self::of_profile(drive.codec().profile())
    }

    pub(crate) fn of_profile(p: &Profile) -> Self {
        let s = p.serial.clone().unwrap_or_default();
        match s.framing {
            SerialFraming::Ascii => LineFraming::Lines(s.terminator),
            SerialFraming::Binary => LineFraming::Frames(s.frame_bytes.unwrap_or(1)),
        }
    }

    fn framer(&self) -> Framer {
        match self {
            LineFraming::Lines(t) => Framer::lines(t.as_bytes(), REQUEST_LIMIT),
            LineFraming::Frames(n) => Framer::frames(*n as usize),
        }
    }
}

impl std::fmt::Display for LineFraming {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LineFraming::Lines(t) => write!(f, "ascii lines ended by {t:?}"),
            LineFraming::Frames(n) => write!(f, "binary {n}-byte frames"),
        }
    }
}

/// One serial line of a [`SimHandle`]: the serial drives on it and their common framing.
/// A drive added to the bank later joins the line if the line lists its unit (or was made for
/// every serial drive) and it shares the line's framing.
#[derive(Debug, Clone)]
pub struct SerialLine {
    handle: SimHandle,
    units: Option<BTreeSet<u8>>,
    framing: LineFraming,
    baud: Option<u32>,
}

impl SimHandle {
    /// The line of the serial drives at `units` (`None`: every serial drive of the bank). Fails
    /// on an empty line, a unit without a drive or with a Modbus drive, and on drives whose
    /// framings differ (one line carries one framing: ASCII with one terminator, or binary
    /// frames of one length).
    pub fn serial_line(&self, units: Option<&[u8]>) -> Result<SerialLine, SimError> {
        let all = self.lock();
        let chosen: Vec<u8> = match units {
            Some(list) => list.to_vec(),
            None => all
                .iter()
                .filter(|(_, u)| u.device.is_some())
                .map(|(id, _)| *id)
                .collect(),
        };
        let mut framing: Option<(u8, LineFraming)> = None;
        for &unit in &chosen {
            let u = all.get(&unit).ok_or(SimError::UnknownUnit(unit))?;
            let p = u.drive.codec().profile();
            if p.profile.protocol != Protocol::Serial {
                return Err(SimError::NotSerial {
                    unit,
                    profile: p.profile.name.clone(),
                });
            }
            let f = LineFraming::of(&u.drive);
            match &framing {
                Some((first, g)) if *g != f => {
                    return Err(SimError::MixedFraming {
                        first: *first,
                        first_framing: g.to_string(),
                        unit,
                        framing: f.to_string(),
                    });
                }
                Some(_) => {}
                None => framing = Some((unit, f)),
            }
        }
        let Some((_, framing)) = framing else {
            return Err(SimError::NoSerialDrive);
        };
        Ok(SerialLine {
            handle: self.clone(),
            units: units.map(|l| l.iter().copied().collect()),
            framing,
            baud: None,
        })
    }

    /// Serves every serial drive of the bank on `io` ([`SimHandle::serial_line`] with `None`)
    /// until EOF or an I/O error.
    pub async fn serve_serial<T>(&self, io: T) -> Result<(), SimError>
    where
        T: AsyncRead + AsyncWrite + Unpin,
    {
        self.serial_line(None)?
            .serve(io)
            .await
            .map_err(SimError::SerialIo)
    }

    /// Every serial drive of the bank on an in-memory stream: returns the master's end.
    pub fn serve_duplex_serial(&self) -> Result<(DuplexStream, ServeTask), SimError> {
        Ok(self.serial_line(None)?.serve_duplex())
    }

    /// Every serial drive of the bank on a new pseudo-terminal pair.
    pub fn serve_pty_serial(&self, baud: u32) -> Result<PtyEndpoint, SimError> {
        self.serial_line(None)?.serve_pty(baud)
    }
}

impl SerialLine {
    /// The unit ids on the line now, ascending.
    pub fn units(&self) -> Vec<u8> {
        let all = self.handle.lock();
        all.iter()
            .filter(|(id, u)| self.carries(**id, &u.drive, u.device.is_some()))
            .map(|(id, _)| *id)
            .collect()
    }

    /// Paces the line at `baud`: each answer goes out after its own wire time (10 bits a byte,
    /// 8N1), as a drive's UART sends it. Without it answers go out at once.
    pub fn with_baud(mut self, baud: u32) -> Self {
        self.baud = Some(baud).filter(|b| *b > 0);
        self
    }

    fn wire_time(&self, bytes: usize) -> Duration {
        self.baud.map_or(Duration::ZERO, |b| {
            Duration::from_nanos(bytes as u64 * 10 * 1_000_000_000 / u64::from(b))
        })
    }

    fn carries(&self, unit: u8, drive: &SimDrive, serial: bool) -> bool {
        let listed = self.units.as_ref().is_none_or(|s| s.contains(&unit));
        listed && serial && LineFraming::of(drive) == self.framing
    }

    /// Serves the line on `io` until EOF or an I/O error.
    pub async fn serve<T>(self, mut io: T) -> io::Result<()>
    where
        T: AsyncRead + AsyncWrite + Unpin,
    {
        let mut framer = self.framing.framer();
        let mut buf = [0u8; 512];
        let mut pending = false;
        loop {
            let n = if pending {
                match timeout(PARTIAL_TIMEOUT, io.read(&mut buf)).await {
                    Ok(r) => r?,
                    Err(_) => {
                        if let Some(e) = framer.reset() {
                            tracing::debug!(error = %e, "Simulated serial line dropped a partial request.");
                        }
                        pending = false;
                        continue;
                    }
                }
            } else {
                io.read(&mut buf).await?
            };
            if n == 0 {
                return Ok(());
            }
            pending = true;
            for framed in framer.push(&buf[..n]) {
                // An over-long line is skipped, as a drive's bounded buffer does.
                let Ok(mut request) = framed else { continue };
                if let LineFraming::Lines(t) = &self.framing {
                    request.extend_from_slice(t.as_bytes());
                }
                let units = BTreeSet::from_iter(self.units());
                let Some(answer) = self.handle.answer_serial(&units, &request) else {
                    continue;
                };
                let wait = answer.delay + self.wire_time(answer.bytes.len());
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                }
                io.write_all(&answer.bytes).await?;
                io.flush().await?;
            }
        }
    }

    /// The line on an in-memory stream: returns the master's end.
    pub fn serve_duplex(self) -> (DuplexStream, ServeTask) {
        let (master, drives) = duplex(DUPLEX_BUFFER);
        let task = tokio::spawn(self.serve(drives));
        (master, ServeTask::new(task))
    }

    /// The line on a new pseudo-terminal pair (the real tokio-serial path), paced at `baud`
    /// ([`SerialLine::with_baud`]; a pty itself carries bytes at its own speed).
    pub fn serve_pty(self, baud: u32) -> Result<PtyEndpoint, SimError> {
        let (mut ours, theirs) = SerialStream::pair()?;
        let _ = ours.set_baud_rate(baud);
        let path = PathBuf::from(theirs.name().unwrap_or_default());
        let task = tokio::spawn(self.with_baud(baud).serve(ours));
        Ok(PtyEndpoint {
            path,
            far_end: Some(theirs),
            task: ServeTask::new(task),
        })
    }
}
