// list.js: the conversation list and its tabs.

import * as api from './api.js';
import { setText } from './i18n.js';
import { $, TABS, state, store } from './state.js';
import { sortConversations } from './model.js';
import { conversationItem } from './views.js';
import { decorate as slaMarks } from './sla.js';
import { renderHeader } from './pane.js'; // pane.js imports this module too; only functions cross

let select = () => {};

// onSelect sets what a click on a conversation does.
export function onSelect(fn) {
  select = fn;
}

export async function reloadList() {
  const token = ++state.listToken;
  const tab = state.tab;
  try {
    const list = await api.conversations(tab);
    if (token !== state.listToken) return;
    state.list.clear();
    for (const c of list) {
      if (state.open?.key === c.conversation_key && !document.hidden) c.unread = 0;
      state.known.set(c.conversation_key, c);
      state.list.set(c.conversation_key, c);
    }
    setText($('conv-empty'), 'list.empty');
    renderList();
    if (state.open) renderHeader();
  } catch (e) {
    if (token === state.listToken && e.status !== 401) {
      setText($('conv-empty'), 'list.loadFailed', { error: e.message });
      $('conv-empty').hidden = false;
    }
  }
}

let reloadTimer = 0;
export function scheduleListReload() {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(reloadList, 300);
}

export function renderList() {
  const ul = $('conv-list');
  const focused = document.activeElement?.closest?.('#conv-list .conv')?.dataset.key;
  const now = Date.now();
  const items = sortConversations([...state.list.values()]).map((c) =>
    conversationItem(c, { selected: state.open?.key === c.conversation_key, me: state.me, now, onSelect: select }));
  ul.replaceChildren(...items);
  slaMarks(ul, state.list, now);
  $('conv-empty').hidden = items.length > 0;
  // One entry is in the Tab order (the focused one, else the open one,
  // else the first); the arrows move from there.
  const entry = (key) => key && ul.querySelector(`.conv[data-key="${CSS.escape(key)}"]`);
  const active = entry(focused) || entry(state.open?.key) || ul.querySelector('.conv');
  for (const b of ul.querySelectorAll('.conv')) b.tabIndex = b === active ? 0 : -1;
  if (focused && active) active.focus();
}

// focusEntry moves the focus (and the list's place in the Tab order) to
// the entry b.
function focusEntry(b) {
  if (!b) return;
  for (const x of b.closest('.conv-list').querySelectorAll('.conv')) x.tabIndex = x === b ? 0 : -1;
  b.focus();
}

// focusList puts the focus back in the list that is shown (the
// conversations, or other lists of them in the sidebar such as search
// results), on the open conversation where it is listed.
export function focusList() {
  const ul = [...document.querySelectorAll('.sidebar .conv-list')].find((x) => x.offsetParent !== null);
  if (!ul) return;
  const key = state.open?.key;
  focusEntry((key && ul.querySelector(`.conv[data-key="${CSS.escape(key)}"]`)) || ul.querySelector('.conv[tabindex="0"]') || ul.querySelector('.conv'));
}

// wireListKeys: in any list of conversations in the sidebar, ↑/↓ (and
// Home/End) move; Enter opens the conversation as a click does and puts
// the cursor in its reply box (Escape there comes back, see app.js). A
// click opens it and leaves the focus where it is.
export function wireListKeys() {
  document.querySelector('.sidebar').addEventListener('keydown', (ev) => {
    const cur = ev.target.closest?.('.conv-list .conv');
    if (!cur || ev.altKey || ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
    const items = [...cur.closest('.conv-list').querySelectorAll('.conv')];
    const i = items.indexOf(cur);
    let next;
    switch (ev.key) {
      case 'ArrowDown': next = items[Math.min(i + 1, items.length - 1)]; break;
      case 'ArrowUp': next = items[Math.max(i - 1, 0)]; break;
      case 'Home': next = items[0]; break;
      case 'End': next = items[items.length - 1]; break;
      case 'Enter':
        ev.preventDefault();
        cur.click();
        if (!$('conv-pane').hidden) $('reply').focus();
        return;
      default: return;
    }
    ev.preventDefault();
    focusEntry(next);
  });
}

export function renderTabs() {
  for (const b of document.querySelectorAll('[role=tab]')) {
    const on = b.dataset.tab === state.tab;
    b.setAttribute('aria-selected', String(on));
    b.tabIndex = on ? 0 : -1;
    if (on) $('conv-list').setAttribute('aria-labelledby', b.id);
  }
}

export function setTab(tab) {
  if (!TABS.includes(tab)) return;
  state.tab = tab;
  store.set('syncd.tab', tab);
  state.list.clear();
  renderTabs();
  renderList();
  reloadList();
}
