//! A stop while a change runs: the change is told to stop, rolls back at once (an added
//! drive's trial ends early), the shutdown goes on and stops every drive, and no change starts
//! afterwards.

use std::time::Duration;

use linevisor_config::{ValidLine, check_text};
use linevisor_line::{ChangeError, LineOptions, RunningLine};

/// Drive a on unit 1; `extra` drives appended.
fn config(extra: &str) -> String {
    format!(
        "[line]\nname = \"stop\"\ncycle_ms = 10\n\n[[bus]]\nid = \"sim\"\ntype = \"simulated\"\nprotocol = \"modbus\"\n\n\
         [[drive]]\nid = \"a\"\nbus = \"sim\"\naddress = 1\n\
         profile = {{ name = \"linevisor-sim-servo\", version = \"1.0\" }}\n{extra}"
    )
}

fn check(text: &str) -> ValidLine {
    let checked = check_text("stop.toml", text, None);
    checked
        .line
        .unwrap_or_else(|| panic!("{:?}", checked.diagnostics))
}

const B: &str = "\n[[drive]]\nid = \"b\"\nbus = \"sim\"\naddress = 2\n\
                 profile = { name = \"linevisor-sim-servo\", version = \"1.0\" }\n";

#[tokio::test(start_paused = true)]
async fn a_stop_rolls_a_running_change_back_and_goes_on() {
    let line = RunningLine::start(&check(&config("")), LineOptions::default())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    // b's unit is there but silent: b's trial would run its full 5 s before failing.
    let sim = line.bus("sim").unwrap().sim.unwrap();
    let profile = &line.config().profiles[&("linevisor-sim-servo".into(), "1.0".into())];
    let unit = linevisor_sim::SimDrive::new(&profile.profile, Default::default()).unwrap();
    sim.add_drive(2, unit).unwrap();
    sim.go_silent(2).unwrap();

    let stop = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(line.drive("b").is_some(), "b is on trial");
        line.shutdown().await
    };
    let (applied, stopped) = tokio::join!(line.apply(check(&config(B))), stop);
    match applied {
        Err(ChangeError::Failed {
            reason,
            rollback_errors,
            ..
        }) => {
            assert!(reason.contains("the line is stopping"), "{reason}");
            assert!(rollback_errors.is_empty(), "{rollback_errors:?}");
        }
        other => panic!("{other:?}"),
    }
    stopped.expect("a clean stop");
    assert!(line.drive("b").is_none());
    assert!(!line.config().config.drive.iter().any(|d| d.id == "b"));
    // Nothing starts on a stopping line.
    match line.apply(check(&config(B))).await {
        Err(ChangeError::Refused(why)) => assert_eq!(why, ["the line is stopping"]),
        other => panic!("{other:?}"),
    }
    assert!(matches!(line.try_change(), Err(ChangeError::Refused(_))));
}
