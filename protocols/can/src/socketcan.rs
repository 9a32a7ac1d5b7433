//! Native SocketCAN interfaces through the `socketcan` crate's tokio socket (protocols.md
//! §1.4). Linux only; elsewhere [`open`] reports [`CanError::Unsupported`]. Error frames
//! become [`CanError::Bus`] so the reader sees bus-off and missing acknowledgements.

#[cfg(target_os = "linux")]
pub use linux::{SocketCanTransport, from_socketcan, open, to_socketcan};

#[cfg(target_os = "linux")]
mod linux {
    use socketcan::{EmbeddedFrame as _, ExtendedId, Id, StandardId};
    use tokio::sync::watch;

    use crate::{CanError, CanFrame, CanId, CanTransport};

    /// Converts our frame to the `socketcan` crate's.
    pub fn to_socketcan(frame: &CanFrame) -> Result<socketcan::CanFrame, CanError> {
        let raw = frame.id().raw();
        let id: Id = if frame.id().is_extended() {
            ExtendedId::new(raw).map(Id::Extended)
        } else {
            u16::try_from(raw)
                .ok()
                .and_then(StandardId::new)
                .map(Id::Standard)
        }
        .ok_or(crate::FrameError::IdOutOfRange {
            id: raw,
            extended: frame.id().is_extended(),
        })?;
        let built = if frame.is_remote() {
            socketcan::CanFrame::new_remote(id, usize::from(frame.dlc()))
        } else {
            socketcan::CanFrame::new(id, frame.data())
        };
        built.ok_or(CanError::Frame(crate::FrameError::TooLong {
            len: usize::from(frame.dlc()),
        }))
    }

    /// Converts a received `socketcan` frame; error frames become [`CanError::Bus`].
    pub fn from_socketcan(frame: &socketcan::CanFrame) -> Result<CanFrame, CanError> {
        if let socketcan::CanFrame::Error(e) = frame {
            return Err(CanError::Bus {
                detail: e.into_error().to_string(),
            });
        }
        let id = match frame.id() {
            Id::Standard(id) => CanId::standard(id.as_raw()),
            Id::Extended(id) => CanId::extended(id.as_raw()),
        }?;
        let dlc = u8::try_from(frame.dlc()).unwrap_or(u8::MAX);
        Ok(if frame.is_remote_frame() {
            CanFrame::remote(id, dlc)?
        } else {
            CanFrame::new(id, frame.data())?
        })
    }

    /// A SocketCAN interface (`can0`, `vcan0`, `slcan0`).
    #[derive(Debug)]
    pub struct SocketCanTransport {
        iface: String,
        socket: socketcan::tokio::CanSocket,
        closed: watch::Sender<bool>,
    }

    /// Opens interface `iface` (it must exist and be up: `ip link set can0 up type can
    /// bitrate 500000`; bitrate configuration needs root and is left to the system).
    pub fn open(iface: &str) -> Result<SocketCanTransport, CanError> {
        let socket = socketcan::tokio::CanSocket::open(iface).map_err(|e| CanError::Open {
            what: iface.to_owned(),
            reason: e.to_string(),
        })?;
        Ok(SocketCanTransport {
            iface: iface.to_owned(),
            socket,
            closed: watch::channel(false).0,
        })
    }

    impl SocketCanTransport {
        /// The interface name.
        pub fn iface(&self) -> &str {
            &self.iface
        }

        fn check_open(&self) -> Result<(), CanError> {
            if *self.closed.borrow() {
                Err(CanError::Closed)
            } else {
                Ok(())
            }
        }
    }

    impl CanTransport for SocketCanTransport {
        async fn send(&self, frame: &CanFrame) -> Result<(), CanError> {
            self.check_open()?;
            let frame = to_socketcan(frame)?;
            Ok(self.socket.write_frame(frame).await?)
        }

        async fn recv(&self) -> Result<CanFrame, CanError> {
            self.check_open()?;
            let mut closed = self.closed.subscribe();
            tokio::select! {
                _ = closed.wait_for(|c| *c) => Err(CanError::Closed),
                frame = self.socket.read_frame() => from_socketcan(&frame?),
            }
        }

        async fn close(&self) -> Result<(), CanError> {
            let _ = self.closed.send(true);
            Ok(())
        }
    }
}

/// SocketCAN needs Linux.
#[cfg(not(target_os = "linux"))]
pub fn open(_iface: &str) -> Result<crate::AnyTransport, crate::CanError> {
    Err(crate::CanError::Unsupported("socketcan"))
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use socketcan::{EmbeddedFrame as _, ExtendedId, Id, StandardId};

    use super::{from_socketcan, to_socketcan};
    use crate::{CanError, CanFrame, CanId};

    #[test]
    fn data_and_remote_frames_convert_both_ways() {
        let frames = [
            CanFrame::new(CanId::standard(0x181).unwrap(), &[0x27, 0x06, 1, 2]).unwrap(),
            CanFrame::new(CanId::standard(0x000).unwrap(), &[]).unwrap(),
            CanFrame::new(CanId::extended(0x1FFF_FFFF).unwrap(), &[0xFF; 8]).unwrap(),
            CanFrame::remote(CanId::standard(0x705).unwrap(), 1).unwrap(),
            CanFrame::remote(CanId::extended(0x0123_4567).unwrap(), 8).unwrap(),
        ];
        for f in frames {
            let theirs = to_socketcan(&f).unwrap();
            assert_eq!(theirs.is_extended(), f.id().is_extended());
            assert_eq!(theirs.is_remote_frame(), f.is_remote());
            assert_eq!(theirs.dlc(), usize::from(f.dlc()));
            assert_eq!(from_socketcan(&theirs).unwrap(), f);
        }
    }

    #[test]
    fn their_frames_convert_to_ours() {
        let std_id = Id::Standard(StandardId::new(0x601).unwrap());
        let theirs = socketcan::CanFrame::new(std_id, &[0x40, 0x41, 0x60, 0]).unwrap();
        let ours = from_socketcan(&theirs).unwrap();
        assert_eq!(ours.id(), CanId::standard(0x601).unwrap());
        assert_eq!(ours.data(), [0x40, 0x41, 0x60, 0]);
        let ext = Id::Extended(ExtendedId::new(0x18FF_0001).unwrap());
        let theirs = socketcan::CanFrame::new_remote(ext, 3).unwrap();
        let ours = from_socketcan(&theirs).unwrap();
        assert!(ours.is_remote() && ours.id().is_extended() && ours.dlc() == 3);
    }

    #[test]
    fn error_frames_become_bus_errors() {
        let err = socketcan::CanErrorFrame::new_error(0x040, &[]).unwrap(); // CAN_ERR_BUSOFF
        let e = from_socketcan(&socketcan::CanFrame::Error(err)).unwrap_err();
        assert!(matches!(e, CanError::Bus { .. }), "{e}");
    }
}
