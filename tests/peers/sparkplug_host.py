#!/usr/bin/env python3
"""An independent Sparkplug B host application for the northbound tests: shares no code with
linevisor. MQTT by paho-mqtt; payloads decoded and encoded by pysparkplug (its own Sparkplug B
implementation and protobuf definition).

Usage: sparkplug_host.py HOST PORT GROUP [HOST_ID]
A primary host application: on every connect it subscribes, then publishes its retained
STATE online (its Will: STATE offline). Prints "ready" once first subscribed to spBv1.0/GROUP/#, then one JSON line per message received:
{"type", "edge_node", "device", "seq", "timestamp", "metrics": [{"name", "alias", "datatype",
"value", "timestamp"}]}; a payload that does not decode prints {"type": ..., "error": ...}.
Reads commands on stdin, one per line:
  dcmd EDGE_NODE DEVICE METRIC bool|double VALUE   a DCMD with one named metric
  rebirth EDGE_NODE                                an NCMD Node Control/Rebirth = true
  raw TOPIC HEX                                    any bytes on any topic (bad-input tests)
  state online|offline                             its retained STATE, timestamped now
"""

import json
import sys
import threading
import time

import paho.mqtt.client as mqtt
import pysparkplug as spb

PAYLOADS = {
    "NBIRTH": spb.NBirth,
    "NDEATH": spb.NDeath,
    "NDATA": spb.NData,
    "DBIRTH": spb.DBirth,
    "DDEATH": spb.DDeath,
    "DDATA": spb.DData,
    "NCMD": spb.NCmd,
    "DCMD": spb.DCmd,
}

lock = threading.Lock()


def out(obj):
    with lock:
        print(json.dumps(obj), flush=True)


def plain(v):
    if isinstance(v, (bool, int, float, str)) or v is None:
        return v
    return str(v)


def on_message(client, userdata, msg):
    try:
        decode(client, userdata, msg)
    except Exception as e:  # keep receiving: the test reads what went wrong
        out({"type": "host-error", "error": f"{type(e).__name__}: {e}", "topic": msg.topic})


def decode(_client, _userdata, msg):
    parts = msg.topic.split("/")
    kind = parts[2] if len(parts) > 3 else parts[1]
    record = {
        "type": kind,
        "edge_node": parts[3] if len(parts) > 3 else None,
        "device": parts[4] if len(parts) > 4 else None,
    }
    if kind in ("NCMD", "DCMD"):
        return  # the host's own commands, echoed by the broker
    try:
        payload = PAYLOADS[kind].decode(msg.payload)
    except Exception as e:  # a malformed payload is a finding, not a crash of the host
        record["error"] = f"{type(e).__name__}: {e}"
        out(record)
        return
    record["seq"] = getattr(payload, "seq", None)
    record["timestamp"] = getattr(payload, "timestamp", None)
    metrics = list(getattr(payload, "metrics", ()))
    if hasattr(payload, "bd_seq_metric"):  # NDEATH: its one metric, bdSeq
        metrics = [payload.bd_seq_metric]
        record["bd_seq"] = plain(payload.bd_seq_metric.value)
    record["metrics"] = [
        {
            "name": m.name,
            "alias": m.alias,
            "datatype": int(m.datatype),
            "value": plain(m.value),
            "timestamp": m.timestamp,
            "historical": m.is_historical,
        }
        for m in metrics
    ]
    out(record)


def metric(name, kind, value, now):
    if kind == "bool":
        return spb.Metric(timestamp=now, name=name, datatype=spb.DataType.BOOLEAN, value=value == "true")
    return spb.Metric(timestamp=now, name=name, datatype=spb.DataType.DOUBLE, value=float(value))


def main():
    host, port, group = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    host_id = sys.argv[4] if len(sys.argv) > 4 else "independent-host"
    if hasattr(mqtt, "CallbackAPIVersion"):  # paho-mqtt 2
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="independent-host")
    else:
        client = mqtt.Client(client_id="independent-host")
    subscribed = threading.Event()
    client.on_message = on_message
    client.on_subscribe = lambda *_a, **_k: subscribed.set()
    state_topic = f"spBv1.0/STATE/{host_id}"
    client.will_set(state_topic, json.dumps({"online": False, "timestamp": 0}), qos=1, retain=True)

    def on_connect(c, *_a, **_k):
        # Subscribe first: the broker handles this connection's packets in order, so the
        # births an edge node sends on seeing STATE online find the subscription in place.
        c.subscribe(f"spBv1.0/{group}/#", qos=1)
        now = int(time.time() * 1000)
        c.publish(state_topic, json.dumps({"online": True, "timestamp": now}), qos=1, retain=True)
        out({"type": "connected"})

    client.on_connect = on_connect
    client.reconnect_delay_set(min_delay=1, max_delay=2)
    client.connect(host, port, keepalive=30)
    client.loop_start()
    subscribed.wait(30)
    out({"type": "ready"})
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        now = int(time.time() * 1000)
        if words[0] == "dcmd" and len(words) == 6:
            _, edge, device, name, kind, value = words
            payload = spb.DCmd(timestamp=now, metrics=(metric(name.replace("_", " "), kind, value, now),))
            client.publish(f"spBv1.0/{group}/DCMD/{edge}/{device}", payload.encode(), qos=1)
        elif words[0] == "rebirth" and len(words) == 2:
            m = spb.Metric(timestamp=now, name="Node Control/Rebirth", datatype=spb.DataType.BOOLEAN, value=True)
            payload = spb.NCmd(timestamp=now, metrics=(m,))
            client.publish(f"spBv1.0/{group}/NCMD/{words[1]}", payload.encode(), qos=1)
        elif words[0] == "state" and len(words) == 2:
            state = {"online": words[1] == "online", "timestamp": now}
            client.publish(state_topic, json.dumps(state), qos=1, retain=True).wait_for_publish(10)
        elif words[0] == "raw" and len(words) == 3:
            client.publish(words[1], bytes.fromhex(words[2]), qos=1)
        out({"type": "sent", "command": words[0]})
    client.loop_stop()
    client.disconnect()


if __name__ == "__main__":
    main()
