//! The publisher task: owns the MQTT client and the edge node. Drive telemetry and events
//! reach it through a bounded feed (forwarder tasks never block a drive: they read broadcast
//! channels, and a lagging publisher skips samples); commands from the plant run in their own
//! tasks so the MQTT event loop keeps being polled.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use linevisor_drive::{DriveEventKind, TelemetrySample};
use linevisor_line::{LineNotice, RunningLine};
use linevisor_sparkplug::{
    Backlog, EdgeNode, MessageType, MetricValue, NodeCommand, Publish, Topic, parse_dcmd,
    parse_ncmd,
};
use rumqttc::{AsyncClient, Event, LastWill, MqttOptions, Packet, QoS};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::device::{COMMAND_LAST, COMMAND_REASON, COMMAND_RESULT, COMMAND_SEQ};
use crate::disk::DiskLog;
use crate::feed::{Feed, spawn_forwarders};
use crate::mqtt::{now_ms, qos, sample_ms, spawn_event_loop};
use crate::settings::Settings;
use crate::{Journal, Stats};

pub(crate) struct Publisher {
    pub(crate) s: Settings,
    pub(crate) line: Arc<RunningLine>,
    pub(crate) journal: Journal,
    pub(crate) stats: Arc<Stats>,
    node: EdgeNode,
    /// Born devices and the drive instance (generation) their birth describes.
    born: BTreeMap<String, u64>,
    /// Last sample per drive (values of a new birth).
    last: BTreeMap<String, TelemetrySample>,
    host_online: bool,
    command_seq: u64,
    /// Samples kept while the broker is unreachable.
    backlog: Backlog,
    /// The backlog's file, with `buffer_path`.
    disk: Option<DiskLog>,
    /// Kept samples still to replay after the births.
    replay: std::collections::VecDeque<linevisor_sparkplug::Kept>,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("node", &self.s.node)
            .finish_non_exhaustive()
    }
}

impl Publisher {
    pub(crate) fn new(
        s: Settings,
        line: Arc<RunningLine>,
        journal: Journal,
        stats: Arc<Stats>,
    ) -> Self {
        let mut backlog = Backlog::new(s.buffer_bytes, s.buffer_age_ms);
        // Samples a previous run kept on disk are replayed after the first births.
        let disk = s
            .buffer_path
            .as_deref()
            .map(|p| DiskLog::open(p, s.buffer_bytes as u64, &mut backlog, now_ms()));
        Self {
            node: EdgeNode::new(s.node.clone()),
            host_online: s.primary_host.is_none(),
            s,
            line,
            journal,
            stats,
            born: BTreeMap::new(),
            last: BTreeMap::new(),
            command_seq: 0,
            backlog,
            disk,
            replay: std::collections::VecDeque::new(),
        }
    }

    fn options(&self, broker: usize) -> MqttOptions {
        let b = &self.s.brokers[broker % self.s.brokers.len()];
        let mut o = MqttOptions::new(&self.s.client_id, &b.host, b.port);
        o.set_keep_alive(self.s.keep_alive);
        o.set_clean_session(true);
        o.set_max_packet_size(1 << 20, 1 << 20);
        if let Some((u, p)) = &self.s.credentials {
            o.set_credentials(u, p);
        }
        if let (true, Some(tls)) = (b.tls, &self.s.tls) {
            o.set_transport(rumqttc::Transport::tls_with_config(
                rumqttc::TlsConfiguration::Rustls(Arc::clone(tls)),
            ));
        }
        o.set_last_will(self.will());
        o
    }

    fn will(&self) -> LastWill {
        let w = self.node.will();
        LastWill::new(w.topic.to_string(), w.encode(), QoS::AtLeastOnce, false)
    }

    /// Runs until the line's feed closes.
    /// Runs until `stop` turns true (then NDEATH, disconnect) or the line's feed closes.
    pub(crate) async fn run(mut self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let (tx, mut feed) = mpsc::channel::<Feed>(4096);
        spawn_forwarders(&self.line, &tx);
        let mut notices = self.line.subscribe();
        let mut broker = 0;
        let (client, events) = AsyncClient::new(self.options(broker), 1024);
        let (mut incoming, reconnect) = spawn_event_loop(events);
        let mut backoff = Duration::from_millis(100);
        info!(edge_node = %self.s.node.edge_node, broker = %self.s.brokers[0], "Sparkplug publisher started.");
        loop {
            tokio::select! {
                // The only change is to `true` (or the sender gone): stop.
                _ = stop.changed() => {
                    self.goodbye(&client, &mut incoming).await;
                    return;
                }
                ev = incoming.recv() => match ev {
                    Some(Ok(ev)) => {
                        if matches!(ev, Event::Incoming(Packet::ConnAck(_))) {
                            backoff = Duration::from_millis(100);
                        }
                        self.on_mqtt(&client, ev, &tx);
                    }
                    Some(Err(e)) => {
                        if self.node.is_online() {
                            warn!(error = %e, "Broker connection lost; reconnecting.");
                        } else {
                            debug!(error = %e, "Cannot reach the broker.");
                        }
                        self.stats.disconnects.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        self.node.offline();
                        self.born.clear();
                        // A new session waits for the primary host's STATE again.
                        self.host_online = self.s.primary_host.is_none();
                        // The next session's Will carries the next bdSeq; try the next broker.
                        broker += 1;
                        let _ = reconnect.send((self.options(broker), backoff)).await;
                        backoff = (backoff * 2).min(Duration::from_secs(10));
                    }
                    None => return,
                },
                Some(f) = feed.recv() => self.on_feed(&client, f),
                () = std::future::ready(()), if !self.replay.is_empty() => {
                    self.replay_some(&client).await;
                }
                n = notices.recv() => match n {
                    Ok(LineNotice::DriveAdded(entry)) => crate::feed::forward(&entry, &tx),
                    Ok(LineNotice::DriveRemoved(id)) => {
                        let out = self.node.device_removed(&id, now_ms());
                        self.born.remove(&id);
                        self.send(&client, out);
                    }
                    Err(_) => {}
                },
            }
        }
    }

    /// Up to 256 kept samples as historical DDATA, each waiting for room in the client's
    /// queue (a replay of minutes must not overflow it), then back to the loop.
    async fn replay_some(&mut self, client: &AsyncClient) {
        let now = now_ms();
        for _ in 0..256 {
            let Some(k) = self.replay.pop_front() else {
                return;
            };
            if !self.node.is_online() {
                self.replay.clear();
                return;
            }
            for p in self
                .node
                .device_history(&k.device, &k.values, k.sample_ms, now)
            {
                let q = if self.s.data_qos == 0 {
                    qos(p.qos)
                } else {
                    QoS::AtLeastOnce
                };
                if client
                    .publish(p.topic.to_string(), q, false, p.encode())
                    .await
                    .is_ok()
                {
                    self.stats
                        .published
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }
    }

    /// A clean stop: NDEATH (the Will is not sent on a clean disconnect), then DISCONNECT;
    /// bounded, so a dead broker cannot hold up the line's stop.
    async fn goodbye(&mut self, client: &AsyncClient, incoming: &mut crate::mqtt::Incoming) {
        if !self.node.is_online() {
            return;
        }
        let will = self.node.will();
        let _ = client.try_publish(
            will.topic.to_string(),
            QoS::AtLeastOnce,
            false,
            will.encode(),
        );
        let _ = client.try_disconnect();
        let flushed = async {
            while let Some(Ok(ev)) = incoming.recv().await {
                if matches!(ev, Event::Outgoing(rumqttc::Outgoing::Disconnect)) {
                    return;
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), flushed).await;
        info!(
            bd_seq = self.node.bd_seq(),
            "Offline: NDEATH published, disconnected."
        );
    }

    fn on_mqtt(&mut self, client: &AsyncClient, ev: Event, tx: &mpsc::Sender<Feed>) {
        match ev {
            Event::Incoming(Packet::ConnAck(_)) => {
                let n = &self.s.node;
                for kind in [MessageType::NCmd, MessageType::DCmd] {
                    let mut t = Topic::new(&n.group, kind, &n.edge_node, None).to_string();
                    if kind == MessageType::DCmd {
                        t.push_str("/+");
                    }
                    let _ = client.try_subscribe(t, QoS::AtLeastOnce);
                }
                if let Some(host) = &self.s.primary_host {
                    let t = Topic::State { host: host.clone() }.to_string();
                    let _ = client.try_subscribe(t, QoS::AtLeastOnce);
                }
                if self.host_online {
                    self.births(client);
                }
            }
            Event::Incoming(Packet::Publish(p)) => {
                self.on_message(client, &p.topic, &p.payload, tx)
            }
            _ => {}
        }
    }

    fn births(&mut self, client: &AsyncClient) {
        let out = self.node.online(now_ms());
        info!(bd_seq = self.node.bd_seq(), "Online: NBIRTH published.");
        self.send(client, out);
        self.born.clear();
        let samples: Vec<TelemetrySample> = self.last.values().cloned().collect();
        for s in samples {
            self.birth(client, &s);
        }
        // Then what was kept while offline, in order, flagged historical.
        let now = now_ms();
        let kept = self.backlog.drain(now);
        if let Some(disk) = self.disk.as_mut() {
            disk.rewrite(&self.backlog);
        }
        if !kept.is_empty() {
            info!(
                samples = kept.len(),
                "Replaying samples kept while offline."
            );
        }
        // Replayed in chunks from the run loop, waiting for room in the client's queue.
        self.replay.extend(kept);
    }

    fn birth(&mut self, client: &AsyncClient, s: &TelemetrySample) {
        let id = s.drive.to_string();
        let Some(units) = self.units(&id) else { return };
        let metrics = self.s.layout.birth(&units, Some(s));
        let out = self.node.device_birth(&id, metrics, now_ms());
        if !out.is_empty() {
            self.born.insert(id, s.generation);
        }
        self.send(client, out);
    }

    fn units(&self, drive: &str) -> Option<linevisor_config::model::Units> {
        let entry = self.line.drive(drive)?;
        let (name, version) = entry.version.split_once('@')?;
        let config = self.line.config();
        let p = config
            .profiles
            .get(&(name.to_owned(), version.to_owned()))?;
        Some(p.profile.units.clone())
    }

    fn on_feed(&mut self, client: &AsyncClient, f: Feed) {
        match f {
            Feed::Sample(s) => {
                let id = s.drive.to_string();
                self.last.insert(id.clone(), (*s).clone());
                if !self.node.is_online() {
                    // Store and forward: what a live session would have published is kept.
                    let values = self.s.layout.values(&s);
                    let refs: Vec<(&str, MetricValue)> = values.into_iter().collect();
                    let layout = &self.s.layout;
                    let kept = self
                        .backlog
                        .keep(&id, &refs, sample_ms(&s), |m| layout.deadband_of(m));
                    if let (Some(k), Some(disk)) = (kept, self.disk.as_mut()) {
                        disk.append(&k, &self.backlog);
                    }
                    self.stats
                        .dropped_offline
                        .store(self.backlog.dropped, std::sync::atomic::Ordering::Relaxed);
                    return;
                }
                match self.born.get(&id) {
                    // A new instance of the drive (restarted, upgraded): death, then birth.
                    Some(g) if *g != s.generation => {
                        let out = self.node.device_death(&id, now_ms());
                        self.send(client, out);
                        self.birth(client, &s);
                    }
                    Some(_) => {
                        let values = self.s.layout.values(&s);
                        let refs: Vec<(&str, MetricValue)> = values.into_iter().collect();
                        let (out, _) = self.node.device_data(&id, &refs, sample_ms(&s), now_ms());
                        self.send(client, out);
                    }
                    None => self.birth(client, &s),
                }
            }
            Feed::Event(id, kind) => {
                if matches!(kind, DriveEventKind::CommLost { .. }) {
                    let out = self.node.device_death(&id, now_ms());
                    self.born.remove(&id);
                    self.send(client, out);
                }
            }
            Feed::Outcome {
                drive,
                last,
                result,
                reason,
            } => {
                self.command_seq += 1;
                let values = [
                    (COMMAND_LAST, MetricValue::String(last)),
                    (COMMAND_RESULT, MetricValue::String(result)),
                    (COMMAND_REASON, MetricValue::String(reason)),
                    (COMMAND_SEQ, MetricValue::UInt64(self.command_seq)),
                ];
                let now = now_ms();
                let (out, _) = self.node.device_data(&drive, &values, now, now);
                self.send(client, out);
            }
        }
    }

    fn on_message(
        &mut self,
        client: &AsyncClient,
        topic: &str,
        payload: &[u8],
        tx: &mpsc::Sender<Feed>,
    ) {
        match Topic::parse(topic) {
            Ok(Topic::State { host }) if Some(&host) == self.s.primary_host.as_ref() => {
                let online = std::str::from_utf8(payload)
                    .is_ok_and(|t| t.replace(' ', "").contains("\"online\":true"));
                let was = std::mem::replace(&mut self.host_online, online);
                if online && !was && !self.node.is_online() {
                    self.births(client);
                }
            }
            Ok(Topic::Message {
                kind: MessageType::NCmd,
                ..
            }) => match parse_ncmd(payload) {
                Ok(cmds) if cmds.contains(&NodeCommand::Rebirth) => {
                    info!("Rebirth requested.");
                    let out = self.node.rebirth(now_ms());
                    self.send(client, out);
                    let samples: Vec<TelemetrySample> = self.last.values().cloned().collect();
                    for s in samples {
                        self.birth(client, &s);
                    }
                }
                Ok(_) => {}
                Err(e) => self.refuse(None, "NCMD", &e.to_string()),
            },
            Ok(Topic::Message {
                kind: MessageType::DCmd,
                device: Some(d),
                ..
            }) => {
                self.dcmd(&d, payload, tx);
            }
            Ok(_) => {}
            Err(e) => debug!(error = %e, "Ignored a message on an unexpected topic."),
        }
    }

    fn dcmd(&mut self, drive: &str, payload: &[u8], tx: &mpsc::Sender<Feed>) {
        let Some(entry) = self.line.drive(drive) else {
            return self.refuse(Some(drive), "DCMD", "unknown drive");
        };
        if !self.s.allow_commands {
            return self.refuse(
                Some(drive),
                "DCMD",
                "commands are not allowed (allow_commands = false)",
            );
        }
        let node = &self.node;
        let parsed = parse_dcmd(payload, |a| {
            node.metric_of_alias(drive, a).map(str::to_owned)
        });
        let cmds = match parsed {
            Ok(c) => c,
            Err(e) => return self.refuse(Some(drive), "DCMD", &e.to_string()),
        };
        let by = format!("sparkplug:{}", self.s.client_id);
        tokio::spawn(crate::commands::run(
            entry,
            cmds,
            tx.clone(),
            self.journal.clone(),
            by,
        ));
    }

    /// A command refused before any drive saw it: counted, journalled.
    fn refuse(&mut self, drive: Option<&str>, what: &str, reason: &str) {
        self.stats
            .commands_refused
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        warn!(drive, reason, "{what} refused.");
        (self.journal)(serde_json::json!({
            "kind": "command", "drive": drive, "command": what,
            "by": format!("sparkplug:{}", self.s.client_id), "outcome": "refused", "reason": reason,
        }));
    }

    fn send(&self, client: &AsyncClient, out: Vec<Publish>) {
        for p in out {
            // One QoS for the whole sequenced stream, so the broker keeps its order.
            let q = match self.s.data_qos {
                0 => qos(p.qos),
                _ => QoS::AtLeastOnce,
            };
            if client
                .try_publish(p.topic.to_string(), q, p.retain, p.encode())
                .is_err()
            {
                self.stats
                    .dropped_full
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            } else {
                self.stats
                    .published
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }
}
