// The journal (who commanded what, faults, changes, refusals), filtered and paged, beside the
// live event stream.

import { get } from './api.js';
import * as live from './live.js';
import { dateTime, describe, h, refusal, setText, subject, time } from './view.js';

const KINDS = [
  ['', 'any kind'], ['command', 'commands'], ['restart', 'restarts'],
  ['apply,add_drive,remove_drive,upgrade', 'changes'], ['state_changed,emergency,safe_state_failed', 'faults and safe states'],
  ['comm_lost,comm_restored', 'comm'], ['session,refused,credentials', 'logins and refusals'],
  ['started,stopped,restarted,failed,escalated,rolled_back,promoted', 'lifecycle'],
];

function select(id, options) {
  return h('select', { id, name: id }, options.map(([v, t]) => h('option', { value: v }, t)));
}

export default function journal(main) {
  main.append(h('h1', { tabindex: '-1' }, 'Journal and events'));
  const kind = select('j-kind', KINDS);
  const drive = select('j-drive', [['', 'any drive']]);
  const by = h('input', { id: 'j-by', type: 'text', placeholder: 'token name' });
  const outcome = select('j-outcome', [['', 'any outcome'], ['ok', 'ok'], ['failed', 'failed']]);
  const text = h('input', { id: 'j-text', type: 'search' });
  const rows = h('tbody', {});
  const status = h('p', { role: 'status', id: 'journal-status' });
  const more = h('button.quiet', { type: 'button', hidden: true }, 'Older records');
  let next = null;

  async function load(append) {
    const q = new URLSearchParams({ limit: '100' });
    for (const [k, el] of [['kind', kind], ['drive', drive], ['by', by], ['outcome', outcome], ['text', text]]) {
      if (el.value.trim()) q.set(k, el.value.trim());
    }
    if (append && next) q.set('before', next);
    setText(status, 'Reading the journal…');
    const r = await get(`/api/v1/journal?${q}`);
    if (!append) rows.replaceChildren();
    if (!r.ok) {
      setText(status, refusal(r));
      return;
    }
    if (!r.data.journal) {
      setText(status, `No journal: ${r.data.message}`);
      return;
    }
    for (const rec of r.data.records) {
      const bad = rec.outcome === 'failed' || rec.kind === 'refused' || rec.to === 'fault';
      rows.append(h(bad ? 'tr.bad' : 'tr', {},
        h('td', {}, dateTime(rec.ts_ms)), h('td', {}, rec.kind), h('td', {}, subject(rec)),
        h('td', {}, rec.by ? `${rec.by}${rec.role ? ` (${rec.role})` : ''}` : rec.source || ''),
        h('td', {}, rec.outcome || ''), h('td', {}, describe(rec))));
    }
    next = r.data.next_before;
    more.hidden = !next;
    const skipped = r.data.rejected ? ` · ${r.data.rejected} torn or corrupt lines skipped` : '';
    setText(status, `${rows.children.length} records shown${next ? ', older ones available' : ''}${skipped}`);
  }

  const form = h('form.filters', { 'aria-label': 'Journal filters' },
    h('label', { for: 'j-kind' }, 'Kind'), kind, h('label', { for: 'j-drive' }, 'Drive'), drive,
    h('label', { for: 'j-by' }, 'By'), by, h('label', { for: 'j-outcome' }, 'Outcome'), outcome,
    h('label', { for: 'j-text' }, 'Text'), text, h('button', { type: 'submit' }, 'Show'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    load(false);
  });
  more.onclick = () => load(true);

  const events = h('ol.events', { id: 'live-events', 'aria-label': 'Live events, newest first' });
  const pause = h('input', { id: 'pause', type: 'checkbox' });
  const off = live.on('event', (e) => {
    if (pause.checked || (drive.value && subject(e) !== drive.value)) return;
    events.prepend(h('li', {}, h('time', {}, time(e.ts_ms)), ' ', h('strong', {}, subject(e) || e.source), ' ',
      h('span.kind', {}, e.kind.replaceAll('_', ' ')), ' ', describe(e)));
    while (events.children.length > 200) events.lastChild.remove();
  });

  main.append(h('div.journal', {},
    h('section.panel', { 'aria-labelledby': 'jr-title' }, h('h2', { id: 'jr-title' }, 'Journal'), form, status,
      h('div.scroll', {}, h('table.grid.small', { id: 'journal-table' }, h('caption.sr-only', {}, 'Journal records, newest first'),
        h('thead', {}, h('tr', {}, ['Time', 'Kind', 'Drive', 'By', 'Outcome', 'What'].map((t) => h('th', { scope: 'col' }, t)))), rows)),
      more),
    h('section.panel', { 'aria-labelledby': 'ev-title' }, h('h2', { id: 'ev-title' }, 'Live events'),
      h('p', {}, pause, h('label', { for: 'pause' }, ' Pause'), ' · filtered by the drive chosen above'), events)));

  get('/api/v1/line').then((r) => {
    if (r.ok) for (const d of r.data.drives) drive.append(h('option', { value: d.id }, d.id));
  });
  load(false);
  return { stop: off };
}
