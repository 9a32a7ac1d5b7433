//! Applying a plan to the running tree, transactionally. Steps run from the least to the most
//! disruptive (new buses, new drives, new versions, restarts, then removals), each recording
//! how to undo it; the first failure undoes every recorded step in reverse, so the tree is the
//! old one again. Untouched drives are never addressed: not stopped, not messaged.

use std::sync::Arc;
use std::time::Instant;

use linevisor_config::ValidLine;
use linevisor_drive::{DriveSetup, DriveWorker};
use tracing::{info, warn};

use super::plan::{BusAction, DriveAction, Plan};
use super::trial;
use crate::build;
use crate::line::{BusEntry, DriveEntry, LineNotice, RunningLine, STOPPING};
use crate::{ChangeError, LineError};

/// A change that went through.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ApplyReport {
    /// What was done.
    pub plan: Plan,
    /// From the call to the last step's completion (trials included), in milliseconds.
    pub took_ms: f64,
    /// The config that runs now.
    #[serde(skip)]
    pub config: Arc<ValidLine>,
}

/// How to undo one done step.
enum Undo {
    /// An added bus: remove it.
    RemoveBus(String),
    /// An added drive: remove it.
    RemoveDrive(String),
    /// A removed bus: start it again from the old config.
    RestoreBus(BusEntry),
    /// A removed drive: start it again from the old config.
    RestoreDrive(DriveEntry),
    /// A drive on a new version: hand it back to this (old) entry's config.
    Downgrade(DriveEntry),
}

/// A failed step: which, and why.
type StepError = (String, String);

impl RunningLine {
    /// The plan that turns the running line into `new`.
    pub fn plan(&self, new: &ValidLine) -> Plan {
        Plan::between(&self.config(), new)
    }

    /// Validated `new` becomes the running line: only the difference is applied, and any
    /// failure rolls every done step back. One change runs at a time.
    pub async fn apply(&self, new: ValidLine) -> Result<ApplyReport, ChangeError> {
        self.apply_source(None, new, None).await
    }

    /// As [`Self::apply`], for a config derived from `base` (add, remove, upgrade of one
    /// drive): refused with [`ChangeError::Stale`] if another change ran since `base` was read,
    /// so it cannot undo that change.
    pub async fn apply_to(
        &self,
        base: Option<&Arc<ValidLine>>,
        new: ValidLine,
    ) -> Result<ApplyReport, ChangeError> {
        self.apply_source(base, new, None).await
    }

    /// As [`Self::apply_to`]; `source` is the text `new` was checked from, kept with it (see
    /// [`Self::source`]). A line that starts stopping meanwhile rolls the change back at its
    /// next step.
    pub async fn apply_source(
        &self,
        base: Option<&Arc<ValidLine>>,
        new: ValidLine,
        source: Option<Arc<str>>,
    ) -> Result<ApplyReport, ChangeError> {
        let _guard = self.try_change()?;
        let started = Instant::now();
        let old = self.config();
        if base.is_some_and(|b| !Arc::ptr_eq(b, &old)) {
            return Err(ChangeError::Stale);
        }
        let new = Arc::new(new);
        // The diff is CPU work over every drive: off the threads that carry the cycles.
        let plan = {
            let (o, n) = (old.clone(), new.clone());
            tokio::task::spawn_blocking(move || Plan::between(&o, &n))
                .await
                .map_err(|e| ChangeError::Failed {
                    step: "plan".into(),
                    reason: e.to_string(),
                    rollback_errors: Vec::new(),
                })?
        };
        if !plan.refused.is_empty() {
            return Err(ChangeError::Refused(plan.refused));
        }
        let mut done = Vec::new();
        if let Err((step, reason)) = self.steps(&plan, &old, &new, &mut done).await {
            warn!(line = %self.name, %step, error = %reason, "Change failed; rolling back.");
            let rollback_errors = self.undo(&old, done).await;
            return Err(ChangeError::Failed {
                step,
                reason,
                rollback_errors,
            });
        }
        {
            let mut w = self.write();
            w.config = new.clone();
            w.source = source;
        }
        let took_ms = started.elapsed().as_secs_f64() * 1e3;
        info!(line = %self.name, took_ms, "Change applied.");
        Ok(ApplyReport {
            plan,
            took_ms,
            config: new,
        })
    }

    /// Before each step: a stopping line goes no further (what is done is undone).
    fn go_on(&self, what: &str, id: &str) -> Result<(), StepError> {
        if self.is_stopping() {
            Err((step(what, id), STOPPING.to_owned()))
        } else {
            Ok(())
        }
    }

    async fn steps(
        &self,
        plan: &Plan,
        old: &Arc<ValidLine>,
        new: &Arc<ValidLine>,
        done: &mut Vec<Undo>,
    ) -> Result<(), StepError> {
        let drives_of = |a: DriveAction| plan.drives.iter().filter(move |d| d.action == a);
        let buses_of = |a: BusAction| plan.buses.iter().filter(move |b| b.action == a);
        for b in buses_of(BusAction::Add) {
            self.go_on("add bus", &b.id)?;
            self.add_bus(new, &b.id)
                .await
                .map_err(|e| (step("add bus", &b.id), e.to_string()))?;
            done.push(Undo::RemoveBus(b.id.clone()));
        }
        for d in drives_of(DriveAction::Add) {
            self.go_on("add drive", &d.id)?;
            self.add_drive(new, &d.id, None, true)
                .await
                .map_err(|e| (step("add drive", &d.id), e.to_string()))?;
            done.push(Undo::RemoveDrive(d.id.clone()));
        }
        for d in plan
            .drives
            .iter()
            .filter(|d| matches!(d.action, DriveAction::Upgrade | DriveAction::Reconfigure))
        {
            self.go_on("new version of drive", &d.id)?;
            let previous = self
                .replace_drive(new, &d.id, Some(self.options.trial))
                .await
                .map_err(|e| (step("new version of drive", &d.id), e.to_string()))?;
            done.push(Undo::Downgrade(previous));
        }
        // Restarts: every drive on a replaced bus first goes, then the bus is rebuilt. A
        // restarted drive keeps its channels, so subscribers stay with it.
        let mut channels = std::collections::BTreeMap::new();
        for d in drives_of(DriveAction::Restart) {
            self.go_on("stop drive", &d.id)?;
            let old_entry = self
                .remove_drive(&d.id)
                .await
                .map_err(|e| (step("stop drive", &d.id), e.to_string()))?;
            channels.insert(d.id.clone(), old_entry.channels.clone());
            done.push(Undo::RestoreDrive(old_entry));
        }
        for b in buses_of(BusAction::Replace) {
            for d in drives_of(DriveAction::Remove).filter(|d| on_bus(old, &d.id, &b.id)) {
                self.go_on("remove drive", &d.id)?;
                let e = self
                    .remove_drive(&d.id)
                    .await
                    .map_err(|e| (step("remove drive", &d.id), e.to_string()))?;
                done.push(Undo::RestoreDrive(e));
            }
            self.go_on("stop bus", &b.id)?;
            let e = self
                .remove_bus(&b.id)
                .await
                .map_err(|e| (step("stop bus", &b.id), e.to_string()))?;
            done.push(Undo::RestoreBus(e));
            self.go_on("start bus", &b.id)?;
            self.add_bus(new, &b.id)
                .await
                .map_err(|e| (step("start bus", &b.id), e.to_string()))?;
            done.push(Undo::RemoveBus(b.id.clone()));
        }
        for d in drives_of(DriveAction::Restart) {
            self.go_on("start drive", &d.id)?;
            self.add_drive(new, &d.id, channels.remove(&d.id), true)
                .await
                .map_err(|e| (step("start drive", &d.id), e.to_string()))?;
            done.push(Undo::RemoveDrive(d.id.clone()));
        }
        for d in drives_of(DriveAction::Remove) {
            if self.drive(&d.id).is_some() {
                self.go_on("remove drive", &d.id)?;
                let e = self
                    .remove_drive(&d.id)
                    .await
                    .map_err(|e| (step("remove drive", &d.id), e.to_string()))?;
                done.push(Undo::RestoreDrive(e));
            }
        }
        for b in buses_of(BusAction::Remove) {
            self.go_on("remove bus", &b.id)?;
            let e = self
                .remove_bus(&b.id)
                .await
                .map_err(|e| (step("remove bus", &b.id), e.to_string()))?;
            done.push(Undo::RestoreBus(e));
        }
        Ok(())
    }

    /// Undoes `done` in reverse; returns what could not be undone.
    async fn undo(&self, old: &Arc<ValidLine>, done: Vec<Undo>) -> Vec<String> {
        let mut errors = Vec::new();
        for u in done.into_iter().rev() {
            let result = match u {
                Undo::RemoveBus(id) => self.remove_bus(&id).await.map(drop),
                Undo::RemoveDrive(id) => self.remove_drive(&id).await.map(drop),
                Undo::RestoreBus(e) => self.add_bus(old, &e.id).await,
                Undo::RestoreDrive(e) => self.add_drive(old, &e.id, Some(e.channels), false).await,
                Undo::Downgrade(e) => self.replace_drive(old, &e.id, None).await.map(drop),
            };
            if let Err(e) = result {
                warn!(line = %self.name, error = %e, "A rollback step failed.");
                errors.push(e.to_string());
            }
        }
        errors
    }

    async fn add_bus(&self, line: &Arc<ValidLine>, id: &str) -> Result<(), LineError> {
        let config = line
            .config
            .bus
            .iter()
            .find(|b| b.id() == id)
            .ok_or_else(|| LineError::UnknownBus(id.to_owned()))?;
        let (spec, entry) = build::bus(line, config, 1000 * self.serial(), &self.exec)?;
        self.tree.buses.add_child(spec).await?;
        self.write().buses.insert(id.to_owned(), entry);
        Ok(())
    }

    async fn remove_bus(&self, id: &str) -> Result<BusEntry, LineError> {
        let entry = self
            .bus(id)
            .ok_or_else(|| LineError::UnknownBus(id.to_owned()))?;
        self.tree.buses.remove_child(id).await?;
        self.write().buses.remove(id);
        self.exec.release(id);
        Ok(entry)
    }

    /// Starts drive `id` of `line` (reusing `channels` when it comes back). `on_trial`: wait
    /// for its start-up and good samples, or the step fails and the drive is removed again. A
    /// rollback restores without a trial: the actor runs again whether or not the drive
    /// answers, as at start.
    async fn add_drive(
        &self,
        line: &Arc<ValidLine>,
        id: &str,
        channels: Option<linevisor_drive::DriveChannels>,
        on_trial: bool,
    ) -> Result<(), LineError> {
        let d = line
            .config
            .drive
            .iter()
            .find(|d| d.id == id)
            .ok_or_else(|| LineError::UnknownDrive(id.to_owned()))?;
        let bus = self
            .bus(&d.bus)
            .ok_or_else(|| LineError::UnknownBus(d.bus.clone()))?;
        build::ensure_sim_unit(line, d, &bus, self.serial())?;
        let (spec, entry) = build::drive(line, d, &bus, &self.options, channels)?;
        let events = entry.channels.events.subscribe();
        let samples = entry.channels.telemetry.subscribe();
        self.tree.drives.add_child(spec).await?;
        self.write().drives.insert(id.to_owned(), entry.clone());
        let _ = self
            .notices
            .send(LineNotice::DriveAdded(Box::new(entry.clone())));
        if !on_trial {
            return Ok(());
        }
        let rule = self.options.trial;
        let stopping = self.stopping.subscribe();
        if let Err(e) = trial::wait_good_samples(&entry, events, samples, rule, stopping).await {
            let _ = self.remove_drive(id).await;
            return Err(e);
        }
        Ok(())
    }

    async fn remove_drive(&self, id: &str) -> Result<DriveEntry, LineError> {
        let entry = self
            .drive(id)
            .ok_or_else(|| LineError::UnknownDrive(id.to_owned()))?;
        self.tree.drives.remove_child(id).await?;
        self.write().drives.remove(id);
        let _ = self.notices.send(LineNotice::DriveRemoved(id.to_owned()));
        Ok(entry)
    }

    /// Hands drive `id` over to its version in `line`; returns the previous entry. The
    /// supervisor runs the trial and rolls this one drive back itself if it is lost.
    async fn replace_drive(
        &self,
        line: &Arc<ValidLine>,
        id: &str,
        trial: Option<linevisor_drive::TrialRule>,
    ) -> Result<DriveEntry, LineError> {
        let previous = self
            .drive(id)
            .ok_or_else(|| LineError::UnknownDrive(id.to_owned()))?;
        let d = line
            .config
            .drive
            .iter()
            .find(|d| d.id == id)
            .ok_or_else(|| LineError::UnknownDrive(id.to_owned()))?;
        let bus = self
            .bus(&d.bus)
            .ok_or_else(|| LineError::UnknownBus(d.bus.clone()))?;
        let setup: DriveSetup =
            build::drive_setup(line, d, &bus, previous.channels.clone(), &self.options)?
                .succeed(&previous.setup);
        let replacement = setup.replacement(trial);
        previous
            .subtree
            .replace::<DriveWorker>(id, replacement)
            .await?;
        let entry = DriveEntry {
            version: setup.version().to_owned(),
            config: d.clone(),
            setup: Arc::new(setup),
            ..previous.clone()
        };
        self.write().drives.insert(id.to_owned(), entry);
        Ok(previous)
    }
}

fn step(what: &str, id: &str) -> String {
    format!("{what} \"{id}\"")
}

fn on_bus(line: &ValidLine, drive: &str, bus: &str) -> bool {
    line.config
        .drive
        .iter()
        .any(|d| d.id == drive && d.bus == bus)
}
