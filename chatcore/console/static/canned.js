// canned.js: canned replies in the composer. Typing /shortcut opens a
// short list of the library's replies whose shortcut (or title) matches;
// up and down move in it, Enter or Tab inserts, Escape closes. The reply
// is inserted as the server fills it for the open conversation, in the
// agent's language (GET …/canned/{id}?lang=); a placeholder it could not
// fill stays as written, is selected for the agent to type over, and
// holds the reply back until it is gone.

import * as api from './api.js';
import { t, setText, setAttrText, plainText, locale } from './i18n.js';
import { $, state } from './state.js';
import { h } from './views.js';
import { beforeSend } from './composer.js';

const MAX_SHOWN = 8;
const STALE_AFTER = 60000; // ms before the library is fetched again
const placeholderRE = /\{\{\s*\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/;

let library = [];
let loadedAt = 0;
let loading = null;
let list = null; // the suggestion listbox
let hint = null;
let shown = []; // the replies in the list
let active = 0;
let token = null; // { start, end } of the /word being completed

// reload fetches the library (canned-admin.js calls it after a change).
export function reload() {
  loading = api.cannedReplies().then((l) => {
    library = l;
    loadedAt = Date.now();
  }).catch(() => {}).finally(() => { loading = null; });
  return loading;
}

function current() {
  if (!loadedAt || Date.now() - loadedAt > STALE_AFTER) {
    if (!loading) reload().then(update);
  }
  return library;
}

// slashWord finds "/word" ending at the caret, at the start of the box or
// after a space.
function slashWord(box) {
  const at = box.selectionStart;
  if (at !== box.selectionEnd) return null;
  const m = /(^|\s)\/([a-z0-9_-]*)$/i.exec(box.value.slice(0, at));
  if (!m) return null;
  return { start: at - m[2].length - 1, end: at, typed: '/' + m[2], word: m[2].toLowerCase() };
}

function update() {
  const box = $('reply');
  token = state.open ? slashWord(box) : null;
  if (!token) return close();
  const w = token.word;
  shown = current()
    .filter((r) => r.shortcut.startsWith(w) || (w && r.title.toLowerCase().includes(w)))
    .sort((a, b) => Number(!a.shortcut.startsWith(w)) - Number(!b.shortcut.startsWith(w)) || a.shortcut.localeCompare(b.shortcut))
    .slice(0, MAX_SHOWN);
  if (!shown.length) return close();
  active = Math.min(active, shown.length - 1);
  list.replaceChildren(...shown.map((r, i) => h('li', {
    id: 'canned-opt-' + r.id,
    role: 'option',
    class: 'canned-opt',
    'aria-selected': String(i === active),
    dataset: { shortcut: r.shortcut },
    onmousedown: (ev) => { ev.preventDefault(); insert(r); },
  }, h('span', { class: 'canned-shortcut', text: '/' + r.shortcut }), h('span', { class: 'canned-title', text: r.title }))));
  list.hidden = false;
  box.setAttribute('aria-activedescendant', 'canned-opt-' + shown[active].id);
}

function close() {
  shown = [];
  active = 0;
  if (!list) return;
  list.hidden = true;
  list.replaceChildren();
  $('reply').removeAttribute('aria-activedescendant');
}

async function insert(r) {
  const tl = state.open;
  const at = token;
  close();
  if (!tl || !at) return;
  const box = $('reply');
  let filled;
  try {
    filled = await api.renderCanned(tl.key, r.id, locale());
  } catch (e) {
    if (state.open === tl) setText(hint, 'canned.failed', { error: e.message });
    return;
  }
  if (state.open !== tl || box.value.slice(at.start, at.end) !== at.typed) return; // the box changed meanwhile
  const text = filled.text || '';
  box.value = box.value.slice(0, at.start) + text + box.value.slice(at.end);
  box.focus();
  const missing = filled.missing || [];
  const first = placeholderRE.exec(text);
  if (missing.length && first) {
    const s = at.start + first.index;
    box.setSelectionRange(s, s + first[0].length);
    setText(hint, 'canned.fillIn', { names: missing.join(', ') });
  } else {
    const end = at.start + text.length;
    box.setSelectionRange(end, end);
    plainText(hint, '');
  }
  box.dispatchEvent(new Event('input', { bubbles: true })); // typing.js hears it
}

function onKey(ev) {
  if (list.hidden || ev.isComposing) return;
  const move = { ArrowDown: 1, ArrowUp: -1 }[ev.key];
  if (move) {
    active = (active + move + shown.length) % shown.length;
  } else if (ev.key === 'Enter' || ev.key === 'Tab') {
    insert(shown[active]);
  } else if (ev.key === 'Escape') {
    close();
  } else {
    return;
  }
  // Ours, not the composer's: Enter must not send, Escape not leave.
  ev.preventDefault();
  ev.stopImmediatePropagation();
  if (move) update();
}

// A reply with a placeholder left is held back: the customer would read
// "{{.order_id}}".
beforeSend.push((key, body) => {
  const m = placeholderRE.exec(body);
  if (!m) return '';
  setText(hint, 'canned.fillIn', { names: m[1] });
  const box = $('reply');
  box.focus();
  box.setSelectionRange(m.index, m.index + m[0].length);
  return 'block';
});

function wire() {
  const box = $('reply');
  const form = $('composer');
  if (!box || !form) return;
  list = h('ul', { id: 'canned-list', class: 'canned-list', role: 'listbox', hidden: true });
  setAttrText(list, 'aria-label', 'canned.listLabel');
  hint = h('p', { id: 'canned-hint', class: 'canned-hint', role: 'status' });
  form.parentNode.insertBefore(list, form);
  form.parentNode.insertBefore(hint, form);
  box.setAttribute('aria-autocomplete', 'list');
  box.setAttribute('aria-controls', 'canned-list');
  // Capture: before app.js's Enter-sends on the same box.
  box.addEventListener('keydown', onKey, true);
  box.addEventListener('input', () => {
    if (!placeholderRE.test(box.value)) plainText(hint, '');
    update();
  });
  // Closed on leaving the box, unless focus came back meanwhile (a click
  // on the note switch, then typing on).
  box.addEventListener('blur', () => setTimeout(() => { if (document.activeElement !== box) close(); }, 100));
}

wire();
