//! Running a sim config: the Modbus and serial drives on a [`SimHandle`], every Modbus endpoint
//! serving all Modbus drives and every serial endpoint its line's serial drives; the CANopen
//! drives as nodes behind one emulated slcan adapter ([`SlcanEndpoint`]).
//! `linevisor sim <sim-config>` calls [`run_sim`].

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use linevisor_canopen::NodeId;
use linevisor_canopen::sim::NodeConfig;
use linevisor_core::profile::Protocol;
use linevisor_profile::ProfileCodec;

use crate::config::{EndpointConfig, SimConfig};
use crate::{PtyEndpoint, SimDrive, SimError, SimHandle, SlcanEndpoint, TcpEndpoint};

/// Where a running simulator can be reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointInfo {
    /// Modbus TCP address.
    Tcp(SocketAddr),
    /// Path of the pseudo-terminal a Modbus RTU client opens.
    Pty(PathBuf),
    /// Path of the pseudo-terminal of the emulated slcan adapter (CANopen nodes).
    Slcan(PathBuf),
    /// Path of the pseudo-terminal of a plain serial line.
    Serial(PathBuf),
}

impl fmt::Display for EndpointInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndpointInfo::Tcp(a) => write!(f, "modbus tcp {a}"),
            EndpointInfo::Pty(p) => write!(f, "modbus rtu {}", p.display()),
            EndpointInfo::Slcan(p) => write!(f, "slcan {}", p.display()),
            EndpointInfo::Serial(p) => write!(f, "serial {}", p.display()),
        }
    }
}

#[derive(Debug)]
enum Served {
    Tcp(TcpEndpoint),
    Pty(PtyEndpoint),
    /// A serial line and its units.
    Serial(PtyEndpoint, Vec<u8>),
}

/// A simulator serving a sim config. Dropping it stops every endpoint.
#[derive(Debug)]
pub struct RunningSim {
    handle: SimHandle,
    served: Vec<Served>,
    slcan: Option<SlcanEndpoint>,
}

impl RunningSim {
    /// Builds the drives and opens every endpoint.
    pub async fn start(config: &SimConfig) -> Result<Self, SimError> {
        let handle = SimHandle::new();
        let mut codecs: BTreeMap<(String, String), Arc<ProfileCodec>> = BTreeMap::new();
        let mut nodes = Vec::new();
        for d in &config.drives {
            if d.profile.profile.protocol == Protocol::Canopen {
                let node = NodeId::new(d.unit).map_err(|_| SimError::NodeRange(d.unit))?;
                let mut c = NodeConfig::new(node);
                c.identity.serial = d.options.serial_number;
                c.drive = d.options.drive.clone();
                nodes.push(c);
                continue;
            }
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
                EndpointConfig::SerialPty { baud, units } => {
                    let line = handle.serial_line(units.as_deref())?;
                    let units = line.units();
                    Served::Serial(line.serve_pty(*baud)?, units)
                }
            });
        }
        let slcan = if nodes.is_empty() {
            None
        } else {
            Some(SlcanEndpoint::serve(nodes)?)
        };
        Ok(Self {
            handle,
            served,
            slcan,
        })
    }

    /// The CANopen nodes behind the emulated slcan adapter, if the config has CANopen drives.
    pub fn slcan(&self) -> Option<&SlcanEndpoint> {
        self.slcan.as_ref()
    }

    /// Control of the drives (fault injection, inspection).
    pub fn handle(&self) -> &SimHandle {
        &self.handle
    }

    /// The endpoints, in config order, then the slcan adapter if any.
    pub fn endpoints(&self) -> Vec<EndpointInfo> {
        self.served
            .iter()
            .map(|s| match s {
                Served::Tcp(t) => EndpointInfo::Tcp(t.address),
                Served::Pty(p) => EndpointInfo::Pty(p.path.clone()),
                Served::Serial(p, _) => EndpointInfo::Serial(p.path.clone()),
            })
            .chain(
                self.slcan
                    .iter()
                    .map(|s| EndpointInfo::Slcan(s.path.clone())),
            )
            .collect()
    }
}

/// Serves `config` until `shutdown` completes. Prints one line per endpoint on stdout, e.g.
/// `modbus tcp 127.0.0.1:5020 units 1,2,3`, `modbus rtu /dev/pts/4 units 1,2,3`,
/// `serial /dev/pts/6 units 4,5` or `slcan /dev/pts/5 nodes 5,6`.
pub async fn run_sim(
    config: SimConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), SimError> {
    let sim = RunningSim::start(&config).await?;
    let list = |ids: &[u8]| ids.iter().map(u8::to_string).collect::<Vec<_>>().join(",");
    let modbus: Vec<u8> = config
        .drives
        .iter()
        .filter(|d| d.profile.profile.protocol == Protocol::Modbus)
        .map(|d| d.unit)
        .collect();
    let nodes = list(
        &sim.slcan
            .as_ref()
            .map(SlcanEndpoint::node_ids)
            .unwrap_or_default(),
    );
    let lines = sim.served.iter().filter_map(|s| match s {
        Served::Serial(_, units) => Some(list(units)),
        _ => None,
    });
    let mut lines = lines.collect::<Vec<_>>().into_iter();
    for e in sim.endpoints() {
        match e {
            EndpointInfo::Slcan(_) => println!("{e} nodes {nodes}"),
            EndpointInfo::Serial(_) => {
                println!("{e} units {}", lines.next().unwrap_or_default());
            }
            _ => println!("{e} units {}", list(&modbus)),
        }
        tracing::info!(endpoint = %e, "Simulated drives served.");
    }
    shutdown.await;
    drop(sim);
    Ok(())
}
