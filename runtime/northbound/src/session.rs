//! One MQTT session of the edge node: its connect options (with the NDEATH Will of this
//! session's `bdSeq`), the subscriptions after CONNACK, and the clean goodbye.

use std::sync::Arc;
use std::time::Duration;

use linevisor_sparkplug::{EdgeNode, MessageType, Topic};
use rumqttc::{AsyncClient, Event, LastWill, MqttOptions, QoS};
use tracing::info;

use crate::mqtt::Incoming;
use crate::settings::Settings;

/// Options for broker number `broker` (wrapping over the list), with the node's Will.
pub(crate) fn options(s: &Settings, node: &EdgeNode, broker: usize) -> MqttOptions {
    let b = &s.brokers[broker % s.brokers.len()];
    let mut o = MqttOptions::new(&s.client_id, &b.host, b.port);
    o.set_keep_alive(s.keep_alive);
    o.set_clean_session(true);
    o.set_max_packet_size(1 << 20, 1 << 20);
    if let Some((u, p)) = &s.credentials {
        o.set_credentials(u, p);
    }
    if let (true, Some(tls)) = (b.tls, &s.tls) {
        o.set_transport(rumqttc::Transport::tls_with_config(
            rumqttc::TlsConfiguration::Rustls(Arc::clone(tls)),
        ));
    }
    let w = node.will();
    o.set_last_will(LastWill::new(
        w.topic.to_string(),
        w.encode(),
        QoS::AtLeastOnce,
        false,
    ));
    o
}

/// After CONNACK: NCMD, DCMD and the primary host's STATE.
pub(crate) fn subscribe(client: &AsyncClient, s: &Settings) {
    let n = &s.node;
    for kind in [MessageType::NCmd, MessageType::DCmd] {
        let mut t = Topic::new(&n.group, kind, &n.edge_node, None).to_string();
        if kind == MessageType::DCmd {
            t.push_str("/+");
        }
        let _ = client.try_subscribe(t, QoS::AtLeastOnce);
    }
    if let Some(host) = &s.primary_host {
        let t = Topic::State { host: host.clone() }.to_string();
        let _ = client.try_subscribe(t, QoS::AtLeastOnce);
    }
}

/// NDEATH when online (the broker sends no Will on a clean disconnect), then DISCONNECT,
/// without waiting: the event loop then reports the connection closed.
pub(crate) fn leave(client: &AsyncClient, node: &EdgeNode) {
    if node.is_online() {
        let will = node.will();
        let _ = client.try_publish(
            will.topic.to_string(),
            QoS::AtLeastOnce,
            false,
            will.encode(),
        );
    }
    let _ = client.try_disconnect();
}

/// [`leave`] at a clean stop, waiting (bounded) until the DISCONNECT is out, so a dead broker
/// cannot hold up the line's stop.
pub(crate) async fn goodbye(client: &AsyncClient, incoming: &mut Incoming, node: &EdgeNode) {
    if !node.is_online() {
        return;
    }
    leave(client, node);
    let flushed = async {
        while let Some(Ok(ev)) = incoming.recv().await {
            if matches!(ev, Event::Outgoing(rumqttc::Outgoing::Disconnect)) {
                return;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), flushed).await;
    info!(
        bd_seq = node.bd_seq(),
        "Offline: NDEATH published, disconnected."
    );
}
