//! `type = "serial"`: a plain serial line whose request/response protocol the drives' profiles
//! describe.

use std::fmt::Write as _;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{
    Parity, Resource, default_data_bits, default_response_timeout_ms, default_retries,
    default_stop_bits, non_empty, rc, serial_char_bits, serial_line,
};
use super::modbus::{check_breaker, default_demote_after, default_probe_ms};
use super::{AddressRange, BusKindConfig, DriveLoad, DriveOnBus};
use crate::diag::{Finding, Path};
use crate::feasibility::BusLoad;
use crate::model::{Point, Protocol, SerialSection};
use linevisor_core::profile::{FieldName, SerialFraming, SerialRequest};

/// `type = "serial"`: plain serial line with an ASCII or binary protocol described by the profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SerialBus {
    /// Unique bus id.
    pub id: String,
    /// Serial device. Claimed exclusively.
    pub port: String,
    /// Line speed in bit/s (standard rates, see `modbus_rtu`).
    pub baud: u32,
    /// Parity. Default `none`.
    #[serde(default = "default_serial_parity")]
    pub parity: Parity,
    /// Data bits: 7 or 8. Default 8.
    #[serde(default = "default_data_bits")]
    pub data_bits: u8,
    /// Stop bits: 1 or 2. Default 1.
    #[serde(default = "default_stop_bits")]
    pub stop_bits: u8,
    /// Response timeout in milliseconds (1–10000). Default 100.
    #[serde(default = "default_response_timeout_ms")]
    pub response_timeout_ms: u32,
    /// Retries after a timeout or a garbled reply (0–10). Default 1.
    #[serde(default = "default_retries")]
    pub retries: u8,
    /// Idle time the line keeps between a reply (or a timeout) and the next request, in
    /// microseconds (0–100000), for drives that need time to turn their RS-485 transceiver
    /// around. Default 0.
    #[serde(default)]
    pub inter_request_gap_us: u32,
    /// Discard the local echo of our own transmission (2-wire adapters without echo suppression).
    #[serde(default)]
    pub echo_suppression: bool,
    /// Consecutive timeouts after which a drive is demoted to probing (1–100). Default 3.
    #[serde(default = "default_demote_after")]
    pub demote_after_timeouts: u32,
    /// How often a demoted drive is probed, in milliseconds (10–600000). Default 1000.
    #[serde(default = "default_probe_ms")]
    pub probe_interval_ms: u32,
}

fn default_serial_parity() -> Parity {
    Parity::None
}

impl BusKindConfig for SerialBus {
    fn id(&self) -> &str {
        &self.id
    }

    fn protocol(&self) -> Protocol {
        Protocol::Serial
    }

    fn addresses(&self) -> AddressRange {
        AddressRange {
            lo: 1,
            hi: 255,
            what: "serial address",
        }
    }

    fn check(&self, p: &Path, f: &mut Vec<Finding>) {
        serial_line(f, p, self.baud, self.data_bits, self.stop_bits);
        let timeout = self.response_timeout_ms;
        rc(f, p, "response_timeout_ms", timeout, 1, 10_000, "ms");
        rc(f, p, "retries", self.retries, 0, 10, "");
        let gap = self.inter_request_gap_us;
        rc(f, p, "inter_request_gap_us", gap, 0, 100_000, "µs");
        check_breaker(f, p, self.demote_after_timeouts, self.probe_interval_ms);
        non_empty(f, p.key("port"), &self.port);
    }

    fn resources(&self, p: &Path) -> Vec<(Resource, Path)> {
        vec![(Resource::SerialPort(self.port.clone()), p.key("port"))]
    }

    fn load(&self, drives: &[DriveLoad<'_>], out: &mut BusLoad) {
        let char_bits = serial_char_bits(self.data_bits, self.parity, self.stop_bits);
        let mut busy = 0.0;
        for d in drives {
            let p = d.profile;
            let polled = p
                .poll
                .iter()
                .flat_map(|p| &p.points)
                .filter_map(|n| p.points.get(n));
            for pt in polled {
                let Some(read) = &pt.read else { continue };
                let chars = exchange_bytes(p.serial.as_ref(), read, pt, d.drive.address);
                // A local echo is the same transmission read back: no extra wire time.
                let wire = chars * char_bits / f64::from(self.baud);
                let gap = f64::from(self.inter_request_gap_us) / 1e6;
                busy += (wire + gap) * d.per_s();
                out.per_second += d.per_s();
            }
        }
        out.percent = Some(busy * 100.0);
        let _ = write!(
            out.detail,
            "{} drives, {:.1} requests/s at {} baud",
            drives.len(),
            out.per_second,
            self.baud
        );
    }

    /// On a multi-drop line every request must carry the drive's address, or two drives
    /// would answer (or obey) the same request.
    fn check_drive(&self, drive: &DriveOnBus<'_>, p: &Path, f: &mut Vec<Finding>) {
        let Some(profile) = drive.profile else { return };
        if drive.drives_on_bus < 2 {
            return;
        }
        let default = SerialSection::default();
        let serial = profile.serial.as_ref().unwrap_or(&default);
        let unaddressed = match serial.framing {
            SerialFraming::Ascii => profile
                .points
                .iter()
                .flat_map(|(name, pt)| {
                    let requests = pt
                        .read
                        .iter()
                        .chain(&pt.write)
                        .chain(pt.write_values.values())
                        .flat_map(SerialRequest::parts);
                    requests.map(move |r| (name, r))
                })
                .find(|(_, r)| r.template().is_some_and(|t| !t.contains("{address}")))
                .map(|(name, _)| format!("point \"{name}\": its request has no {{address}}")),
            SerialFraming::Binary => {
                let has_address = serial
                    .request
                    .as_ref()
                    .is_some_and(|l| l.field(FieldName::Address).is_some());
                (!has_address).then(|| "its request frame has no address field".to_owned())
            }
        };
        if let Some(finding) = framing_conflict(drive, p) {
            f.push(finding);
        }
        if let Some(why) = unaddressed {
            f.push(
                Finding::error(
                    0,
                    p.key("profile").key("name"),
                    format!(
                        "profile \"{}\" cannot share bus \"{}\" with {} other drive(s): {why}",
                        profile.profile.name,
                        self.id,
                        drive.drives_on_bus - 1
                    ),
                )
                .hint("address every request (`{address}` in each template, an `address` field in binary frames), or give this drive a bus of its own"),
            );
        }
    }

    fn describe(&self) -> String {
        format!("serial {} {} baud", self.port, self.baud)
    }

    fn fit_hint(&self) -> &'static str {
        "choose a serial profile"
    }
}

/// One serial line carries one framing: a drive whose replies are framed differently from the
/// first drive's on the line (ASCII terminator, binary frame length) cannot share it, since
/// neither could find its replies among the other's bytes.
pub(crate) fn framing_conflict(drive: &DriveOnBus<'_>, p: &Path) -> Option<Finding> {
    let (profile, (first_id, first)) = (drive.profile?, drive.first?);
    if [profile, first]
        .iter()
        .any(|pr| pr.profile.protocol != Protocol::Serial)
    {
        // A profile of another protocol is reported as not fitting the bus.
        return None;
    }
    let framing = |pr: &crate::model::Profile| {
        let s = pr.serial.clone().unwrap_or_default();
        match s.framing {
            SerialFraming::Ascii => format!("ascii lines ended by {:?}", s.terminator),
            SerialFraming::Binary => format!("binary {}-byte frames", s.frame_bytes.unwrap_or(0)),
        }
    };
    let (ours, theirs) = (framing(profile), framing(first));
    (ours != theirs).then(|| {
        Finding::error(
            0,
            p.key("profile").key("name"),
            format!(
                "profile \"{}\" speaks {ours}, but drive \"{first_id}\" on this line speaks {theirs}",
                profile.profile.name
            ),
        )
        .hint("one serial line carries one framing: give these drives a bus of their own")
    })
}

/// Bytes on the wire for one read: the request and its reply. Binary frames are `frame_bytes`
/// each way; an ASCII request is its template with the address filled in plus the terminator,
/// its reply `response_bytes`.
fn exchange_bytes(
    serial: Option<&SerialSection>,
    read: &SerialRequest,
    pt: &Point,
    address: impl std::fmt::Display,
) -> f64 {
    match (serial, read) {
        (Some(s), _) if s.framing == SerialFraming::Binary => {
            2.0 * f64::from(s.frame_bytes.unwrap_or(0))
        }
        (s, SerialRequest::Template(t)) => {
            let term = s.map_or(1, |s| s.terminator.len());
            let req = t.replace("{address}", &address.to_string()).len() + term;
            req as f64 + f64::from(pt.response_bytes.unwrap_or(0))
        }
        // Reads are one request (the checks reject a sequence there).
        (_, SerialRequest::Fields(_) | SerialRequest::Sequence(_)) => 0.0,
    }
}
