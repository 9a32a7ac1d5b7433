// The dashboard's shell: who is logged in (or the login form), the page for the address
// (#/, #/drive/ID, #/changes, #/journal), the header's status.

import { call, get, setCsrf } from './api.js';
import * as live from './live.js';
import { h, clear, setText, refusal } from './view.js';
import overview from './overview.js';
import drive from './drive.js';
import changes from './changes.js';
import journal from './journal.js';

const main = document.getElementById('main');
const RANK = { viewer: 0, operator: 1, admin: 2 };

// What every page gets: who is logged in and what that role may do.
const ctx = {
  session: { auth: 'none', name: '', role: 'viewer', line: '' },
  may(role) {
    return RANK[this.session.role] >= RANK[role];
  },
};

let current = null;

function route() {
  if (current && current.stop) current.stop();
  current = null;
  clear(main);
  const m = (location.hash || '#/').match(/^#\/([^/]*)\/?(.*)$/) || [];
  const page = m[1] || '';
  for (const a of document.querySelectorAll('nav a')) {
    const here = a.getAttribute('href') === `#/${page === 'drive' ? '' : page}`;
    if (here) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (page === 'drive' && m[2]) current = drive(main, decodeURIComponent(m[2]), ctx);
  else if (page === 'changes') current = changes(main, ctx);
  else if (page === 'journal') current = journal(main, ctx);
  else current = overview(main, ctx);
}

function roleNote(s) {
  if (s.auth === 'open') {
    return 'Open API on loopback (no tokens file): anyone on this machine has full access, no login needed';
  }
  return `${s.name} · ${s.role}`;
}

function enter(who) {
  ctx.session = who;
  setCsrf(who.csrf);
  document.body.dataset.role = who.role;
  setText(document.getElementById('line-name'), who.line || '');
  const whoEl = document.getElementById('who');
  setText(whoEl, roleNote(who));
  whoEl.className = who.auth === 'open' ? 'who open' : 'who';
  const out = document.getElementById('logout');
  out.hidden = who.auth !== 'session';
  out.onclick = async () => {
    // Stop the page first: nothing may ask the API once the session is gone.
    removeEventListener('hashchange', route);
    if (current && current.stop) current.stop();
    await call('DELETE', '/api/v1/session');
    location.replace('/');
  };
  document.querySelector('nav').hidden = false;
  live.start();
  live.on('status', (s) => {
    const el = document.getElementById('conn');
    setText(el, { live: '● live', shared: '● live', reconnecting: '◌ reconnecting…', closed: '✕ disconnected: reload the page', connecting: '◌ connecting…' }[s] || s);
    el.className = `conn conn-${s}`;
  });
  addEventListener('hashchange', route);
  route();
}

function showLogin(info) {
  setText(document.getElementById('line-name'), info.line || '');
  const error = h('p.error', { role: 'alert', id: 'login-error' });
  const input = h('input', {
    id: 'token', type: 'password', name: 'token', autocomplete: 'current-password', required: true,
    'aria-describedby': 'login-help login-error',
  });
  const form = h('form.login', { 'aria-labelledby': 'login-title' },
    h('h1', { id: 'login-title' }, 'Log in'),
    h('p', { id: 'login-help' }, 'Paste the access token you were given (viewer, operator or admin). It is exchanged for a session of this browser; the token itself is not stored.'),
    h('input', { type: 'text', name: 'username', autocomplete: 'username', value: 'linevisor', hidden: true, 'aria-hidden': 'true' }),
    h('label', { for: 'token' }, 'Access token'),
    input,
    h('button', { type: 'submit' }, 'Log in'),
    error);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    setText(error, '');
    const r = await call('POST', '/api/v1/session', { token: input.value.trim() });
    input.value = '';
    if (r.ok) {
      clear(main);
      enter({ ...r.data, line: info.line, https: info.https });
    } else {
      setText(error, r.status === 401 ? 'This token is not known to this gateway.' : refusal(r));
      input.focus();
    }
  });
  clear(main);
  main.append(form);
  input.focus();
}

async function start() {
  const r = await get('/api/v1/session');
  if (!r.ok) {
    clear(main);
    main.append(h('p.error', { role: 'alert' }, `The gateway did not answer: ${refusal(r)}`));
    return;
  }
  if (r.data.auth === 'none') showLogin(r.data);
  else enter(r.data);
}

start();
