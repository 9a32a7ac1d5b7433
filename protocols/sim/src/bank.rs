//! [`SimHandle`]: the simulated drives of one simulator, keyed by unit id, with their link
//! faults, and the runtime control of both.
//!
//! Time is lazy: a unit is advanced to `tokio::time::Instant::now()` whenever it is touched (a
//! request, an injection, an inspection), in fixed steps. Under paused tokio time a test
//! controls it exactly; nothing runs while nobody looks.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use linevisor_modbus::{ExceptionCode, Request, Response};
use linevisor_serial::Device;
use tokio::sync::watch;
use tokio::time::Instant;

use linevisor_core::profile::Protocol;

use crate::{SimDrive, SimError};

/// Link faults of one unit. The last four shape plain serial replies only.
#[derive(Debug, Clone, Default)]
pub(crate) struct LinkFaults {
    pub(crate) drop_next: u32,
    pub(crate) corrupt_next: u32,
    pub(crate) delay: Duration,
    /// Code, and how many more answers carry it (`None`: until cleared).
    pub(crate) exception: Option<(ExceptionCode, Option<u32>)>,
    pub(crate) silent: bool,
    pub(crate) garbage_next: u32,
    pub(crate) truncate_next: u32,
    pub(crate) echo_next: u32,
    pub(crate) other_address_next: u32,
}

impl LinkFaults {
    /// The exception to answer with now, counting it down.
    pub(crate) fn take_exception(&mut self) -> Option<ExceptionCode> {
        let (code, remaining) = self.exception.as_mut()?;
        let code = *code;
        if let Some(n) = remaining {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.exception = None;
            }
        }
        Some(code)
    }
}

/// Counts one use of a "next `n` replies" fault; true if it applies now.
pub(crate) fn take(n: &mut u32) -> bool {
    let hit = *n > 0;
    *n = n.saturating_sub(1);
    hit
}

#[derive(Debug)]
pub(crate) struct Unit {
    pub(crate) drive: SimDrive,
    pub(crate) faults: LinkFaults,
    clock: Instant,
    /// The drive's side of its plain serial protocol (`None`: a Modbus drive).
    pub(crate) device: Option<Device>,
    /// Modbus requests addressed to it (answered or not).
    requests: u64,
}

impl Unit {
    pub(crate) fn advance(&mut self) {
        let now = Instant::now();
        self.drive.step(now.saturating_duration_since(self.clock));
        self.clock = now;
    }
}

/// Which framing a request came in on: decides what an unknown unit gets and whether CRC
/// corruption applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    /// RTU: unknown units stay silent (nobody on the line answers).
    Rtu,
    /// TCP: unknown units get exception 0x0B (gateway target failed to respond).
    Tcp,
}

/// What the service sends back for one request.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) answer: Option<Result<Response, ExceptionCode>>,
    pub(crate) delay: Duration,
    pub(crate) corrupt: bool,
}

impl Reply {
    fn silent() -> Self {
        Self {
            answer: None,
            delay: Duration::ZERO,
            corrupt: false,
        }
    }
}

/// Shared control of a set of simulated drives: add and inspect drives, inject drive and link
/// faults, swap units. Cheap to clone; every server endpoint and test holds one.
#[derive(Debug, Clone)]
pub struct SimHandle {
    units: Arc<Mutex<BTreeMap<u8, Unit>>>,
    close_tcp: Arc<watch::Sender<u64>>,
}

impl Default for SimHandle {
    fn default() -> Self {
        Self::new()
    }
}

impl SimHandle {
    /// No drives.
    pub fn new() -> Self {
        Self {
            units: Arc::default(),
            close_tcp: Arc::new(watch::channel(0).0),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, BTreeMap<u8, Unit>> {
        // A panic while holding the lock leaves plain data behind; keep simulating.
        self.units.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hosts `drive` at `unit` (1–247); returns the drive it replaces, if any. A drive of a
    /// serial profile answers at serial address `unit` on the serial endpoints
    /// ([`SimHandle::serial_line`]), a Modbus drive on the Modbus ones.
    pub fn add_drive(&self, unit: u8, drive: SimDrive) -> Result<Option<SimDrive>, SimError> {
        if !(1..=247).contains(&unit) {
            return Err(SimError::UnitRange(unit));
        }
        let p = drive.codec().profile();
        let device = (p.profile.protocol == Protocol::Serial).then(|| {
            let section = p.serial.clone().unwrap_or_default();
            Device::new(&section, u32::from(unit), &p.points)
        });
        let new = Unit {
            drive,
            faults: LinkFaults::default(),
            clock: Instant::now(),
            device,
            requests: 0,
        };
        Ok(self.lock().insert(unit, new).map(|u| u.drive))
    }

    /// Removes the drive at `unit`: it no longer answers.
    pub fn remove_drive(&self, unit: u8) -> Option<SimDrive> {
        self.lock().remove(&unit).map(|u| u.drive)
    }

    /// Hosted unit ids, ascending.
    pub fn units(&self) -> Vec<u8> {
        self.lock().keys().copied().collect()
    }

    /// Runs `f` on the drive at `unit`, brought up to the current time first.
    pub fn with_drive<R>(
        &self,
        unit: u8,
        f: impl FnOnce(&mut SimDrive) -> R,
    ) -> Result<R, SimError> {
        self.with_unit(unit, |u| {
            u.advance();
            f(&mut u.drive)
        })
    }

    pub(crate) fn with_unit<R>(
        &self,
        unit: u8,
        f: impl FnOnce(&mut Unit) -> R,
    ) -> Result<R, SimError> {
        let mut units = self.lock();
        let u = units.get_mut(&unit).ok_or(SimError::UnknownUnit(unit))?;
        Ok(f(u))
    }

    /// Drive fault with a code, or without one (`None`); a fault reset clears it.
    pub fn inject_fault(&self, unit: u8, code: Option<u16>) -> Result<(), SimError> {
        self.with_drive(unit, |d| d.inject_fault(code))
    }

    /// Drive fault that survives resets until [`SimHandle::clear_fault_cause`].
    pub fn inject_persistent_fault(&self, unit: u8, code: Option<u16>) -> Result<(), SimError> {
        self.with_drive(unit, |d| d.inject_persistent_fault(code))
    }

    /// Removes the cause of a persistent fault.
    pub fn clear_fault_cause(&self, unit: u8) -> Result<(), SimError> {
        self.with_drive(unit, SimDrive::clear_fault_cause)
    }

    /// Maintenance swaps the unit: new serial number, factory parameters, powered up afresh.
    pub fn replace_unit(&self, unit: u8, serial_number: u32) -> Result<(), SimError> {
        self.with_drive(unit, |d| d.replace_unit(serial_number))
    }

    /// The unit carries out the next `n` requests but their responses are lost.
    pub fn drop_responses(&self, unit: u8, n: u32) -> Result<(), SimError> {
        self.with_unit(unit, |u| u.faults.drop_next = n)
    }

    /// Every response of the unit is sent `delay` late (`Duration::ZERO` to stop).
    pub fn delay_responses(&self, unit: u8, delay: Duration) -> Result<(), SimError> {
        self.with_unit(unit, |u| u.faults.delay = delay)
    }

    /// The next `n` RTU responses of the unit carry a wrong CRC (TCP answers are not affected).
    pub fn corrupt_crc(&self, unit: u8, n: u32) -> Result<(), SimError> {
        self.with_unit(unit, |u| u.faults.corrupt_next = n)
    }

    /// The unit refuses requests with exception `code`: the next `count` of them, or every one
    /// until [`SimHandle::clear_exception`] with `None`. Refused requests are not carried out.
    pub fn answer_exception(
        &self,
        unit: u8,
        code: ExceptionCode,
        count: Option<u32>,
    ) -> Result<(), SimError> {
        self.with_unit(unit, |u| {
            u.faults.exception = match count {
                Some(0) => None,
                c => Some((code, c)),
            }
        })
    }

    /// Stops answering with an exception.
    pub fn clear_exception(&self, unit: u8) -> Result<(), SimError> {
        self.with_unit(unit, |u| u.faults.exception = None)
    }

    /// The unit goes silent (no answer at all, requests ignored) until [`SimHandle::come_back`].
    pub fn go_silent(&self, unit: u8) -> Result<(), SimError> {
        self.with_unit(unit, |u| u.faults.silent = true)
    }

    /// A silent unit answers again.
    pub fn come_back(&self, unit: u8) -> Result<(), SimError> {
        self.with_unit(unit, |u| u.faults.silent = false)
    }

    /// Writes the drive at `unit` carried out ([`SimDrive::writes_received`]).
    pub fn writes_received(&self, unit: u8) -> Result<u64, SimError> {
        self.with_unit(unit, |u| u.drive.writes_received())
    }

    /// Modbus requests addressed to the unit so far, answered or not (broadcasts not counted).
    pub fn requests_received(&self, unit: u8) -> Result<u64, SimError> {
        self.with_unit(unit, |u| u.requests)
    }

    /// Clears every link fault of the unit.
    pub fn clear_link_faults(&self, unit: u8) -> Result<(), SimError> {
        self.with_unit(unit, |u| u.faults = LinkFaults::default())
    }

    /// Closes every open Modbus TCP connection of this simulator now (clients see EOF and
    /// reconnect; the listeners keep accepting).
    pub fn close_tcp_connections(&self) {
        self.close_tcp.send_modify(|n| *n = n.wrapping_add(1));
    }

    pub(crate) fn close_signal(&self) -> watch::Receiver<u64> {
        self.close_tcp.subscribe()
    }

    /// One request to `unit`, with the unit's link faults applied.
    pub(crate) fn serve(&self, unit: u8, request: &Request, transport: Transport) -> Reply {
        let mut units = self.lock();
        if unit == 0 {
            // Broadcast: every unit that listens carries out a write; nobody answers.
            if request.is_write() {
                for u in units
                    .values_mut()
                    .filter(|u| !u.faults.silent && u.device.is_none())
                {
                    u.advance();
                    let _ = u.drive.handle(request);
                }
            }
            return Reply::silent();
        }
        // Serial drives are not on Modbus lines.
        let Some(u) = units.get_mut(&unit).filter(|u| u.device.is_none()) else {
            return match transport {
                Transport::Rtu => Reply::silent(),
                Transport::Tcp => Reply {
                    answer: Some(Err(ExceptionCode::GatewayTargetDeviceFailedToRespond)),
                    delay: Duration::ZERO,
                    corrupt: false,
                },
            };
        };
        u.advance();
        u.requests += 1;
        let f = &mut u.faults;
        if f.silent {
            return Reply::silent();
        }
        let answer = match f.take_exception() {
            Some(code) => Err(code),
            None => u.drive.handle(request),
        };
        if f.drop_next > 0 {
            f.drop_next -= 1;
            tracing::debug!(unit, "Simulated drive dropped a response.");
            return Reply::silent();
        }
        let corrupt = transport == Transport::Rtu && f.corrupt_next > 0;
        if corrupt {
            f.corrupt_next -= 1;
        }
        Reply {
            answer: Some(answer),
            delay: f.delay,
            corrupt,
        }
    }
}
