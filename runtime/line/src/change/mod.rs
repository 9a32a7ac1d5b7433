//! Live changes of a running line: the plan (blast radius) of a new config, and its
//! transactional application with rollback. Restart, upgrade, add and remove of one drive are
//! all changes of the config, so they share one path and one guarantee: untouched drives are
//! not addressed at all.

mod apply;
mod plan;
mod trial;

pub use apply::ApplyReport;
pub use plan::{BusAction, BusStep, DriveAction, DriveStep, Plan};
