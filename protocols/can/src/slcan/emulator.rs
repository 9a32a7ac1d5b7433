//! An slcan adapter emulator: speaks the adapter side of §4.1 on any byte stream (a pty, a
//! duplex stream) and bridges it to a [`VirtualEndpoint`], so nodes on a virtual bus can be
//! reached "through a USB adapter" by tests and by `linevisor sim`.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{Instrument as _, debug, info_span};

use super::codec::{Command, Reply, TIMESTAMP_MAX, encode_reply};
use super::decoder::Decoder;
use crate::{CanError, CanTransport, VirtualEndpoint};

/// How the emulated adapter acknowledges transmitted frames (§4.1: both exist in the field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AckStyle {
    /// Lawicel / EasySync: `z`CR (the host treats `Z`CR the same).
    #[default]
    Lawicel,
    /// CanHacker: a plain CR.
    CanHacker,
}

/// Behaviour of the emulated adapter.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Name in logs (the `bus` span field).
    pub name: String,
    /// Transmit acknowledgement style.
    pub ack: AckStyle,
    /// Timestamps on received frames at power-up (`Z1`/`Z0` change it).
    pub timestamps: bool,
    /// Answer to `V` (without the letter).
    pub version: String,
    /// Answer to `N` (without the letter).
    pub serial: String,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            name: "slcan-emulator".into(),
            ack: AckStyle::Lawicel,
            timestamps: false,
            version: "1013".into(),
            serial: "LV01".into(),
        }
    }
}

/// A running emulator; dropping the handle leaves it running until its stream closes.
#[derive(Debug)]
pub struct EmulatorHandle {
    unplug: watch::Sender<bool>,
    task: JoinHandle<Result<(), CanError>>,
}

impl EmulatorHandle {
    /// Pulls the USB plug: the emulator drops its stream, so the host sees EOF or EIO.
    pub fn unplug(&self) {
        let _ = self.unplug.send(true);
    }

    /// Waits for the emulator to stop (stream closed or unplugged).
    pub async fn join(self) -> Result<(), CanError> {
        self.task.await.unwrap_or(Err(CanError::Closed))
    }
}

/// Serves the adapter side of slcan on `stream` in a task, bridged to `endpoint`.
pub fn spawn<S>(stream: S, endpoint: VirtualEndpoint, config: EmulatorConfig) -> EmulatorHandle
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (unplug, unplugged) = watch::channel(false);
    let span = info_span!("slcan_emulator", bus = %config.name);
    let task = tokio::spawn(serve(stream, endpoint, config, unplugged).instrument(span));
    EmulatorHandle { unplug, task }
}

/// An emulator on a fresh pseudo-terminal pair: returns its handle and the path of the
/// terminal a host opens (`/dev/pts/N`), e.g. for `linevisor sim`.
pub fn spawn_on_pty(
    endpoint: VirtualEndpoint,
    config: EmulatorConfig,
) -> io::Result<(EmulatorHandle, String, tokio_serial::SerialStream)> {
    use tokio_serial::SerialPort as _;
    let (ours, theirs) = tokio_serial::SerialStream::pair().map_err(io::Error::from)?;
    let path = theirs
        .name()
        .ok_or_else(|| io::Error::other("the pseudo-terminal has no path"))?;
    Ok((spawn(ours, endpoint, config), path, theirs))
}

struct State {
    open: bool,
    listen_only: bool,
    timestamps: bool,
    started: Instant,
}

async fn serve<S>(
    stream: S,
    endpoint: VirtualEndpoint,
    config: EmulatorConfig,
    mut unplugged: watch::Receiver<bool>,
) -> Result<(), CanError>
where
    S: AsyncRead + AsyncWrite + Send + Unpin,
{
    let (mut rd, mut wr) = tokio::io::split(stream);
    let mut decoder = Decoder::new();
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    let mut st = State {
        open: false,
        listen_only: false,
        timestamps: config.timestamps,
        started: Instant::now(),
    };
    loop {
        while let Some(command) = decoder.next_command() {
            let reply = execute(command, &mut st, &endpoint, &config).await;
            encode_reply(&reply, &mut out);
        }
        tokio::select! {
            // A dropped handle (sender gone) is no unplug: the branch is disabled instead.
            Ok(_) = unplugged.wait_for(|u| *u) => return Ok(()),
            read = rd.read(&mut buf) => match read {
                Ok(0) => return Ok(()),
                Ok(n) => decoder.push(&buf[..n]),
                Err(e) => return Err(e.into()),
            },
            wrote = wr.write(&out), if !out.is_empty() => match wrote {
                Ok(n) => { out.drain(..n.min(out.len())); }
                Err(e) => return Err(e.into()),
            },
            // Bounded only by the host reading: a stalled host stops bus reception here.
            frame = endpoint.recv(), if out.len() < 8192 => {
                let frame = frame?;
                if st.open {
                    let timestamp = st.timestamps.then(|| {
                        let ms = st.started.elapsed().as_millis() % (u128::from(TIMESTAMP_MAX) + 1);
                        ms as u16
                    });
                    encode_reply(&Reply::Frame { frame, timestamp }, &mut out);
                }
            },
        }
    }
}

async fn execute(
    command: Result<Command, super::DecodeError>,
    st: &mut State,
    endpoint: &VirtualEndpoint,
    config: &EmulatorConfig,
) -> Reply {
    let command = match command {
        Ok(c) => c,
        Err(e) => {
            debug!(error = %e, "Unknown command answered with BELL.");
            return Reply::Error;
        }
    };
    let ok_if = |cond: bool| if cond { Reply::Ok } else { Reply::Error };
    match command {
        Command::Bitrate(_) | Command::Timestamps(_) => ok_if(!st.open),
        Command::Open | Command::ListenOnly => {
            let was_open = std::mem::replace(&mut st.open, true);
            st.listen_only = command == Command::ListenOnly;
            ok_if(!was_open)
        }
        Command::Close => ok_if(std::mem::replace(&mut st.open, false)),
        Command::Version => Reply::Info {
            kind: 'V',
            text: config.version.clone(),
        },
        Command::SerialNumber => Reply::Info {
            kind: 'N',
            text: config.serial.clone(),
        },
        Command::StatusFlags => Reply::Info {
            kind: 'F',
            text: "00".into(),
        },
        Command::Transmit(frame) => {
            if !st.open || st.listen_only || endpoint.send(&frame).await.is_err() {
                return Reply::Error;
            }
            match config.ack {
                AckStyle::Lawicel => Reply::TxAck {
                    extended: frame.id().is_extended(),
                },
                AckStyle::CanHacker => Reply::Ok,
            }
        }
    }
}
