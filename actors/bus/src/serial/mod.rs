//! The plain serial bus kind (`serial`): one actor per serial line, the sole owner of its
//! port, carrying request/response exchanges that the drives' profiles describe (ASCII lines,
//! binary checksummed frames; `linevisor-serial`). The actor is a thin front; the port task
//! (`port/`) runs one exchange at a time with the response timeout, retries, the inter-request
//! gap and echo suppression, and shares the poll scheduler, the per-unit breakers and the
//! metrics with Modbus. `drive_link.rs` turns a drive's profile points into exchanges.

mod actor;
mod drive_link;
mod exchange;
mod port;
mod spec;
mod start;

use std::sync::Arc;

use linevisor_config::model::Protocol;
use linevisor_profile::ProfileCodec;
use linevisor_serial::{Reply, SerialError};
use ractor::RpcReplyPort;

pub use actor::{SerialArgs, SerialBus, SerialMsg, SerialState};
pub use exchange::{Exchange, SerialDrive, SerialLinkError, SerialResult};
pub use start::SerialStart;

use crate::drive_link::{DriveLink, LinkSetupError, check_link};
use crate::handle::{BusKind, Handle};
use crate::scheduler::{PlannedRead, PollPlan};
use crate::{Attach, BusError, BusMetrics, Refusal};

/// The serial kind, for [`Handle`].
#[derive(Debug)]
pub struct Serial;

/// A handle on a serial bus.
pub type SerialHandle = Handle<Serial>;

impl BusKind for Serial {
    type Msg = SerialMsg;
    type Block = Exchange;
    type Options = ();
    const NAME: &'static str = "serial";

    fn attach(
        attach: Attach<Exchange>,
        (): (),
        reply: RpcReplyPort<Result<(), BusError>>,
    ) -> SerialMsg {
        SerialMsg::Attach(attach, reply)
    }
    fn detach(unit: u8) -> SerialMsg {
        SerialMsg::Detach(unit)
    }
    fn metrics(reply: RpcReplyPort<BusMetrics>) -> SerialMsg {
        SerialMsg::Metrics(reply)
    }
    fn stop(reply: Option<RpcReplyPort<()>>) -> SerialMsg {
        SerialMsg::Stop(reply)
    }
    fn drive_link(
        handle: &SerialHandle,
        codec: Arc<ProfileCodec>,
        address: u32,
    ) -> Result<Arc<dyn DriveLink>, LinkSetupError> {
        let address = check_link(
            &codec,
            Protocol::Serial,
            Self::NAME,
            address,
            (1, 255, "serial address"),
        )?;
        Ok(Arc::new(drive_link::SerialLink::new(
            codec,
            handle.clone(),
            address,
        )?))
    }
}

/// Every polled point is its own exchange; its value comes back as four words.
impl PollPlan for Serial {
    type Block = Exchange;
    type Request = Exchange;
    type Options = ();

    fn plan(blocks: &[Exchange], (): &()) -> Vec<PlannedRead<Exchange>> {
        blocks
            .iter()
            .enumerate()
            .map(|(i, e)| PlannedRead {
                request: e.clone(),
                parts: vec![(i, 0)],
                padded: false,
            })
            .collect()
    }

    fn words(_: &Exchange) -> usize {
        VALUE_WORDS
    }
}

/// Words carrying one raw value in a sample.
const VALUE_WORDS: usize = 4;

/// A raw value as sample words, least significant first.
pub(crate) fn value_words(v: i64) -> Vec<u16> {
    (0..VALUE_WORDS).map(|i| (v >> (16 * i)) as u16).collect()
}

/// The raw value sample words carry.
pub(crate) fn words_value(words: &[u16]) -> Option<i64> {
    (words.len() == VALUE_WORDS).then(|| {
        words
            .iter()
            .enumerate()
            .fold(0i64, |v, (i, w)| v | (i64::from(*w) << (16 * i)))
    })
}

/// A NAK or refused status as the device's refusal, naming the drive's address.
pub(crate) fn refusal(address: u8, e: &SerialError) -> Refusal {
    let code = match e {
        SerialError::Nak { code } => code.unwrap_or(0),
        SerialError::Status { status, .. } => u32::try_from(*status).unwrap_or(u32::MAX),
        _ => 0,
    };
    Refusal {
        code,
        meaning: format!("address {address}: {e}"),
    }
}

impl SerialHandle {
    /// One acyclic exchange with the drive at `unit`, ahead of any cyclic poll.
    pub async fn exchange(
        &self,
        unit: u8,
        exchange: Exchange,
    ) -> Result<Result<Reply, SerialError>, BusError> {
        self.call(|reply| SerialMsg::Exchange {
            unit,
            exchange,
            reply,
        })
        .await?
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn a_value_survives_its_sample_words(v in any::<i64>()) {
            prop_assert_eq!(words_value(&value_words(v)), Some(v));
        }
    }
}
