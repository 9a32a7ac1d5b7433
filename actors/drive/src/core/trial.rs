//! The trial of a new drive version after an upgrade: it must read good samples with its new
//! profile before the supervisor's probation counts. Anything that goes wrong first (start-up
//! refused, the drive refusing the cyclic read, undecodable data, comm loss, no sample in time)
//! fails the instance, and the supervisor rolls back to the previous version.

use std::time::Duration;

use tokio::time::Instant;

/// How a new version proves itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrialRule {
    /// Good samples needed, read and decoded with the new profile.
    pub samples: u32,
    /// Time allowed for them, from the instance's start.
    pub within: Duration,
}

impl Default for TrialRule {
    /// 10 samples within 5 s.
    fn default() -> Self {
        Self {
            samples: 10,
            within: Duration::from_secs(5),
        }
    }
}

/// A running trial.
#[derive(Debug)]
pub(crate) struct TrialState {
    rule: TrialRule,
    good: u32,
    deadline: Instant,
    failure: Option<String>,
}

impl TrialState {
    pub(crate) fn start(rule: TrialRule, now: Instant) -> Self {
        Self {
            rule,
            good: 0,
            deadline: now + rule.within,
            failure: None,
        }
    }

    pub(crate) fn good_sample(&mut self) {
        self.good = self.good.saturating_add(1);
    }

    /// The first failure is kept: it is the one the operator needs.
    pub(crate) fn fail(&mut self, reason: impl FnOnce() -> String) {
        if self.failure.is_none() && !self.proven() {
            self.failure = Some(reason());
        }
    }

    pub(crate) fn proven(&self) -> bool {
        self.good >= self.rule.samples
    }

    /// `Some(reason)` when the trial is lost (a failure, or the time is up).
    pub(crate) fn verdict(&mut self, now: Instant) -> Option<String> {
        if !self.proven() && now >= self.deadline {
            let (good, need, within) = (self.good, self.rule.samples, self.rule.within);
            self.fail(|| format!("{good} of {need} good samples within {within:?}"));
        }
        self.failure.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_trial_is_won_by_samples_and_lost_by_a_failure_or_the_clock() {
        let rule = TrialRule {
            samples: 2,
            within: Duration::from_millis(100),
        };
        let mut won = TrialState::start(rule, Instant::now());
        won.good_sample();
        assert!(!won.proven());
        won.good_sample();
        won.fail(|| "late".into());
        assert!(won.proven());
        assert_eq!(won.verdict(Instant::now() + rule.within), None);

        let mut failed = TrialState::start(rule, Instant::now());
        failed.fail(|| "exception 0x02".into());
        failed.fail(|| "second".into());
        assert_eq!(
            failed.verdict(Instant::now()).as_deref(),
            Some("exception 0x02")
        );

        let mut slow = TrialState::start(rule, Instant::now());
        slow.good_sample();
        assert_eq!(slow.verdict(Instant::now()), None);
        tokio::time::advance(rule.within).await;
        let lost = slow.verdict(Instant::now()).unwrap();
        assert!(lost.contains("1 of 2 good samples"), "{lost}");
    }
}
