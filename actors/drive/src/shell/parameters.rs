//! Parameters: download (`parameter_write` through the codec), verification by reading back
//! within each point's resolution, and what to do with a drive whose parameters differ from the
//! config (the core's [`download_differing`]).

use linevisor_profile::PointWrite;
use tracing::{info, warn};

use super::startup::{Procedure, StartupError};
use crate::core::{download_differing, mismatches, parameter_points};
use crate::link::LinkError;
use crate::telemetry::{DriveEventKind, Mismatch, ReparamReason};

impl Procedure {
    /// Writes every configured parameter, verifies them, and reports `Reparameterised`.
    pub(crate) async fn download(&mut self, reason: ReparamReason) -> Result<(), StartupError> {
        let version = self.version.clone();
        let spec = &version.spec;
        if spec.parameters.is_empty() {
            return Ok(());
        }
        let writes = spec
            .parameters
            .iter()
            .map(|(name, value)| spec.codec.parameter_write(name, *value))
            .collect::<Result<Vec<PointWrite>, _>>()
            .map_err(LinkError::Codec)?;
        version.link.write(&writes).await?;
        let mismatches = self.verify_parameters().await?;
        if !mismatches.is_empty() {
            return Err(StartupError::Verify(mismatches));
        }
        info!(?reason, parameters = ?spec.parameters, "Parameters downloaded and verified.");
        version.emitter().emit(DriveEventKind::Reparameterised {
            reason,
            parameters: spec.parameters.clone(),
        });
        Ok(())
    }

    /// Reads every configured parameter back; returns those outside one resolution step.
    pub(crate) async fn verify_parameters(&self) -> Result<Vec<Mismatch>, StartupError> {
        let spec = &self.version.spec;
        let points = parameter_points(&spec.codec, &spec.parameters);
        if points.is_empty() {
            return Ok(Vec::new());
        }
        let names: Vec<&str> = points.iter().map(|(_, p, _)| *p).collect();
        let sample = self.version.link.read(&names).await?;
        mismatches(&spec.codec, &points, &sample)
            .map_err(|e| StartupError::Link(LinkError::Codec(e)))
    }

    /// Compares the drive's parameters with the config; downloads them again if they differ,
    /// unless the drive is in operation enabled (then only `ParametersDiffer`).
    pub(crate) async fn check_parameters(&mut self) -> Result<(), StartupError> {
        let mismatches = self.verify_parameters().await?;
        if mismatches.is_empty() {
            return Ok(());
        }
        if !download_differing(self.outcome.device) {
            warn!(
                ?mismatches,
                "Parameters differ from the config; not written under motion."
            );
            self.version
                .emitter()
                .emit(DriveEventKind::ParametersDiffer { mismatches });
            return Ok(());
        }
        self.download(ReparamReason::ParametersDiffered).await
    }
}
