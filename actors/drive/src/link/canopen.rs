//! The CANopen adapter: the only file of the drive that knows objects and PDOs. The profile's
//! `[canopen] rpdo/tpdo` become the PDO sets the bus maps at boot; a cycle's TPDO values
//! become profile points; writes of RPDO-mapped points (controlword, targets) go into the
//! bus's RPDO image (sent after every SYNC, latched by the node at the next), every other write
//! and every acyclic read is an SDO transfer whose abort is the device's refusal.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use linevisor_bus::{Attach, BusError, BusEvent, BusHandle, Object, PdoBlock};
use linevisor_canopen::{MappingEntry, PdoKind, SdoAbort};
use linevisor_profile::{CodecError, PointValue, PointWrite, ProfileCodec, Sample};
use tokio::sync::mpsc;

use super::LinkError;
use crate::DeviceRefusal;

/// One drive's node on a CANopen bus.
#[derive(Debug, Clone)]
pub(crate) struct CanopenLink {
    codec: Arc<ProfileCodec>,
    bus: BusHandle,
    pub(crate) node: u8,
    blocks: Vec<PdoBlock>,
    /// TPDO-mapped points in sample order.
    tpdo_points: Vec<String>,
    /// RPDO-mapped points.
    rpdo_points: BTreeSet<String>,
}

fn unsupported(codec: &ProfileCodec, what: String) -> CodecError {
    CodecError::Unsupported {
        profile: codec.name().to_owned(),
        what,
    }
}

/// The object a point names.
fn object(codec: &ProfileCodec, name: &str) -> Result<(Object, u8), CodecError> {
    let p = codec
        .profile()
        .points
        .get(name)
        .ok_or_else(|| CodecError::UnknownPoint {
            section: "canopen".to_owned(),
            point: name.to_owned(),
        })?;
    let index = p
        .index
        .ok_or_else(|| unsupported(codec, format!("point {name:?} without an object index")))?;
    let bits = u8::try_from(p.data_type.bits()).unwrap_or(32);
    Ok((
        Object {
            index,
            subindex: p.subindex,
        },
        bits,
    ))
}

fn refusal(a: SdoAbort) -> LinkError {
    LinkError::Device(DeviceRefusal {
        code: a.code.0,
        // The abort's text already names the object and the code's meaning.
        meaning: a.to_string(),
    })
}

impl CanopenLink {
    /// The link of `node` with the profile's PDO sets.
    pub(crate) fn new(
        codec: Arc<ProfileCodec>,
        bus: BusHandle,
        node: u8,
    ) -> Result<Self, CodecError> {
        let section = codec
            .profile()
            .canopen
            .clone()
            .ok_or_else(|| unsupported(&codec, "a [canopen] section".into()))?;
        let mut blocks = Vec::new();
        let mut tpdo_points = Vec::new();
        let mut rpdo_points = BTreeSet::new();
        for (kind, sets) in [
            (PdoKind::Rpdo, &section.rpdo),
            (PdoKind::Tpdo, &section.tpdo),
        ] {
            for (i, names) in sets.iter().enumerate() {
                let mut entries = Vec::with_capacity(names.len());
                for name in names {
                    let (o, bits) = object(&codec, name)?;
                    entries.push(MappingEntry::new(o.index, o.subindex, bits));
                    match kind {
                        PdoKind::Rpdo => {
                            rpdo_points.insert(name.clone());
                        }
                        PdoKind::Tpdo => tpdo_points.push(name.clone()),
                    }
                }
                let number = u8::try_from(i + 1).unwrap_or(u8::MAX);
                blocks.push(PdoBlock {
                    kind,
                    number,
                    entries,
                });
            }
        }
        Ok(Self {
            codec,
            bus,
            node,
            blocks,
            tpdo_points,
            rpdo_points,
        })
    }

    /// Attaches the node with its PDO sets; one sample per SYNC goes to `sink`.
    pub(crate) async fn attach(
        &self,
        sink: mpsc::Sender<BusEvent>,
        period: Duration,
    ) -> Result<(), BusError> {
        let attach = Attach {
            unit: self.node,
            blocks: self.blocks.clone(),
            period,
            sink,
        };
        self.bus.attach_canopen(attach).await
    }

    /// Decodes one SYNC's TPDO values (one vector of little-endian words per mapped point).
    pub(crate) fn decode(&self, blocks: &[Vec<u16>]) -> Result<Sample, LinkError> {
        if blocks.len() != self.tpdo_points.len() {
            return Err(LinkError::Codec(CodecError::Blocks {
                expected: self.tpdo_points.len(),
                counts: Vec::new(),
                got: blocks.iter().map(Vec::len).collect(),
            }));
        }
        let mut sample = Sample::default();
        for (name, words) in self.tpdo_points.iter().zip(blocks) {
            let point = self.codec.point(name)?;
            let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
            let raw = point.le_bytes_to_raw(&bytes[..point.bytes().min(bytes.len())])?;
            sample.insert(name, PointValue::new(point, raw));
        }
        Ok(sample)
    }

    /// Reads `points` by SDO, one upload each.
    pub(crate) async fn read(&self, points: &[&str]) -> Result<Sample, LinkError> {
        let mut sample = Sample::default();
        for name in points {
            let point = self.codec.point(name)?;
            let (o, _) = object(&self.codec, name)?;
            let bytes = self.bus.sdo_upload(self.node, o).await?.map_err(refusal)?;
            let raw = point.le_bytes_to_raw(&bytes)?;
            sample.insert(name, PointValue::new(point, raw));
        }
        Ok(sample)
    }

    /// Writes in order: RPDO-mapped points into the RPDO image, the others by SDO.
    pub(crate) async fn write(&self, writes: &[PointWrite]) -> Result<(), LinkError> {
        for w in writes {
            let point = self.codec.point(&w.point)?;
            let (o, _) = object(&self.codec, &w.point)?;
            if self.rpdo_points.contains(&w.point) {
                self.bus.rpdo_write(self.node, o, u64::from(w.raw)).await?;
            } else {
                let data = point.raw_to_le_bytes(w.raw);
                self.bus
                    .sdo_download(self.node, o, data)
                    .await?
                    .map_err(refusal)?;
            }
        }
        Ok(())
    }
}
