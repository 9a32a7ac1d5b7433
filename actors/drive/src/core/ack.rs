//! Acknowledgement by reading back: which setpoints a write is confirmed by, and comparison
//! within a point's resolution.

use linevisor_config::model::DataType;
use linevisor_profile::{PointWrite, ProfileCodec, Sample};

use crate::error::CommandError;

/// The setpoints in `writes` to read back, each with the last value written to it (not the
/// command point: its edges are transient).
pub(crate) fn expected(codec: &ProfileCodec, writes: &[PointWrite]) -> Vec<(String, f64)> {
    let command_point = &codec.profile().command.point;
    let mut expected: Vec<(String, f64)> = Vec::new();
    for w in writes.iter().filter(|w| &w.point != command_point) {
        expected.retain(|(p, _)| *p != w.point);
        expected.push((w.point.clone(), w.value));
    }
    expected
}

/// Compares a read-back `sample` with what was written.
pub(crate) fn compare(
    codec: &ProfileCodec,
    expected: &[(String, f64)],
    sample: &Sample,
) -> Result<Vec<(String, f64)>, CommandError> {
    let mut out = Vec::with_capacity(expected.len());
    for (point, value) in expected {
        let got = sample
            .require(point)
            .map_err(CommandError::from_codec)?
            .value;
        let resolution = resolution(codec, point, *value);
        if !within(*value, got, resolution) {
            return Err(CommandError::ReadbackMismatch {
                point: point.clone(),
                expected: *value,
                got,
                resolution,
            });
        }
        out.push((point.clone(), got));
    }
    Ok(out)
}

/// The smallest step a point can represent, in engineering units: |scale| for integer points,
/// one part in 2^23 of the value for `f32` points.
pub fn resolution(codec: &ProfileCodec, point: &str, value: f64) -> f64 {
    match codec.profile().points.get(point) {
        Some(p) if p.data_type == DataType::F32 => {
            (value.abs() * f64::from(f32::EPSILON)).max(f64::from(f32::MIN_POSITIVE))
        }
        Some(p) => p.scale.abs(),
        None => 0.0,
    }
}

/// True if `got` equals `expected` within `resolution` (plus float noise).
pub fn within(expected: f64, got: f64, resolution: f64) -> bool {
    let noise = 1e-9 * expected.abs().max(1.0);
    (expected - got).abs() <= resolution + noise
}

#[cfg(test)]
mod tests {
    use super::within;

    #[test]
    fn within_tolerates_one_count_only() {
        assert!(within(12.34, 12.34, 0.01));
        assert!(within(12.34, 12.35, 0.01));
        assert!(!within(12.34, 12.36, 0.01));
        assert!(within(0.0, 0.0, 0.0));
        assert!(!within(1.0, 2.0, 0.5));
    }
}
