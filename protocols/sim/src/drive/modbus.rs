//! The simulated drive's Modbus face: requests answered from its point image, register writes
//! carried out through the profile.

use linevisor_core::profile::PointTable;
use linevisor_modbus::{ExceptionCode, Request, Response};
use linevisor_profile::PointWrite;

use super::SimDrive;

impl SimDrive {
    /// Answers one Modbus request (FC3, FC4, FC6, FC16, and FC1/FC2 where the profile has
    /// coils or discrete inputs; others: illegal function).
    pub fn handle(&mut self, request: &Request) -> Result<Response, ExceptionCode> {
        match request {
            Request::ReadHoldingRegisters { address, quantity } => {
                Ok(Response::ReadHoldingRegisters(self.image.read(
                    PointTable::Holding,
                    *address,
                    *quantity,
                )?))
            }
            Request::ReadInputRegisters { address, quantity } => Ok(Response::ReadInputRegisters(
                self.image.read(PointTable::Input, *address, *quantity)?,
            )),
            Request::ReadCoils { address, quantity } if self.image.maps(PointTable::Coil) => {
                Ok(Response::ReadCoils(bits(self.image.read(
                    PointTable::Coil,
                    *address,
                    *quantity,
                )?)))
            }
            Request::ReadDiscreteInputs { address, quantity }
                if self.image.maps(PointTable::DiscreteInput) =>
            {
                Ok(Response::ReadDiscreteInputs(bits(self.image.read(
                    PointTable::DiscreteInput,
                    *address,
                    *quantity,
                )?)))
            }
            Request::WriteSingleRegister { address, value } => {
                self.write_registers(*address, &[*value])?;
                Response::write_echo(request).ok_or(ExceptionCode::ServerDeviceFailure)
            }
            Request::WriteMultipleRegisters { address, values } => {
                self.write_registers(*address, values)?;
                Response::write_echo(request).ok_or(ExceptionCode::ServerDeviceFailure)
            }
            _ => Err(ExceptionCode::IllegalFunction),
        }
    }

    /// Carries out a codec write as a client would (through its registers).
    pub fn apply(&mut self, write: &PointWrite) -> Result<(), ExceptionCode> {
        let r = self
            .codec
            .register_write(write)
            .map_err(|_| ExceptionCode::IllegalDataAddress)?;
        self.write_registers(r.address, &r.words)
    }

    pub(super) fn write_registers(
        &mut self,
        address: u16,
        words: &[u16],
    ) -> Result<(), ExceptionCode> {
        self.image.check_writable(address, words.len())?;
        let touched = self.image.touched(address, words.len());
        let before: Vec<u32> = touched.iter().map(|p| self.image.raw(p)).collect();
        let old = self
            .image
            .read(PointTable::Holding, address, words.len() as u16)?;
        self.image.store(address, words);
        if !self.carry_out(&touched, &before) {
            self.image.store(address, &old);
            return Err(ExceptionCode::IllegalDataValue);
        }
        self.writes = self.writes.wrapping_add(1);
        Ok(())
    }
}

/// Coils and discrete inputs are kept as words of 0 or 1.
fn bits(words: Vec<u16>) -> Vec<bool> {
    words.into_iter().map(|w| w != 0).collect()
}
