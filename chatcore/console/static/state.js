// state.js: what the console's modules share: the session, the loaded
// conversations, the open conversation and small helpers.

export const $ = (id) => document.getElementById(id);

export const TABS = ['mine', 'unassigned', 'all'];

// store is localStorage that tolerates being unavailable (private mode).
export const store = {
  get: (k) => { try { return localStorage.getItem(k); } catch { return null; } },
  set: (k, v) => { try { localStorage.setItem(k, v); } catch { /* not kept */ } },
};

export const state = {
  me: '',
  admin: false, // sees the retrain figures
  intents: [], // what messages may be labelled with; [] while the bot is off
  tab: TABS.includes(store.get('syncd.tab')) ? store.get('syncd.tab') : 'all',
  known: new Map(), // conversation_key → Conversation, any tab
  list: new Map(), // the shown tab's conversations (same objects as known)
  listToken: 0,
  open: null, // Timeline of the open conversation
  socket: null,
  down: false,
  reconnectAt: 0,
  hiddenNew: 0,
  sound: store.get('syncd.sound') !== 'off',
};
