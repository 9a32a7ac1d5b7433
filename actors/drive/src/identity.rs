//! Parameters: download (`parameter_write` through the codec), verification by reading back
//! within each point's resolution, and the decision what to do with a drive whose parameters
//! differ from the config.

use linevisor_profile::{PointWrite, UniformState};
use tracing::{info, warn};

use crate::command::ack;
use crate::link::LinkError;
use crate::startup::{Startup, StartupError};
use crate::telemetry::{DriveEventKind, Mismatch, ReparamReason};

impl Startup {
    /// Writes every configured parameter, verifies them, and reports `Reparameterised`.
    pub(crate) async fn download(&mut self, reason: ReparamReason) -> Result<(), StartupError> {
        let shared = self.shared.clone();
        if shared.parameters.is_empty() {
            return Ok(());
        }
        let writes = shared
            .parameters
            .iter()
            .map(|(name, value)| shared.codec.parameter_write(name, *value))
            .collect::<Result<Vec<PointWrite>, _>>()
            .map_err(LinkError::Codec)?;
        shared.link.write(&writes).await?;
        let mismatches = self.verify_parameters().await?;
        if !mismatches.is_empty() {
            return Err(StartupError::Verify(mismatches));
        }
        info!(?reason, parameters = ?shared.parameters, "Parameters downloaded and verified.");
        shared.emit(DriveEventKind::Reparameterised {
            reason,
            parameters: shared.parameters.clone(),
        });
        Ok(())
    }

    /// Reads every configured parameter back; returns those outside one resolution step.
    pub(crate) async fn verify_parameters(&self) -> Result<Vec<Mismatch>, StartupError> {
        let shared = &self.shared;
        let codec = &shared.codec;
        let defs = &codec.profile().parameters;
        let points: Vec<(&str, &str, f64)> = shared
            .parameters
            .iter()
            .filter_map(|(name, v)| Some((name.as_str(), defs.get(name)?.point.as_str(), *v)))
            .collect();
        if points.is_empty() {
            return Ok(Vec::new());
        }
        let names: Vec<&str> = points.iter().map(|(_, p, _)| *p).collect();
        let sample = shared.link.read(&names).await?;
        let mut mismatches = Vec::new();
        for (name, point, expected) in points {
            let got = sample
                .require(point)
                .map_err(|e| StartupError::Link(LinkError::Codec(e)))?
                .value;
            if !ack::within(expected, got, ack::resolution(codec, point, expected)) {
                mismatches.push(Mismatch {
                    parameter: name.to_owned(),
                    expected,
                    got,
                });
            }
        }
        Ok(mismatches)
    }

    /// Compares the drive's parameters with the config; downloads them again if they differ,
    /// unless the drive is in operation enabled (then only `ParametersDiffer`).
    pub(crate) async fn check_parameters(&mut self) -> Result<(), StartupError> {
        let mismatches = self.verify_parameters().await?;
        if mismatches.is_empty() {
            return Ok(());
        }
        if self.device == Some(UniformState::OperationEnabled) {
            warn!(
                ?mismatches,
                "Parameters differ from the config; not written under motion."
            );
            self.shared
                .emit(DriveEventKind::ParametersDiffer { mismatches });
            return Ok(());
        }
        self.download(ReparamReason::ParametersDiffered).await
    }
}
