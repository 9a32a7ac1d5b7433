//! NMT (protocols.md §3.2): commands on 0x000, node states, boot-up and heartbeat frames.

use std::fmt;

use linevisor_can::CanFrame;

use crate::cob::{Cob, NodeId};

/// An NMT command (byte 0 of the 0x000 frame).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NmtCommand {
    /// 0x01: → operational.
    Start,
    /// 0x02: → stopped.
    Stop,
    /// 0x80: → pre-operational.
    EnterPreOperational,
    /// 0x81: application reset; the node boots again with factory parameters.
    ResetNode,
    /// 0x82: communication reset; the node boots again.
    ResetCommunication,
}

impl NmtCommand {
    /// The command specifier.
    pub const fn code(self) -> u8 {
        match self {
            NmtCommand::Start => 0x01,
            NmtCommand::Stop => 0x02,
            NmtCommand::EnterPreOperational => 0x80,
            NmtCommand::ResetNode => 0x81,
            NmtCommand::ResetCommunication => 0x82,
        }
    }

    /// The command for specifier `cs`.
    pub const fn from_code(cs: u8) -> Option<NmtCommand> {
        Some(match cs {
            0x01 => NmtCommand::Start,
            0x02 => NmtCommand::Stop,
            0x80 => NmtCommand::EnterPreOperational,
            0x81 => NmtCommand::ResetNode,
            0x82 => NmtCommand::ResetCommunication,
            _ => return None,
        })
    }

    /// The frame `[cs, node]`; `None` addresses every node (node 0).
    pub fn frame(self, node: Option<NodeId>) -> CanFrame {
        let data = [self.code(), node.map_or(0, NodeId::get)];
        frame(Cob::Nmt, &data)
    }

    /// Parses an NMT command frame: the command and its target (`None` = all nodes).
    pub fn parse(data: &[u8]) -> Option<(NmtCommand, Option<NodeId>)> {
        let [cs, node] = data else { return None };
        let cmd = NmtCommand::from_code(*cs)?;
        match node {
            0 => Some((cmd, None)),
            n => NodeId::new(*n).ok().map(|n| (cmd, Some(n))),
        }
    }
}

/// A node's NMT state, as its heartbeat reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NmtState {
    /// 0: boot-up (the node just (re)started).
    BootUp,
    /// 4.
    Stopped,
    /// 5: PDOs flow.
    Operational,
    /// 127: SDO only.
    PreOperational,
    /// Any other value.
    Unknown(u8),
}

impl NmtState {
    /// The state byte.
    pub const fn code(self) -> u8 {
        match self {
            NmtState::BootUp => 0,
            NmtState::Stopped => 4,
            NmtState::Operational => 5,
            NmtState::PreOperational => 127,
            NmtState::Unknown(v) => v,
        }
    }

    /// The state for a heartbeat byte (bit 7, the guarding toggle, ignored).
    pub const fn from_code(v: u8) -> NmtState {
        match v & 0x7F {
            0 => NmtState::BootUp,
            4 => NmtState::Stopped,
            5 => NmtState::Operational,
            127 => NmtState::PreOperational,
            other => NmtState::Unknown(other),
        }
    }
}

impl fmt::Display for NmtState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NmtState::BootUp => f.write_str("boot-up"),
            NmtState::Stopped => f.write_str("stopped"),
            NmtState::Operational => f.write_str("operational"),
            NmtState::PreOperational => f.write_str("pre-operational"),
            NmtState::Unknown(v) => write!(f, "state {v}"),
        }
    }
}

/// A heartbeat (or boot-up, state 0) frame of `node`.
pub fn heartbeat_frame(node: NodeId, state: NmtState) -> CanFrame {
    frame(Cob::Heartbeat(node), &[state.code()])
}

/// A frame on a predefined COB, data cut to 8 bytes (callers pass at most 8).
pub(crate) fn frame(cob: Cob, data: &[u8]) -> CanFrame {
    let data = &data[..data.len().min(8)];
    // Not input: the length is bounded just above, so construction cannot fail.
    CanFrame::new(cob.id(), data).expect("at most 8 data bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_states_round_trip() {
        let n = NodeId::new(5).unwrap();
        for cmd in [
            NmtCommand::Start,
            NmtCommand::Stop,
            NmtCommand::EnterPreOperational,
            NmtCommand::ResetNode,
            NmtCommand::ResetCommunication,
        ] {
            let f = cmd.frame(Some(n));
            assert_eq!(f.id().raw(), 0);
            assert_eq!(NmtCommand::parse(f.data()), Some((cmd, Some(n))));
        }
        assert_eq!(NmtCommand::Start.frame(None).data(), [1, 0]);
        assert_eq!(NmtCommand::parse(&[0x03, 1]), None);
        for s in [0u8, 4, 5, 127, 9] {
            assert_eq!(NmtState::from_code(s).code(), s);
        }
        assert_eq!(NmtState::from_code(0x85), NmtState::Operational);
        let hb = heartbeat_frame(n, NmtState::PreOperational);
        assert_eq!((hb.id().raw(), hb.data()), (0x705, &[0x7F][..]));
    }
}
