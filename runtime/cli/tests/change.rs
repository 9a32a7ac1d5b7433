//! The change subcommands against a running `linevisor run <file>`: plan, apply, upgrade (and
//! its rollback), add, remove, and a reload of the file on SIGHUP. Each prints what it touched
//! or fails with one line.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Output, Stdio};

const ADMIN: &str = "admin-token-0123456789";
const OPERATOR: &str = "operator-token-0123456789";
const SERVO: &str = include_str!("../../../configs/profiles/linevisor-sim-servo.toml");

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("linevisor-cli-change-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("profiles")).expect("dir");
    dir
}

/// Two simulated servos; `b_limit` is drive b's velocity limit.
fn line(b_limit: f64) -> String {
    format!(
        "[line]\nname = \"cell\"\n\n[[bus]]\nid = \"sim\"\ntype = \"simulated\"\nprotocol = \"modbus\"\n\n\
         [[drive]]\nid = \"a\"\nbus = \"sim\"\naddress = 1\n\
         profile = {{ name = \"linevisor-sim-servo\", version = \"1.0\" }}\n\n\
         [[drive]]\nid = \"b\"\nbus = \"sim\"\naddress = 2\n\
         profile = {{ name = \"linevisor-sim-servo\", version = \"1.0\" }}\n\
         limits = {{ velocity_max = {b_limit:.1} }}\n"
    )
}

fn linevisor(api: &str, token: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_linevisor"))
        .args(args)
        .env("LINEVISOR_API", api)
        .env("LINEVISOR_TOKEN", token)
        .output()
        .expect("run linevisor")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", text(&o.stderr));
    text(&o.stdout)
}

/// Fails with exactly one line on stderr containing `needle`.
fn fails(o: &Output, needle: &str) {
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains(needle), "expected {needle:?} in {err}");
}

/// The next stderr line of the instance that starts with `prefix`.
fn wait_line(stderr: &mut BufReader<ChildStderr>, prefix: &str) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            stderr.read_line(&mut line).expect("read") > 0,
            "run ended early"
        );
        if let Some(rest) = line.trim().strip_prefix(prefix) {
            return rest.to_owned();
        }
    }
}

fn start(dir: &Path) -> (Running, BufReader<ChildStderr>, String) {
    let tokens = dir.join("tokens.toml");
    std::fs::write(
        &tokens,
        format!(
            "[[token]]\nname = \"maint\"\nvalue = \"{ADMIN}\"\nrole = \"admin\"\n\
             [[token]]\nname = \"scada\"\nvalue = \"{OPERATOR}\"\nrole = \"operator\"\n"
        ),
    )
    .expect("tokens");
    // Secrets: readable by their owner only (linevisor refuses a world-readable file).
    std::fs::set_permissions(&tokens, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .expect("chmod");
    let mut child = Command::new(env!("CARGO_BIN_EXE_linevisor"))
        .arg("run")
        .arg(dir.join("line.toml"))
        .args(["--logs", "--listen", "127.0.0.1:0", "--tokens"])
        .arg(&tokens)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn run");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let running = Running(child);
    let api = wait_line(&mut stderr, "linevisor: API on http://");
    (running, stderr, api)
}

#[test]
fn plan_apply_upgrade_add_remove_and_reload_on_sighup() {
    let dir = scratch();
    let v11 = SERVO.replace("version = \"1.0\"", "version = \"1.1\"");
    std::fs::write(dir.join("profiles/sim-servo-1.1.toml"), v11).expect("profile");
    std::fs::write(dir.join("line.toml"), line(1000.0)).expect("config");
    let (running, mut stderr, api) = start(&dir);

    // The running config, printed, is a config `check` accepts.
    let running_config = ok(&linevisor(&api, OPERATOR, &["config"]));
    assert!(
        running_config.contains("velocity_max = 1000.0"),
        "{running_config}"
    );
    std::fs::write(dir.join("running.toml"), &running_config).expect("write");
    let checked = Command::new(env!("CARGO_BIN_EXE_linevisor"))
        .arg("check")
        .arg(dir.join("running.toml"))
        .output()
        .expect("check");
    assert!(checked.status.success(), "{}", text(&checked.stderr));

    let new = dir.join("new.toml");
    std::fs::write(&new, line(600.0)).expect("new");
    let new = new.to_str().expect("path");
    let plan = ok(&linevisor(&api, OPERATOR, &["plan", new]));
    assert!(plan.contains("drive b"), "{plan}");
    assert!(plan.contains("reconfigure (limits.velocity_max)"), "{plan}");
    assert!(plan.contains("1 drive(s) untouched"), "{plan}");
    fails(&linevisor(&api, OPERATOR, &["apply", new]), "403");
    let applied = ok(&linevisor(&api, ADMIN, &["apply", new]));
    assert!(applied.contains("applied in"), "{applied}");

    let upgraded = ok(&linevisor(
        &api,
        ADMIN,
        &["upgrade", "a", "linevisor-sim-servo@1.1"],
    ));
    assert!(
        upgraded.contains("linevisor-sim-servo@1.0 -> linevisor-sim-servo@1.1"),
        "{upgraded}"
    );
    let status = ok(&linevisor(&api, OPERATOR, &["status"]));
    let row_a = status
        .lines()
        .find(|l| l.starts_with("a "))
        .unwrap_or_default();
    assert!(row_a.ends_with("linevisor-sim-servo@1.1"), "{status}");
    fails(
        &linevisor(&api, ADMIN, &["upgrade", "a", "delta-c2000-vfd@1.0"]),
        "rolled back: the line runs as before",
    );
    fails(
        &linevisor(&api, ADMIN, &["upgrade", "a", "no-version"]),
        "name@version",
    );

    let drive = dir.join("c.toml");
    std::fs::write(
        &drive,
        "[[drive]]\nid = \"c\"\nbus = \"sim\"\naddress = 3\n\
         profile = { name = \"linevisor-sim-servo\", version = \"1.0\" }\n",
    )
    .expect("drive file");
    let added = ok(&linevisor(
        &api,
        ADMIN,
        &["add", drive.to_str().expect("path")],
    ));
    assert!(added.contains("drive c"), "{added}");
    let removed = ok(&linevisor(&api, ADMIN, &["remove", "c"]));
    assert!(
        removed.contains("drive c                    remove"),
        "{removed}"
    );
    fails(&linevisor(&api, ADMIN, &["remove", "c"]), "no drive \"c\"");

    // SIGHUP re-reads line.toml; an invalid file is refused and nothing changes.
    let pid = running.0.id().to_string();
    let hup = || {
        let s = Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .expect("kill");
        assert!(s.success());
    };
    std::fs::write(
        dir.join("line.toml"),
        line(1000.0).replace("address = 2", "address = 300"),
    )
    .expect("bad config");
    hup();
    let refused = wait_line(&mut stderr, "error: reload of ");
    assert!(
        refused.contains("the line runs unchanged") && refused.contains("300"),
        "{refused}"
    );
    // The file says b is back at 1000 and a on 1.0: both are touched.
    std::fs::write(dir.join("line.toml"), line(1000.0)).expect("config");
    hup();
    let reloaded = wait_line(&mut stderr, "linevisor: reloaded ");
    assert!(reloaded.contains("2 drive(s) touched"), "{reloaded}");
    let status = ok(&linevisor(&api, ADMIN, &["status", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&status).expect("JSON");
    let versions: Vec<&str> = v["drives"]
        .as_array()
        .expect("drives")
        .iter()
        .filter_map(|d| d["version"].as_str())
        .collect();
    assert_eq!(versions, ["linevisor-sim-servo@1.0"; 2]);
}
