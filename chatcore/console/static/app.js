// app.js: the console's entry point: session, live connection and the
// routing of pushed events; see docs/protocol.md. list.js draws the
// conversation list, pane.js the open conversation.

import * as api from './api.js';
import { t, setText, setAttrText, clearAttrText, plainText, setLocale, locale, onLocale, formatUnit } from './i18n.js';
import { LiveSocket } from './ws.js';
import * as typing from './typing.js';
import './canned.js';
import './canned-admin.js'; // its admin section registers itself
import { inTab, notifies, applyMessage, mergeReadMarker } from './model.js';
import * as sound from './sound.js';
import { initAdmin, showAdminControls } from './admin.js';
import { wireOwner } from './owner.js';
import { $, TABS, state, store } from './state.js';
import { initAway } from './away.js';
import './sla.js'; // its admin section registers itself
import './ops.js'; // its admin section registers itself
import { reloadList, scheduleListReload, renderList, renderTabs, setTab, onSelect, wireListKeys, focusList } from './list.js';
import { initSearch } from './search.js';
import {
  outbox, hooks, keyFromHash, openConversation, sync, loadOlder, scrollToBottom, atBottom,
  renderAdded, renderHeader, scheduleRead, act, send, redraw,
} from './pane.js';

onSelect(openConversation);
initSearch({ onOpen: openConversation });
hooks.message = onMessage;
hooks.conversation = onConversation;

async function boot() {
  wire();
  api.onUnauthorized(showLogin);
  try {
    const me = await api.me();
    startApp(me.username, me.admin, me.away);
  } catch (err) {
    showLogin();
    if (err.status !== 401) plainText($('login-error'), err.message);
  }
}

function showLogin() {
  showAdminControls(false);
  state.socket?.stop();
  state.socket = null;
  state.me = '';
  state.open = null;
  state.known.clear();
  state.list.clear();
  $('conv-pane').hidden = true;
  $('empty-pane').hidden = false;
  $('messages').replaceChildren();
  $('conv-list').replaceChildren();
  $('banner').hidden = true;
  $('app-view').hidden = true;
  $('login-view').hidden = false;
  document.title = 'syncd';
  $('username').focus();
}

function startApp(username, admin, away) {
  state.me = username;
  state.admin = !!admin;
  $('login-view').hidden = true;
  $('app-view').hidden = false;
  $('whoami').textContent = username;
  showAdminControls(state.admin);
  initAway(away);
  loadIntents();
  renderTabs();
  reloadList();
  state.socket = new LiveSocket({
    onConnecting,
    onHello,
    onDown,
    onEvent: (msg) => {
      if (msg.type === 'message' && msg.message) onMessage(msg.message);
      else if (msg.type === 'conversation' && msg.conversation) onConversation(msg.conversation);
      else if (msg.type === 'typing') typing.heard(msg);
    },
    onUnauthorized: showLogin,
  });
  state.socket.start();
  const key = keyFromHash();
  if (key) openConversation(key);
}

// loadIntents fetches what messages may be labelled with; the open
// conversation gets its controls once they are known.
async function loadIntents() {
  try {
    state.intents = await api.intents();
  } catch {
    state.intents = [];
  }
  const key = state.open?.key;
  if (key && state.intents.length) {
    state.open = null;
    openConversation(key);
  }
}

async function onLogin(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  const button = form.querySelector('button[type=submit]');
  const err = $('login-error');
  plainText(err, '');
  button.disabled = true;
  try {
    const username = form.elements.username.value.trim();
    const res = await api.login(username, form.elements.password.value);
    form.elements.password.value = '';
    startApp((res && res.username) || username, res && res.admin, res && res.away);
  } catch (e) {
    if (e.status === 401) setText(err, 'login.failed');
    else if (e.status === 429) setText(err, 'login.tooMany');
    else plainText(err, e.message);
  } finally {
    button.disabled = false;
  }
}

function onConnecting() {
  setConn('connecting');
  if (state.down) setText($('banner-text'), 'banner.reconnecting');
}

function onHello(msg) {
  state.down = false;
  $('banner').hidden = true;
  setConn('live');
  if (msg.instance) setAttrText($('conn'), 'title', 'conn.instance', { instance: msg.instance });
  else clearAttrText($('conn'), 'title');
  typing.rewatch();
  resync();
}

function onDown({ delay }) {
  state.down = true;
  state.reconnectAt = Date.now() + delay;
  setConn('down');
  $('banner').hidden = false;
  tickBanner();
}

function tickBanner() {
  if (!state.down) return;
  const s = Math.ceil((state.reconnectAt - Date.now()) / 1000);
  if (s > 0) setText($('banner-text'), 'banner.reconnectingIn', { wait: formatUnit(s, 'second') });
}

function setConn(kind) {
  const el = $('conn');
  el.dataset.state = kind;
  if (kind === 'live') setText(el, 'conn.live');
  else if (kind === 'down') setText(el, 'conn.offline');
  else setText(el, state.down ? 'conn.reconnecting' : 'conn.connecting');
}

// resync runs after every (re)connect: anything may have happened while
// the socket was closed.
function resync() {
  reloadList();
  if (state.open) sync(state.open);
}

function onConversation(c) {
  const key = c.conversation_key;
  const tl = state.open?.key === key ? state.open : null;
  const prev = state.known.get(key);
  mergeReadMarker(c, prev);
  if (!c.last_message && prev?.last_message) c.last_message = prev.last_message;
  if (tl && !document.hidden) c.unread = 0;
  state.known.set(key, c);
  if (inTab(c, state.tab, state.me)) state.list.set(key, c);
  else state.list.delete(key);
  renderList();
  if (tl) {
    renderHeader();
    if (tl.loaded && tl.hasGap(c.last_seq)) sync(tl);
  }
}

function onMessage(m) {
  typing.heardMessage(m);
  const key = m.conversation_key;
  const tl = state.open?.key === key ? state.open : null;
  const viewing = tl && !document.hidden;
  const c = state.known.get(key);
  let fresh = c ? applyMessage(c, m, { open: viewing }) : true;
  if (!c) scheduleListReload();
  if (tl) {
    outbox.echo(m);
    if (m.truncated) {
      // Too large for the socket: the frame is a preview, and the whole
      // message is fetched like any other that was missed.
      if (tl.loaded) sync(tl);
    } else {
      const added = tl.merge([m]);
      if (added.length) {
        fresh = true;
        renderAdded(added);
      }
      if (tl.loaded && tl.hasGap()) sync(tl);
    }
    if (viewing) scheduleRead();
  }
  if (fresh && notifies(m) && document.hidden) {
    state.hiddenNew++;
    document.title = t('app.titleUnread', { count: state.hiddenNew });
    if (state.sound) sound.chime();
  }
  if (c) renderList();
}

function wire() {
  $('login-form').addEventListener('submit', onLogin);
  $('logout').addEventListener('click', () => {
    api.logout().catch(() => {}).finally(() => {
      history.replaceState(null, '', location.pathname);
      showLogin();
    });
  });
  $('banner-retry').addEventListener('click', () => state.socket?.retryNow());
  setInterval(tickBanner, 1000);
  setInterval(() => { if (state.me) renderList(); }, 30000);

  const tablist = document.querySelector('[role=tablist]');
  tablist.addEventListener('click', (ev) => {
    const b = ev.target.closest('[role=tab]');
    if (b) setTab(b.dataset.tab);
  });
  tablist.addEventListener('keydown', (ev) => {
    const step = { ArrowRight: 1, ArrowLeft: -1 }[ev.key];
    if (!step) return;
    const tab = TABS[(TABS.indexOf(state.tab) + step + TABS.length) % TABS.length];
    setTab(tab);
    $(`tab-${tab}`).focus();
  });

  initAdmin();
  wireOwner({ act });
  $('btn-resolve').addEventListener('click', () => act(api.resolve));
  $('btn-reopen').addEventListener('click', () => act(api.reopen));
  $('load-older').addEventListener('click', loadOlder);
  $('jump').addEventListener('click', scrollToBottom);
  $('history').addEventListener('scroll', () => {
    if (atBottom()) $('jump').hidden = true;
    if ($('history').scrollTop < 40) loadOlder();
  }, { passive: true });

  $('composer').addEventListener('submit', (ev) => {
    ev.preventDefault();
    send();
  });
  $('reply').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.altKey && !ev.isComposing) {
      ev.preventDefault();
      send();
    } else if (ev.key === 'Escape' && !ev.isComposing && !ev.defaultPrevented) {
      // Leave the reply box for the list; what is typed stays.
      ev.preventDefault();
      focusList();
    }
  });
  wireListKeys();

  const soundBtn = $('sound-toggle');
  const renderSound = () => {
    soundBtn.setAttribute('aria-pressed', String(state.sound));
    setText(soundBtn, state.sound ? 'top.soundOn' : 'top.soundOff');
  };
  renderSound();
  soundBtn.addEventListener('click', () => {
    state.sound = !state.sound;
    store.set('syncd.sound', state.sound ? 'on' : 'off');
    renderSound();
  });
  for (const ev of ['pointerdown', 'keydown']) document.addEventListener(ev, sound.unlock, { passive: true });

  wireLanguage();

  document.addEventListener('visibilitychange', () => {
    if (document.hidden) return;
    state.hiddenNew = 0;
    document.title = 'syncd';
    const c = state.open && state.known.get(state.open.key);
    if (c) c.unread = 0;
    if (state.me) renderList();
    scheduleRead();
  });
  window.addEventListener('hashchange', () => { if (state.me) openConversation(keyFromHash()); });
  window.addEventListener('online', () => state.socket?.retryNow());
}

// wireLanguage makes the language switches (top bar and sign-in page)
// choose the locale, and redraws what is drawn from data on a switch; the
// texts of elements that name their key follow by themselves.
function wireLanguage() {
  const selects = [$('lang'), $('login-lang')];
  const show = () => { for (const s of selects) s.value = locale(); };
  show();
  for (const s of selects) s.addEventListener('change', () => setLocale(s.value).catch(() => show()));
  onLocale(() => {
    show();
    if (!state.me) return;
    renderList();
    redraw();
    if (state.hiddenNew) document.title = t('app.titleUnread', { count: state.hiddenNew });
  });
}

boot();
