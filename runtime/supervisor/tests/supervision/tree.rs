//! Property test on nested supervisors in the shape a line uses (a root over a buses and a
//! drives supervisor, a rest_for_one subtree per drive, a control child): random crash /
//! restart / stop sequences always converge back to the configured shape, and never disturb
//! another subtree.

use std::collections::BTreeMap;
use std::time::Duration;

use linevisor_supervisor::{
    Backoff, ChildHandle, ChildStatus, Event, EventBus, Intensity, SeededJitter, SupervisorError,
    SupervisorRef, SupervisorSpec,
};
use proptest::prelude::*;

use crate::common::*;

const LEAVES: [&str; 7] = [
    "b1", "b2", "d1.axis", "d1.io", "d2.axis", "d2.io", "control",
];

/// The running tree: its root and the two supervisors below it.
struct Tree {
    root: SupervisorRef,
    buses: SupervisorRef,
    drives: SupervisorRef,
    events: EventBus,
}

impl Tree {
    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    async fn shutdown(&self) -> Result<(), SupervisorError> {
        self.root.shutdown().await
    }
}

struct Line {
    tree: Tree,
    drive_sups: BTreeMap<&'static str, SupervisorRef>,
    handles: BTreeMap<&'static str, ChildHandle<Msg>>,
    probe: Probe,
}

fn generous() -> Intensity {
    Intensity::new(10_000, Duration::from_secs(1))
}

async fn build(seed: u64) -> Line {
    let probe = Probe::default();
    let mut handles = BTreeMap::new();
    let mut leaf = |name: &'static str| {
        let spec = worker(name, &probe);
        handles.insert(name, spec.handle());
        spec.build()
    };
    let backoff = Backoff::exponential(Duration::from_millis(10), Duration::from_millis(80));
    let (b1, b2, control) = (leaf("b1"), leaf("b2"), leaf("control"));
    let buses = SupervisorSpec::new(linevisor_supervisor::Strategy::OneForOne)
        .intensity(generous())
        .backoff(backoff)
        .jitter(SeededJitter::new(seed))
        .child(b1)
        .child(b2);
    let mut drives =
        SupervisorSpec::new(linevisor_supervisor::Strategy::OneForOne).intensity(generous());
    let mut drive_sups = BTreeMap::new();
    for d in ["d1", "d2"] {
        let axis = leaf(if d == "d1" { "d1.axis" } else { "d2.axis" });
        let io = leaf(if d == "d1" { "d1.io" } else { "d2.io" });
        // Tight on purpose: repeated crashes of one drive melt its subtree down.
        let sub = SupervisorSpec::new(linevisor_supervisor::Strategy::RestForOne)
            .child(axis)
            .child(io)
            .intensity(Intensity::new(2, Duration::from_secs(10)))
            .backoff(backoff)
            .jitter(SeededJitter::new(seed + 1));
        drive_sups.insert(d, sub.handle());
        drives = drives.child(sub.into_child(d));
    }
    let events = EventBus::new(1 << 14);
    let (buses_ref, drives_ref) = (buses.handle(), drives.handle());
    let root = SupervisorSpec::new(linevisor_supervisor::Strategy::OneForOne)
        .intensity(generous())
        .child(buses.into_child("buses"))
        .child(drives.into_child("drives"))
        .child(control)
        .start("line", events.clone())
        .await
        .unwrap();
    let tree = Tree {
        root,
        buses: buses_ref,
        drives: drives_ref,
        events,
    };
    Line {
        tree,
        drive_sups,
        handles,
        probe,
    }
}

/// The subtree a leaf belongs to: a bus, a drive, or the control plane.
fn unit_of_leaf(leaf: &str) -> &str {
    leaf.split('.').next().unwrap_or(leaf)
}

fn unit_of_event(e: &Event) -> String {
    match e.supervisor.strip_prefix("line/drives/") {
        Some(drive) => drive.to_owned(),
        None => e.child.to_string(),
    }
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Crash,
    Fail,
    Kill,
    ExitNormally,
    TerminateAndRestart,
    StopAndRestartDrive,
}

fn op_strategy() -> impl Strategy<Value = (Op, usize)> {
    let op = prop_oneof![
        Just(Op::Crash),
        Just(Op::Fail),
        Just(Op::Kill),
        Just(Op::ExitNormally),
        Just(Op::TerminateAndRestart),
        Just(Op::StopAndRestartDrive),
    ];
    (op, 0..LEAVES.len())
}

impl Line {
    fn supervisor_of(&self, leaf: &str) -> (SupervisorRef, String) {
        match leaf {
            "b1" | "b2" => (self.tree.buses.clone(), leaf.to_owned()),
            "control" => (self.tree.root.clone(), leaf.to_owned()),
            _ => (self.drive_sups[unit_of_leaf(leaf)].clone(), leaf.to_owned()),
        }
    }

    async fn apply(&self, op: Op, leaf: &'static str) {
        let h = &self.handles[leaf];
        match op {
            Op::Crash => h.cast(Msg::Crash).unwrap(),
            Op::Fail => h.cast(Msg::Fail).unwrap(),
            Op::Kill => self.probe.cell(leaf).kill(),
            Op::ExitNormally => h.cast(Msg::Exit(None)).unwrap(),
            Op::TerminateAndRestart => {
                let (sup, id) = self.supervisor_of(leaf);
                sup.terminate_child(id.as_str()).await.unwrap();
                sup.restart_child(id.as_str()).await.unwrap();
            }
            Op::StopAndRestartDrive => {
                let unit = unit_of_leaf(leaf);
                let (sup, id) = if unit.starts_with('d') {
                    (self.tree.drives.clone(), unit.to_owned())
                } else {
                    self.supervisor_of(leaf)
                };
                sup.terminate_child(id.as_str()).await.unwrap();
                sup.restart_child(id.as_str()).await.unwrap();
            }
        }
    }

    async fn generations(&self) -> BTreeMap<&'static str, u64> {
        let mut out = BTreeMap::new();
        for (name, h) in &self.handles {
            out.insert(*name, ping(h).await);
        }
        out
    }

    async fn assert_shape(&self) {
        let rows = |sup: SupervisorRef| async move {
            sup.which_children()
                .await
                .unwrap()
                .into_iter()
                .map(|i| (i.id.to_string(), i.status))
                .collect::<Vec<_>>()
        };
        let running = |ids: &[&str]| {
            ids.iter()
                .map(|i| (i.to_string(), ChildStatus::Running))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            rows(self.tree.root.clone()).await,
            running(&["buses", "drives", "control"])
        );
        assert_eq!(rows(self.tree.buses.clone()).await, running(&["b1", "b2"]));
        assert_eq!(rows(self.tree.drives.clone()).await, running(&["d1", "d2"]));
        assert_eq!(
            rows(self.drive_sups["d1"].clone()).await,
            running(&["d1.axis", "d1.io"])
        );
        assert_eq!(
            rows(self.drive_sups["d2"].clone()).await,
            running(&["d2.axis", "d2.io"])
        );
    }
}

async fn run(ops: Vec<(Op, usize)>, seed: u64) {
    let line = build(seed).await;
    let mut rx = line.tree.subscribe();
    line.assert_shape().await;
    for (op, i) in ops {
        let leaf = LEAVES[i];
        let before = line.generations().await;
        drain(&mut rx);
        line.apply(op, leaf).await;
        // Let restarts, backoffs and escalations play out (tokio time, paused).
        tokio::time::sleep(Duration::from_secs(2)).await;

        let unit = unit_of_leaf(leaf);
        for e in drain(&mut rx) {
            assert_eq!(
                unit_of_event(&e),
                unit,
                "{op:?} on {leaf} disturbed another subtree: {e:?}"
            );
        }
        line.assert_shape().await;
        let after = line.generations().await;
        for name in LEAVES {
            if unit_of_leaf(name) != unit {
                assert_eq!(
                    before[name], after[name],
                    "{op:?} on {leaf} restarted {name}"
                );
            }
        }
        assert!(
            after[leaf] > before[leaf],
            "{op:?} on {leaf}: it should run a new instance"
        );
    }
    let before = line.probe.lines_with("safe:").len();
    line.tree.shutdown().await.unwrap();
    // Shutdown goes in reverse: control plane, drives (their bus still up), then buses.
    let order: Vec<String> = LEAVES.iter().rev().map(|l| format!("safe:{l}")).collect();
    assert_eq!(line.probe.lines_with("safe:")[before..], order[..]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn the_tree_converges_and_subtrees_stay_independent(
        ops in prop::collection::vec(op_strategy(), 1..12),
        seed in any::<u64>(),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        rt.block_on(run(ops, seed));
    }
}

#[tokio::test(start_paused = true)]
async fn a_bus_restart_does_not_restart_drives() {
    let line = build(1).await;
    let before = line.generations().await;
    let mut rx = line.tree.subscribe();
    line.handles["b1"].cast(Msg::Crash).unwrap();
    expect(&mut rx, is("b1", restarted)).await;
    let after = line.generations().await;
    for name in LEAVES {
        assert_eq!(before[name] == after[name], name != "b1", "{name}");
    }
}
