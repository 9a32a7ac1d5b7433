//! EDS import end to end: the profile each EDS/DCF test file becomes passes the same checks as
//! `linevisor check` (in process, on a line with a drive using it), and the binary writes it.
//! The files are written for linevisor's tests: protocols/canopen/tests/data/eds/README.md.
//! Real vendor files are not committed; `LINEVISOR_EDS_DIR` names a folder of them to check.

use std::path::{Path, PathBuf};
use std::process::Command;

use linevisor_canopen::eds::{Eds, ProfileOptions, to_profile};

const FILES: [&str; 4] = [
    "servo-writable-hex.eds",
    "drive-fixed-crlf.eds",
    "stepper-vfd-compact.eds",
    "servo-node5.dcf",
];

fn eds(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../protocols/canopen/tests/data/eds")
        .join(name)
}

fn linevisor() -> Command {
    Command::new(env!("CARGO_BIN_EXE_linevisor"))
}

/// A line with one CANopen drive on the profile `name` 1.0 from `dir/profiles`.
fn line(dir: &Path, name: &str) -> PathBuf {
    let text = format!(
        "[line]\nname = \"eds-import\"\ncycle_ms = 20\nprofile_dirs = [\"profiles\"]\n\n\
         [[bus]]\nid = \"can\"\ntype = \"canopen\"\nadapter = \"slcan\"\nport = \"/dev/ttyACM0\"\n\
         bitrate = 500000\nsync_period_ms = 20\nnode_heartbeat_ms = 200\n\n\
         [[drive]]\nid = \"axis\"\nbus = \"can\"\naddress = 5\n\
         profile = {{ name = \"{name}\", version = \"1.0\" }}\n"
    );
    let path = dir.join("line.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// What the profile of one imported file is, once `linevisor check` accepted it.
#[derive(Debug)]
struct Checked {
    name: String,
    points: usize,
    tpdo: Vec<String>,
    position: Option<String>,
    fixed: bool,
}

/// Imports `file`, writes its profile next to a line using it and checks that line as
/// `linevisor check` does; the error says what failed, with the profile.
fn import_and_check(file: &Path) -> Result<Checked, String> {
    let shown = file.display();
    let bytes = std::fs::read(file).map_err(|e| format!("{shown}: {e}"))?;
    let parsed = Eds::parse(&bytes).map_err(|e| e.located(&shown.to_string()))?;
    let options = ProfileOptions {
        name: None,
        version: "1.0".into(),
        source: file
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
    };
    let skeleton = to_profile(&parsed, &options).map_err(|e| e.located(&shown.to_string()))?;
    let text = skeleton.to_toml();
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    std::fs::create_dir(dir.path().join("profiles")).map_err(|e| e.to_string())?;
    let profile = dir
        .path()
        .join("profiles")
        .join(format!("{}.toml", skeleton.name()));
    std::fs::write(&profile, &text).map_err(|e| e.to_string())?;
    let checked = linevisor_config::check_file(&line(dir.path(), skeleton.name()));
    let diagnostics: Vec<String> = checked
        .diagnostics
        .iter()
        .map(ToString::to_string)
        .collect();
    let ours: Vec<&String> = diagnostics
        .iter()
        .filter(|d| d.contains("profiles/"))
        .collect();
    if checked.has_errors() || !ours.is_empty() {
        return Err(format!("{}\n{text}", diagnostics.join("\n")));
    }
    let valid = checked.line.ok_or("no line although no errors")?;
    let loaded = &valid.profiles[&(skeleton.name().to_owned(), "1.0".to_owned())].profile;
    let tpdo: Vec<String> = loaded
        .canopen
        .as_ref()
        .map(|c| c.tpdo.iter().flatten().cloned().collect())
        .unwrap_or_default();
    if loaded.command.point != "controlword" || loaded.status.point != "statusword" {
        return Err(format!(
            "command/status points are not 0x6040/0x6041\n{text}"
        ));
    }
    if !tpdo.iter().any(|n| n == "statusword") {
        return Err(format!("the statusword is in no TPDO: {tpdo:?}\n{text}"));
    }
    Ok(Checked {
        name: skeleton.name().to_owned(),
        points: loaded.points.len(),
        tpdo,
        position: loaded.telemetry.position.clone(),
        fixed: skeleton.mapping_fixed(),
    })
}

#[test]
fn every_test_file_becomes_a_profile_linevisor_check_accepts() {
    for file in FILES {
        let checked = import_and_check(&eds(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(
            checked.position.as_deref(),
            Some("position_actual"),
            "{file}"
        );
        assert_eq!(checked.fixed, file == "drive-fixed-crlf.eds", "{file}");
    }
}

/// Vendors' EDS files are not committed (their licences are not linevisor's). With
/// `LINEVISOR_EDS_DIR` naming a folder, every `*.eds`/`*.dcf` in it must import to a profile
/// `linevisor check` accepts; one line per file is printed (`-- --nocapture`).
#[test]
fn vendor_files_in_linevisor_eds_dir() {
    let Some(dir) = std::env::var_os("LINEVISOR_EDS_DIR") else {
        println!("skipped: LINEVISOR_EDS_DIR not set");
        return;
    };
    let dir = PathBuf::from(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("LINEVISOR_EDS_DIR={}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("eds") || e.eq_ignore_ascii_case("dcf"))
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no *.eds or *.dcf in {}", dir.display());
    let mut failed = Vec::new();
    for file in &files {
        let shown = file.file_name().unwrap().to_string_lossy();
        match import_and_check(file) {
            Ok(c) => println!(
                "ok {shown}: profile {:?}, {} points, mapping {}, TPDOs {:?}, position {}",
                c.name,
                c.points,
                if c.fixed { "fixed" } else { "writable" },
                c.tpdo,
                c.position.as_deref().unwrap_or("not set"),
            ),
            Err(e) => {
                println!("FAILED {shown}: {e}");
                failed.push(shown.into_owned());
            }
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} failed: {failed:?}",
        failed.len(),
        files.len()
    );
}

#[test]
fn the_binary_writes_a_profile_that_checks() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("profiles")).unwrap();
    let out = dir.path().join("profiles/dx40.toml");
    let run = linevisor()
        .args(["profile", "from-eds"])
        .arg(eds("drive-fixed-crlf.eds"))
        .args(["--name", "dx40", "--version", "1.0", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("wrote profile \"dx40\""), "{stderr}");
    assert!(
        stderr.contains("mapping is fixed: pdo_mapping = \"verify\""),
        "{stderr}"
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("pdo_mapping = \"verify\""), "{text}");
    let check = linevisor()
        .args(["check", "--plain"])
        .arg(line(dir.path(), "dx40"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert_eq!(check.status.code(), Some(0), "{stderr}");
    assert!(String::from_utf8_lossy(&check.stdout).contains("drive axis on can @5"));
    // An existing file is kept unless --force.
    let again = linevisor()
        .args(["profile", "from-eds"])
        .arg(eds("stepper-vfd-compact.eds"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), text);
}

#[test]
fn without_out_the_profile_goes_to_stdout() {
    let run = linevisor()
        .args(["profile", "from-eds"])
        .arg(eds("stepper-vfd-compact.eds"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{stderr}");
    // An oddity that does not stop the import is a warning with its file and line.
    assert!(
        stderr.contains("stepper-vfd-compact.eds:23: warning: [mandatoryobjects] lists 0x1000"),
        "{stderr}"
    );
    let text = String::from_utf8(run.stdout).unwrap();
    assert!(text.starts_with("# CANopen profile skeleton"), "{text}");
    assert!(text.contains("name = \"stepper-vfd-compact\""), "{text}");
}

#[test]
fn a_malformed_eds_is_reported_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.eds");
    std::fs::write(
        &bad,
        "[1000]\nDataType=0x0007\nAccessType=ro\nDefaultValue=0x1G\n",
    )
    .unwrap();
    let run = linevisor()
        .args(["profile", "from-eds"])
        .arg(&bad)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("bad.eds:4: [1000] DefaultValue=0x1G"),
        "{stderr}"
    );
    let usage = linevisor()
        .args(["profile", "from-eds", "--version", "one"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2));
    let usage = linevisor()
        .args(["profile", "from-eds", "--name", "my drive"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&usage.stderr).contains("invalid profile name"));
}
