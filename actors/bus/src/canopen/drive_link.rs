//! A drive's node on a CANopen bus: the only code that knows objects and PDOs. The profile's
//! `[canopen] rpdo/tpdo` become the PDO sets the bus maps at boot; a cycle's TPDO values
//! become profile points; writes of RPDO-mapped points (controlword, targets) go into the
//! bus's RPDO image (sent after every SYNC, latched by the node at the next), every other write
//! and every acyclic read is an SDO transfer whose abort is the device's refusal.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use linevisor_canopen::{MappingEntry, MappingPolicy, PdoKind, SdoAbort};
use linevisor_config::model::PdoMappingPolicy;
use linevisor_profile::{CodecError, PointValue, PointWrite, ProfileCodec, Sample as Points};
use tokio::sync::mpsc;

use super::{CanopenHandle, Object, PdoBlock};
use crate::drive_link::{DriveLink, PointError, Refusal};
use crate::handle::BoxFuture;
use crate::{Attach, BusError, BusEvent};

#[derive(Debug, Clone)]
pub(super) struct CanopenLink {
    codec: Arc<ProfileCodec>,
    bus: CanopenHandle,
    node: u8,
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

fn refusal(a: SdoAbort) -> PointError {
    PointError::Device(Refusal {
        code: a.code.0,
        // The abort's text already names the object and the code's meaning.
        meaning: a.to_string(),
    })
}

impl CanopenLink {
    /// The link of `node` with the profile's PDO sets.
    pub(super) fn new(
        codec: Arc<ProfileCodec>,
        bus: CanopenHandle,
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
                    policy: match section.pdo_mapping {
                        PdoMappingPolicy::Auto => MappingPolicy::Auto,
                        PdoMappingPolicy::Verify => MappingPolicy::Verify,
                        PdoMappingPolicy::Configure => MappingPolicy::Configure,
                    },
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

    /// Decodes one SYNC's TPDO values (one vector of little-endian words per mapped point).
    fn decode_pdos(&self, blocks: &[Vec<u16>]) -> Result<Points, PointError> {
        if blocks.len() != self.tpdo_points.len() {
            return Err(PointError::Codec(CodecError::Blocks {
                expected: self.tpdo_points.len(),
                counts: Vec::new(),
                got: blocks.iter().map(Vec::len).collect(),
            }));
        }
        let mut sample = Points::default();
        for (name, words) in self.tpdo_points.iter().zip(blocks) {
            let point = self.codec.point(name)?;
            let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
            let raw = point.le_bytes_to_raw(&bytes[..point.bytes().min(bytes.len())])?;
            sample.insert(name, PointValue::new(point, raw));
        }
        Ok(sample)
    }

    /// Reads `points` by SDO, one upload each.
    async fn read_points(&self, points: &[&str]) -> Result<Points, PointError> {
        let mut sample = Points::default();
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
    async fn write_points(&self, writes: &[PointWrite]) -> Result<(), PointError> {
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

impl DriveLink for CanopenLink {
    fn unit(&self) -> u8 {
        self.node
    }

    /// A node is booted by its bus (NMT, PDO mapping): start-up waits for its first cycle.
    fn up_with_first_cycle(&self) -> bool {
        true
    }

    /// Attaches the node with its PDO sets; one sample per SYNC goes to `sink`.
    fn attach(
        &self,
        sink: mpsc::Sender<BusEvent>,
        period: Duration,
    ) -> BoxFuture<'_, Result<(), BusError>> {
        let attach = Attach {
            unit: self.node,
            blocks: self.blocks.clone(),
            period,
            sink,
        };
        Box::pin(self.bus.attach(attach))
    }

    fn decode(&self, blocks: &[Vec<u16>]) -> Result<Points, PointError> {
        self.decode_pdos(blocks)
    }

    fn read<'a>(&'a self, points: &'a [&'a str]) -> BoxFuture<'a, Result<Points, PointError>> {
        Box::pin(self.read_points(points))
    }

    fn write<'a>(&'a self, writes: &'a [PointWrite]) -> BoxFuture<'a, Result<(), PointError>> {
        Box::pin(self.write_points(writes))
    }
}
