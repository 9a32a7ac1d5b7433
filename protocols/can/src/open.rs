//! The one registration point for transports: a [`TransportKind`] variant and its arm in
//! [`open`]. Adding a transport is its own file plus one variant and one arm here.

use std::fmt;

use crate::slcan::{Bitrate, SlcanConfig, SlcanTransport};
use crate::{AnyTransport, CanError, VirtualBus};

/// Which CAN interface to open, as a bus configuration names it.
#[derive(Clone)]
pub enum TransportKind {
    /// A serial-line (slcan) adapter: CANable, USBtin, CANUSB.
    Slcan {
        /// Serial device, e.g. `/dev/ttyACM0`.
        path: String,
        /// Serial baud rate (USB CDC adapters ignore it; UART bridges need ≥ 1 Mbaud).
        serial_baud: u32,
        /// CAN bitrate.
        bitrate: Bitrate,
    },
    /// A native SocketCAN interface, e.g. `can0` (Linux only).
    SocketCan {
        /// Interface name.
        iface: String,
    },
    /// An endpoint on an in-memory bus (tests and the in-process simulator).
    Virtual(VirtualBus),
}

impl fmt::Debug for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportKind::Slcan {
                path,
                serial_baud,
                bitrate,
            } => write!(f, "slcan {path} @ {serial_baud} baud, {bitrate:?}"),
            TransportKind::SocketCan { iface } => write!(f, "socketcan {iface}"),
            TransportKind::Virtual(_) => f.write_str("virtual bus"),
        }
    }
}

/// Opens the transport `kind` names.
pub async fn open(kind: &TransportKind) -> Result<AnyTransport, CanError> {
    Ok(match kind {
        TransportKind::Slcan {
            path,
            serial_baud,
            bitrate,
        } => {
            let config = SlcanConfig::new(path.clone(), *bitrate);
            Box::new(SlcanTransport::open_serial(path, *serial_baud, config).await?)
        }
        TransportKind::SocketCan { iface } => Box::new(crate::socketcan::open(iface)?),
        TransportKind::Virtual(bus) => Box::new(bus.endpoint()),
    })
}
