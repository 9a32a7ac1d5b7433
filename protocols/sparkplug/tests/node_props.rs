//! The edge node's published stream, decoded from its bytes, keeps Sparkplug 3.0's rules under
//! any sequence of sessions, births, deaths, removals, samples and rebirths.

use std::collections::BTreeMap;

use linevisor_sparkplug::proto::Payload;
use linevisor_sparkplug::proto::payload::metric::Value;
use linevisor_sparkplug::{
    BD_SEQ, DeviceMetric, EdgeNode, MessageType, MetricValue, NodeConfig, Publish, Topic,
};
use proptest::prelude::*;
use prost::Message as _;

#[derive(Debug, Clone)]
enum Op {
    Online,
    Offline,
    Birth(usize, usize),
    Death(usize),
    Removed(usize),
    Data(usize, Vec<i32>),
    Rebirth,
    Wait(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => Just(Op::Online),
        1 => Just(Op::Offline),
        2 => (0usize..3, 1usize..4).prop_map(|(d, n)| Op::Birth(d, n)),
        1 => (0usize..3).prop_map(Op::Death),
        1 => (0usize..3).prop_map(Op::Removed),
        6 => (0usize..3, proptest::collection::vec(-5i32..5, 1..4)).prop_map(|(d, v)| Op::Data(d, v)),
        1 => Just(Op::Rebirth),
        2 => (1u64..400).prop_map(Op::Wait),
    ]
}

const DEADBAND: f64 = 1.5;
const MAX_MS: u64 = 1000;

fn metrics(n: usize) -> Vec<DeviceMetric> {
    (0..n)
        .map(|i| DeviceMetric {
            name: format!("m{i}"),
            value: MetricValue::Int32(0),
            unit: Some("rpm".into()),
            deadband: DEADBAND,
        })
        .collect()
}

/// What a host application that checks every rule knows.
#[derive(Default)]
struct Host {
    seq: Option<u64>,
    session_bd_seq: Option<u64>,
    /// Per device: alias → (datatype, last value seen, its timestamp).
    born: BTreeMap<String, BTreeMap<u64, (u32, i64, u64)>>,
}

impl Host {
    fn receive(&mut self, p: &Publish, will_bd_seq: u64) -> Result<(), String> {
        let payload = Payload::decode(p.encode().as_slice()).map_err(|e| e.to_string())?;
        let Topic::Message { kind, device, .. } = &p.topic else {
            return Err("not a message topic".into());
        };
        let seq = payload.seq;
        match kind {
            MessageType::NBirth => {
                if seq != Some(0) {
                    return Err(format!("NBIRTH seq {seq:?}"));
                }
                let bd = payload
                    .metrics
                    .iter()
                    .find(|m| m.name.as_deref() == Some(BD_SEQ))
                    .and_then(|m| match m.value {
                        Some(Value::LongValue(v)) => Some(v),
                        _ => None,
                    });
                if bd != Some(will_bd_seq) {
                    return Err(format!("NBIRTH bdSeq {bd:?}, Will {will_bd_seq}"));
                }
                self.session_bd_seq = bd;
                self.born.clear();
            }
            _ => {
                let (Some(prev), Some(s)) = (self.seq, seq) else {
                    return Err(format!("{kind:?} before NBIRTH or without seq"));
                };
                if s != (prev + 1) % 256 {
                    return Err(format!("{kind:?} seq {s} after {prev}"));
                }
            }
        }
        self.seq = seq;
        let device = device.clone().unwrap_or_default();
        match kind {
            MessageType::DBirth => {
                let mut aliases = BTreeMap::new();
                for m in &payload.metrics {
                    let (Some(_), Some(a), Some(dt)) = (&m.name, m.alias, m.datatype) else {
                        return Err("a birth metric without name, alias or datatype".into());
                    };
                    let v = match m.value {
                        Some(Value::IntValue(v)) => i64::from(v as i32),
                        _ => return Err("birth value".into()),
                    };
                    aliases.insert(a, (dt, v, m.timestamp.unwrap_or(0)));
                }
                self.born.insert(device, aliases);
            }
            MessageType::DData => {
                let Some(aliases) = self.born.get_mut(&device) else {
                    return Err(format!("DDATA for {device} without a DBIRTH"));
                };
                for m in &payload.metrics {
                    if m.name.is_some() {
                        return Err("a data metric carries its name".into());
                    }
                    let a = m.alias.ok_or("a data metric without alias")?;
                    let Some((dt, last, at)) = aliases.get_mut(&a) else {
                        return Err(format!("alias {a} not declared in {device}'s birth"));
                    };
                    if m.datatype != Some(*dt) {
                        return Err("datatype differs from the birth".into());
                    }
                    let v = match m.value {
                        Some(Value::IntValue(v)) => i64::from(v as i32),
                        _ => return Err("data value".into()),
                    };
                    let ts = m.timestamp.ok_or("no timestamp")?;
                    let moved = (v - *last).abs() as f64 > DEADBAND;
                    if !moved && ts.saturating_sub(*at) < MAX_MS {
                        return Err(format!(
                            "alias {a}: {last} → {v} reported within the deadband"
                        ));
                    }
                    (*last, *at) = (v, ts);
                }
            }
            MessageType::DDeath if self.born.remove(&device).is_none() => {
                return Err(format!("DDEATH for {device} without a DBIRTH"));
            }
            _ => {}
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn the_stream_keeps_sparkplug_rules(ops in proptest::collection::vec(op(), 1..120)) {
        let mut node = EdgeNode::new(NodeConfig {
            group: "plant".into(),
            edge_node: "line-1".into(),
            max_interval_ms: MAX_MS,
        });
        let mut host = Host::default();
        let mut now = 1_000u64;
        let mut last_bd: Option<u64> = None;
        for op in ops {
            now += 1;
            let will = node.will();
            let will_bd = match will.payload.metrics[0].value {
                Some(Value::LongValue(v)) => v,
                _ => unreachable!("the Will carries bdSeq"),
            };
            let online = node.is_online();
            let out: Vec<Publish> = match op {
                Op::Online => {
                    if online { node.offline(); }
                    let will_bd = match node.will().payload.metrics[0].value {
                        Some(Value::LongValue(v)) => v,
                        _ => 0,
                    };
                    if let Some(prev) = last_bd {
                        prop_assert_eq!(will_bd, (prev + 1) % 256, "bdSeq per session");
                    }
                    last_bd = Some(will_bd);
                    host.seq = None;
                    let out = node.online(now);
                    for p in &out {
                        prop_assert_eq!(host.receive(p, will_bd), Ok(()));
                    }
                    continue;
                }
                Op::Offline => { node.offline(); host.seq = None; Vec::new() }
                Op::Birth(d, n) => node.device_birth(&format!("drive-{d}"), metrics(n), now),
                Op::Death(d) => node.device_death(&format!("drive-{d}"), now),
                Op::Removed(d) => node.device_removed(&format!("drive-{d}"), now),
                Op::Data(d, values) => {
                    let names: Vec<String> = (0..values.len()).map(|i| format!("m{i}")).collect();
                    let vals: Vec<(&str, MetricValue)> = names
                        .iter()
                        .zip(&values)
                        .map(|(n, v)| (n.as_str(), MetricValue::Int32(*v)))
                        .collect();
                    node.device_data(&format!("drive-{d}"), &vals, now, now).0
                }
                Op::Rebirth => node.rebirth(now),
                Op::Wait(ms) => { now += ms; Vec::new() }
            };
            if !online {
                prop_assert!(out.is_empty(), "published while offline: {out:?}");
            }
            for p in &out {
                prop_assert_eq!(host.receive(p, will_bd), Ok(()));
            }
        }
    }
}

#[test]
fn seq_wraps_from_255_to_0() {
    let mut node = EdgeNode::new(NodeConfig {
        group: "g".into(),
        edge_node: "e".into(),
        max_interval_ms: 0,
    });
    node.online(0);
    node.device_birth("d", metrics(1), 0);
    let mut seqs = Vec::new();
    for i in 0..300 {
        let (out, _) = node.device_data("d", &[("m0", MetricValue::Int32(i * 10))], 1, 1);
        seqs.extend(out.iter().filter_map(|p| p.payload.seq));
    }
    assert_eq!(seqs[253..257], [255, 0, 1, 2]);
}
