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
    EdgeNode, HostChange, MessageType, MetricValue, NodeCommand, PrimaryHost, Publish, Topic,
    parse_ncmd,
};
use rumqttc::{AsyncClient, Event, Packet, QoS};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::commands::Asker;
use crate::device::{COMMAND_LAST, COMMAND_REASON, COMMAND_RESULT, COMMAND_SEQ};
use crate::feed::{Feed, spawn_forwarders};
use crate::mqtt::{now_ms, qos, sample_ms, spawn_event_loop};
use crate::session;
use crate::settings::Settings;
use crate::store::Store;
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
    /// The primary host, when `primary_host` is set.
    host: Option<PrimaryHost>,
    command_seq: u64,
    /// Store and forward.
    store: Store,
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
        let store = Store::open(&s, now_ms());
        Self {
            node: EdgeNode::new(s.node.clone()),
            host: s.primary_host.as_ref().map(|_| PrimaryHost::default()),
            s,
            line,
            journal,
            stats,
            born: BTreeMap::new(),
            last: BTreeMap::new(),
            command_seq: 0,
            store,
        }
    }

    /// Runs until `stop` turns true (then NDEATH, disconnect) or the line's feed closes.
    pub(crate) async fn run(mut self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let (tx, mut feed) = mpsc::channel::<Feed>(4096);
        spawn_forwarders(&self.line, &tx);
        let mut notices = self.line.subscribe();
        let mut broker = 0;
        let (client, events) =
            AsyncClient::new(session::options(&self.s, &self.node, broker), 1024);
        let (mut incoming, reconnect) = spawn_event_loop(events);
        let mut backoff = Duration::from_millis(100);
        info!(edge_node = %self.s.node.edge_node, broker = %self.s.brokers[0], "Sparkplug publisher started.");
        loop {
            tokio::select! {
                // The only change is to `true` (or the sender gone): stop.
                _ = stop.changed() => {
                    session::goodbye(&client, &mut incoming, &self.node).await;
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
                        self.store.abort_replay(now_ms());
                self.store.abort_replay(now_ms());
                        self.born.clear();
                        // A new session waits for the primary host's STATE again.
                        if let Some(h) = self.host.as_mut() {
                            h.reset();
                        }
                        // The next session's Will carries the next bdSeq; try the next broker.
                        broker += 1;
                        let next = session::options(&self.s, &self.node, broker);
                        let _ = reconnect.send((next, backoff)).await;
                        backoff = (backoff * 2).min(Duration::from_secs(10));
                    }
                    None => return,
                },
                Some(f) = feed.recv() => self.on_feed(&client, f),
                () = std::future::ready(()), if self.store.replaying() => {
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
        let born = &self.born;
        let mut ready = self
            .store
            .take_ready(256, |d| born.contains_key(d))
            .into_iter();
        while let Some(k) = ready.next() {
            for p in self
                .node
                .device_history(&k.device, &k.values, k.sample_ms, now)
            {
                let q = match self.s.data_qos {
                    0 => qos(p.qos),
                    _ => QoS::AtLeastOnce,
                };
                // Bounded: with the connection lost, the event loop stops taking requests until
                // this loop hands it the next options.
                let sent = client.publish(p.topic.to_string(), q, false, p.encode());
                if tokio::time::timeout(Duration::from_secs(1), sent)
                    .await
                    .is_err()
                {
                    self.store
                        .put_back(std::iter::once(k).chain(ready).collect());
                    return;
                }
                self.stats
                    .published
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }

    fn on_mqtt(&mut self, client: &AsyncClient, ev: Event, tx: &mpsc::Sender<Feed>) {
        match ev {
            Event::Incoming(Packet::ConnAck(_)) => {
                session::subscribe(client, &self.s);
                if self.host.as_ref().is_none_or(PrimaryHost::is_online) {
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
        // Then what was kept while offline, in order, flagged historical: replayed in chunks
        // from the run loop, waiting for room in the client's queue.
        let line = &self.line;
        let n = self
            .store
            .start_replay(now_ms(), |d| line.drive(d).is_some());
        self.stats
            .dropped_offline
            .store(self.store.dropped(), std::sync::atomic::Ordering::Relaxed);
        if n > 0 {
            info!(samples = n, "Replaying samples kept while offline.");
        }
    }

    fn birth(&mut self, client: &AsyncClient, s: &TelemetrySample) {
        let id = s.drive.to_string();
        let Some(units) = crate::device::units_of(&self.line, &id) else {
            return;
        };
        let metrics = self.s.layout.birth(&units, s);
        let out = self.node.device_birth(&id, metrics, now_ms());
        if !out.is_empty() {
            self.born.insert(id, s.generation);
            self.store.device_born();
        }
        self.send(client, out);
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
                    let dropped = self
                        .store
                        .keep(&id, &refs, sample_ms(&s), |m| layout.deadband_of(&id, m));
                    self.stats
                        .dropped_offline
                        .store(dropped, std::sync::atomic::Ordering::Relaxed);
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
                self.on_state(client, &host, payload)
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

    /// The primary host's `STATE`: births when it comes online; when it goes offline, NDEATH
    /// and leave this broker for the next (Sparkplug 3.0: the host may be online elsewhere).
    fn on_state(&mut self, client: &AsyncClient, host: &str, payload: &[u8]) {
        let Some(h) = self.host.as_mut() else { return };
        match h.on_state(payload) {
            Ok(HostChange::CameOnline) if !self.node.is_online() => {
                info!(host, "Primary host online.");
                self.births(client);
            }
            Ok(HostChange::WentOffline) => {
                warn!(
                    host,
                    "Primary host offline: NDEATH, moving to the next broker."
                );
                // Data from now on is kept for the next session; the event loop reports the
                // closed connection, and the reconnect goes to the next broker.
                session::leave(client, &self.node);
                self.node.offline();
                self.store.abort_replay(now_ms());
                self.born.clear();
            }
            Ok(_) => {}
            Err(e) => warn!(host, error = %e, "Ignored a malformed STATE."),
        }
    }

    fn dcmd(&mut self, drive: &str, payload: &[u8], tx: &mpsc::Sender<Feed>) {
        match crate::commands::intake(&self.line, &self.s, &self.node, drive, payload) {
            Ok((entry, cmds)) => {
                let asker = Asker::of(&self.s);
                tokio::spawn(crate::commands::run(
                    entry,
                    cmds,
                    tx.clone(),
                    self.journal.clone(),
                    asker,
                ));
            }
            Err(reason) => self.refuse(Some(drive), "DCMD", &reason),
        }
    }

    /// A command refused before any drive saw it: counted, journalled.
    fn refuse(&mut self, drive: Option<&str>, what: &str, reason: &str) {
        self.stats
            .commands_refused
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // Journalled before the log line, so the line says the record is there.
        (self.journal)(Asker::of(&self.s).record(drive, what, "refused", reason));
        warn!(drive, reason, "{what} refused.");
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
