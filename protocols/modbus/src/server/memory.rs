//! An in-memory register map per unit: the simplest [`Service`].

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use super::Service;
use crate::{ExceptionCode, Request, Response};

/// The four tables of one unit, addressed from 0.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitMemory {
    /// Coils (FC 1, 5, 15).
    pub coils: Vec<bool>,
    /// Discrete inputs (FC 2).
    pub discrete_inputs: Vec<bool>,
    /// Holding registers (FC 3, 6, 16).
    pub holding_registers: Vec<u16>,
    /// Input registers (FC 4).
    pub input_registers: Vec<u16>,
}

impl UnitMemory {
    /// `size` zeroed entries in every table.
    pub fn new(size: usize) -> Self {
        Self {
            coils: vec![false; size],
            discrete_inputs: vec![false; size],
            holding_registers: vec![0; size],
            input_registers: vec![0; size],
        }
    }

    /// Carries out `request`; out-of-range addresses give illegal data address (0x02).
    pub fn apply(&mut self, request: &Request) -> Result<Response, ExceptionCode> {
        let (a, q) = (usize::from(request.address()), request.quantity());
        let range = a..a + q;
        let bad = ExceptionCode::IllegalDataAddress;
        Ok(match request {
            Request::ReadCoils { .. } => {
                Response::ReadCoils(self.coils.get(range).ok_or(bad)?.to_vec())
            }
            Request::ReadDiscreteInputs { .. } => {
                Response::ReadDiscreteInputs(self.discrete_inputs.get(range).ok_or(bad)?.to_vec())
            }
            Request::ReadHoldingRegisters { .. } => Response::ReadHoldingRegisters(
                self.holding_registers.get(range).ok_or(bad)?.to_vec(),
            ),
            Request::ReadInputRegisters { .. } => {
                Response::ReadInputRegisters(self.input_registers.get(range).ok_or(bad)?.to_vec())
            }
            Request::WriteSingleCoil { value, .. } => {
                self.coils.get_mut(range).ok_or(bad)?.fill(*value);
                return Response::write_echo(request).ok_or(ExceptionCode::ServerDeviceFailure);
            }
            Request::WriteSingleRegister { value, .. } => {
                self.holding_registers
                    .get_mut(range)
                    .ok_or(bad)?
                    .fill(*value);
                return Response::write_echo(request).ok_or(ExceptionCode::ServerDeviceFailure);
            }
            Request::WriteMultipleCoils { values, .. } => {
                self.coils
                    .get_mut(range)
                    .ok_or(bad)?
                    .copy_from_slice(values);
                return Response::write_echo(request).ok_or(ExceptionCode::ServerDeviceFailure);
            }
            Request::WriteMultipleRegisters { values, .. } => {
                self.holding_registers
                    .get_mut(range)
                    .ok_or(bad)?
                    .copy_from_slice(values);
                return Response::write_echo(request).ok_or(ExceptionCode::ServerDeviceFailure);
            }
        })
    }
}

/// Units and their memory. Unit 0 is broadcast: writes go to every unit, nobody answers.
#[derive(Debug, Default)]
pub struct RegisterMap {
    units: Mutex<HashMap<u8, UnitMemory>>,
}

impl RegisterMap {
    /// No units.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) `unit`.
    #[must_use]
    pub fn with_unit(self, unit: u8, memory: UnitMemory) -> Self {
        self.insert_unit(unit, memory);
        self
    }

    /// Adds (or replaces) `unit`.
    pub fn insert_unit(&self, unit: u8, memory: UnitMemory) {
        self.lock().insert(unit, memory);
    }

    /// Removes `unit`; it goes silent.
    pub fn remove_unit(&self, unit: u8) -> Option<UnitMemory> {
        self.lock().remove(&unit)
    }

    /// Runs `f` on the memory of `unit`, if hosted.
    pub fn with_memory<R>(&self, unit: u8, f: impl FnOnce(&mut UnitMemory) -> R) -> Option<R> {
        self.lock().get_mut(&unit).map(f)
    }

    /// Answers `request` for `unit` synchronously (what [`Service::call`] does).
    pub fn handle(&self, unit: u8, request: &Request) -> Option<Result<Response, ExceptionCode>> {
        let mut units = self.lock();
        if unit == 0 {
            if request.is_write() {
                units.values_mut().for_each(|m| {
                    let _ = m.apply(request);
                });
            }
            return None;
        }
        units.get_mut(&unit).map(|m| m.apply(request))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u8, UnitMemory>> {
        // A panic elsewhere while holding the lock leaves plain data behind; keep serving it.
        self.units.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Service for RegisterMap {
    async fn call(&self, unit: u8, request: Request) -> Option<Result<Response, ExceptionCode>> {
        self.handle(unit, &request)
    }
}
