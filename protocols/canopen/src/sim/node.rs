//! The simulated node's behaviour, free of I/O: frames in, frames out, time passed in.
//! NMT state machine with boot-up, SDO server, PDOs as mapped (RPDO latched at SYNC, TPDO
//! sent after SYNC), CiA 402 through linevisor-cia402's `SimulatedDrive`, EMCY on fault.

use std::time::Duration;

use linevisor_can::CanFrame;
use linevisor_cia402::device::{DriveParameters, SimulatedDrive};
use linevisor_cia402::{Controlword, ModeOfOperation, PowerState};
use tokio::time::Instant;

use super::od::{self, Identity, ObjectDictionary};
use super::sdo_server::{ObjectAccess, SdoServer};
use crate::abort::AbortCode;
use crate::cob::{Cob, NodeId};
use crate::emcy::Emcy;
use crate::nmt::{NmtCommand, NmtState, frame, heartbeat_frame};
use crate::pdo::{COB_ID_INVALID, MappingEntry};

/// Factory settings of a simulated node.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub node: NodeId,
    /// Identity (0x1018); the serial number changes on [`SimNode::power_cycle`].
    pub identity: Identity,
    /// Factory heartbeat period (0x1017, ms; 0 = off).
    pub heartbeat_ms: u16,
    /// Drive characteristics.
    pub drive: DriveParameters,
    /// A drive whose PDOs are fixed: these mappings (valid, every SYNC), and every PDO
    /// communication and mapping object read-only. Empty: writable PDOs (the default).
    pub fixed_pdo: Vec<(crate::PdoKind, u8, Vec<crate::MappingEntry>)>,
}

impl NodeConfig {
    /// A servo at `node` with a 100 ms heartbeat.
    pub fn new(node: NodeId) -> Self {
        Self {
            node,
            identity: Identity {
                vendor_id: 0x4C56_0000,
                product_code: 0x0402,
                revision: 1,
                serial: 0x1000 + u32::from(node.get()),
            },
            heartbeat_ms: 100,
            drive: DriveParameters::default(),
            fixed_pdo: Vec::new(),
        }
    }
}

/// A simulated CiA 402 CANopen node.
#[derive(Debug)]
pub struct SimNode {
    config: NodeConfig,
    od: ObjectDictionary,
    sdo: SdoServer,
    nmt: NmtState,
    drive: SimulatedDrive,
    latched: [Option<Vec<u8>>; 4],
    sync_count: [u32; 4],
    last_tpdo: [Option<Vec<u8>>; 4],
    last_step: Instant,
    fault_reported: bool,
    /// SDO writes accepted, in order: (index, subindex, data).
    pub sdo_writes: Vec<(u16, u8, Vec<u8>)>,
}

impl SimNode {
    /// A node just powered up; call [`SimNode::boot`] to get its boot-up frame.
    pub fn new(config: NodeConfig, now: Instant) -> Self {
        let mut od = od::factory(config.node, config.identity, config.heartbeat_ms);
        if !config.fixed_pdo.is_empty() {
            od::fix_pdos(&mut od, config.node, &config.fixed_pdo);
        }
        Self {
            drive: SimulatedDrive::new(config.drive.clone()),
            config,
            od,
            sdo: SdoServer::default(),
            nmt: NmtState::BootUp,
            latched: Default::default(),
            sync_count: [0; 4],
            last_tpdo: Default::default(),
            last_step: now,
            fault_reported: false,
            sdo_writes: Vec::new(),
        }
    }

    /// Initialisation done: pre-operational, boot-up message.
    pub fn boot(&mut self) -> Vec<CanFrame> {
        self.nmt = NmtState::PreOperational;
        self.latched = Default::default();
        self.sync_count = [0; 4];
        self.last_tpdo = Default::default();
        vec![heartbeat_frame(self.config.node, NmtState::BootUp)]
    }

    pub fn node(&self) -> NodeId {
        self.config.node
    }

    /// NMT state.
    pub fn nmt_state(&self) -> NmtState {
        self.nmt
    }

    /// The drive model.
    pub fn drive(&self) -> &SimulatedDrive {
        &self.drive
    }

    /// Serial number in 0x1018 sub 4.
    pub fn serial(&self) -> u32 {
        self.od.u32(0x1018, 4)
    }

    /// The heartbeat period now in 0x1017 (`None` = off).
    pub fn heartbeat_period(&self) -> Option<Duration> {
        let ms = self.od.u32(0x1017, 0);
        (ms > 0).then(|| Duration::from_millis(ms.into()))
    }

    /// The heartbeat frame.
    pub fn heartbeat(&self) -> CanFrame {
        heartbeat_frame(self.config.node, self.nmt)
    }

    /// Fault injection: the drive faults with `code` (0x603F); EMCY follows.
    pub fn inject_fault(&mut self, code: u16, now: Instant) -> Vec<CanFrame> {
        self.advance(now);
        self.drive.inject_fault(code);
        self.emcy().into_iter().collect()
    }

    /// Fault injection: power cycle or unit swap. Factory parameters, a new serial number,
    /// a fresh drive, boot-up again.
    pub fn power_cycle(&mut self, now: Instant) -> Vec<CanFrame> {
        let mut config = self.config.clone();
        config.identity.serial = self.serial().wrapping_add(0x100);
        let writes = std::mem::take(&mut self.sdo_writes);
        *self = SimNode::new(config, now);
        self.sdo_writes = writes;
        self.boot()
    }

    /// Handles one received frame; returns the frames to send.
    pub fn handle(&mut self, f: &CanFrame, now: Instant) -> Vec<CanFrame> {
        let mut out = Vec::new();
        if f.is_remote() {
            return out;
        }
        let me = self.config.node;
        match Cob::classify(f.id()) {
            Some(Cob::Nmt) => {
                if let Some((cmd, target)) = NmtCommand::parse(f.data())
                    && target.is_none_or(|t| t == me)
                {
                    out.extend(self.nmt_command(cmd, now));
                }
            }
            Some(Cob::SdoRx(n)) if n == me && self.nmt != NmtState::Stopped => {
                self.advance(now);
                let mut server = std::mem::take(&mut self.sdo);
                let response = server.handle(f.data(), &mut Access { node: self });
                self.sdo = server;
                if let Some(r) = response {
                    out.push(frame(Cob::SdoTx(me), &r.encode()));
                }
                out.extend(self.emcy());
            }
            Some(Cob::Sync) if self.nmt == NmtState::Operational => {
                out.extend(self.sync(now));
            }
            _ if self.nmt == NmtState::Operational => {
                if let Some(p) = self.rpdo_for(f.id().raw()) {
                    let immediate = self.od.u32(0x1400 + p as u16, 2) >= 254;
                    if immediate {
                        self.advance(now);
                        self.apply_rpdo(p, f.data());
                        out.extend(self.emcy());
                    } else {
                        self.latched[p] = Some(f.data().to_vec());
                    }
                }
            }
            _ => {}
        }
        if self.nmt == NmtState::Operational {
            out.extend(self.event_tpdos());
        }
        out
    }

    /// Steps the drive model up to `now` (10 ms steps at most).
    pub fn advance(&mut self, now: Instant) {
        let mut dt = now.saturating_duration_since(self.last_step).as_secs_f64();
        self.last_step = now;
        loop {
            let step = dt.min(0.01);
            self.drive.step(step);
            dt -= step;
            if dt <= 0.0 {
                break;
            }
        }
    }

    fn nmt_command(&mut self, cmd: NmtCommand, now: Instant) -> Vec<CanFrame> {
        match cmd {
            NmtCommand::Start => self.nmt = NmtState::Operational,
            NmtCommand::Stop => self.nmt = NmtState::Stopped,
            NmtCommand::EnterPreOperational => self.nmt = NmtState::PreOperational,
            NmtCommand::ResetNode => {
                let serial = self.serial();
                let mut config = self.config.clone();
                config.identity.serial = serial;
                let writes = std::mem::take(&mut self.sdo_writes);
                *self = SimNode::new(config, now);
                self.sdo_writes = writes;
                return self.boot();
            }
            NmtCommand::ResetCommunication => {
                let factory = od::factory(
                    self.config.node,
                    self.config.identity,
                    self.config.heartbeat_ms,
                );
                self.od.restore_range(&factory, 0x1000, 0x1FFF);
                return self.boot();
            }
        }
        Vec::new()
    }

    fn sync(&mut self, now: Instant) -> Vec<CanFrame> {
        for p in 0..4 {
            if let Some(data) = self.latched[p].take() {
                self.apply_rpdo(p, &data);
            }
        }
        self.advance(now);
        let mut out: Vec<CanFrame> = self.emcy().into_iter().collect();
        for p in 0..4u16 {
            let comm = 0x1800 + p;
            let cob = self.od.u32(comm, 1);
            let kind = self.od.u32(comm, 2);
            if cob & COB_ID_INVALID != 0 || kind > 240 {
                continue;
            }
            let i = usize::from(p);
            self.sync_count[i] += 1;
            if self.sync_count[i] >= kind.max(1) {
                self.sync_count[i] = 0;
                out.push(self.tpdo(p));
            }
        }
        out
    }

    fn event_tpdos(&mut self) -> Vec<CanFrame> {
        let mut out = Vec::new();
        for p in 0..4u16 {
            let cob = self.od.u32(0x1800 + p, 1);
            if cob & COB_ID_INVALID != 0 || self.od.u32(0x1800 + p, 2) < 254 {
                continue;
            }
            let f = self.tpdo(p);
            if self.last_tpdo[usize::from(p)].as_deref() != Some(f.data()) {
                self.last_tpdo[usize::from(p)] = Some(f.data().to_vec());
                out.push(f);
            }
        }
        out
    }

    fn mapping(&self, map: u16) -> Vec<MappingEntry> {
        let n = self.od.u32(map, 0).min(8) as u8;
        (1..=n)
            .map(|s| MappingEntry::from_u32(self.od.u32(map, s)))
            .collect()
    }

    fn tpdo(&mut self, p: u16) -> CanFrame {
        self.refresh();
        let mut data = Vec::with_capacity(8);
        for e in self.mapping(0x1A00 + p) {
            let v = self.od.read(e.index, e.subindex).unwrap_or_default();
            data.extend(
                v.iter()
                    .copied()
                    .chain(std::iter::repeat(0))
                    .take(usize::from(e.bits / 8)),
            );
        }
        data.truncate(8);
        let cob = self.od.u32(0x1800 + p, 1) & 0x7FF;
        CanFrame::new(linevisor_can::CanId::standard_masked(cob as u16), &data)
            .unwrap_or_else(|_| heartbeat_frame(self.config.node, self.nmt))
    }

    fn rpdo_for(&self, id: u32) -> Option<usize> {
        (0..4u16).find_map(|p| {
            let cob = self.od.u32(0x1400 + p, 1);
            (cob & COB_ID_INVALID == 0 && cob & 0x7FF == id).then_some(usize::from(p))
        })
    }

    fn apply_rpdo(&mut self, p: usize, data: &[u8]) {
        let mut at = 0;
        for e in self.mapping(0x1600 + p as u16) {
            let n = usize::from(e.bits / 8);
            let Some(bytes) = data.get(at..at + n) else {
                return;
            };
            at += n;
            if self.od.set(e.index, e.subindex, bytes).is_ok() {
                self.apply_to_drive(e.index);
            }
        }
    }

    /// Copies a written drive object into the drive model.
    fn apply_to_drive(&mut self, index: u16) {
        let i32_of = |od: &ObjectDictionary, i| od.u32(i, 0) as i32;
        match index {
            0x6040 => {
                self.drive
                    .write_controlword(Controlword(self.od.u32(0x6040, 0) as u16));
            }
            0x6060 => self
                .drive
                .set_mode(ModeOfOperation::from(self.od.u32(0x6060, 0) as u8 as i8)),
            0x607A => self
                .drive
                .set_target_position(f64::from(i32_of(&self.od, 0x607A))),
            0x60FF => self
                .drive
                .set_target_velocity(f64::from(i32_of(&self.od, 0x60FF))),
            _ => {}
        }
    }

    /// Copies the drive's live values into the dictionary.
    fn refresh(&mut self) {
        let d = &self.drive;
        let values: [(u16, Vec<u8>); 6] = [
            (0x6041, d.statusword().0.to_le_bytes().to_vec()),
            (0x6061, vec![d.mode().code() as u8]),
            (0x6064, (d.position().round() as i32).to_le_bytes().to_vec()),
            (0x606C, (d.velocity().round() as i32).to_le_bytes().to_vec()),
            (0x603F, d.error_code().to_le_bytes().to_vec()),
            (0x1001, vec![if self.fault_reported { 0x21 } else { 0 }]),
        ];
        for (index, v) in values {
            let _ = self.od.set(index, 0, &v);
        }
    }

    /// EMCY when the drive enters fault, and 0x0000 once the fault is reset.
    fn emcy(&mut self) -> Option<CanFrame> {
        let faulted = matches!(
            self.drive.state(),
            PowerState::Fault | PowerState::FaultReactionActive
        );
        if faulted == self.fault_reported {
            return None;
        }
        self.fault_reported = faulted;
        self.refresh();
        let emcy = Emcy {
            code: if faulted { self.drive.error_code() } else { 0 },
            // Bit 0 generic, bit 5 device profile.
            register: if faulted { 0x21 } else { 0 },
            manufacturer: [0; 5],
        };
        (self.nmt != NmtState::Stopped).then(|| frame(Cob::Emcy(self.config.node), &emcy.encode()))
    }

    /// Fault injection: the next SDO segment response carries the wrong toggle bit.
    pub fn corrupt_next_toggle(&mut self) {
        self.sdo.corrupt_next_toggle = true;
    }

    /// Fault injection: abort every SDO request with `code`, or answer again.
    pub fn refuse_sdo(&mut self, code: Option<AbortCode>) {
        self.sdo.refuse = code;
    }
}

/// The node as the SDO server sees it.
struct Access<'a> {
    node: &'a mut SimNode,
}

impl ObjectAccess for Access<'_> {
    fn read(&mut self, index: u16, subindex: u8) -> Result<Vec<u8>, AbortCode> {
        self.node.refresh();
        self.node.od.read(index, subindex)
    }

    fn write(&mut self, index: u16, subindex: u8, data: &[u8]) -> Result<(), AbortCode> {
        super::pdo_rules::check_write(&self.node.od, self.node.nmt, index, subindex, data)?;
        self.node.od.write(index, subindex, data)?;
        self.node.sdo_writes.push((index, subindex, data.to_vec()));
        self.node.apply_to_drive(index);
        Ok(())
    }
}
