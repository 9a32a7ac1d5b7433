//! A plain serial bus master for the tests: linevisor-serial's `Codec` and `Framer` over any
//! byte stream, one exchange at a time, with a reply timeout.

use std::collections::BTreeMap;
use std::time::Duration;

use linevisor_core::PowerState;
use linevisor_core::profile::Profile;
use linevisor_profile::ProfileCodec;
use linevisor_serial::{Codec, Framer, Op, Reply, SerialError};
use linevisor_sim::{SimDrive, SimDriveOptions, SimHandle};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::profile;

/// The two shipped plain serial families.
pub const SCL: &str = "applied-motion-scl-stepper";
pub const TMCL: &str = "trinamic-tmcl-axis";

pub const REPLY_TIMEOUT: Duration = Duration::from_millis(100);
pub const PTY_TIMEOUT: Duration = Duration::from_secs(2);

/// What a master sees of one exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// A reply that did not parse, or a refusal.
    Error(SerialError),
    /// Nothing within the timeout.
    Timeout,
}

/// A master at one drive address.
pub struct Master<T> {
    io: T,
    profile: Profile,
    codec: Codec,
    framer: Framer,
    /// Skip the echo of our own request (2-wire RS-485 without suppression in the adapter).
    pub suppress_echo: bool,
    /// Reply timeout (longer on a real pty, whose timing the machine's load decides).
    pub timeout: Duration,
}

impl<T: AsyncRead + AsyncWrite + Unpin> Master<T> {
    pub fn new(io: T, profile: &Profile, address: u32) -> Self {
        let section = profile.serial.clone().unwrap_or_default();
        Master {
            io,
            profile: profile.clone(),
            codec: Codec::new(&section, address).expect("codec"),
            framer: Codec::framer(&section),
            suppress_echo: false,
            timeout: REPLY_TIMEOUT,
        }
    }

    /// The same line, another drive.
    pub fn at(self, address: u32) -> Self {
        let mut m = Master::new(self.io, &self.profile, address);
        m.suppress_echo = self.suppress_echo;
        m.timeout = self.timeout;
        m
    }

    /// The line itself, for bytes no codec would send.
    pub fn io(&mut self) -> &mut T {
        &mut self.io
    }

    /// Every request of `op` on `point` in order (one, or a write's sequence); the last reply,
    /// or the first failure.
    pub async fn exchange(&mut self, point: &str, op: Op) -> Result<Reply, Seen> {
        let p = self.profile.points[point].clone();
        let requests = self.codec.requests(&p, op).map_err(Seen::Error)?;
        let mut last = Err(Seen::Timeout);
        for request in requests {
            last = Ok(self.one(&p, &request).await?);
        }
        last
    }

    async fn one(
        &mut self,
        p: &linevisor_core::profile::Point,
        request: &linevisor_serial::Request,
    ) -> Result<Reply, Seen> {
        self.framer.reset();
        if self.suppress_echo {
            self.framer.expect_echo(&request.bytes);
        }
        self.io.write_all(&request.bytes).await.expect("write");
        let mut buf = [0u8; 256];
        let wait = async {
            loop {
                let n = self.io.read(&mut buf).await.expect("read");
                assert!(n > 0, "the simulator closed the line");
                if let Some(first) = self.framer.push(&buf[..n]).into_iter().next() {
                    return first;
                }
            }
        };
        match tokio::time::timeout(self.timeout, wait).await {
            Ok(Ok(frame)) => self.codec.reply(p, request, &frame).map_err(Seen::Error),
            Ok(Err(e)) => Err(Seen::Error(e)),
            Err(_) => Err(self.framer.reset().map_or(Seen::Timeout, Seen::Error)),
        }
    }

    pub async fn read(&mut self, point: &str) -> i64 {
        match self.exchange(point, Op::Read).await {
            Ok(Reply::Value(v)) => v,
            other => panic!("read {point}: {other:?}"),
        }
    }

    pub async fn write(&mut self, point: &str, raw: i64) {
        match self.exchange(point, Op::Write(raw)).await {
            Ok(Reply::Ack | Reply::Buffered) => {}
            other => panic!("write {point} = {raw}: {other:?}"),
        }
    }

    /// The state decoded from the status points, as a line would.
    pub async fn state(&mut self) -> PowerState {
        let codec = ProfileCodec::new(&self.profile).expect("profile codec");
        let mut raw = BTreeMap::new();
        for p in codec.status_points() {
            raw.insert(p.to_owned(), self.read(p).await as u32);
        }
        codec
            .decode_status_with(|p| raw.get(p).copied())
            .expect("decodable status")
    }
}

/// A bank with a drive of `profile` at each unit, serial number 1000 + unit.
pub fn serial_line(profile_name: &str, units: &[u8]) -> SimHandle {
    let handle = SimHandle::new();
    let p = profile(profile_name);
    for &u in units {
        let options = SimDriveOptions {
            serial_number: 1000 + u32::from(u),
            ..SimDriveOptions::default()
        };
        handle
            .add_drive(u, SimDrive::new(&p, options).expect("sim drive"))
            .expect("add drive");
    }
    handle
}
