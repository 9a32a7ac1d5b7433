//! slcan (Lawicel ASCII) adapters: the codec, the transport over a serial port or any byte
//! stream, and an adapter emulator for tests and the simulator (protocols.md §4).

pub mod codec;
mod decoder;
mod driver;
pub mod emulator;
mod transport;

pub use codec::{Bitrate, Command, DecodeError, Reply};
pub use decoder::{Decoder, Unit};
pub use emulator::{AckStyle, EmulatorConfig, EmulatorHandle};
pub use transport::{LinkState, SlcanConfig, SlcanStats, SlcanTransport};
