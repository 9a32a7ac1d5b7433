// Changes: edit or upload a config, see the plan (what is touched, what is not, refused keys,
// the text diff), apply it after a confirmation and read the outcome or the rollback reason;
// upgrade a drive; restart a drive or a bus.

import { call, get } from './api.js';
import { lineDiff, hunks } from './diff.js';
import { announce, h, refusal, setText } from './view.js';

function outcome(el, r, what) {
  el.replaceChildren();
  if (r.ok) {
    el.className = 'result ok';
    const touched = ((r.data.plan && r.data.plan.drives) || []).filter((d) => d.action !== 'untouched');
    const took = r.data.took_ms != null ? ` in ${Number(r.data.took_ms).toFixed(0)} ms` : '';
    el.append(`✓ ${what}${took}.`,
      touched.length ? ` Touched: ${touched.map((d) => `${d.id} (${d.action})`).join(', ')}.` : '');
  } else {
    const d = r.data || {};
    el.className = 'result bad';
    el.append(`✗ Not done — ${refusal(r)}`);
    if (d.step) el.append(h('br'), `Failed step: ${d.step}. Reason: ${d.reason}.`);
    if (d.rolled_back !== undefined) {
      el.append(h('br'), d.rolled_back ? 'Everything was rolled back: the line runs as before.' : `Rollback incomplete: ${(d.rollback_errors || []).join('; ')}`);
    }
    if (d.refused) el.append(h('br'), `Refused keys (need a restart of linevisor): ${d.refused.join(', ')}`);
    if (d.diagnostics) el.append(h('ul', {}, d.diagnostics.map((x) => h('li', {}, x))));
  }
  announce(el.textContent);
}

function planView(plan, warnings) {
  const drives = plan.drives || [];
  const touched = drives.filter((d) => d.action !== 'untouched');
  const untouched = drives.filter((d) => d.action === 'untouched');
  const buses = (plan.buses || []).filter((b) => b.action !== 'untouched');
  const out = h('div.plan', { id: 'plan' },
    h('p.summary', { id: 'plan-summary' }, `Touches ${touched.length} of ${drives.length} drives and ${buses.length} of ${(plan.buses || []).length} buses.`));
  if ((plan.refused || []).length) {
    out.append(h('p.bad', { role: 'alert' }, `Refused (apply would be refused as a whole; these need a restart of linevisor): ${plan.refused.join(', ')}`));
  }
  if (touched.length || buses.length) {
    out.append(h('table.grid.small', { id: 'plan-touched' }, h('caption', {}, 'Touched'),
      h('thead', {}, h('tr', {}, ['Drive or bus', 'Action', 'Keys that differ', 'From → to'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {},
        buses.map((b) => h('tr', {}, h('th', { scope: 'row' }, `bus ${b.id}`), h('td', {}, h('span', { class: `act act-${b.action}` }, b.action)), h('td', {}, b.changes.join(', ')), h('td', {}, ''))),
        touched.map((d) => h('tr', { 'data-drive': d.id }, h('th', { scope: 'row' }, d.id), h('td', {}, h('span', { class: `act act-${d.action}` }, d.action)),
          h('td', {}, d.changes.join(', ')), h('td', {}, `${d.from || '–'} → ${d.to || '–'}`))))));
  }
  out.append(h('p', { id: 'plan-untouched' }, h('strong', {}, `Untouched (${untouched.length}): `),
    untouched.length ? untouched.map((d) => d.id).join(', ') : 'none', untouched.length ? ' — not stopped, not restarted, not sent anything.' : ''));
  if ((warnings || []).length) out.append(h('ul.warnings', {}, warnings.map((w) => h('li', {}, w))));
  return { out, touched };
}

function diffView(running, edited) {
  const d = lineDiff(running, edited);
  if (!d) return h('p.muted', {}, 'The texts are too large to compare here.');
  const lines = hunks(d);
  if (!lines.some((l) => l.op === '+' || l.op === '-')) return h('p.muted', {}, 'The text is the same as the running config.');
  return h('pre.diff', { 'aria-label': 'Text difference to the running config' },
    lines.map((l) => h(`span.${{ '+': 'add', '-': 'del', ' ': 'same', '…': 'gap' }[l.op]}`, {}, `${l.op} ${l.line}\n`)));
}

function confirmDialog(text, action) {
  const dialog = h('dialog.confirm', { 'aria-labelledby': 'confirm-title' });
  const ok = h('button', { type: 'button', id: 'confirm-ok' }, action);
  const cancel = h('button.quiet', { type: 'button' }, 'Cancel');
  dialog.append(h('h2', { id: 'confirm-title' }, 'Confirm'), h('p', {}, text), h('div.buttons', {}, ok, cancel));
  document.body.append(dialog);
  return new Promise((resolve) => {
    const close = (v) => { dialog.close(); dialog.remove(); resolve(v); };
    ok.onclick = () => close(true);
    cancel.onclick = () => close(false);
    dialog.addEventListener('cancel', () => close(false));
    dialog.showModal();
    cancel.focus();
  });
}

export default function changes(main, ctx) {
  const admin = ctx.may('admin');
  const note = admin ? null : h('p.note', {}, `Your role (${ctx.session.role}) may plan but not apply, upgrade or restart: that needs the admin role.`);
  main.append(h('h1', { tabindex: '-1' }, 'Changes'));
  if (note) main.append(note);
  let running = '';
  let planned = null;
  const text = h('textarea', { id: 'config-text', rows: '16', spellcheck: 'false', 'aria-describedby': 'config-help' });
  const file = h('input', { id: 'config-file', type: 'file', accept: '.toml,text/plain' });
  const planOut = h('div', { 'aria-live': 'polite' });
  const applyOut = h('p.result', { role: 'status', id: 'apply-result' });
  const planBtn = h('button', { type: 'button', id: 'plan-button' }, 'Plan');
  const applyBtn = h('button', { type: 'button', id: 'apply-button', disabled: true }, 'Apply…');
  const reload = h('button.quiet', { type: 'button' }, 'Reload the running config');

  async function load() {
    const r = await get('/api/v1/config');
    if (r.ok) {
      running = typeof r.data === 'string' ? r.data : JSON.stringify(r.data);
      text.value = running;
    } else setText(planOut, refusal(r));
  }
  reload.onclick = load;
  file.onchange = async () => {
    if (file.files[0]) text.value = await file.files[0].text();
  };
  text.addEventListener('input', () => { applyBtn.disabled = true; planned = null; });
  planBtn.onclick = async () => {
    planOut.replaceChildren(h('p', {}, 'Checking…'));
    applyBtn.disabled = true;
    const edited = text.value;
    const r = await call('POST', '/api/v1/config/plan', edited, 'application/toml');
    planOut.replaceChildren();
    if (!r.ok) {
      const el = h('div.result.bad');
      outcome(el, r, 'Plan made');
      planOut.append(el);
      return;
    }
    const v = planView(r.data.plan, r.data.warnings);
    planOut.append(v.out, h('details', { open: true }, h('summary', {}, 'Text difference to the running config'), diffView(running, edited)));
    planned = { text: edited, touched: v.touched, refused: r.data.plan.refused || [] };
    applyBtn.disabled = !admin;
    announce(v.out.querySelector('#plan-summary').textContent);
  };
  applyBtn.onclick = async () => {
    if (!planned) return;
    const list = planned.touched.map((d) => `${d.id} (${d.action})`).join(', ') || 'no drive';
    if (!(await confirmDialog(`Apply this config to the running line? It touches ${list}; every other drive is left alone. Any failure rolls the whole change back.`, 'Apply'))) return;
    setText(applyOut, 'Applying… (new drive versions must show good samples first)');
    const r = await call('POST', '/api/v1/config/apply', planned.text, 'application/toml');
    outcome(applyOut, r, 'Change applied');
    if (r.ok) await load();
  };

  main.append(h('section.panel', { 'aria-labelledby': 'config-title' },
    h('h2', { id: 'config-title' }, 'Config'),
    h('p', { id: 'config-help' }, 'Edit the running config or open a file, then plan: nothing changes until you apply. Drives the plan lists as untouched are never addressed.'),
    h('label', { for: 'config-text' }, 'Line config (TOML)'), text,
    h('div.buttons', {}, h('label.file', { for: 'config-file' }, 'Open a file… ', file), reload, planBtn, applyBtn),
    planOut, applyOut));

  if (admin) main.append(adminTools());
  load();
  return {};
}

function adminTools() {
  const drives = h('select', { id: 'upgrade-drive' });
  const targets = h('select', { id: 'restart-target' });
  const profile = h('input', { id: 'upgrade-profile', type: 'text', required: true });
  const version = h('input', { id: 'upgrade-version', type: 'text', required: true });
  const upOut = h('p.result', { role: 'status' });
  const reOut = h('p.result', { role: 'status', id: 'restart-result' });
  get('/api/v1/line').then((r) => {
    if (!r.ok) return;
    for (const d of r.data.drives) {
      drives.append(h('option', { value: d.id }, d.id));
      targets.append(h('option', { value: `drives/${d.id}` }, `drive ${d.id}`));
    }
    for (const b of r.data.buses) targets.append(h('option', { value: `buses/${b.id}` }, `bus ${b.id}`));
    const first = r.data.drives[0];
    if (first) [profile.value, version.value] = first.version.split('@');
    drives.onchange = () => {
      const d = r.data.drives.find((x) => x.id === drives.value);
      if (d) [profile.value, version.value] = d.version.split('@');
    };
  });
  const up = h('form.inline', { 'aria-labelledby': 'upgrade-title' },
    h('label', { for: 'upgrade-drive' }, 'Drive'), drives, h('label', { for: 'upgrade-profile' }, 'Profile'), profile,
    h('label', { for: 'upgrade-version' }, 'Version'), version, h('button', { type: 'submit' }, 'Upgrade…'));
  up.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!(await confirmDialog(`Run ${drives.value} on ${profile.value}@${version.value}? The new version must show good samples, else the previous one runs again.`, 'Upgrade'))) return;
    setText(upOut, 'Upgrading…');
    outcome(upOut, await call('POST', `/api/v1/drives/${encodeURIComponent(drives.value)}/upgrade`, { profile: profile.value, version: version.value }), `Upgrade of ${drives.value} applied`);
  });
  const re = h('form.inline', { 'aria-labelledby': 'restart-title' },
    h('label', { for: 'restart-target' }, 'Drive or bus'), targets, h('button', { type: 'submit' }, 'Restart…'));
  re.addEventListener('submit', async (e) => {
    e.preventDefault();
    const [kind, id] = targets.value.split('/');
    const what = kind === 'drives' ? `drive ${id}: its restart policy applies (adopt keeps it running)` : `bus ${id}: its drives see a comm loss, never a restart`;
    if (!(await confirmDialog(`Restart ${what}. No other drive is touched.`, 'Restart'))) return;
    setText(reOut, 'Restarting…');
    outcome(reOut, await call('POST', `/api/v1/${kind}/${encodeURIComponent(id)}/restart`), `Restart of ${kind === 'drives' ? 'drive' : 'bus'} ${id} done`);
  });
  return h('div.two', {},
    h('section.panel', {}, h('h2', { id: 'upgrade-title' }, 'Upgrade a drive'), up, upOut),
    h('section.panel', {}, h('h2', { id: 'restart-title' }, 'Restart a drive or a bus'), re, reOut));
}
