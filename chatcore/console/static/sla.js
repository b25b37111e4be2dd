// sla.js: the response-time rules in the console: the time left (or the
// breach) on each conversation of the list, the history entry of a
// conversation returned for want of a reply, and the admins' section to
// edit the rules. The server says when each wait is due (due_at,
// docs/protocol.md); this module only counts down to it.

import * as api from './api.js';
import { t, setText } from './i18n.js';
import { h, duration } from './views.js';
import { addSection } from './admin.js';

// badge is the list item's mark of conversation c at now (ms), or null
// when nothing is due.
export function badge(c, now) {
  const due = c.due_at ? Date.parse(c.due_at) : NaN;
  if (Number.isNaN(due)) return null;
  const el = h('span', { class: 'sla', dataset: { due: String(due), target: c.due_target || '' } });
  paint(el, now);
  return el;
}

// paint writes el's state as of now: time left, or how long overdue.
function paint(el, now) {
  const due = Number(el.dataset.due);
  const breached = now >= due;
  el.dataset.breached = String(breached);
  el.classList.toggle('late', breached);
  setText(el, breached ? 'sla.breached' : 'sla.left', { duration: duration(Math.abs(due - now)) });
  const target = el.dataset.target === 'reply' ? t('sla.reply') : t('sla.firstResponse');
  el.title = t('sla.label', { target, state: el.textContent });
}

// decorate adds the mark to each conversation of the list ul, whose
// items carry data-key; conversations maps a key to its conversation.
export function decorate(ul, conversations, now = Date.now()) {
  for (const btn of ul.querySelectorAll('.conv[data-key]')) {
    const c = conversations.get(btn.dataset.key);
    const mark = c && badge(c, now);
    if (mark) btn.querySelector('.conv-meta')?.prepend(mark);
  }
}

// The marks count down between list renders.
setInterval(() => {
  const now = Date.now();
  for (const el of document.querySelectorAll('.sla[data-due]')) paint(el, now);
}, 15000);

// eventText is what a return event says in the agent's language, or null
// for another event.
export function eventText(m) {
  if (m.kind !== 'sla_returned') return null;
  let p = m.payload;
  if (typeof p === 'string') {
    try {
      p = JSON.parse(p);
    } catch {
      p = null;
    }
  }
  if (!p || typeof p !== 'object') return null;
  const target = duration((Number(p.target_seconds) || 0) * 1000);
  return p.to
    ? t('sla.handed', { from: String(p.from || ''), to: String(p.to), target })
    : t('sla.returned', { from: String(p.from || ''), target });
}

// adminSection is the admins' "Response-time rules" section: both targets
// in minutes, 0 for off.
function adminSection() {
  const first = h('input', { id: 'sla-first', type: 'number', min: '0', max: '43200', step: '1', required: true });
  const reply = h('input', { id: 'sla-reply', type: 'number', min: '0', max: '43200', step: '1', required: true });
  const status = h('p', { class: 'sla-status', role: 'status' });
  const labelFirst = h('label', { for: 'sla-first' });
  const labelReply = h('label', { for: 'sla-reply' });
  const title = h('h3', { id: 'sla-title' });
  const save = h('button', { type: 'submit', class: 'primary', id: 'sla-save' });
  setText(title, 'sla.adminTitle');
  setText(labelFirst, 'sla.firstResponseLabel');
  setText(labelReply, 'sla.replyLabel');
  setText(save, 'sla.save');
  const form = h('form', { class: 'sla-admin', 'aria-labelledby': 'sla-title' },
    title, labelFirst, first, labelReply, reply, save, status);
  const minutes = (s) => Math.round((Number(s) || 0) / 60);
  api.slaRules().then((r) => {
    first.value = String(minutes(r.first_response_seconds));
    reply.value = String(minutes(r.reply_seconds));
  }).catch((e) => setText(status, 'sla.loadFailed', { error: e.message }));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await api.saveSLARules({
        first_response_seconds: Math.max(0, Math.round(Number(first.value) || 0)) * 60,
        reply_seconds: Math.max(0, Math.round(Number(reply.value) || 0)) * 60,
      });
      setText(status, 'sla.saved');
    } catch (e) {
      setText(status, 'sla.saveFailed', { error: e.message });
    }
  });
  return form;
}

// The admins' page shows the rules as a section of its own.
addSection({ id: 'sla', title: () => t('sla.adminTitle'), render: (body) => body.replaceChildren(adminSection()) });
