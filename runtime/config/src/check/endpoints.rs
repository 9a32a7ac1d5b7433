//! One Modbus TCP endpoint, one bus: two buses on the same `host:port` are two masters writing
//! to the same drives, each unaware of the other's commands. Like a serial port or a CAN
//! interface, an endpoint is claimed by one bus; the second claim is an error.
//!
//! Addresses are compared as written, without DNS (a check must not depend on the network, and a
//! name may resolve differently where the line runs): host names ignore case and a trailing
//! dot; IP literals compare as addresses (`::ffff:10.0.0.5` is `10.0.0.5`, `[::1]` is `::1`);
//! `localhost`, `127.0.0.1` and `::1` are one endpoint, the loopback (other `127.x.y.z`
//! addresses stay distinct, so simulators may bind one each). The port compares as a number.
//! Two different names for one device are not caught.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use crate::diag::{Finding, Path};
use crate::model::BusConfig;

/// A Modbus TCP endpoint as compared.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Host {
    Ip(IpAddr),
    Name(String),
}

/// `address` (`host:port`) as an endpoint key; `None` if it is not `host:port` (reported by the
/// bus's own check).
fn endpoint(address: &str) -> Option<(Host, u16)> {
    let (host, port) = address.trim().rsplit_once(':')?;
    let port = port.parse::<u16>().ok().filter(|p| *p != 0)?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if host.is_empty() {
        return None;
    }
    let host = match host.parse::<IpAddr>() {
        Ok(ip) => Host::Ip(loopback(ip.to_canonical())),
        Err(_) => {
            let name = host.trim_end_matches('.').to_ascii_lowercase();
            if name == "localhost" {
                Host::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST))
            } else {
                Host::Name(name)
            }
        }
    };
    Some((host, port))
}

/// `::1` is the loopback as `127.0.0.1` is.
fn loopback(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) if v6.is_loopback() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        other => other,
    }
}

/// Two `modbus_tcp` buses on one endpoint: an error on the second claim.
pub(crate) fn check(buses: &[(usize, BusConfig)], f: &mut Vec<Finding>) {
    let mut claimed: BTreeMap<(Host, u16), (&str, usize, &str)> = BTreeMap::new();
    for (i, bus) in buses {
        let BusConfig::ModbusTcp(b) = bus else {
            continue;
        };
        let Some(key) = endpoint(&b.address) else {
            continue;
        };
        match claimed.get(&key) {
            Some((other, j, written)) => {
                let same = if *written == b.address {
                    String::new()
                } else {
                    format!(" as \"{written}\"")
                };
                let at = Path::root().key("bus").index(*i).key("address");
                f.push(
                    Finding::error(
                        0,
                        at,
                        format!(
                            "Modbus TCP endpoint \"{}\" is already claimed by bus \"{other}\" (bus[{j}]){same}",
                            b.address
                        ),
                    )
                    .hint("two buses on one endpoint are two masters writing to the same drives; put every drive behind it under one [[bus]] (unit ids tell them apart)"),
                );
            }
            None => {
                claimed.insert(key, (&b.id, *i, &b.address));
            }
        }
    }
}

#[cfg(test)]
mod tests;
