//! JSON Schemas of the config language and the profile format, for editors.

use crate::model::{LineConfig, Profile};

/// JSON Schema of a line config file.
pub fn line_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(LineConfig)).unwrap_or_default()
}

/// JSON Schema of a drive profile file.
pub fn profile_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Profile)).unwrap_or_default()
}
