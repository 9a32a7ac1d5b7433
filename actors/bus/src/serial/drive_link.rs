//! A drive on a serial line: the only code that turns profile points into serial exchanges.
//! Every polled point with a read request is one poll exchange per cycle; acyclic reads and
//! writes are one exchange per point; a NAK or a refused status is the device's refusal.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use linevisor_core::profile::Point;
use linevisor_profile::{CodecError, PointValue, PointWrite, ProfileCodec, Sample as Points};
use linevisor_serial::number::as_type;
use linevisor_serial::{Op, Reply, SerialError};
use tokio::sync::mpsc;

use super::{Exchange, SerialDrive, SerialHandle, refusal, words_value};
use crate::drive_link::{DriveLink, PointError};
use crate::handle::BoxFuture;
use crate::{Attach, BusError, BusEvent};

#[derive(Debug)]
pub(super) struct SerialLink {
    codec: Arc<ProfileCodec>,
    bus: SerialHandle,
    address: u8,
    drive: Arc<SerialDrive>,
    points: BTreeMap<String, Arc<Point>>,
    /// Polled points that have a read request, in sample order.
    polled: Vec<String>,
}

impl SerialLink {
    pub(super) fn new(
        codec: Arc<ProfileCodec>,
        bus: SerialHandle,
        address: u8,
    ) -> Result<Self, CodecError> {
        let p = codec.profile();
        let section = p.serial.clone().unwrap_or_default();
        let unsupported = |what: String| CodecError::Unsupported {
            profile: codec.name().to_owned(),
            what,
        };
        let drive = SerialDrive::new(&section, u32::from(address))
            .map_err(|e| unsupported(format!("its [serial] section ({e})")))?;
        let points: BTreeMap<String, Arc<Point>> = p
            .points
            .iter()
            .map(|(n, pt)| (n.clone(), Arc::new(pt.clone())))
            .collect();
        let mut polled: Vec<String> = Vec::new();
        for name in p.poll.iter().flat_map(|poll| &poll.points) {
            if !polled.contains(name) && points.get(name).is_some_and(|pt| pt.read.is_some()) {
                polled.push(name.clone());
            }
        }
        Ok(Self {
            drive: Arc::new(drive),
            codec,
            bus,
            address,
            points,
            polled,
        })
    }

    /// The exchanges of `op` on the point `name`, in order.
    fn exchanges(&self, name: &str, op: Op) -> Result<Vec<Exchange>, PointError> {
        let point = self
            .points
            .get(name)
            .ok_or_else(|| CodecError::UnknownPoint {
                section: "points".to_owned(),
                point: name.to_owned(),
            })?;
        Exchange::all(&self.drive, point, op).map_err(|e| {
            PointError::Codec(CodecError::Unsupported {
                profile: self.codec.name().to_owned(),
                what: format!("point {name:?}: {e}"),
            })
        })
    }

    /// A read: always one request (the checks reject read sequences).
    fn read_exchange(&self, name: &str) -> Result<Exchange, PointError> {
        let mut all = self.exchanges(name, Op::Read)?;
        if all.len() != 1 {
            return Err(PointError::Codec(CodecError::Unsupported {
                profile: self.codec.name().to_owned(),
                what: format!("point {name:?}: a read of {} requests", all.len()),
            }));
        }
        Ok(all.remove(0))
    }

    /// A raw value as the drive sent it, as the profile codec's bit pattern.
    fn value(&self, name: &str, raw: i64) -> Result<PointValue, PointError> {
        let point = self.codec.point(name)?;
        let raw = as_type(raw, point.data_type());
        // Two's complement at the type's width: the codec's `u32` raw convention.
        Ok(PointValue::new(point, raw as u32))
    }

    fn answer(&self, e: SerialError) -> PointError {
        PointError::Device(refusal(self.address, &e))
    }

    async fn read_points(&self, names: &[&str]) -> Result<Points, PointError> {
        let mut sample = Points::default();
        for name in names {
            let exchange = self.read_exchange(name)?;
            match self.bus.exchange(self.address, exchange).await? {
                Ok(Reply::Value(v)) => sample.insert(name, self.value(name, v)?),
                Ok(other) => return Err(self.not_a_value(name, other)),
                Err(e) => return Err(self.answer(e)),
            }
        }
        Ok(sample)
    }

    async fn write_points(&self, writes: &[PointWrite]) -> Result<(), PointError> {
        for w in writes {
            let point = self.codec.point(&w.point)?;
            let raw = as_type(i64::from(w.raw), point.data_type());
            // A sequence stops at the first step the drive refuses.
            for exchange in self.exchanges(&w.point, Op::Write(raw))? {
                self.bus
                    .exchange(self.address, exchange)
                    .await?
                    .map_err(|e| self.answer(e))?;
            }
        }
        Ok(())
    }

    fn not_a_value(&self, name: &str, reply: Reply) -> PointError {
        PointError::Bus(BusError::Serial {
            bus: self.bus.bus().to_owned(),
            source: super::SerialLinkError::Reply {
                address: self.address,
                source: SerialError::Garbage {
                    text: format!("{reply:?} to the read of {name}"),
                },
            },
        })
    }
}

impl DriveLink for SerialLink {
    fn unit(&self) -> u8 {
        self.address
    }

    fn attach(
        &self,
        sink: mpsc::Sender<BusEvent>,
        period: Duration,
    ) -> BoxFuture<'_, Result<(), BusError>> {
        let blocks: Result<Vec<Exchange>, PointError> = self
            .polled
            .iter()
            .map(|name| self.read_exchange(name))
            .collect();
        Box::pin(async move {
            let blocks = blocks.map_err(|e| BusError::InvalidAttach {
                bus: self.bus.bus().to_owned(),
                unit: self.address,
                reason: e.to_string(),
            })?;
            let attach = Attach {
                unit: self.address,
                blocks,
                period,
                sink,
            };
            self.bus.attach(attach).await
        })
    }

    fn decode(&self, blocks: &[Vec<u16>]) -> Result<Points, PointError> {
        if blocks.len() != self.polled.len() {
            return Err(PointError::Codec(CodecError::Blocks {
                expected: self.polled.len(),
                counts: Vec::new(),
                got: blocks.iter().map(Vec::len).collect(),
            }));
        }
        let mut sample = Points::default();
        for (name, words) in self.polled.iter().zip(blocks) {
            let raw = words_value(words).ok_or_else(|| CodecError::Blocks {
                expected: self.polled.len(),
                counts: Vec::new(),
                got: blocks.iter().map(Vec::len).collect(),
            })?;
            sample.insert(name, self.value(name, raw)?);
        }
        Ok(sample)
    }

    fn read<'a>(&'a self, points: &'a [&'a str]) -> BoxFuture<'a, Result<Points, PointError>> {
        Box::pin(self.read_points(points))
    }

    fn write<'a>(&'a self, writes: &'a [PointWrite]) -> BoxFuture<'a, Result<(), PointError>> {
        Box::pin(self.write_points(writes))
    }
}
