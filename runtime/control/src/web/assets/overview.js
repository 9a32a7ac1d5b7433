// The line at a glance: each bus with its health, its drives below it with state, motion,
// cycle counters, comm and restarts. One GET to draw it, then the live stream only.

import { get } from './api.js';
import * as live from './live.js';
import { h, num, refusal, setState, setText, stateBadge } from './view.js';

const COLUMNS = [
  ['Drive', ''], ['State', ''], ['Velocity', 'num'], ['Position', 'num'], ['Cycles', 'num opt'],
  ['Missed', 'num'], ['Jitter µs', 'num opt'], ['Comm', ''], ['Restarts', 'num'], ['Profile', 'opt'],
];

function driveRow(d, cells) {
  const c = {
    state: stateBadge(d.state),
    vel: h('td.num', {}, num(d.last && d.last.velocity)),
    pos: h('td.num', {}, num(d.last && d.last.position)),
    cycles: h('td.num.opt', {}, d.cycles ?? '–'),
    missed: h('td.num', {}, d.missed ?? '–'),
    jitter: h('td.num.opt', {}, (d.stats && d.stats.jitter_max_us) ?? '–'),
    comm: h('span.comm', {}, d.link_up === false ? '✕ lost' : '✓ ok'),
    restarts: h('td.num', {}, d.restarts ?? '–'),
  };
  cells.set(d.id, c);
  const row = h('tr', { 'data-drive': d.id },
    h('th', { scope: 'row' }, h('a', { href: `#/drive/${encodeURIComponent(d.id)}` }, d.id)),
    h('td', {}, c.state), c.vel, c.pos, c.cycles, c.missed, c.jitter,
    h('td', {}, c.comm), c.restarts, h('td.opt.muted', { title: d.version }, d.version));
  c.row = row;
  if (d.link_up === false) c.comm.classList.add('bad');
  return row;
}

function busHealth(b) {
  const el = h('p.health', {});
  setHealth(el, b);
  return el;
}

function setHealth(el, b) {
  if (!b) return;
  const comm = b.comm || b;
  const counters = comm.counters || comm;
  const link = (b.link_up ?? comm.link_up) ? '✓ link up' : '✕ link down';
  const load = comm.utilisation_percent != null ? `load ${num(comm.utilisation_percent)} %` : null;
  const parts = [
    link,
    comm.transactions_per_s != null ? `${num(comm.transactions_per_s, 0)} transactions/s` : null,
    load,
    `timeouts ${counters.timeouts ?? '–'}`,
    `queued ${comm.queued ?? 0}`,
    b.unavailable ? `unavailable: ${b.unavailable}` : null,
  ].filter(Boolean);
  setText(el, parts.join(' · '));
  el.classList.toggle('bad', !(b.link_up ?? comm.link_up));
}

function summary(el, drives) {
  const states = drives.map((d) => d.state);
  const running = states.filter((s) => s === 'operation_enabled').length;
  const faults = states.filter((s) => s === 'fault' || s === 'fault_reaction_active').length;
  const missed = drives.reduce((a, d) => a + (d.missed || 0), 0);
  setText(el, `${drives.length} drives · ${running} in operation · ${faults} in fault · ${missed} missed cycles in total`);
  el.classList.toggle('bad', faults > 0);
}

export default function overview(main, ctx) {
  const cells = new Map();
  const health = new Map();
  const drives = new Map();
  const sum = h('p.summary', { role: 'status' });
  main.append(h('div.title', {}, h('h1', { tabindex: '-1' }, 'Line overview'), sum));
  const body = h('div.buses', { 'aria-busy': 'true' }, h('p.loading', {}, 'Loading…'));
  main.append(body);
  let stopped = false;
  let pending = null;
  const offs = [];

  // Draws the whole line; again when a change added or removed a drive.
  let refreshing = false;
  function load() {
    refreshing = true;
    return get('/api/v1/line').then((r) => {
      refreshing = false;
      if (stopped) return;
      body.textContent = '';
      body.removeAttribute('aria-busy');
      cells.clear();
      health.clear();
      drives.clear();
      if (!r.ok) {
        body.append(h('p.error', { role: 'alert' }, refusal(r)));
        return;
      }
      for (const d of r.data.drives) drives.set(d.id, d);
      for (const b of r.data.buses) {
        const mine = r.data.drives.filter((d) => d.bus === b.id);
        const table = h('table.grid', {},
          h('caption.sr-only', {}, `Drives on bus ${b.id}`),
          h('thead', {}, h('tr', {}, COLUMNS.map(([t, cls]) => h(`th.${cls.replace(' ', '.')}`, { scope: 'col' }, t)))),
          h('tbody', {}, mine.map((d) => driveRow(d, cells))));
        const hl = busHealth(b);
        health.set(b.id, hl);
        body.append(h('section.bus', { 'aria-labelledby': `bus-${b.id}` },
          h('div.bus-head', {}, h('h2', { id: `bus-${b.id}` }, h('span.muted', {}, 'Bus '), b.id,
            b.simulated ? h('span.tag', {}, 'simulated') : null), hl),
          h('div.scroll', {}, table)));
      }
      summary(sum, [...drives.values()]);
    });
  }
  load().then(() => {
    if (!stopped) offs.push(live.on('tick', onTick), live.on('event', onEvent));
  });

  // Ticks come twice a second to every open page at once. Each page draws at its own random
  // offset within the tick, so pages on one machine do not all render at the same instant, and
  // once per frame, so a hidden tab (no animation frames) does no DOM work at all.
  const offset = Math.random() * 250;
  let timer = null;
  let countedAt = 0;
  function onTick(t) {
    pending = t;
    if (!timer) {
      timer = setTimeout(() => {
        timer = null;
        requestAnimationFrame(render);
      }, offset);
    }
  }

  function render() {
    if (!pending || stopped) return;
    const t = pending;
    pending = null;
    if (!refreshing && (t.drives.length !== cells.size || t.drives.some((v) => !cells.has(v.id)))) {
      load();
      return;
    }
    const counting = t.t - countedAt >= 2000;
    if (counting) countedAt = t.t;
    for (const v of t.drives) {
      const c = cells.get(v.id);
      const d = drives.get(v.id);
      if (!c || !d) continue;
      if (v.state) {
        setState(c.state, v.state);
        d.state = v.state;
      }
      if (v.samples > 0) {
        setText(c.vel, num(v.velocity));
        setText(c.pos, num(v.position));
      }
      if (v.cycles !== undefined) {
        // The cycle count changes on every tick of every drive: redrawn every 2 s.
        if (counting) setText(c.cycles, v.cycles);
        setText(c.missed, v.missed);
        setText(c.jitter, v.jitter_max_us);
        setText(c.restarts, Math.max(0, v.generation - 1));
        d.missed = v.missed;
      }
      const stale = v.samples === 0 && (v.age_ms == null || v.age_ms > 2000);
      if (stale !== c.row.classList.contains('stale')) c.row.classList.toggle('stale', stale);
    }
    for (const b of t.buses || []) setHealth(health.get(b.id), b);
    summary(sum, [...drives.values()]);
  }

  function onEvent(e) {
    const c = e.drive && cells.get(e.drive);
    if (!c) return;
    if (e.kind === 'state_changed') {
      setState(c.state, e.to);
      drives.get(e.drive).state = e.to;
      summary(sum, [...drives.values()]);
    } else if (e.kind === 'comm_lost' || e.kind === 'comm_restored') {
      const lost = e.kind === 'comm_lost';
      setText(c.comm, lost ? '✕ lost' : '✓ ok');
      c.comm.classList.toggle('bad', lost);
    }
  }

  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      offs.forEach((off) => off());
    },
  };
}
