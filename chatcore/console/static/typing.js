// typing.js: "alice is replying…". While the agent types a reply, the
// console sends a typing frame at most every SEND_EVERY ms, and a stop
// when she sends, empties the box, leaves the conversation or pauses for
// IDLE_AFTER ms. It tells the server which conversation it shows (watch),
// and shows who else types there until their stop, or until a frame's
// expires_in_ms passes without another (a closed tab sends no stop).
// docs/protocol.md has the frames.

import { t, setText, plainText, onLocale } from './i18n.js';
import { $, state } from './state.js';
import { h } from './views.js';
import { afterSend } from './composer.js';

const SEND_EVERY = 2000;
const IDLE_AFTER = 3000;

let watched = null; // the conversation key the server was told of
let typingIn = ''; // where this console said it types
let lastSent = 0;
let idleTimer = 0;
const others = new Map(); // username → expiry timer, in the watched conversation

function send(frame) {
  state.socket?.send(frame);
}

// watch tells the server the conversation shown (or '' for none); on a
// new socket, rewatch tells it again.
export function watch(key) {
  if (typingIn && typingIn !== key) stop();
  watched = key || '';
  clearOthers();
  send({ type: 'watch', conversation_key: watched });
}

export function rewatch() {
  typingIn = '';
  clearOthers();
  if (watched !== null) send({ type: 'watch', conversation_key: watched });
}

function stop() {
  clearTimeout(idleTimer);
  if (!typingIn) return;
  send({ type: 'typing', conversation_key: typingIn, typing: false });
  typingIn = '';
  lastSent = 0;
}

function onInput() {
  const key = state.open?.key;
  const box = $('reply');
  if (!key || $('composer').classList.contains('note-mode')) return;
  if (!box.value.trim()) {
    stop();
    return;
  }
  const now = Date.now();
  if (typingIn !== key || now - lastSent >= SEND_EVERY) {
    if (typingIn && typingIn !== key) stop();
    send({ type: 'typing', conversation_key: key, typing: true });
    typingIn = key;
    lastSent = now;
  }
  clearTimeout(idleTimer);
  idleTimer = setTimeout(stop, IDLE_AFTER);
}

// heard handles a typing frame from the server.
export function heard(f) {
  if (!f || f.conversation_key !== watched || !f.username || f.username === state.me) return;
  clearTimeout(others.get(f.username));
  if (f.typing) {
    const ttl = Math.min(Math.max(Number(f.expires_in_ms) || 6000, 1000), 30000);
    others.set(f.username, setTimeout(() => { others.delete(f.username); render(); }, ttl));
  } else {
    others.delete(f.username);
  }
  render();
}

// heardMessage clears the indicator of an agent whose message arrived:
// she sent what she typed.
export function heardMessage(m) {
  if (m && m.sender_type === 'agent' && m.conversation_key === watched && others.has(m.sender_name)) {
    clearTimeout(others.get(m.sender_name));
    others.delete(m.sender_name);
    render();
  }
}

function clearOthers() {
  for (const timer of others.values()) clearTimeout(timer);
  others.clear();
  render();
}

let line = null;

function render() {
  if (!line) return;
  const names = [...others.keys()].sort();
  line.hidden = names.length === 0;
  if (names.length === 0) plainText(line, '');
  else if (names.length === 1) setText(line, 'typing.one', { name: names[0] });
  else if (names.length === 2) setText(line, 'typing.two', { first: names[0], second: names[1] });
  else setText(line, 'typing.many', { count: names.length });
}

function wire() {
  const form = $('composer');
  if (!form) return;
  line = h('p', { id: 'typing', class: 'typing muted', role: 'status', 'aria-live': 'polite', hidden: true });
  form.parentNode.insertBefore(line, form);
  $('reply').addEventListener('input', onInput);
  $('reply').addEventListener('blur', stop);
  afterSend.push(stop);
  onLocale(render);
}

wire();
