//! Drives on a serial line for the serial bus tests: each answers as its shipped profile says
//! (`linevisor_serial::Device`), from a table of raw values, with one fault at a time.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use linevisor_config::check_text;
use linevisor_core::profile::{Profile, SerialFraming};
use linevisor_serial::{Device, Op};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A shipped profile by name.
pub fn shipped(name: &str) -> Profile {
    let line = check_text("<test>", "[line]\nname = \"t\"\n", None)
        .line
        .expect("the shipped profiles check clean");
    line.profiles
        .into_values()
        .map(|lp| lp.profile)
        .find(|p| p.profile.name == name)
        .unwrap_or_else(|| panic!("no shipped profile {name}"))
}

/// What a drive does wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    /// Bytes that are no reply (an ASCII line of noise; a binary frame of noise).
    Garbage,
    /// The first half of the reply, then nothing.
    Truncated,
    /// The reply with its checksum off by one (binary).
    Checksum,
    /// No answer.
    Silence,
    /// Our request read back before the reply (2-wire line without echo suppression).
    Echo,
    /// A reply carrying the next address.
    OtherAddress,
    /// A refusal with this code (ASCII `?code`, binary status).
    Refuse(i64),
    /// An ASCII line longer than any reply may be.
    OverLong,
}

/// One drive: its protocol, its values, its fault, what it was asked.
#[derive(Debug)]
pub struct Drive {
    pub address: u32,
    device: Device,
    other: Device,
    pub values: BTreeMap<String, i64>,
    pub fault: Fault,
    /// Requests understood, in order: (point, op).
    pub log: Vec<(String, Op)>,
}

/// Drives sharing one line.
#[derive(Debug, Clone)]
pub struct Line {
    pub profile: Profile,
    pub drives: Arc<Mutex<Vec<Drive>>>,
    /// Every understood request, in order: (address, point, op).
    heard: Arc<Mutex<Vec<(u32, String, Op)>>>,
    /// While false, requests are read but not answered yet.
    open: watch::Sender<bool>,
}

impl Line {
    /// `addresses` on one line, all of `profile`, every point at `value(point)`.
    pub fn new(profile: Profile, addresses: &[u32], value: impl Fn(u32, &str) -> i64) -> Self {
        let section = profile.serial.clone().unwrap_or_default();
        let drives = addresses
            .iter()
            .map(|&a| Drive {
                address: a,
                device: Device::new(&section, a, &profile.points),
                other: Device::new(&section, a + 1, &profile.points),
                values: profile
                    .points
                    .keys()
                    .map(|n| (n.clone(), value(a, n)))
                    .collect(),
                fault: Fault::None,
                log: Vec::new(),
            })
            .collect();
        Self {
            profile,
            drives: Arc::new(Mutex::new(drives)),
            heard: Arc::default(),
            open: watch::channel(true).0,
        }
    }

    pub fn set_fault(&self, address: u32, fault: Fault) {
        self.with(address, |d| d.fault = fault);
    }

    pub fn with<T>(&self, address: u32, f: impl FnOnce(&mut Drive) -> T) -> T {
        let mut drives = self.drives.lock().unwrap();
        let d = drives
            .iter_mut()
            .find(|d| d.address == address)
            .expect("no such drive");
        f(d)
    }

    /// Every understood request on the line, in order: (address, point, op).
    pub fn log(&self) -> Vec<(u32, String, Op)> {
        self.heard.lock().unwrap().clone()
    }

    /// Holds (false) or releases (true) the answers.
    pub fn answer(&self, open: bool) {
        self.open.send_replace(open);
    }

    /// Serves the line on `io` until it closes.
    pub fn serve<S>(&self, io: S) -> JoinHandle<()>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let line = self.clone();
        tokio::spawn(async move {
            let _ = line.run(io).await;
        })
    }

    async fn run<S: AsyncRead + AsyncWrite + Unpin>(&self, mut io: S) -> std::io::Result<()> {
        let section = self.profile.serial.clone().unwrap_or_default();
        let mut pending = Vec::new();
        let mut buf = [0u8; 256];
        let mut open = self.open.subscribe();
        loop {
            let n = io.read(&mut buf).await?;
            if n == 0 {
                return Ok(());
            }
            pending.extend_from_slice(&buf[..n]);
            while let Some(request) = take_request(&mut pending, &section) {
                let _ = open.wait_for(|o| *o).await;
                let out = self.answer_to(&request);
                if !out.is_empty() {
                    io.write_all(&out).await?;
                    io.flush().await?;
                }
            }
        }
    }

    /// What the line carries back after `request`: nothing, or the addressed drive's bytes.
    fn answer_to(&self, request: &[u8]) -> Vec<u8> {
        let mut drives = self.drives.lock().unwrap();
        for d in drives.iter_mut() {
            let Some(asked) = d.device.parse(request) else {
                continue;
            };
            d.log.push((asked.point.clone(), asked.op));
            let heard = (d.address, asked.point.clone(), asked.op);
            self.heard.lock().unwrap().push(heard);
            if let Op::Write(raw) = asked.op
                && !asked.follow_up
                && !matches!(d.fault, Fault::Refuse(_) | Fault::Silence)
            {
                d.values.insert(asked.point.clone(), raw);
            }
            let raw = d.values.get(&asked.point).copied().unwrap_or(0);
            let reply = d.device.reply(&asked, raw).expect("reply");
            return match d.fault {
                Fault::None => reply,
                Fault::Garbage => match self.profile.serial.as_ref().map(|s| s.framing) {
                    Some(SerialFraming::Binary) => vec![0x5A; reply.len()],
                    _ => b"#~noise~#\r".to_vec(),
                },
                Fault::Truncated => reply[..reply.len() / 2].to_vec(),
                Fault::Checksum => {
                    let mut r = reply;
                    if let Some(last) = r.last_mut() {
                        *last = last.wrapping_add(1);
                    }
                    r
                }
                Fault::Silence => Vec::new(),
                Fault::Echo => [request, &reply].concat(),
                Fault::OtherAddress => d.other.reply(&asked, raw).expect("reply"),
                Fault::Refuse(code) => d.device.refusal(&asked, code).expect("refusal"),
                Fault::OverLong => [vec![b'9'; 2000], b"\r".to_vec()].concat(),
            };
        }
        Vec::new()
    }
}

/// One whole request off the front of `pending`, by the profile's framing.
fn take_request(
    pending: &mut Vec<u8>,
    section: &linevisor_core::profile::SerialSection,
) -> Option<Vec<u8>> {
    match section.framing {
        SerialFraming::Ascii => {
            let t = section.terminator.as_bytes();
            let end = pending.windows(t.len()).position(|w| w == t)? + t.len();
            Some(pending.drain(..end).collect())
        }
        SerialFraming::Binary => {
            let n = section.frame_bytes? as usize;
            (pending.len() >= n).then(|| pending.drain(..n).collect())
        }
    }
}
