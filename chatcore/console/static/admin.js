// admin.js: the admins' page, opened from the top bar's Admin button. It
// is a set of sections, each with a title and a body it draws when shown:
// this module has "Agents" (add, disable, reset a password, make admin)
// and the bot's last retrain; other modules add theirs with addSection.
// Agents who are not admins never see the button, and the server refuses
// them every admin route anyway (403).

import * as api from './api.js';
import { $, state } from './state.js';
import { t, setText, plainText, onLocale } from './i18n.js';
import { h, retrainNode } from './views.js';

// sections in the order they were added: { id, title: () => text, render(body) }.
const sections = [];
let shown = '';

// addSection adds a section to the admin page. title returns its title
// (t('…') with a literal key); render(body) fills the body element each
// time the section is shown, and may be async.
export function addSection({ id, title, render }) {
  sections.push({ id, title, render });
  if (!$('admin-panel').hidden) drawNav();
}

// showAdminControls shows the Admin button to admins only; a session that
// is no longer an admin's closes the page.
export function showAdminControls(admin) {
  $('btn-admin').hidden = !admin;
  if (!admin) closeAdmin();
}

export function closeAdmin() {
  $('admin-panel').hidden = true;
  $('btn-admin').setAttribute('aria-expanded', 'false');
}

export function toggleAdmin() {
  if (!$('admin-panel').hidden) {
    closeAdmin();
    return;
  }
  $('admin-panel').hidden = false;
  $('btn-admin').setAttribute('aria-expanded', 'true');
  show(shown || sections[0]?.id);
}

function drawNav() {
  $('admin-nav').replaceChildren(...sections.map((s) => h('button', {
    type: 'button',
    class: 'ghost',
    dataset: { section: s.id },
    'aria-current': s.id === shown ? 'page' : null,
    onclick: () => show(s.id),
  }, s.title())));
}

async function show(id) {
  const s = sections.find((x) => x.id === id);
  if (!s) return;
  shown = id;
  drawNav();
  const body = $('admin-body');
  body.replaceChildren();
  body.dataset.section = id;
  await s.render(body);
}

export function initAdmin() {
  $('btn-admin').addEventListener('click', toggleAdmin);
  $('admin-close').addEventListener('click', closeAdmin);
  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && !$('admin-panel').hidden && $('admin-panel').contains(document.activeElement)) {
      closeAdmin();
      $('btn-admin').focus();
    }
  });
  onLocale(() => { if (!$('admin-panel').hidden) show(shown); });
}

addSection({ id: 'agents', title: () => t('admin.agents.title'), render: renderAgents });
addSection({
  id: 'bot',
  title: () => t('admin.title'),
  render: async (body) => {
    body.replaceChildren(h('p', { class: 'muted', text: t('admin.loading') }));
    try {
      const r = await api.lastRetrain();
      if (shown === 'bot') body.replaceChildren(retrainNode(r));
    } catch (e) {
      body.replaceChildren(h('p', { class: 'error', text: t('admin.loadFailed', { error: e.message }) }));
    }
  },
});

// The Agents section: a form to add one, and a row per agent with what
// an admin may do to it.
async function renderAgents(body) {
  const status = h('p', { class: 'admin-status', role: 'status' });
  const table = h('table', { class: 'agents' });
  body.replaceChildren(addAgentForm(status, () => loadAgents(table, status)), status, table);
  await loadAgents(table, status);
}

function addAgentForm(status, reload) {
  const user = h('input', { id: 'new-agent-name', name: 'username', autocomplete: 'off', required: true });
  const pw = h('input', { id: 'new-agent-password', name: 'password', type: 'password', autocomplete: 'new-password', required: true });
  const admin = h('input', { id: 'new-agent-admin', name: 'admin', type: 'checkbox' });
  const form = h('form', { class: 'add-agent', id: 'add-agent' },
    h('label', { for: 'new-agent-name', text: t('admin.agents.username') }), user,
    h('label', { for: 'new-agent-password', text: t('admin.agents.password') }), pw,
    h('label', { class: 'check' }, admin, t('admin.agents.makeAdmin')),
    h('button', { type: 'submit', class: 'primary', text: t('admin.agents.add') }));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = user.value.trim().toLowerCase();
    await run(status, async () => {
      await api.addAgent(name, pw.value, admin.checked);
      form.reset();
      setText(status, 'admin.agents.added', { name });
      await reload();
    }, { name });
  });
  return form;
}

async function loadAgents(table, status) {
  let agents;
  try {
    agents = await api.adminAgents();
  } catch (e) {
    setText(status, 'admin.agents.loadFailed', { error: e.message });
    return;
  }
  const reload = () => loadAgents(table, status);
  table.replaceChildren(
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col', text: t('admin.agents.username') }),
      h('th', { scope: 'col', text: t('admin.agents.role') }),
      h('th', { scope: 'col', text: t('admin.agents.status') }),
      h('th', { scope: 'col', text: t('admin.agents.actions') }))),
    h('tbody', {}, agents.map((a) => agentRow(a, status, reload))));
}

function agentRow(a, status, reload) {
  const name = a.username;
  // act runs fn, then says so with done and redraws the table.
  const act = (fn, done) => () => run(status, async () => {
    await fn();
    done();
    await reload();
  }, { name });
  const said = {
    enabled: () => setText(status, 'admin.agents.enabledDone', { name }),
    disabled: () => setText(status, 'admin.agents.disabledDone', { name }),
    role: () => setText(status, 'admin.agents.roleDone', { name }),
  };
  const actions = h('td', { class: 'agent-actions' },
    a.disabled
      ? h('button', { type: 'button', dataset: { act: 'enable' }, onclick: act(() => api.setAgentDisabled(name, false), said.enabled) }, t('admin.agents.enable'))
      : h('button', { type: 'button', dataset: { act: 'disable' }, onclick: act(() => api.setAgentDisabled(name, true), said.disabled) }, t('admin.agents.disable')),
    h('button', { type: 'button', dataset: { act: 'password' }, onclick: (ev) => askPassword(ev.currentTarget, name, status) }, t('admin.agents.resetPassword')),
    a.admin
      ? h('button', { type: 'button', dataset: { act: 'revoke' }, onclick: act(() => api.setAgentAdmin(name, false), said.role) }, t('admin.agents.revokeAdmin'))
      : h('button', { type: 'button', dataset: { act: 'grant' }, onclick: act(() => api.setAgentAdmin(name, true), said.role) }, t('admin.agents.grantAdmin')));
  return h('tr', { dataset: { agent: name }, class: a.disabled ? 'disabled' : null },
    h('th', { scope: 'row' },
      h('span', { class: 'presence' + (a.online ? ' online' : ''), 'aria-hidden': 'true' }),
      name,
      name === state.me ? h('span', { class: 'muted', text: ' ' + t('admin.agents.you') }) : null),
    h('td', { text: a.admin ? t('admin.agents.roleAdmin') : t('admin.agents.roleAgent') }),
    h('td', { text: a.disabled ? t('admin.agents.disabled') : (a.online ? t('agents.online') : t('admin.agents.active')) }),
    actions);
}

// askPassword puts a small form for the new password in place of the
// button that asked for it.
function askPassword(button, name, status) {
  const pw = h('input', { type: 'password', autocomplete: 'new-password', class: 'new-password', 'aria-label': t('admin.agents.newPassword', { name }) });
  const restore = () => form.replaceWith(button);
  const form = h('form', { class: 'reset-password' }, pw,
    h('button', { type: 'submit', class: 'primary', text: t('admin.agents.save') }),
    h('button', { type: 'button', class: 'link', onclick: restore, text: t('common.cancel') }));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    run(status, async () => {
      await api.resetPassword(name, pw.value);
      restore();
      setText(status, 'admin.agents.passwordDone', { name });
    }, { name });
  });
  button.replaceWith(form);
  pw.focus();
}

// run does an admin action and says why it failed: the console's own
// words for what an admin can mend, the server's for the rest.
async function run(status, fn, { name }) {
  plainText(status, '');
  status.classList.remove('error');
  try {
    await fn();
  } catch (e) {
    status.classList.add('error');
    const code = e.data?.code;
    if (code === 'last_admin') setText(status, 'admin.agents.lastAdmin', { name });
    else if (code === 'exists') setText(status, 'admin.agents.exists', { name });
    else setText(status, 'admin.agents.failed', { error: e.message });
  }
}
