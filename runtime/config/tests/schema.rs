//! Round trip: the generated JSON Schema accepts every shipped config and profile, and rejects
//! an unknown key (it closes objects like `deny_unknown_fields` does).

use std::path::{Path, PathBuf};

fn json_of(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap();
    let value: toml::Value = toml::from_str(&text).unwrap();
    serde_json::to_value(value).unwrap()
}

fn files(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../configs")
        .join(dir);
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    v.sort();
    v
}

#[test]
fn schema_accepts_every_shipped_config() {
    let schema = linevisor_config::line_schema();
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let mut all = files("examples");
    all.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/demo-line.toml"));
    for f in all {
        let v = json_of(&f);
        let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", f.display());
    }
}

#[test]
fn profile_schema_accepts_every_shipped_profile() {
    let schema = linevisor_config::profile_schema();
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    for f in files("profiles") {
        let v = json_of(&f);
        let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", f.display());
    }
}

#[test]
fn schema_rejects_unknown_keys_and_bus_types() {
    let schema = linevisor_config::line_schema();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let bad: serde_json::Value = serde_json::json!({
        "line": { "name": "x", "colour": "red" }
    });
    assert!(!validator.is_valid(&bad));
    let bad_bus: serde_json::Value = serde_json::json!({
        "line": { "name": "x" },
        "bus": [{ "type": "canopn", "id": "a" }]
    });
    assert!(!validator.is_valid(&bad_bus));
}
