//! Every shipped config and profile validates; every file in `configs/invalid/` fails with
//! exactly the diagnostics in its `.expected` file (file, line, column, path, message, hint).

use std::path::{Path, PathBuf};

use linevisor_config::{DEMO_LINE, DEMO_LINE_NAME, Severity, check_file, check_text};

fn configs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs")
}

fn toml_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    v.sort();
    v
}

#[test]
fn demo_and_examples_validate_without_warnings() {
    let mut files = vec![configs().join("demo-line.toml")];
    files.extend(toml_files(&configs().join("examples")));
    assert!(files.len() >= 6, "expected the demo and five examples");
    for f in files {
        let c = check_file(&f);
        assert!(
            c.diagnostics.is_empty(),
            "{}: {:#?}",
            f.display(),
            c.diagnostics
        );
        let line = c.line.expect("valid line");
        assert!(!line.config.drive.is_empty(), "{}", f.display());
    }
}

#[test]
fn embedded_demo_uses_only_shipped_profiles() {
    let c = check_text(DEMO_LINE_NAME, DEMO_LINE, None);
    assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
    let line = c.line.unwrap();
    // Every shipped profile decodes and passes its own checks.
    assert_eq!(line.profiles.len(), profile_files());
    assert!(line.config.drive.len() >= 4);
}

#[test]
fn every_shipped_profile_is_loaded_from_the_folder_too() {
    // The folder copies equal the compiled-in ones, so a config beside them sees no conflict.
    let c = check_file(&configs().join("demo-line.toml"));
    let line = c.line.unwrap();
    for (name, _) in linevisor_config::BUILTIN_PROFILES {
        assert!(configs().join("profiles").join(name).exists(), "{name}");
    }
    assert_eq!(line.profiles.len(), profile_files());
    assert_eq!(linevisor_config::BUILTIN_PROFILES.len(), profile_files());
}

/// The profile files in `configs/profiles/`, counted now (not a number kept by hand).
fn profile_files() -> usize {
    let n = std::fs::read_dir(configs().join("profiles"))
        .expect("configs/profiles")
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "toml"))
        .count();
    assert!(n > 0, "no profile in configs/profiles");
    n
}

#[test]
fn invalid_configs_fail_with_their_expected_diagnostics() {
    let dir = configs().join("invalid");
    let files = toml_files(&dir);
    assert!(files.len() >= 15);
    for f in files {
        let expected_path = f.with_extension("expected");
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|_| panic!("{} has no .expected file", f.display()));
        let c = check_file(&f);
        assert!(c.line.is_none(), "{} must be invalid", f.display());
        assert!(c.diagnostics.iter().any(|d| d.severity == Severity::Error));
        let prefix = format!("{}/", dir.display());
        let got: Vec<String> = c
            .diagnostics
            .iter()
            .map(|d| d.to_string().replacen(&prefix, "", 1))
            .collect();
        let want: Vec<&str> = expected.lines().collect();
        assert_eq!(got, want, "{}", f.display());
        for d in &c.diagnostics {
            assert!(d.line >= 1 && d.column >= 1, "{d}");
        }
    }
}

#[test]
fn a_changed_profile_with_the_same_version_is_rejected() {
    let dir = std::env::temp_dir().join(format!("linevisor-dup-{}", std::process::id()));
    let profiles = dir.join("profiles");
    std::fs::create_dir_all(&profiles).unwrap();
    let text = std::fs::read_to_string(configs().join("profiles/linevisor-sim-servo.toml"))
        .unwrap()
        .replace("max = 50.0", "max = 60.0");
    std::fs::write(profiles.join("sim.toml"), text).unwrap();
    std::fs::write(dir.join("line.toml"), DEMO_LINE).unwrap();
    let c = check_file(&dir.join("line.toml"));
    std::fs::remove_dir_all(&dir).ok();
    let msgs: Vec<String> = c.diagnostics.iter().map(ToString::to_string).collect();
    assert!(
        msgs.iter().any(|m| m.contains("profile.version")
            && m.contains("\"linevisor-sim-servo\" version \"1.0\" is also defined, differently")),
        "{msgs:#?}"
    );
}

#[test]
fn a_missing_file_is_an_error_not_a_panic() {
    let c = check_file(Path::new("/nonexistent/line.toml"));
    assert!(c.has_errors());
    assert!(
        c.diagnostics[0]
            .message
            .contains("cannot read the config file")
    );
}
