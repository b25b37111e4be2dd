// notes.js: private notes. The composer's "Private note" switch sends
// what is typed as a note (POST …/notes) instead of a reply; a note is
// drawn apart from the messages the customer sees. The server never
// writes a note to message_reply: the legacy application and the customer
// never see it.

import * as api from './api.js';
import { t, setText, formatDateTime } from './i18n.js';
import { $, state } from './state.js';
import { h, shortTime } from './views.js';
import { Outbox } from './outbox.js';
import { beforeSend } from './composer.js';
import { hooks } from './pane.js';

// isNote tells a private note (an agent's row of kind note) from a reply;
// a relayed event named "note" is the system's, never an agent's.
export function isNote(m) {
  return m.sender_type === 'agent' && m.kind === 'note';
}

// Notes are sent with a client_id and retried like replies; one that
// fails for good goes back into the box, with the reason.
const notes = new Outbox({
  send: (item) => api.note(item.key, item.body, item.clientId),
  onChange: (item) => {
    if (item.state !== 'failed') return;
    notes.discard(item.clientId);
    if (state.open?.key !== item.key) return;
    setText($('conv-error'), 'note.sendFailed', { error: item.error });
    if (!$('reply').value) $('reply').value = item.body;
  },
  onSent: (m) => hooks.message(m),
});

let noteMode = false;
let toggle = null;

function render() {
  toggle.setAttribute('aria-pressed', String(noteMode));
  $('composer').classList.toggle('note-mode', noteMode);
  $('note-hint').hidden = !noteMode;
}

// wire adds the switch to the composer, before its Send button.
function wire() {
  const form = $('composer');
  if (!form || toggle) return;
  toggle = h('button', { type: 'button', id: 'note-toggle', class: 'ghost note-toggle', 'aria-pressed': 'false' });
  setText(toggle, 'note.toggle');
  toggle.addEventListener('click', () => {
    noteMode = !noteMode;
    render();
    $('reply').focus();
  });
  const hint = h('p', { id: 'note-hint', class: 'note-hint', hidden: true });
  setText(hint, 'note.hint');
  form.insertBefore(hint, form.firstChild);
  form.insertBefore(toggle, form.querySelector('button[type=submit]'));
  render();
}

beforeSend.push((key, body) => {
  if (!noteMode) return '';
  notes.add(key, body, state.me);
  return 'handled';
});

// noteNode draws a note: a bubble of its own colour with a "Private note"
// tag, never a label control (a note teaches the bot nothing).
export function noteNode(m, { me }) {
  const own = m.sender_name === me;
  const time = h('time', { datetime: m.created_at || null, title: m.created_at ? formatDateTime(new Date(m.created_at)) : null, text: shortTime(m.created_at) });
  return h('li', { class: 'msg private-note' + (own ? ' own' : ''), dataset: { seq: m.seq, kind: 'note' } },
    h('div', { class: 'bubble' },
      h('div', { class: 'meta' },
        h('span', { class: 'who', text: own ? t('sender.you') : m.sender_name || '' }),
        h('span', { class: 'tag note-tag', text: t('note.tag') }),
        time),
      h('p', { class: 'body', text: m.body || '' })));
}

wire();
