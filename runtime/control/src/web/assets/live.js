// The live stream (GET /api/v1/live): ticks twice a second and every event. One stream serves
// every tab of this browser: the tab holding the lock 'linevisor-live' opens it and passes
// each message to the others over a BroadcastChannel; when that tab closes, the next one
// takes over. (A browser opens at most six connections to one HTTP/1.1 host, across tabs.)
// Without the Web Locks API (plain HTTP off loopback is not a secure context) each tab opens
// its own stream.

const handlers = { tick: new Set(), event: new Set(), status: new Set() };
let channel = null;
let leading = false;
let status = 'connecting';
let lastTick = null;

export function on(kind, fn) {
  handlers[kind].add(fn);
  if (kind === 'status') fn(status);
  if (kind === 'tick' && lastTick) fn(lastTick);
  return () => handlers[kind].delete(fn);
}

export function latest() {
  return lastTick;
}

function emit(kind, data) {
  if (kind === 'status') status = data;
  if (kind === 'tick') lastTick = data;
  for (const fn of handlers[kind]) {
    try {
      fn(data);
    } catch (e) {
      console.warn('live handler failed', e);
    }
  }
}

function lead() {
  leading = true;
  const es = new EventSource('/api/v1/live');
  const relay = (kind, data) => {
    emit(kind, data);
    if (channel) channel.postMessage({ kind, data });
  };
  es.addEventListener('tick', (m) => relay('tick', JSON.parse(m.data)));
  es.addEventListener('event', (m) => relay('event', JSON.parse(m.data)));
  es.onopen = () => relay('status', 'live');
  es.onerror = () => relay('status', es.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting');
  addEventListener('pagehide', () => es.close());
}

export function start() {
  if ('BroadcastChannel' in window) {
    channel = new BroadcastChannel('linevisor-live');
    channel.onmessage = (m) => {
      if (leading) return;
      if (m.data.kind === 'tick' && status !== 'live') emit('status', 'live');
      emit(m.data.kind, m.data.data);
    };
  }
  if (channel && navigator.locks) {
    // Held until the tab closes: the promise never settles.
    navigator.locks.request('linevisor-live', () => new Promise(() => lead()));
    emit('status', 'shared');
  } else {
    lead();
  }
}
