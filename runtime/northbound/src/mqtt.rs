//! The MQTT side: rumqttc's event loop in its own task, and the publisher's clocks and QoS.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use linevisor_drive::TelemetrySample;
use linevisor_sparkplug::Qos;
use rumqttc::{Event, EventLoop, MqttOptions, QoS};
use tokio::sync::mpsc;

/// Events (or the connection error, as text) from the event loop.
pub(crate) type Incoming = mpsc::Receiver<Result<Event, String>>;
/// After an error: the next options (Will, broker) and the pause before reconnecting.
pub(crate) type Reconnect = mpsc::Sender<(MqttOptions, Duration)>;

/// Polls rumqttc's event loop in its own task: `poll` is not cancel-safe while connecting, so
/// it must never lose a `select!` race. After an error it waits for the next options (the next
/// session's Will, the next broker) and the backoff before polling again.
pub(crate) fn spawn_event_loop(mut events: EventLoop) -> (Incoming, Reconnect) {
    let (tx, rx) = mpsc::channel(1024);
    let (again_tx, mut again) = mpsc::channel::<(MqttOptions, Duration)>(1);
    tokio::spawn(async move {
        loop {
            match events.poll().await {
                Ok(e) => {
                    if tx.send(Ok(e)).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    if tx.send(Err(e.to_string())).await.is_err() {
                        return;
                    }
                    let Some((options, backoff)) = again.recv().await else {
                        return;
                    };
                    events.mqtt_options = options;
                    tokio::time::sleep(backoff).await;
                }
            }
        }
    });
    (rx, again_tx)
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A sample's wall-clock time: its completion, on the monotonic clock, mapped to now.
pub(crate) fn sample_ms(s: &TelemetrySample) -> u64 {
    let age = s.completed_at.elapsed();
    now_ms().saturating_sub(age.as_millis() as u64)
}

pub(crate) fn qos(q: Qos) -> QoS {
    match q {
        Qos::AtMostOnce => QoS::AtMostOnce,
        Qos::AtLeastOnce => QoS::AtLeastOnce,
    }
}
