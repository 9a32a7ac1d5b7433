//! Sparkplug topics: `spBv1.0/<group_id>/<message_type>/<edge_node_id>[/<device_id>]`, and the
//! host application's `spBv1.0/STATE/<host_id>` (specification §4.1).

use std::fmt;

/// The Sparkplug B namespace element.
pub const NAMESPACE: &str = "spBv1.0";

/// Message types of the edge node and its devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    NBirth,
    NDeath,
    NData,
    NCmd,
    DBirth,
    DDeath,
    DData,
    DCmd,
}

impl MessageType {
    pub const ALL: [MessageType; 8] = [
        MessageType::NBirth,
        MessageType::NDeath,
        MessageType::NData,
        MessageType::NCmd,
        MessageType::DBirth,
        MessageType::DDeath,
        MessageType::DData,
        MessageType::DCmd,
    ];

    /// As written in topics.
    pub fn name(self) -> &'static str {
        match self {
            MessageType::NBirth => "NBIRTH",
            MessageType::NDeath => "NDEATH",
            MessageType::NData => "NDATA",
            MessageType::NCmd => "NCMD",
            MessageType::DBirth => "DBIRTH",
            MessageType::DDeath => "DDEATH",
            MessageType::DData => "DDATA",
            MessageType::DCmd => "DCMD",
        }
    }

    /// True for the device-level types (their topic names a device).
    pub fn is_device(self) -> bool {
        matches!(
            self,
            MessageType::DBirth | MessageType::DDeath | MessageType::DData | MessageType::DCmd
        )
    }
}

/// A parsed Sparkplug topic.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Topic {
    /// An edge node's or a device's message.
    Message {
        group: String,
        kind: MessageType,
        edge_node: String,
        /// Set exactly for device message types.
        device: Option<String>,
    },
    /// A host application's state (`spBv1.0/STATE/<host_id>`).
    State { host: String },
}

/// Why a topic is not a Sparkplug topic linevisor can use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    #[error("topic {topic:?} is not in the {NAMESPACE} namespace")]
    Namespace { topic: String },
    #[error("topic {topic:?}: unknown message type {kind:?}")]
    MessageType { topic: String, kind: String },
    #[error("topic {topic:?}: {why}")]
    Shape { topic: String, why: &'static str },
}

/// True for a valid Sparkplug id element: not empty, no `/`, `+` or `#` (§4.1.1).
pub fn id_ok(id: &str) -> bool {
    !id.is_empty() && !id.contains(['/', '+', '#'])
}

impl Topic {
    /// An edge node's topic (`device` is `None`) or a device's.
    pub fn new(group: &str, kind: MessageType, edge_node: &str, device: Option<&str>) -> Self {
        Topic::Message {
            group: group.to_owned(),
            kind,
            edge_node: edge_node.to_owned(),
            device: device.map(str::to_owned),
        }
    }

    /// Parses a topic; anything else is a typed error, never a panic.
    pub fn parse(topic: &str) -> Result<Self, TopicError> {
        let shape = |why| TopicError::Shape {
            topic: topic.to_owned(),
            why,
        };
        let parts: Vec<&str> = topic.split('/').collect();
        if parts.first() != Some(&NAMESPACE) {
            return Err(TopicError::Namespace {
                topic: topic.to_owned(),
            });
        }
        if parts.get(1) == Some(&"STATE") {
            return match parts.as_slice() {
                [_, _, host] if id_ok(host) => Ok(Topic::State {
                    host: (*host).to_owned(),
                }),
                _ => Err(shape("a STATE topic is spBv1.0/STATE/<host_id>")),
            };
        }
        let [_, group, kind, edge_node, rest @ ..] = parts.as_slice() else {
            return Err(shape("too few elements"));
        };
        let kind = MessageType::ALL
            .into_iter()
            .find(|k| k.name() == *kind)
            .ok_or_else(|| TopicError::MessageType {
                topic: topic.to_owned(),
                kind: (*kind).to_owned(),
            })?;
        let device = match (kind.is_device(), rest) {
            (false, []) => None,
            (true, [d]) if id_ok(d) => Some((*d).to_owned()),
            (false, _) => return Err(shape("an edge node message names no device")),
            (true, _) => return Err(shape("a device message names exactly one device")),
        };
        if !id_ok(group) || !id_ok(edge_node) {
            return Err(shape("empty group or edge node id"));
        }
        Ok(Topic::Message {
            group: (*group).to_owned(),
            kind,
            edge_node: (*edge_node).to_owned(),
            device,
        })
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Topic::State { host } => write!(f, "{NAMESPACE}/STATE/{host}"),
            Topic::Message {
                group,
                kind,
                edge_node,
                device,
            } => {
                write!(f, "{NAMESPACE}/{group}/{}/{edge_node}", kind.name())?;
                if let Some(d) = device {
                    write!(f, "/{d}")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn id() -> impl Strategy<Value = String> {
        "[A-Za-z0-9_.:-]{1,12}"
    }

    proptest! {
        #[test]
        fn topics_round_trip(group in id(), edge in id(), device in id(), k in 0usize..8) {
            let kind = MessageType::ALL[k];
            let device = kind.is_device().then_some(device.as_str());
            let t = Topic::new(&group, kind, &edge, device);
            prop_assert_eq!(Topic::parse(&t.to_string()), Ok(t));
        }

        #[test]
        fn any_text_parses_or_is_refused(s in ".{0,60}") {
            let _ = Topic::parse(&s);
        }
    }

    #[test]
    fn bad_topics_are_typed() {
        assert!(matches!(
            Topic::parse("spAv1.0/g/NDATA/e"),
            Err(TopicError::Namespace { .. })
        ));
        assert!(matches!(
            Topic::parse("spBv1.0/g/NFOO/e"),
            Err(TopicError::MessageType { .. })
        ));
        assert!(matches!(
            Topic::parse("spBv1.0/g/DDATA/e"),
            Err(TopicError::Shape { .. })
        ));
        assert!(matches!(
            Topic::parse("spBv1.0/g/NDATA/e/d"),
            Err(TopicError::Shape { .. })
        ));
        assert_eq!(
            Topic::parse("spBv1.0/STATE/scada"),
            Ok(Topic::State {
                host: "scada".into()
            })
        );
    }
}
