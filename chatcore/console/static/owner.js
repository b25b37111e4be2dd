// owner.js: who holds the open conversation. The header's Take, Release
// and Hand to (a menu of the active agents, marking who is online), and
// asking before the agent changes a conversation another agent holds:
// from the header, or by replying. The server refuses such a change with
// 409 and the holder unless take_over says the agent agreed, so a change
// that races another agent's is asked about too.

import * as api from './api.js';
import { $, state } from './state.js';
import { t, plainText, setText, setAttrText } from './i18n.js';
import { h } from './views.js';

// holder is who holds conversation c when it is someone other than me.
export function otherHolder(c) {
  return c && c.assignee && c.assignee !== state.me ? c.assignee : '';
}

// confirmAsk shows the confirm dialog and resolves true when the agent
// agrees. text and okText are translated already (they carry names).
export function confirmAsk(text, okText) {
  const dlg = $('confirm-dialog');
  plainText($('confirm-text'), text);
  plainText($('confirm-ok'), okText);
  return new Promise((resolve) => {
    dlg.addEventListener('close', () => resolve(dlg.returnValue === 'ok'), { once: true });
    dlg.returnValue = '';
    dlg.showModal();
    $('confirm-ok').focus();
  });
}

// change gives the open conversation to `to` (null releases it), asking
// first when another agent holds it, and again if the server says someone
// else took it meanwhile.
async function change(key, to, known) {
  let holder = known;
  for (let tries = 0; tries < 3; tries++) {
    if (holder && !(await confirmAsk(askText(holder, to), to === state.me ? t('conv.takeOver') : t('conv.handToConfirm')))) return null;
    try {
      return await api.assign(key, to, !!holder);
    } catch (e) {
      if (e.status !== 409) throw e;
      holder = e.data?.assignee || '';
      if (!holder) throw e;
    }
  }
  return null;
}

function askText(holder, to) {
  if (to === state.me) return t('confirm.takeOver', { name: holder });
  if (to == null) return t('confirm.release', { name: holder });
  return t('confirm.handTo', { name: holder, to });
}

// wireOwner connects the header's controls; act runs a header action the
// way pane.js does (buttons disabled, errors shown, the answer applied).
export function wireOwner({ act }) {
  const current = () => state.known.get(state.open?.key);
  $('btn-take').addEventListener('click', () => act((k) => change(k, state.me, otherHolder(current()))));
  $('btn-release').addEventListener('click', () => act((k) => change(k, null, otherHolder(current()))));
  $('btn-handto').addEventListener('click', () => toggleMenu(act));
  document.addEventListener('click', (ev) => {
    if (!$('handto-menu').hidden && !ev.target.closest('#handto-menu, #btn-handto')) closeMenu();
  });
  $('handto-menu').addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') {
      closeMenu();
      $('btn-handto').focus();
    }
  });
}

function closeMenu() {
  $('handto-menu').hidden = true;
  $('btn-handto').setAttribute('aria-expanded', 'false');
}

// toggleMenu lists the active agents but the holder, online first.
async function toggleMenu(act) {
  const menu = $('handto-menu');
  if (!menu.hidden) {
    closeMenu();
    return;
  }
  const key = state.open?.key;
  menu.hidden = false;
  $('btn-handto').setAttribute('aria-expanded', 'true');
  menu.replaceChildren(h('li', { class: 'muted', text: t('admin.loading') }));
  let agents;
  try {
    agents = await api.agents();
  } catch (e) {
    menu.replaceChildren(h('li', { class: 'error', text: t('agents.loadFailed', { error: e.message }) }));
    return;
  }
  if (state.open?.key !== key) return;
  const c = state.known.get(key);
  const others = agents.filter((a) => a.username !== (c?.assignee || '') && a.username !== state.me)
    .sort((a, b) => Number(b.online) - Number(a.online) || a.username.localeCompare(b.username));
  if (!others.length) {
    menu.replaceChildren(h('li', { class: 'muted', text: t('agents.none') }));
    return;
  }
  menu.replaceChildren(...others.map((a) => h('li', { role: 'none' },
    h('button', {
      type: 'button',
      role: 'menuitem',
      class: 'agent' + (a.online ? ' online' : ''),
      dataset: { agent: a.username },
      onclick: () => {
        closeMenu();
        act((k) => change(k, a.username, otherHolder(state.known.get(k))));
      },
    },
    h('span', { class: 'presence' + (a.online ? ' online' : ''), 'aria-hidden': 'true' }),
    h('span', { class: 'name', text: a.username }),
    h('span', { class: 'presence-text', text: a.online ? t('agents.online') : t('agents.offline') })))));
  menu.querySelector('button')?.focus();
}

// renderOwner updates the header's ownership controls and the composer's
// hint for conversation c.
export function renderOwner(c) {
  const mine = c.assignee === state.me;
  const holder = otherHolder(c);
  $('btn-take').hidden = mine;
  setText($('btn-take'), holder ? 'conv.takeOver' : 'conv.take');
  $('btn-release').hidden = !c.assignee;
  // The hint says what sending will do: take it, or ask first.
  if (holder) setAttrText($('reply'), 'placeholder', 'composer.placeholderHeld', { name: holder });
  else setAttrText($('reply'), 'placeholder', c.assignee ? 'composer.placeholder' : 'composer.placeholderTakes');
}

// sendReply sends body with the outbox's send, asking first when another
// agent holds the conversation: before sending when the console knows,
// or when the server answers 409. Resolves to the server's answer, or
// rejects (a refusal the agent did not overrule fails the reply).
export async function sendReply(item) {
  const c = state.known.get(item.key);
  if (!item.takeOver && otherHolder(c) && !item.asked) {
    item.asked = true;
    if (!(await confirmAsk(t('confirm.reply', { name: otherHolder(c) }), t('confirm.replyOk')))) throw notSent(otherHolder(c));
    item.takeOver = true;
  }
  try {
    return await api.reply(item.key, item.body, item.clientId, !!item.takeOver);
  } catch (e) {
    const holder = e.status === 409 ? e.data?.assignee : '';
    if (!holder) throw e;
    if (!(await confirmAsk(t('confirm.reply', { name: holder }), t('confirm.replyOk')))) throw notSent(holder);
    item.takeOver = true;
    return api.reply(item.key, item.body, item.clientId, true);
  }
}

function notSent(holder) {
  const e = new Error(t('composer.notSentHeld', { name: holder }));
  e.retryable = false;
  return e;
}
