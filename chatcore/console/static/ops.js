// ops.js: the admins' "Relay operations" section: what `syncd status`
// shows (rows by status, the oldest pending row's wait, claims in flight,
// shard lock holders), the failed rows grouped by reason, and a requeue of
// failed rows by filter with `syncd requeue`'s force for rows that failed
// as invalid. The server refuses it to agents who are not admins.

import * as api from './api.js';
import { t, setText } from './i18n.js';
import { h, duration } from './views.js';
import { addSection } from './admin.js';

const STATUSES = ['pending', 'processing', 'sent', 'failed'];

function statusLabel(s) {
  switch (s) {
    case 'pending': return t('ops.status.pending');
    case 'processing': return t('ops.status.processing');
    case 'sent': return t('ops.status.sent');
    default: return t('ops.status.failed');
  }
}

const th = (text) => h('th', { scope: 'col', text });

function table(cls, heads, rows) {
  return h('table', { class: 'ops-table ' + cls }, h('thead', {}, h('tr', {}, heads.map(th))), h('tbody', {}, rows));
}

// statusView draws s (GET /api/admin/ops); useFilter fills the requeue
// form's error filter with a reason.
function statusView(s, useFilter) {
  const rows = s.rows || {};
  const out = [
    h('h4', { text: t('ops.backlog') }),
    table('ops-backlog', [t('ops.statusColumn'), t('ops.rows')], STATUSES.map((st) => h('tr', { dataset: { status: st } },
      h('td', { text: statusLabel(st) }), h('td', { class: 'num', text: String(rows[st] || 0) })))),
    h('p', { class: 'ops-oldest', text: rows.pending > 0
      ? t('ops.oldest', { duration: duration((s.oldest_pending_age_seconds || 0) * 1000) })
      : t('ops.oldestNone') }),
  ];
  if (s.unrecognised_status > 0) out.push(h('p', { class: 'ops-warn', text: t('ops.unrecognised', { count: s.unrecognised_status }) }));
  if (s.orphaned_processing > 0) out.push(h('p', { class: 'ops-warn', text: t('ops.orphans', { count: s.orphaned_processing }) }));

  out.push(h('h4', { text: t('ops.claims') }));
  const claims = s.claims || [];
  const now = Date.now();
  out.push(claims.length === 0 ? h('p', { text: t('ops.claimsNone') }) : table('ops-claims',
    [t('ops.claimedBy'), t('ops.buckets'), t('ops.age'), t('ops.leaseLeft')], claims.map((c) => {
      const left = Date.parse(c.lease_until) - now;
      return h('tr', {}, h('td', { text: c.claimed_by }), h('td', { text: t('ops.bucketRange', { lo: c.bucket_lo, hi: c.bucket_hi - 1 }) }),
        h('td', { text: duration(Math.max(0, now - Date.parse(c.created_at))) }),
        h('td', { text: left > 0 ? duration(left) : t('ops.leaseExpired') }));
    })));

  out.push(h('h4', { text: t('ops.locks') }));
  out.push(s.locks !== 'redis' ? h('p', { text: t('ops.locksLocal') }) : table('ops-shards', [t('ops.shard'), t('ops.holder')],
    (s.shards || []).map((x) => h('tr', {}, h('td', { text: x.shard }), h('td', { text: x.holder || t('ops.nobody') })))));

  out.push(h('h4', { text: t('ops.failed') }));
  const failed = s.failed || [];
  if (failed.length === 0) {
    out.push(h('p', { text: t('ops.failedNone') }));
  } else {
    out.push(table('ops-failed', [t('ops.reason'), t('ops.rows'), t('ops.note'), t('ops.actions')], failed.map((f) => h('tr', {},
      h('td', { class: 'ops-reason', text: f.reason }), h('td', { class: 'num', text: String(f.rows) }),
      h('td', { text: f.invalid ? t('ops.invalid') : '' }),
      h('td', {}, h('button', { type: 'button', class: 'ghost', text: t('ops.useFilter'), onclick: () => useFilter(f.reason) }))))));
    const listed = failed.reduce((n, f) => n + f.rows, 0);
    if (listed < (rows.failed || 0)) out.push(h('p', { text: t('ops.failedMore', { shown: listed, total: rows.failed }) }));
  }
  return out;
}

// requeueForm is the requeue by filter; done redraws the status.
function requeueForm(done) {
  const conv = h('input', { id: 'ops-conversation', type: 'text', maxlength: '255', autocomplete: 'off' });
  const errText = h('input', { id: 'ops-error', type: 'text', maxlength: '255', autocomplete: 'off' });
  const force = h('input', { id: 'ops-force', type: 'checkbox' });
  const result = h('div', { id: 'ops-result', role: 'status' });
  const submit = h('button', { type: 'submit', class: 'primary', id: 'ops-requeue', text: t('ops.requeue') });
  const form = h('form', { class: 'ops-requeue', 'aria-labelledby': 'ops-requeue-title' },
    h('h4', { id: 'ops-requeue-title', text: t('ops.requeueTitle') }),
    h('label', { for: 'ops-conversation', text: t('ops.conversation') }), conv,
    h('label', { for: 'ops-error', text: t('ops.errorContains') }), errText,
    h('label', { class: 'ops-force' }, force, h('span', { text: t('ops.force') })),
    submit, result);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    try {
      const r = await api.opsRequeue({ conversation_key: conv.value.trim(), error_contains: errText.value, force: force.checked });
      const lines = [h('p', { class: 'ops-requeued', text: t('ops.requeued', { count: r.requeued }) })];
      if (r.invalid_skipped > 0) {
        lines.push(h('p', { class: 'ops-skipped', text: t('ops.skipped', { count: r.invalid_skipped }) }),
          h('ul', {}, (r.invalid_sample || []).map((x) => h('li', { text: t('ops.skippedRow', { id: x.id, reason: x.reason }) }))));
      }
      result.replaceChildren(...lines);
      await done();
    } catch (e) {
      const p = h('p');
      setText(p, 'ops.requeueFailed', { error: e.message });
      result.replaceChildren(p);
    } finally {
      submit.disabled = false;
    }
  });
  return { form, useFilter: (reason) => { errText.value = reason.slice(0, 255); errText.focus(); } };
}

async function render(body) {
  const view = h('div', { class: 'ops-status', 'aria-live': 'polite' });
  const { form, useFilter } = requeueForm(() => load());
  const refresh = h('button', { type: 'button', class: 'ghost', id: 'ops-refresh', text: t('ops.refresh'), onclick: () => load() });
  async function load() {
    try {
      view.replaceChildren(...statusView(await api.opsStatus(), useFilter));
    } catch (e) {
      const p = h('p', { class: 'ops-error' });
      setText(p, 'ops.loadFailed', { error: e.message });
      view.replaceChildren(p);
    }
  }
  const title = h('h3', { text: t('ops.title') });
  body.replaceChildren(h('section', { class: 'ops' }, title, refresh, view, form));
  await load();
}

addSection({ id: 'ops', title: () => t('ops.title'), render });
