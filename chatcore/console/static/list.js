// list.js: the conversation list and its tabs.

import * as api from './api.js';
import { setText } from './i18n.js';
import { $, TABS, state, store } from './state.js';
import { sortConversations } from './model.js';
import { conversationItem } from './views.js';
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
  $('conv-empty').hidden = items.length > 0;
  if (focused) ul.querySelector(`.conv[data-key="${CSS.escape(focused)}"]`)?.focus();
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
