//! Property tests of the plan: for random pairs of lines, every drive of either appears once,
//! with the action its two configs call for; a line against itself touches nothing.

use std::collections::BTreeMap;
use std::path::Path;

use linevisor_config::{ValidLine, check_text};
use linevisor_line::Plan;
use linevisor_line::change::DriveAction;
use proptest::prelude::*;

const SERVO: &str = include_str!("../../../configs/profiles/linevisor-sim-servo.toml");

/// One drive: (address, profile version 1.0/1.1, velocity limit, cycle_ms or default).
type Drive = (u32, bool, u16, Option<u32>);

fn text(drives: &BTreeMap<String, Drive>) -> String {
    let mut s = String::from(
        "[line]\nname = \"p\"\ncycle_ms = 10\n\n[[bus]]\nid = \"sim\"\ntype = \"simulated\"\nprotocol = \"modbus\"\n",
    );
    for (id, (address, v11, limit, cycle)) in drives {
        let version = if *v11 { "1.1" } else { "1.0" };
        s.push_str(&format!(
            "\n[[drive]]\nid = \"{id}\"\nbus = \"sim\"\naddress = {address}\n\
             profile = {{ name = \"linevisor-sim-servo\", version = \"{version}\" }}\n\
             limits = {{ velocity_max = {limit}.0 }}\n"
        ));
        if let Some(c) = cycle {
            s.push_str(&format!("cycle_ms = {c}\n"));
        }
    }
    s
}

fn check(dir: &Path, drives: &BTreeMap<String, Drive>) -> ValidLine {
    let checked = check_text("p.toml", &text(drives), Some(dir));
    checked
        .line
        .unwrap_or_else(|| panic!("{:?}", checked.diagnostics))
}

/// Up to 6 drives named d0..d7 with distinct addresses.
fn line() -> impl Strategy<Value = BTreeMap<String, Drive>> {
    proptest::collection::btree_map(
        0u8..8,
        (
            any::<bool>(),
            prop_oneof![Just(1000u16), Just(2000)],
            prop_oneof![Just(None), Just(Some(10u32)), Just(Some(20))],
        ),
        0..6,
    )
    .prop_flat_map(|m| {
        let n = m.len();
        (
            Just(m),
            Just((1..=8u32).collect::<Vec<_>>())
                .prop_shuffle()
                .prop_map(move |a| a[..n].to_vec()),
        )
    })
    .prop_map(|(m, addresses)| {
        m.into_iter()
            .zip(addresses)
            .map(|((i, (v11, limit, cycle)), a)| (format!("d{i}"), (a, v11, limit, cycle)))
            .collect()
    })
}

fn expected(old: Option<&Drive>, new: Option<&Drive>) -> DriveAction {
    let cycle = |c: Option<u32>| c.unwrap_or(10);
    match (old, new) {
        (None, _) => DriveAction::Add,
        (_, None) => DriveAction::Remove,
        (Some(o), Some(n)) if o.0 != n.0 => DriveAction::Restart,
        (Some(o), Some(n)) if o.1 != n.1 => DriveAction::Upgrade,
        (Some(o), Some(n)) if o.2 != n.2 || cycle(o.3) != cycle(n.3) => DriveAction::Reconfigure,
        _ => DriveAction::Untouched,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_drive_gets_the_action_its_configs_call_for(old in line(), new in line()) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("profiles")).unwrap();
        let v11 = SERVO.replace("version = \"1.0\"", "version = \"1.1\"");
        std::fs::write(dir.path().join("profiles/v11.toml"), v11).unwrap();
        let (a, b) = (check(dir.path(), &old), check(dir.path(), &new));
        let plan = Plan::between(&a, &b);
        let ids: Vec<&String> = old.keys().chain(new.keys().filter(|k| !old.contains_key(*k))).collect();
        prop_assert_eq!(plan.drives.len(), ids.len());
        for step in &plan.drives {
            let want = expected(old.get(&step.id), new.get(&step.id));
            prop_assert_eq!(step.action, want, "{}: {:?}", &step.id, step);
            if old.contains_key(&step.id) && new.contains_key(&step.id) {
                // A drive in both is touched exactly when some key differs, and says which.
                prop_assert_eq!(step.action == DriveAction::Untouched, step.changes.is_empty());
            }
        }
        prop_assert!(plan.refused.is_empty());
        prop_assert!(Plan::between(&a, &a).is_empty());
        prop_assert!(Plan::between(&b, &b).is_empty());
    }
}
