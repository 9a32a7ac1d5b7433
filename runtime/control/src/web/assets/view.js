// Small helpers every page shares: building DOM, state badges, numbers, times, event text.

// h('tag.class', {attr: v, onclick: f}, child, ...): an element; strings become text nodes.
export function h(spec, attrs, ...children) {
  const [tag, ...classes] = spec.split('.');
  const el = document.createElement(tag || 'div');
  if (classes.length) el.className = classes.join(' ');
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
}

// Sets text only when it changed: live updates touch the DOM as little as possible.
export function setText(el, text) {
  const t = String(text);
  if (el.textContent !== t) el.textContent = t;
}

// State → badge class, icon (decorative: the label is always written out) and label.
const STATES = {
  operation_enabled: ['run', '▶', 'operation enabled'],
  switched_on: ['idle', '◻', 'switched on'],
  ready_to_switch_on: ['idle', '◻', 'ready to switch on'],
  switch_on_disabled: ['idle', '◻', 'switch on disabled'],
  not_ready_to_switch_on: ['init', '…', 'not ready'],
  quick_stop_active: ['stop', '■', 'quick stop active'],
  fault_reaction_active: ['fault', '▲', 'fault reaction'],
  fault: ['fault', '▲', 'fault'],
  offline: ['off', '✕', 'offline'],
  initializing: ['init', '…', 'initializing'],
  unavailable: ['off', '?', 'unavailable'],
};

export function stateBadge(state) {
  const el = h('span.badge', {});
  setState(el, state);
  return el;
}

export function setState(el, state) {
  const [cls, icon, label] = STATES[state] || ['off', '?', state || 'unknown'];
  const want = `badge st-${cls}`;
  if (el.className !== want) el.className = want;
  if (el.dataset.state !== state) {
    el.dataset.state = state || '';
    clear(el);
    el.append(h('span.icon', { 'aria-hidden': 'true' }, icon), label);
  }
}

// A number for a table cell: a few significant digits, '–' for none.
export function num(v, digits = 1) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  if (typeof v !== 'number') return String(v);
  if (Number.isInteger(v) || Math.abs(v) >= 1000) return v.toFixed(0);
  return v.toFixed(digits);
}

export function time(ms) {
  if (!ms) return '–';
  const d = new Date(ms);
  return d.toLocaleTimeString([], { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0');
}

export function dateTime(ms) {
  if (!ms) return '–';
  const d = new Date(ms);
  return `${d.toLocaleDateString()} ${d.toLocaleTimeString([], { hour12: false })}`;
}

// One line an operator reads for an event of the live stream or the journal.
export function describe(e) {
  const who = e.by ? ` by ${e.by}${e.role ? ` (${e.role})` : ''}` : '';
  const why = e.reason ? `: ${e.reason}` : '';
  switch (e.kind) {
    case 'state_changed':
      return `${e.from} → ${e.to}${e.fault_code ? ` (fault code ${e.fault_code})` : ''}`;
    case 'command_completed':
      return `${e.command} ${e.ok ? 'confirmed' : `failed${why}`}`;
    case 'command':
      return `${e.command} ${e.outcome === 'ok' ? 'done' : `failed${why}`}${who}`;
    case 'restart':
      return `restart of ${e.target} ${e.id}: ${e.outcome}${why}${who}`;
    case 'comm_lost':
      return `communication lost${why}`;
    case 'comm_restored':
      return 'communication restored';
    case 'reparameterised':
      return `parameters written and verified (${e.reason}): ${(e.parameters || []).map(([k, v]) => `${k} = ${v}`).join(', ')}`;
    case 'emergency':
      return `emergency ${e.code} (${e.class}, register ${e.register})`;
    case 'refused':
      return `${e.method} ${e.path} refused with ${e.status} from ${e.peer || 'unknown peer'}`;
    case 'session':
      return `${e.what}${who}${e.peer ? ` from ${e.peer}` : ''}`;
    case 'apply': case 'add_drive': case 'remove_drive': case 'upgrade': {
      const touched = (e.touched || []).map((t) => `${t.drive} (${t.action})`).join(', ');
      const what = e.drive ? ` ${e.drive}` : '';
      return `${e.kind}${what}: ${e.outcome}${why}${touched ? `; touched ${touched}` : ''}${who}`;
    }
    default: {
      const rest = Object.entries(e)
        .filter(([k]) => !['source', 'kind', 'drive', 'ts_ms', 'seq', 'supervisor', 'child'].includes(k))
        .map(([k, v]) => `${k} ${typeof v === 'object' ? JSON.stringify(v) : v}`)
        .join(', ');
      return `${e.kind.replaceAll('_', ' ')}${rest ? ` (${rest})` : ''}`;
    }
  }
}

// The drive or child an event is about.
export function subject(e) {
  return e.drive || e.child || e.id || (e.touched && e.touched.map((t) => t.drive).join(', ')) || '';
}

// Read out to screen readers (the region is aria-live).
export function announce(text) {
  const el = document.getElementById('announce');
  if (el) el.textContent = text;
}

// "409 in_fault: drive labeler: enable failed: …" for a refused call.
export function refusal(r) {
  const d = r.data || {};
  if (typeof d === 'string') return `${r.status}: ${d}`;
  return `${r.status} ${d.error || ''}: ${d.message || ''}`;
}
