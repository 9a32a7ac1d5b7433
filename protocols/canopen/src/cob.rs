//! Node ids and COB-IDs of the CiA 301 predefined connection set (protocols.md §3.1).

use std::fmt;

use linevisor_can::CanId;

/// A CANopen node id, 1–127.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(u8);

/// A node id outside 1–127.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("node id {0} outside 1..=127")]
pub struct InvalidNodeId(pub u8);

impl NodeId {
    /// Node `id` (1–127).
    pub const fn new(id: u8) -> Result<NodeId, InvalidNodeId> {
        if id >= 1 && id <= 127 {
            Ok(NodeId(id))
        } else {
            Err(InvalidNodeId(id))
        }
    }

    /// The raw id.
    pub const fn get(self) -> u8 {
        self.0
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl TryFrom<u8> for NodeId {
    type Error = InvalidNodeId;
    fn try_from(id: u8) -> Result<Self, Self::Error> {
        NodeId::new(id)
    }
}

/// NMT command.
pub const NMT: u16 = 0x000;
/// SYNC.
pub const SYNC: u16 = 0x080;
/// EMCY base (+ node id).
pub const EMCY: u16 = 0x080;
/// TPDO1 base; TPDOn = 0x180 + 0x100·(n−1) + node id.
pub const TPDO1: u16 = 0x180;
/// RPDO1 base; RPDOn = 0x200 + 0x100·(n−1) + node id.
pub const RPDO1: u16 = 0x200;
/// SDO server → client (+ node id).
pub const SDO_TX: u16 = 0x580;
/// SDO client → server (+ node id).
pub const SDO_RX: u16 = 0x600;
/// NMT error control: boot-up, heartbeat, node guarding (+ node id).
pub const HEARTBEAT: u16 = 0x700;

/// What a standard frame is in the predefined connection set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cob {
    /// 0x000.
    Nmt,
    /// 0x080.
    Sync,
    /// 0x100 (TIME).
    Time,
    /// 0x081–0x0FF.
    Emcy(NodeId),
    /// TPDO 1–4 of a node (node → master).
    Tpdo(u8, NodeId),
    /// RPDO 1–4 of a node (master → node).
    Rpdo(u8, NodeId),
    /// SDO response, 0x580 + id.
    SdoTx(NodeId),
    /// SDO request, 0x600 + id.
    SdoRx(NodeId),
    /// Boot-up, heartbeat or guarding, 0x700 + id.
    Heartbeat(NodeId),
}

impl Cob {
    /// Classifies a CAN id; `None` for extended ids and ids outside the predefined set.
    pub fn classify(id: CanId) -> Option<Cob> {
        if id.is_extended() {
            return None;
        }
        let raw = id.raw() as u16;
        match raw {
            NMT => return Some(Cob::Nmt),
            SYNC => return Some(Cob::Sync),
            0x100 => return Some(Cob::Time),
            _ => {}
        }
        let node = NodeId::new((raw & 0x7F) as u8).ok()?;
        Some(match raw & 0x780 {
            0x080 => Cob::Emcy(node),
            0x180 | 0x280 | 0x380 | 0x480 => Cob::Tpdo(((raw - TPDO1) >> 8) as u8 + 1, node),
            0x200 | 0x300 | 0x400 | 0x500 => Cob::Rpdo(((raw - RPDO1) >> 8) as u8 + 1, node),
            0x580 => Cob::SdoTx(node),
            0x600 => Cob::SdoRx(node),
            0x700 => Cob::Heartbeat(node),
            _ => return None,
        })
    }

    /// The CAN id of this object.
    pub fn id(self) -> CanId {
        let pdo = |base: u16, n: u8| base + 0x100 * u16::from(n.clamp(1, 4) - 1);
        let raw = match self {
            Cob::Nmt => NMT,
            Cob::Sync => SYNC,
            Cob::Time => 0x100,
            Cob::Emcy(n) => EMCY + u16::from(n.get()),
            Cob::Tpdo(p, n) => pdo(TPDO1, p) + u16::from(n.get()),
            Cob::Rpdo(p, n) => pdo(RPDO1, p) + u16::from(n.get()),
            Cob::SdoTx(n) => SDO_TX + u16::from(n.get()),
            Cob::SdoRx(n) => SDO_RX + u16::from(n.get()),
            Cob::Heartbeat(n) => HEARTBEAT + u16::from(n.get()),
        };
        CanId::standard_masked(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_standard_id_classifies_back_to_itself() {
        for raw in 0..=0x7FFu16 {
            let id = CanId::standard_masked(raw);
            if let Some(cob) = Cob::classify(id) {
                assert_eq!(cob.id(), id, "{cob:?}");
            }
        }
        let n5 = NodeId::new(5).unwrap();
        assert_eq!(
            Cob::classify(CanId::standard_masked(0x385)),
            Some(Cob::Tpdo(3, n5))
        );
        assert_eq!(
            Cob::classify(CanId::standard_masked(0x505)),
            Some(Cob::Rpdo(4, n5))
        );
        assert_eq!(
            Cob::classify(CanId::standard_masked(0x080)),
            Some(Cob::Sync)
        );
        assert_eq!(Cob::classify(CanId::standard_masked(0x700)), None);
        assert!(NodeId::new(0).is_err() && NodeId::new(128).is_err());
    }
}
