//! `[realtime]` in `linevisor check`: a valid section passes and is kept; each mistake is
//! reported at its key (priority out of range, a CPU listed twice, settings that need cycle
//! threads when there are none, an unknown key with a suggestion), and CPUs shared between the
//! cycle threads and everything else are a warning.

use linevisor_config::check_text;
use linevisor_config::model::{CycleThreads, RealtimeSection};

const LINE: &str = "[line]\nname = \"rt\"\n";

fn messages(realtime: &str) -> Vec<String> {
    let c = check_text(
        "rt.toml",
        &format!("{LINE}\n[realtime]\n{realtime}\n"),
        None,
    );
    c.diagnostics.iter().map(ToString::to_string).collect()
}

#[test]
fn a_valid_section_is_kept() {
    let text = format!(
        "{LINE}\n[realtime]\ncycle_threads = \"shared\"\npriority = 40\ncpus = [1]\nother_cpus = [0]\nlock_memory = true\n"
    );
    let c = check_text("rt.toml", &text, None);
    // A machine with a single CPU warns about CPU 1; nothing else may be reported.
    let other: Vec<String> = c
        .diagnostics
        .iter()
        .map(ToString::to_string)
        .filter(|d| !d.contains("this machine has no CPU"))
        .collect();
    assert!(other.is_empty(), "{other:#?}");
    let r = c.line.expect("valid").config.realtime;
    assert_eq!(
        r,
        RealtimeSection {
            cycle_threads: CycleThreads::Shared,
            priority: Some(40),
            cpus: vec![1],
            other_cpus: vec![0],
            lock_memory: true,
        }
    );
}

#[test]
fn without_the_section_each_bus_gets_a_cycle_thread_at_normal_priority() {
    let c = check_text("rt.toml", LINE, None);
    let r = c.line.expect("valid").config.realtime;
    assert_eq!(r.cycle_threads, CycleThreads::PerBus);
    assert_eq!(r.priority, None);
}

#[test]
fn mistakes_are_reported_at_their_keys() {
    let m = messages("priority = 0");
    assert!(
        m.iter()
            .any(|m| m.contains("realtime.priority") && m.contains("out of range")),
        "{m:#?}"
    );
    let m = messages("cpus = [0, 0]");
    assert!(
        m.iter()
            .any(|m| m.contains("realtime.cpus[1]") && m.contains("listed twice")),
        "{m:#?}"
    );
    let m = messages("cycle_threads = \"off\"\npriority = 20");
    assert!(
        m.iter()
            .any(|m| m.contains("realtime.priority") && m.contains("needs cycle threads")),
        "{m:#?}"
    );
    let m = messages("prority = 20");
    assert!(m.iter().any(|m| m.contains("priority")), "{m:#?}");
    let m = messages("cycle_threads = \"per_drive\"");
    assert!(
        m.iter().any(|m| m.contains("realtime.cycle_threads")),
        "{m:#?}"
    );
}

#[test]
fn cpus_shared_with_everything_else_are_a_warning() {
    let c = check_text(
        "rt.toml",
        &format!("{LINE}\n[realtime]\ncpus = [0]\nother_cpus = [0]\n"),
        None,
    );
    assert!(c.line.is_some(), "a warning only");
    let m: Vec<String> = c.diagnostics.iter().map(ToString::to_string).collect();
    assert!(
        m.iter()
            .any(|m| m.contains("realtime.other_cpus") && m.contains("carry both")),
        "{m:#?}"
    );
}
