//! Running a sim config: the drives on a [`SimHandle`], every endpoint serving all of them.
//! `linevisor sim <sim-config>` calls [`run_sim`].

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use linevisor_profile::ProfileCodec;

use crate::config::{EndpointConfig, SimConfig};
use crate::{PtyEndpoint, SimDrive, SimError, SimHandle, TcpEndpoint};

/// Where a running simulator can be reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointInfo {
    /// Modbus TCP address.
    Tcp(SocketAddr),
    /// Path of the pseudo-terminal a Modbus RTU client opens.
    Pty(PathBuf),
}

impl fmt::Display for EndpointInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndpointInfo::Tcp(a) => write!(f, "modbus tcp {a}"),
            EndpointInfo::Pty(p) => write!(f, "modbus rtu {}", p.display()),
        }
    }
}

#[derive(Debug)]
enum Served {
    Tcp(TcpEndpoint),
    Pty(PtyEndpoint),
}

/// A simulator serving a sim config. Dropping it stops every endpoint.
#[derive(Debug)]
pub struct RunningSim {
    handle: SimHandle,
    served: Vec<Served>,
}

impl RunningSim {
    /// Builds the drives and opens every endpoint.
    pub async fn start(config: &SimConfig) -> Result<Self, SimError> {
        let handle = SimHandle::new();
        let mut codecs: BTreeMap<(String, String), Arc<ProfileCodec>> = BTreeMap::new();
        for d in &config.drives {
            let key = (
                d.profile.profile.name.clone(),
                d.profile.profile.version.clone(),
            );
            let codec = match codecs.get(&key) {
                Some(c) => Arc::clone(c),
                None => {
                    let c = ProfileCodec::new(&d.profile).map_err(|source| SimError::Codec {
                        profile: key.0.clone(),
                        source,
                    })?;
                    Arc::clone(codecs.entry(key).or_insert(Arc::new(c)))
                }
            };
            handle.add_drive(d.unit, SimDrive::with_codec(codec, d.options.clone())?)?;
        }
        let mut served = Vec::new();
        for e in &config.endpoints {
            served.push(match e {
                EndpointConfig::Tcp(a) => Served::Tcp(handle.serve_tcp(*a).await?),
                EndpointConfig::Pty { baud } => Served::Pty(handle.serve_pty(*baud)?),
            });
        }
        Ok(Self { handle, served })
    }

    /// Control of the drives (fault injection, inspection).
    pub fn handle(&self) -> &SimHandle {
        &self.handle
    }

    /// The endpoints, in config order.
    pub fn endpoints(&self) -> Vec<EndpointInfo> {
        self.served
            .iter()
            .map(|s| match s {
                Served::Tcp(t) => EndpointInfo::Tcp(t.address),
                Served::Pty(p) => EndpointInfo::Pty(p.path.clone()),
            })
            .collect()
    }
}

/// Serves `config` until `shutdown` completes. Prints one line per endpoint on stdout, e.g.
/// `modbus tcp 127.0.0.1:5020 units 1,2,3` or `modbus rtu /dev/pts/4 units 1,2,3`.
pub async fn run_sim(
    config: SimConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), SimError> {
    let sim = RunningSim::start(&config).await?;
    let units: Vec<String> = sim.handle.units().iter().map(u8::to_string).collect();
    for e in sim.endpoints() {
        println!("{e} units {}", units.join(","));
        tracing::info!(endpoint = %e, "Simulated drives served.");
    }
    shutdown.await;
    drop(sim);
    Ok(())
}
