//! The edge node, sans-IO: what to publish when the session comes up, a device is born or
//! dies, a sample arrives, or a rebirth is asked for. The caller owns the MQTT client and the
//! clock; every method takes the time and returns the messages to publish, in order.
//!
//! Rules (Sparkplug 3.0): the session's Will is an NDEATH carrying `bdSeq`, and the NBIRTH of
//! that session carries the same `bdSeq`; NBIRTH has `seq` 0 and every later NBIRTH, NDATA,
//! DBIRTH, DDATA and DDEATH of the session the next `seq`, 255 wrapping to 0; births declare
//! every metric with name, alias, datatype and properties, data messages carry aliases only;
//! a metric's timestamp is its sample's, the payload's the publish time.

use std::collections::BTreeMap;

use prost::Message as _;

use crate::proto::Payload;
use crate::proto::payload::{Metric, PropertySet, PropertyValue, property_value};
use crate::topic::{MessageType, Topic};
use crate::value::{DataType, MetricValue};

/// The node metric a host sets to ask for a rebirth.
pub const REBIRTH: &str = "Node Control/Rebirth";
/// The node metric carrying the session's birth/death sequence number.
pub const BD_SEQ: &str = "bdSeq";

/// The edge node's identity and publish policy.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeConfig {
    pub group: String,
    pub edge_node: String,
    /// A metric is published again at least this often, changed or not (ms); 0: only on change.
    pub max_interval_ms: u64,
}

/// MQTT quality of service of a publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qos {
    AtMostOnce,
    AtLeastOnce,
}

/// One message to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct Publish {
    pub topic: Topic,
    pub payload: Payload,
    pub qos: Qos,
    pub retain: bool,
}

impl Publish {
    /// The payload's protobuf bytes.
    pub fn encode(&self) -> Vec<u8> {
        self.payload.encode_to_vec()
    }
}

/// A device metric as declared in its birth.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceMetric {
    pub name: String,
    pub value: MetricValue,
    /// Engineering unit, published as the `engUnit` property.
    pub unit: Option<String>,
    /// A numeric change smaller than this is not reported (report by exception).
    pub deadband: f64,
}

#[derive(Debug, Clone)]
struct Reported {
    alias: u64,
    value: MetricValue,
    at_ms: u64,
    deadband: f64,
}

#[derive(Debug, Clone, Default)]
struct Device {
    declared: Vec<DeviceMetric>,
    reported: BTreeMap<String, Reported>,
    /// Born in this session (a DBIRTH went out, no DDEATH since).
    born: bool,
}

/// One edge node's Sparkplug state.
#[derive(Debug, Clone)]
pub struct EdgeNode {
    config: NodeConfig,
    bd_seq: u64,
    /// `None` until this session's NBIRTH.
    seq: Option<u8>,
    devices: BTreeMap<String, Device>,
    /// Aliases by (device, metric), stable for the node's lifetime.
    aliases: BTreeMap<(String, String), u64>,
}

impl EdgeNode {
    pub fn new(config: NodeConfig) -> Self {
        Self {
            config,
            bd_seq: 0,
            seq: None,
            devices: BTreeMap::new(),
            aliases: BTreeMap::new(),
        }
    }

    /// The session's `bdSeq` (0–255).
    pub fn bd_seq(&self) -> u64 {
        self.bd_seq
    }

    /// True between `online` and `offline`.
    pub fn is_online(&self) -> bool {
        self.seq.is_some()
    }

    /// The NDEATH to register as the MQTT Will before connecting.
    pub fn will(&self) -> Publish {
        let payload = Payload {
            timestamp: None,
            metrics: vec![node_metric(BD_SEQ, MetricValue::UInt64(self.bd_seq))],
            ..Payload::default()
        };
        self.publish(MessageType::NDeath, None, payload)
    }

    /// The session is up (connected with [`Self::will`]): NBIRTH, then a DBIRTH per device.
    pub fn online(&mut self, now_ms: u64) -> Vec<Publish> {
        self.seq = None;
        self.births(now_ms)
    }

    /// The host asked for a rebirth: the same births again, `seq` from 0, same `bdSeq`.
    pub fn rebirth(&mut self, now_ms: u64) -> Vec<Publish> {
        if !self.is_online() {
            return Vec::new();
        }
        self.births(now_ms)
    }

    /// The session is gone: the next one has the next `bdSeq`.
    pub fn offline(&mut self) {
        if self.seq.take().is_some() {
            self.bd_seq = (self.bd_seq + 1) % 256;
        }
        for d in self.devices.values_mut() {
            d.born = false;
        }
    }

    /// A device appears or comes back (drive started, link restored, upgraded: its metric set
    /// may change): DBIRTH with every metric, when online.
    pub fn device_birth(
        &mut self,
        device: &str,
        metrics: Vec<DeviceMetric>,
        now_ms: u64,
    ) -> Vec<Publish> {
        let d = self.devices.entry(device.to_owned()).or_default();
        d.declared = metrics;
        d.reported.clear();
        if !self.is_online() {
            return Vec::new();
        }
        vec![self.dbirth(device, now_ms)]
    }

    /// A device is gone for now (actor stopped, link lost): DDEATH, when it was born.
    pub fn device_death(&mut self, device: &str, now_ms: u64) -> Vec<Publish> {
        let Some(d) = self.devices.get_mut(device) else {
            return Vec::new();
        };
        if !std::mem::take(&mut d.born) || self.seq.is_none() {
            return Vec::new();
        }
        let payload = Payload {
            timestamp: Some(now_ms),
            ..Payload::default()
        };
        let seq = self.next_seq();
        vec![self.sequenced(MessageType::DDeath, Some(device), payload, seq)]
    }

    /// A device removed from the line: DDEATH, and it is forgotten.
    pub fn device_removed(&mut self, device: &str, now_ms: u64) -> Vec<Publish> {
        let out = self.device_death(device, now_ms);
        self.devices.remove(device);
        out
    }

    /// A sample of `device` taken at `sample_ms`: one DDATA with the metrics that changed by
    /// more than their deadband, or were last reported `max_interval_ms` ago or longer.
    /// Metrics the birth did not declare are returned, unpublished (a new metric set needs a
    /// new birth).
    pub fn device_data(
        &mut self,
        device: &str,
        values: &[(&str, MetricValue)],
        sample_ms: u64,
        now_ms: u64,
    ) -> (Vec<Publish>, Vec<String>) {
        let max = self.config.max_interval_ms;
        let Some(d) = self.devices.get_mut(device).filter(|d| d.born) else {
            return (Vec::new(), Vec::new());
        };
        let mut metrics = Vec::new();
        let mut undeclared = Vec::new();
        for (name, value) in values {
            let Some(r) = d.reported.get_mut(*name) else {
                undeclared.push((*name).to_owned());
                continue;
            };
            let stale = max > 0 && sample_ms.saturating_sub(r.at_ms) >= max;
            if changed(&r.value, value, r.deadband) || stale {
                r.value = value.clone();
                r.at_ms = sample_ms;
                metrics.push(Metric {
                    alias: Some(r.alias),
                    timestamp: Some(sample_ms),
                    datatype: Some(value.datatype().code()),
                    value: Some(value.to_proto()),
                    ..Metric::default()
                });
            }
        }
        if metrics.is_empty() || self.seq.is_none() {
            return (Vec::new(), undeclared);
        }
        let payload = Payload {
            timestamp: Some(now_ms),
            metrics,
            ..Payload::default()
        };
        let seq = self.next_seq();
        let p = self.sequenced(MessageType::DData, Some(device), payload, seq);
        (vec![p], undeclared)
    }

    /// Kept samples replayed after the births (store and forward): one DDATA per sample with
    /// its metrics flagged historical and its own timestamp; the live report-by-exception state
    /// is left alone. Metrics the birth did not declare are left out.
    pub fn device_history(
        &mut self,
        device: &str,
        values: &[(String, MetricValue)],
        sample_ms: u64,
        now_ms: u64,
    ) -> Vec<Publish> {
        let Some(d) = self.devices.get(device).filter(|d| d.born) else {
            return Vec::new();
        };
        let metrics: Vec<Metric> = values
            .iter()
            .filter_map(|(name, v)| {
                let r = d.reported.get(name)?;
                Some(Metric {
                    alias: Some(r.alias),
                    timestamp: Some(sample_ms),
                    datatype: Some(v.datatype().code()),
                    is_historical: Some(true),
                    value: Some(v.to_proto()),
                    ..Metric::default()
                })
            })
            .collect();
        if metrics.is_empty() || self.seq.is_none() {
            return Vec::new();
        }
        let payload = Payload {
            timestamp: Some(now_ms),
            metrics,
            ..Payload::default()
        };
        let seq = self.next_seq();
        vec![self.sequenced(MessageType::DData, Some(device), payload, seq)]
    }

    /// The metric `alias` of `device` names, if it was declared.
    pub fn metric_of_alias(&self, device: &str, alias: u64) -> Option<&str> {
        self.aliases
            .iter()
            .find(|((d, _), a)| d == device && **a == alias)
            .map(|((_, m), _)| m.as_str())
    }

    fn births(&mut self, now_ms: u64) -> Vec<Publish> {
        let payload = Payload {
            timestamp: Some(now_ms),
            metrics: vec![
                node_metric(BD_SEQ, MetricValue::UInt64(self.bd_seq)),
                node_metric(REBIRTH, MetricValue::Boolean(false)),
            ],
            ..Payload::default()
        };
        self.seq = Some(0);
        let mut out = vec![self.sequenced(MessageType::NBirth, None, payload, 0)];
        let names: Vec<String> = self.devices.keys().cloned().collect();
        for device in names {
            out.push(self.dbirth(&device, now_ms));
        }
        out
    }

    fn dbirth(&mut self, device: &str, now_ms: u64) -> Publish {
        let declared = self
            .devices
            .get(device)
            .map(|d| d.declared.clone())
            .unwrap_or_default();
        let mut metrics = Vec::with_capacity(declared.len());
        let mut reported = BTreeMap::new();
        for m in declared {
            let alias = self.alias(device, &m.name);
            reported.insert(
                m.name.clone(),
                Reported {
                    alias,
                    value: m.value.clone(),
                    at_ms: now_ms,
                    deadband: m.deadband,
                },
            );
            metrics.push(Metric {
                name: Some(m.name.clone()),
                alias: Some(alias),
                timestamp: Some(now_ms),
                datatype: Some(m.value.datatype().code()),
                properties: m.unit.map(|u| PropertySet {
                    keys: vec!["engUnit".to_owned()],
                    values: vec![PropertyValue {
                        r#type: Some(DataType::String.code()),
                        is_null: None,
                        value: Some(property_value::Value::StringValue(u)),
                    }],
                }),
                value: Some(m.value.to_proto()),
                ..Metric::default()
            });
        }
        if let Some(d) = self.devices.get_mut(device) {
            d.reported = reported;
            d.born = true;
        }
        let payload = Payload {
            timestamp: Some(now_ms),
            metrics,
            ..Payload::default()
        };
        let seq = self.next_seq();
        self.sequenced(MessageType::DBirth, Some(device), payload, seq)
    }

    fn alias(&mut self, device: &str, metric: &str) -> u64 {
        let next = self.aliases.len() as u64 + 1;
        *self
            .aliases
            .entry((device.to_owned(), metric.to_owned()))
            .or_insert(next)
    }

    fn next_seq(&mut self) -> u8 {
        let next = self.seq.map_or(0, |s| s.wrapping_add(1));
        self.seq = Some(next);
        next
    }

    fn sequenced(
        &self,
        kind: MessageType,
        device: Option<&str>,
        mut payload: Payload,
        seq: u8,
    ) -> Publish {
        payload.seq = Some(u64::from(seq));
        self.publish(kind, device, payload)
    }

    fn publish(&self, kind: MessageType, device: Option<&str>, payload: Payload) -> Publish {
        Publish {
            topic: Topic::new(&self.config.group, kind, &self.config.edge_node, device),
            payload,
            // Sparkplug 3.0: QoS 0 for everything the node publishes itself (one QoS keeps the
            // broker from reordering births and data); only the NDEATH Will is QoS 1.
            qos: match kind {
                MessageType::NDeath => Qos::AtLeastOnce,
                _ => Qos::AtMostOnce,
            },
            retain: false,
        }
    }
}

fn node_metric(name: &str, value: MetricValue) -> Metric {
    Metric {
        name: Some(name.to_owned()),
        datatype: Some(value.datatype().code()),
        value: Some(value.to_proto()),
        ..Metric::default()
    }
}

/// Report by exception: a number moved by more than the deadband; anything else changed.
fn changed(old: &MetricValue, new: &MetricValue, deadband: f64) -> bool {
    match (old.as_f64(), new.as_f64()) {
        (Some(a), Some(b)) if old.datatype() == new.datatype() => (a - b).abs() > deadband,
        _ => old != new,
    }
}
