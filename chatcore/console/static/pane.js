// pane.js: the open conversation: its history (paged, caught up by seq),
// its header actions, and the reply box with its outbox.

import * as api from './api.js';
import { t, setText, plainText } from './i18n.js';
import { $, state } from './state.js';
import { Timeline } from './model.js';
import { Outbox } from './outbox.js';
import { messageNode, pendingNode, labelNode, isEvent } from './views.js';
import { renderList } from './list.js';
import { renderOwner, sendReply } from './owner.js';
import * as composer from './composer.js';
import { isNote, noteNode } from './notes.js';
import * as typing from './typing.js';

const PAGE = 50; // messages per history page
const CATCH_UP = 500; // messages per catch-up request

// hooks are set by app.js: what to do with a reply the server
// acknowledged, and with a conversation an action changed (the same as
// with those pushed over the WebSocket).
export const hooks = { message: () => {}, conversation: () => {} };

export const outbox = new Outbox({
  send: async (item) => {
    const d = await sendReply(item);
    if (d.took && d.conversation) {
      hooks.conversation(d.conversation);
      if (state.open?.key === item.key) setText($('conv-note'), 'conv.tookByReplying');
    }
    return d.message;
  },
  onChange: (item) => { if (state.open?.key === item.key) renderPending(); },
  onSent: (m) => hooks.message(m),
});

export function keyFromHash() {
  try {
    return decodeURIComponent(location.hash.slice(1));
  } catch {
    return '';
  }
}

export function openConversation(key) {
  if (!key || state.open?.key === key) return;
  const tl = new Timeline(key);
  tl.labels = new Map(); // message id → Label
  state.open = tl;
  typing.watch(key);
  history.replaceState(null, '', '#' + encodeURIComponent(key));
  $('empty-pane').hidden = true;
  $('conv-pane').hidden = false;
  plainText($('conv-error'), '');
  plainText($('conv-note'), '');
  $('messages').replaceChildren();
  $('jump').hidden = true;
  const c = state.known.get(key);
  if (c && !document.hidden) c.unread = 0;
  if (!c) findConversation(key);
  renderHeader();
  renderPending();
  updateOlder();
  renderList();
  sync(tl);
  loadLabels(tl);
}

// loadLabels fetches the conversation's labels and shows them on the
// messages already drawn.
async function loadLabels(tl) {
  if (!state.intents.length) return;
  try {
    const list = await api.labels(tl.key);
    if (state.open !== tl) return;
    for (const l of list) tl.labels.set(l.message_id, l);
    refreshLabels();
  } catch { /* the controls show no label; labelling still works */ }
}

// botIntentFor is the bot's intent on the customer message m is about:
// m itself, or the last customer message before an agent reply.
function botIntentFor(tl, m) {
  for (let s = m.seq; s >= tl.minSeq; s--) {
    const c = tl.bySeq.get(s);
    if (c && c.sender_type === 'customer' && !isEvent(c)) return c.intent || '';
  }
  return '';
}

// labelFor is the intent control for m, or null where there is none: a
// bot or system message, an event, or the bot off.
function labelFor(m) {
  const tl = state.open;
  if (!tl || !state.intents.length || isEvent(m)) return null;
  if (m.sender_type !== 'customer' && m.sender_type !== 'agent') return null;
  return labelNode(m, {
    intents: state.intents,
    label: tl.labels.get(m.id),
    botIntent: botIntentFor(tl, m),
    onLabel: async (intent) => {
      const l = await api.label(tl.key, m.id, intent);
      if (l) tl.labels.set(m.id, l);
      return l;
    },
  });
}

// refreshLabels redraws the intent controls: labels arrived, or an older
// page brought the customer message a reply answers.
function refreshLabels() {
  const tl = state.open;
  if (!tl) return;
  const byId = new Map([...tl.bySeq.values()].map((m) => [m.id, m]));
  for (const el of $('messages').querySelectorAll('.label-ctl')) {
    const m = byId.get(Number(el.dataset.messageId));
    const fresh = m && labelFor(m);
    if (fresh) el.replaceWith(fresh);
  }
}

// findConversation looks up a conversation that no loaded tab holds (one
// opened from the address bar), for its header.
async function findConversation(key) {
  try {
    const all = await api.conversations('all');
    const c = all.find((x) => x.conversation_key === key);
    if (c && !state.known.has(key)) state.known.set(key, c);
    if (state.open?.key === key) renderHeader();
  } catch { /* the header stays generic */ }
}

// sync brings a timeline up to date: the latest page first, then whatever
// came after the highest seq without a hole. Runs one at a time per
// timeline; a request while it runs makes it go round again.
export async function sync(tl) {
  if (tl.syncing) {
    tl.again = true;
    return;
  }
  tl.syncing = true;
  try {
    do {
      tl.again = false;
      const before = tl.maxSeq;
      if (!tl.loaded) {
        const page = await api.messages(tl.key, { limit: PAGE });
        if (state.open !== tl) return;
        renderAdded(tl.merge(page), { toBottom: true });
        tl.loaded = true;
        updateOlder();
      } else {
        const page = await api.messages(tl.key, { afterSeq: tl.highWater, limit: CATCH_UP });
        if (state.open !== tl) return;
        renderAdded(tl.merge(page));
        if (page.length >= CATCH_UP) tl.again = true;
      }
      // The list may know of later messages; go on while that makes progress.
      const c = state.known.get(tl.key);
      if (c && c.last_seq > tl.maxSeq && tl.maxSeq > before) tl.again = true;
    } while (tl.again && state.open === tl);
    plainText($('conv-error'), '');
    scheduleRead();
  } catch (e) {
    if (state.open === tl && e.status !== 401) setText($('conv-error'), 'conv.loadFailed', { error: e.message });
  } finally {
    tl.syncing = false;
  }
}

export async function loadOlder() {
  const tl = state.open;
  if (!tl || !tl.loaded || !tl.hasOlder || tl.loadingOlder) return;
  tl.loadingOlder = true;
  const btn = $('load-older');
  btn.disabled = true;
  try {
    const page = await api.messages(tl.key, { beforeSeq: tl.minSeq, limit: PAGE });
    if (state.open !== tl) return;
    if (!page.length) tl.noOlder = true;
    const hist = $('history');
    const before = hist.scrollHeight - hist.scrollTop;
    renderAdded(tl.merge(page), { keepView: true });
    refreshLabels();
    hist.scrollTop = hist.scrollHeight - before;
  } catch (e) {
    setText($('conv-error'), 'conv.loadOlderFailed', { error: e.message });
  } finally {
    tl.loadingOlder = false;
    btn.disabled = false;
    updateOlder();
  }
}

function updateOlder() {
  const tl = state.open;
  const more = !!tl && tl.loaded && tl.hasOlder && !tl.noOlder;
  $('load-older').hidden = !more;
  $('history-start').hidden = !(tl && tl.loaded && !more);
}

export function atBottom() {
  const el = $('history');
  return el.scrollHeight - el.scrollTop - el.clientHeight < 48;
}

export function scrollToBottom() {
  const el = $('history');
  el.scrollTop = el.scrollHeight;
  $('jump').hidden = true;
}

// renderAdded inserts message nodes in seq order.
export function renderAdded(added, { toBottom = false, keepView = false } = {}) {
  if (!added.length) return;
  const ol = $('messages');
  const stick = toBottom || atBottom();
  const opts = { me: state.me, onUseSuggestion: useSuggestion, labelControl: labelFor };
  for (const m of added) {
    const node = isNote(m) ? noteNode(m, opts) : messageNode(m, opts);
    let next = null;
    for (let el = ol.lastElementChild; el && Number(el.dataset.seq) > m.seq; el = el.previousElementSibling) next = el;
    ol.insertBefore(node, next);
  }
  updateOlder();
  if (keepView) return;
  if (stick) scrollToBottom();
  else $('jump').hidden = false;
}

// redraw draws the open conversation again (after a switch of language),
// keeping where the agent had scrolled to.
export function redraw() {
  const tl = state.open;
  if (!tl) return;
  renderHeader();
  const hist = $('history');
  const top = hist.scrollTop;
  $('messages').replaceChildren();
  renderAdded([...tl.bySeq.values()].sort((a, b) => a.seq - b.seq), { keepView: true });
  renderPending();
  hist.scrollTop = top;
}

function renderPending() {
  const tl = state.open;
  const stick = atBottom();
  const items = tl ? outbox.pending(tl.key) : [];
  $('pending').replaceChildren(...items.map((i) => pendingNode(i, {
    onRetry: (id) => outbox.retry(id),
    onDiscard: (id) => outbox.discard(id),
  })));
  if (stick) scrollToBottom();
}

export function renderHeader() {
  const tl = state.open;
  if (!tl) return;
  const c = state.known.get(tl.key) || { conversation_key: tl.key, state: 'open', assignee: null };
  const mine = c.assignee === state.me;
  $('conv-title').textContent = tl.key;
  const who = c.assignee ? (mine ? t('conv.assignedToYou') : t('conv.assignedTo', { name: c.assignee })) : t('conv.unassigned');
  // A hand-off flag and who answered last: an agent opening the
  // conversation must see that the customer asked for a person even when
  // the bot has replied.
  const parts = [c.state === 'resolved' ? t('conv.resolved') : t('conv.open'), who];
  if (c.wants_agent) parts.push(t('conv.asksForPerson'));
  else if (c.answered_by === 'bot') parts.push(t('conv.answeredByBot'));
  else if (c.answered_by === 'agent') parts.push(t('conv.answeredByAgent'));
  $('conv-status').textContent = parts.join(' · ');
  renderOwner(c);
  $('btn-resolve').hidden = c.state === 'resolved';
  $('btn-reopen').hidden = c.state !== 'resolved';
}

let readTimer = 0;
export function scheduleRead() {
  clearTimeout(readTimer);
  readTimer = setTimeout(() => {
    const tl = state.open;
    if (!tl || !tl.loaded || document.hidden || tl.maxSeq <= (tl.readSent || 0)) return;
    const seq = tl.maxSeq;
    tl.readSent = seq;
    const c = state.known.get(tl.key);
    if (c && c.unread) {
      c.unread = 0;
      c.read_seq = seq;
      renderList();
    }
    api.markRead(tl.key, seq).catch(() => { if (tl.readSent === seq) tl.readSent = 0; });
  }, 400);
}

export async function act(fn) {
  const tl = state.open;
  if (!tl) return;
  const buttons = document.querySelectorAll('.conv-header .actions button');
  buttons.forEach((b) => { b.disabled = true; });
  plainText($('conv-error'), '');
  try {
    const c = await fn(tl.key);
    if (c) hooks.conversation(c);
  } catch (e) {
    if (e.status !== 401) plainText($('conv-error'), e.message);
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
  }
}

function useSuggestion(text) {
  const box = $('reply');
  box.value = text;
  box.focus();
  box.setSelectionRange(text.length, text.length);
}

export function send() {
  const tl = state.open;
  const box = $('reply');
  const body = box.value.replace(/\s+$/, '');
  if (!tl || !body.trim()) return;
  const how = composer.check(tl.key, body);
  if (how === 'block') return;
  if (how !== 'handled') outbox.add(tl.key, body, state.me);
  box.value = '';
  composer.sent(tl.key);
  scrollToBottom();
}
