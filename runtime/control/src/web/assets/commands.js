// A drive's command panel: each command answers with the drive's acknowledgement (confirmed by
// readback) or the reason it was refused. Viewers see the panel with every control disabled.

import { call } from './api.js';
import { announce, h, setText } from './view.js';

const BUTTONS = [
  ['enable', 'Enable'], ['disable', 'Disable'], ['stop', 'Stop'],
  ['quick_stop', 'Quick stop'], ['fault_reset', 'Fault reset'], ['home', 'Home'],
];

// A labelled number field: [wrapper, input].
function field(id, label, attrs = {}) {
  const input = h('input', { id, type: 'number', step: 'any', inputmode: 'decimal', ...attrs });
  return [h('div.field', {}, h('label', { for: id }, label), input), input];
}

// onDone(answer) runs after an acknowledged command (to refresh setpoints).
export function commandPanel(id, ctx, units, onDone) {
  const allowed = ctx.may('operator');
  const result = h('p.result', { role: 'status', 'aria-live': 'polite', id: 'command-result' });
  const controls = [];
  const disabled = !allowed;

  async function send(body) {
    controls.forEach((c) => { c.disabled = true; });
    const name = body.command.replaceAll('_', ' ');
    result.className = 'result';
    setText(result, `${name}: waiting for the drive…`);
    const t0 = performance.now();
    const r = await call('POST', `/api/v1/drives/${encodeURIComponent(id)}/commands`, body);
    controls.forEach((c) => { c.disabled = false; });
    if (r.ok) {
      const rb = (r.data.readback || []).map(([p, v]) => `${p} = ${v}`).join(', ');
      result.className = 'result ok';
      const ms = r.data.took_ms ?? performance.now() - t0;
      const took = `${ms < 10 ? ms.toFixed(1) : ms.toFixed(0)} ms`;
      setText(result, `✓ ${name} acknowledged: state ${r.data.state.replaceAll('_', ' ')} after ${took}${rb ? ` (readback ${rb})` : ''}`);
      onDone(r.data);
    } else {
      const d = r.data || {};
      result.className = 'result bad';
      setText(result, `✗ ${name} refused (${r.status} ${d.error || ''}): ${d.message || d}`);
    }
    announce(result.textContent);
  }

  const buttons = BUTTONS.map(([cmd, label]) => {
    const b = h('button', { type: 'button', 'data-command': cmd, disabled, onclick: () => send({ command: cmd }) }, label);
    controls.push(b);
    return b;
  });

  const vel = field('set-velocity', `Velocity (${units.velocity})`, { required: true, disabled });
  const velForm = h('form.inline', { 'aria-label': 'Set velocity' }, vel[0],
    h('button', { type: 'submit', 'data-command': 'set_velocity', disabled }, 'Set velocity'));
  velForm.addEventListener('submit', (e) => {
    e.preventDefault();
    send({ command: 'set_velocity', value: Number(vel[1].value) });
  });

  const pos = field('move-position', `Position (${units.position})`, { required: true, disabled });
  const mv = field('move-velocity', `Velocity (${units.velocity}, optional)`, { disabled });
  const moveForm = h('form.inline', { 'aria-label': 'Move to' }, pos[0], mv[0],
    h('button', { type: 'submit', 'data-command': 'move_to', disabled }, 'Move to'));
  moveForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const body = { command: 'move_to', position: Number(pos[1].value) };
    if (mv[1].value !== '') body.velocity = Number(mv[1].value);
    send(body);
  });
  controls.push(vel[1], pos[1], mv[1], ...velForm.querySelectorAll('button'), ...moveForm.querySelectorAll('button'));
  if (disabled) controls.length = 0;

  return h('section.panel', { 'aria-labelledby': 'commands-title' },
    h('h2', { id: 'commands-title' }, 'Commands'),
    allowed ? null : h('p.note', {}, `Your role (${ctx.session.role}) may watch but not command: commands need the operator role.`),
    h('div.buttons', {}, buttons),
    velForm,
    moveForm,
    result);
}
