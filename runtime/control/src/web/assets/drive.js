// One drive: trend charts, live values, commands, last fault, setpoints, parameters, identity
// and recent events. Three GETs to draw it, then the live stream only.

import { get } from './api.js';
import * as live from './live.js';
import { trendChart } from './charts.js';
import { commandPanel } from './commands.js';
import { describe, h, num, refusal, setState, setText, stateBadge, time } from './view.js';

// CiA 301 error code classes (the high byte), for a fault code without a profile text.
const CLASSES = [
  [0x1000, 'generic error'], [0x2000, 'current'], [0x3000, 'voltage'], [0x4000, 'temperature'],
  [0x5000, 'device hardware'], [0x6000, 'device software'], [0x7000, 'additional modules'],
  [0x8000, 'monitoring / communication'], [0x9000, 'external error'], [0xf000, 'additional functions'],
  [0xff00, 'device specific'],
];

function faultText(code) {
  if (!code) return 'none';
  const hex = `0x${code.toString(16).padStart(4, '0')}`;
  const cls = code > 0xff ? CLASSES.filter(([base]) => code >= base).pop() : null;
  return cls ? `${hex} (${cls[1]})` : `${hex}`;
}

const VALUES = [
  ['velocity', 'Velocity'], ['position', 'Position'], ['current', 'Current'], ['torque', 'Torque'],
  ['cycles', 'Cycles'], ['missed', 'Missed'], ['failed', 'Failed'], ['overruns', 'Overruns'],
  ['late', 'Late'], ['jitter_max_us', 'Jitter max (µs)'], ['latency_us', 'Latency (µs, last 0.5 s)'],
];

function table(caption, head, rows) {
  if (!rows.length) return h('p.muted', {}, `${caption}: none`);
  return h('table.grid.small', {}, h('caption', {}, caption),
    h('thead', {}, h('tr', {}, head.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c, i) => (i === 0 ? h('th', { scope: 'row' }, c) : h('td', {}, c)))))));
}

export default function drive(main, id, ctx) {
  const state = stateBadge('unavailable');
  const meta = h('p.meta', {});
  main.append(h('p', {}, h('a', { href: '#/' }, '← Line overview')),
    h('h1', { tabindex: '-1' }, h('span.muted', {}, 'Drive '), id, ' ', state), meta);
  const layout = h('div.drive', {});
  main.append(layout);
  const charts = h('section.panel.charts', { 'aria-labelledby': 'trends-title' },
    h('h2', { id: 'trends-title' }, 'Trends (last 5 minutes)'));
  const values = h('dl.values', {});
  const cells = {};
  for (const [k, label] of VALUES) {
    cells[k] = h('dd', { 'data-value': k }, '–');
    values.append(h('div', {}, h('dt', {}, label), cells[k]));
  }
  const fault = h('p.fault', { id: 'last-fault' }, 'Last fault: none');
  const events = h('ol.events', { 'aria-label': 'Recent events, newest first' });
  const details = h('section.panel', { 'aria-labelledby': 'setup-title' }, h('h2', { id: 'setup-title' }, 'Setup'));
  const side = h('div.side', {});
  layout.append(charts, side);
  main.append(details,
    h('section.panel', { 'aria-labelledby': 'events-title' }, h('h2', { id: 'events-title' }, 'Recent events'), events));

  const setpoints = h('div', {});
  let stopped = false;
  let made = null;
  const offs = [];
  const units = { velocity: '', position: '' };

  function event(e, prepend = true) {
    const li = h('li', {}, h('time', {}, time(e.ts_ms)), ' ', h('span.kind', {}, e.kind.replaceAll('_', ' ')), ' ', describe(e));
    if (prepend) events.prepend(li);
    else events.append(li);
    while (events.children.length > 64) events.lastChild.remove();
  }

  function showFault(f) {
    if (!f) return;
    const code = f.fault_code ?? (f.code ? parseInt(f.code, 16) : null);
    setText(fault, `Last fault: ${time(f.ts_ms)} · ${describe(f)} · code ${faultText(code)}`);
    fault.classList.add('bad');
  }

  function showDrive(d) {
    setState(state, d.state);
    setText(meta, `bus ${d.bus} · address ${d.address} · ${d.version} · generation ${d.generation ?? '–'} (restarts ${d.restarts ?? '–'})${d.unavailable ? ` · ${d.unavailable}` : ''}`);
    showFault(d.last_fault);
    setpoints.replaceChildren(table('Setpoints', ['Point', 'Value'], (d.setpoints || []).map(([p, v]) => [p, num(v, 3)])),
      (d.pending || []).length ? h('p', {}, `Waiting for confirmation: ${d.pending.join(', ')}`) : '');
  }

  function showSetup(s) {
    const p = s.profile || {};
    Object.assign(units, p.units || {});
    const c = s.config;
    const params = Object.entries(p.parameters || {}).map(([name, def]) => [
      name, c.parameters && name in c.parameters ? `${c.parameters[name]} ${def.unit}` : 'not set (drive keeps its own)',
      `${def.min ?? '–'} … ${def.max ?? '–'} ${def.unit}`,
    ]);
    const limits = Object.entries(c.limits || {}).filter(([, v]) => v != null).map(([k, v]) => [k.replaceAll('_', ' '), String(v)]);
    const safe = Object.entries(c.safe_state || {}).filter(([, v]) => v != null).map(([k, v]) => [k.replaceAll('_', ' '), String(v)]);
    details.append(setpoints,
      table('Parameters (configured, downloaded and verified at start)', ['Parameter', 'Configured', 'Allowed'], params),
      table('Identity points (a change means the unit was swapped)', ['Point'], (p.identity || []).map((i) => [i])),
      table('Limits', ['Limit', 'Value'], limits),
      table('Safe states', ['Situation', 'State'], safe),
      h('p.muted', {}, `Profile ${p.name}@${p.version} (${p.protocol}) ${p.description || ''} · cycle ${s.cycle_ms} ms · restart ${c.restart} · units: position ${units.position}, velocity ${units.velocity}`),
      ctx.may('admin') ? h('p', {}, h('a', { href: '#/changes' }, 'Upgrade or restart this drive on the Changes page')) : null);
    side.prepend(commandPanel(id, ctx, units, () => get(`/api/v1/drives/${encodeURIComponent(id)}`).then((r) => r.ok && showDrive(r.data))));
    side.append(h('section.panel', { 'aria-labelledby': 'values-title' }, h('h2', { id: 'values-title' }, 'Live values'), values, fault));
    const box = () => { const el = h('div.chart', {}); charts.append(el); return el; };
    made = {
      velocity: trendChart(box(), `Velocity (${units.velocity})`, ['velocity'], units.velocity),
      position: trendChart(box(), `Position (${units.position})`, ['position'], units.position),
      current: trendChart(box(), 'Current and torque', ['current', 'torque'], ''),
      jitter: trendChart(box(), 'Cycle jitter (µs, largest per 0.5 s)', ['jitter'], 'µs'),
    };
  }

  const enc = encodeURIComponent(id);
  Promise.all([get(`/api/v1/drives/${enc}`), get(`/api/v1/drives/${enc}/setup`), get(`/api/v1/drives/${enc}/trend`)]).then(([d, s, t]) => {
    if (stopped) return;
    if (!d.ok || !s.ok) {
      main.append(h('p.error', { role: 'alert' }, refusal(d.ok ? s : d)));
      return;
    }
    showSetup(s.data);
    showDrive(d.data);
    for (const e of (d.data.recent_events || []).slice().reverse()) event(e, false);
    if (t.ok && t.data.t.length) {
      const c = t.data;
      made.velocity.load(c.t, [c.velocity]);
      made.position.load(c.t, [c.position]);
      made.current.load(c.t, [c.current, c.torque]);
      made.jitter.load(c.t, [c.jitter_us]);
    }
    offs.push(live.on('tick', onTick), live.on('event', onEvent));
  });

  function onTick(t) {
    const v = t.drives.find((x) => x.id === id);
    if (!v || !made) return;
    const fresh = v.samples > 0;
    const val = (x) => (fresh ? x : null);
    made.velocity.push(t.t, [val(v.velocity)]);
    made.position.push(t.t, [val(v.position)]);
    made.current.push(t.t, [val(v.current), val(v.torque)]);
    made.jitter.push(t.t, [v.jitter_us]);
    if (v.state) setState(state, v.state);
    for (const [k] of VALUES) if (k in v) setText(cells[k], num(v[k], 2));
  }

  function onEvent(e) {
    if (e.drive !== id && e.child !== id) return;
    event(e);
    if (e.kind === 'state_changed') {
      setState(state, e.to);
      if (e.to === 'fault' || e.to === 'fault_reaction_active') showFault(e);
    } else if (e.kind === 'emergency' && e.code !== '0x0000') showFault(e);
  }

  return {
    stop() {
      stopped = true;
      offs.forEach((off) => off());
      if (made) Object.values(made).forEach((c) => c.destroy());
    },
  };
}
