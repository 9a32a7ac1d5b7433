//! Building the children of a line from its config: one bus child per `[[bus]]`, one drive
//! subtree per `[[drive]]`. Used at start and by every live change, so a drive added by
//! `apply` is built exactly as one present at start.

use std::sync::Arc;

use linevisor_config::model::{BusConfig, DriveConfig, Protocol};
use linevisor_config::{ProfileSet, ValidLine};
use linevisor_drive::{DriveChannels, DriveSetup};
use linevisor_sim::{SimDrive, SimDriveOptions};
use linevisor_supervisor::ChildSpec;

use crate::tree::drive_subtree;

use crate::LineError;
use crate::bus;
use crate::bus::simulated;
use crate::exec::Executor;
use crate::line::{BusEntry, DriveEntry, LineOptions};

/// A bus child and its entry.
pub(crate) fn bus(
    line: &ValidLine,
    config: &BusConfig,
    first_serial: u32,
    exec: &Executor,
) -> Result<(ChildSpec, BusEntry), LineError> {
    let sim = match config {
        BusConfig::Simulated(s) => Some(simulated::build(line, s, first_serial)?),
        _ => None,
    };
    let runtime = exec.place(config.id())?;
    let child = bus::child(config, sim, runtime)?;
    let entry = BusEntry {
        id: config.id().to_owned(),
        handle: child.handle.clone(),
        child: child.spec.handle(),
        sim: child.sim.clone(),
        config: config.clone(),
    };
    Ok((child.spec.build(), entry))
}

/// The setup of drive `d` of `line` on `bus`, sharing `channels` (kept across versions).
pub(crate) fn drive_setup(
    line: &ValidLine,
    d: &DriveConfig,
    bus: &BusEntry,
    channels: DriveChannels,
    options: &LineOptions,
) -> Result<DriveSetup, LineError> {
    let profile = profile_of(&line.profiles, d)?;
    DriveSetup::new(
        &line.config.line,
        d,
        profile,
        bus.handle.clone(),
        channels,
        options.drive.clone(),
    )
    .map_err(|e| LineError::Drive {
        drive: d.id.clone(),
        reason: e.to_string(),
    })
}

/// A drive subtree child and its entry.
pub(crate) fn drive(
    line: &ValidLine,
    d: &DriveConfig,
    bus: &BusEntry,
    options: &LineOptions,
    channels: Option<DriveChannels>,
) -> Result<(ChildSpec, DriveEntry), LineError> {
    let channels = channels.unwrap_or_default();
    let setup = drive_setup(line, d, bus, channels.clone(), options)?;
    let spec = setup.spec();
    let handle = spec.handle();
    let subtree = drive_subtree([spec.build()]);
    let entry = DriveEntry {
        id: d.id.clone(),
        bus: d.bus.clone(),
        handle,
        channels,
        version: setup.version().to_owned(),
        config: d.clone(),
        subtree: subtree.handle(),
        setup: Arc::new(setup),
    };
    Ok((subtree.into_child(d.id.as_str()), entry))
}

/// On a simulated Modbus segment, a drive added live needs its simulated unit (the hardware
/// an integrator would wire); one already there is kept.
pub(crate) fn ensure_sim_unit(
    line: &ValidLine,
    d: &DriveConfig,
    bus: &BusEntry,
    serial: u32,
) -> Result<(), LineError> {
    let (Some(sim), BusConfig::Simulated(b)) = (&bus.sim, &bus.config) else {
        return Ok(());
    };
    let fail = |reason: String| LineError::Drive {
        drive: d.id.clone(),
        reason,
    };
    let unit = u8::try_from(d.address).map_err(|_| fail("address out of range".into()))?;
    if b.protocol != Protocol::Modbus || sim.units().contains(&unit) {
        return Ok(());
    }
    let profile = profile_of(&line.profiles, d)?;
    let options = SimDriveOptions {
        serial_number: serial,
        ..SimDriveOptions::default()
    };
    let drive = SimDrive::new(profile, options).map_err(|e| fail(e.to_string()))?;
    sim.add_drive(unit, drive)
        .map_err(|e| fail(e.to_string()))?;
    Ok(())
}

/// The profile a drive names, from the line's loaded profiles.
pub(crate) fn profile_of<'a>(
    profiles: &'a ProfileSet,
    d: &DriveConfig,
) -> Result<&'a linevisor_config::model::Profile, LineError> {
    profiles
        .get(&(d.profile.name.clone(), d.profile.version.clone()))
        .map(|lp| &lp.profile)
        .ok_or_else(|| LineError::Drive {
            drive: d.id.clone(),
            reason: format!(
                "profile \"{}\" version \"{}\" is not loaded",
                d.profile.name, d.profile.version
            ),
        })
}
