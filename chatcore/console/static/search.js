// search.js: the search box above the conversation list. Typing searches
// GET /api/conversations?q= (key, customer name, message text); the
// results replace the list until the box is cleared, and open the
// conversation on click or, for the first, on Enter in the box; ↓ moves
// into them. "/" focuses the box unless the agent is typing in a field;
// Esc clears it.

import * as api from './api.js';
import { $, state } from './state.js';
import { conversationItem } from './views.js';
import { onLocale, plainText, setText } from './i18n.js';

const DEBOUNCE_MS = 200;

let open = () => {};
let token = 0;
let timer = 0;
let results = [];
let inFlight = Promise.resolve(); // the search being answered

// initSearch wires the box; onOpen opens a conversation by key.
export function initSearch({ onOpen }) {
  open = onOpen;
  const input = $('search-q');
  onLocale(() => { if (!$('search-results').hidden && results.length) render(); }); // the items' texts
  $('search').addEventListener('submit', (ev) => {
    ev.preventDefault();
    enter();
  });
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(run, DEBOUNCE_MS);
  });
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') {
      ev.preventDefault();
      clear();
    } else if (ev.key === 'Enter' && !ev.isComposing) { // not while an IME composes Chinese
      ev.preventDefault();
      enter();
    } else if (ev.key === 'ArrowDown') { // into the results, where the list's keys work
      const first = $('search-results').querySelector('.conv');
      if (first) {
        ev.preventDefault();
        first.focus();
      }
    }
  });
  document.addEventListener('keydown', (ev) => {
    if (ev.key !== '/' || ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev.target)) return;
    ev.preventDefault();
    input.focus();
    input.select();
  });
}

// enter opens the first result, once the search for what is typed is in.
async function enter() {
  if (timer) {
    clearTimeout(timer);
    run();
  }
  await inFlight;
  if (results.length) choose(results[0].conversation_key);
}

// typing reports an element that takes text (where "/" is a character).
function typing(el) {
  return !!el && (el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName));
}

function clear() {
  clearTimeout(timer);
  timer = 0;
  token++;
  results = [];
  $('search-q').value = '';
  $('search-results').replaceChildren();
  show(false);
}

// show switches the sidebar between the list and the results.
function show(searching) {
  document.querySelector('.sidebar').classList.toggle('searching', searching);
  $('search-results').hidden = !searching;
  if (!searching) plainText($('search-status'), '');
}

function run() {
  timer = 0;
  inFlight = search();
  return inFlight;
}

async function search() {
  const q = $('search-q').value.trim();
  const mine = ++token;
  if (!q) {
    clear();
    return;
  }
  show(true);
  setText($('search-status'), 'search.searching');
  try {
    const found = await api.search(q);
    if (mine !== token) return;
    results = found;
    render();
  } catch (e) {
    if (mine !== token || e.status === 401) return;
    results = [];
    $('search-results').replaceChildren();
    setText($('search-status'), 'search.failed', { error: e.message });
  }
}

function render() {
  const now = Date.now();
  $('search-results').replaceChildren(...results.map((c) => conversationItem(c, {
    selected: state.open?.key === c.conversation_key, me: state.me, now, onSelect: choose,
  })));
  if (results.length) plainText($('search-status'), '');
  else setText($('search-status'), 'search.none');
}

// choose opens a result; the results stay until the box is cleared.
function choose(key) {
  open(key);
  render();
}
