// views.js: builds DOM nodes from data. Text from the server is only ever
// set as text (textContent or text nodes), never parsed as HTML. The
// console's own texts come from i18n.js's catalogs, never from here.

import { eventText as slaEventText } from './sla.js';
import { t, formatTime, formatDateTime, formatUnit, formatNumber, formatPercent } from './i18n.js';

// h creates an element. attrs: 'class', 'text', 'on<event>' handlers,
// 'dataset' (object), boolean or string attributes. children: nodes or
// strings (as text).
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function parse(iso) {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(t) ? null : new Date(t);
}

// shortTime is the time of day for today, else date and time.
export function shortTime(iso, now = new Date()) {
  const d = parse(iso);
  if (!d) return '';
  return d.toDateString() === now.toDateString() ? formatTime(d) : formatDateTime(d);
}

// duration says how long ms is, coarsely, in the agent's locale:
// "< 1 min", "4 min", "2 hr 5 min", "3 days" (不到1分钟, 4分钟, 2小时5分钟, 3天).
export function duration(ms) {
  const min = Math.floor(ms / 60000);
  if (min < 1) return t('time.underMinute', { minute: formatUnit(1, 'minute') });
  if (min < 60) return formatUnit(min, 'minute');
  const hr = Math.floor(min / 60);
  if (hr < 24) {
    return min % 60 ? t('time.hoursMinutes', { hours: formatUnit(hr, 'hour'), minutes: formatUnit(min % 60, 'minute') }) : formatUnit(hr, 'hour');
  }
  return formatUnit(Math.floor(hr / 24), 'day');
}

// senderLabel names a sender type for a message without a sender name.
function senderLabel(type) {
  switch (type) {
    case 'customer': return t('sender.customer');
    case 'agent': return t('sender.agent');
    case 'bot': return t('sender.bot');
    case 'system': return t('sender.system');
    default: return '';
  }
}

// isEvent tells a system note (order_created, …) from a chat message.
export function isEvent(m) {
  return (m.kind && m.kind !== 'message') || m.sender_type === 'system';
}

// eventTitle turns "order_created" into "Order created".
export function eventTitle(kind) {
  const s = String(kind || 'event').replace(/[_-]+/g, ' ').trim();
  return s.charAt(0).toUpperCase() + s.slice(1);
}

// sameWords tells whether two texts say the same once case, spacing and
// the _ and - of an event kind are set aside ("order created" is what
// "Order created" already says).
function sameWords(a, b) {
  const norm = (s) => String(s || '').toLowerCase().replace(/[\s_-]+/g, ' ').trim();
  return norm(a) === norm(b);
}

// eventBody is an event's body unless it only repeats the event's title.
function eventBody(m) {
  const own = slaEventText(m);
  if (own) return own;
  return sameWords(m.body, eventTitle(m.kind)) ? '' : m.body || '';
}

// isAssignment tells the console's own assignment events from a relayed
// event a legacy application happened to call so (those have a source).
function isAssignment(m) {
  return m.kind === 'assignment' && m.sender_type === 'system' && !m.source_id;
}

// assignmentText says who gave a conversation to whom (an assignment
// event's payload: by, from, to), in the agent's language.
export function assignmentText(m) {
  const p = m.payload || {};
  if (!p.to) return t('event.released', { by: p.by || '' });
  if (p.to === p.by && !p.from) return t('event.took', { by: p.by });
  if (p.to === p.by) return t('event.tookOver', { by: p.by, from: p.from });
  return t('event.handedTo', { by: p.by || '', to: p.to });
}

// preview is one line describing a message for the conversation list.
export function preview(m, me) {
  if (!m) return '';
  if (isAssignment(m) && m.payload) return assignmentText(m);
  let who = isEvent(m) ? eventTitle(m.kind) : (m.sender_name || senderLabel(m.sender_type));
  if (m.sender_type === 'agent' && m.sender_name && m.sender_name === me) who = t('sender.you');
  const body = (isEvent(m) ? eventBody(m) : m.body || '').replace(/\s+/g, ' ').trim();
  if (!body) return who;
  return who ? t('preview.line', { who, body }) : body;
}

export function conversationItem(c, { selected, me, now, onSelect }) {
  const unread = c.unread > 0 ? c.unread : 0;
  // A customer waits whenever waiting_since is set, even if this browser's
  // clock is behind the server's (the wait then starts at zero).
  const since = c.state !== 'resolved' ? parse(c.waiting_since) : null;
  const waitMs = since ? Math.max(0, now - since.getTime()) : -1;
  const owner = c.assignee ? (c.assignee === me ? t('sender.you') : c.assignee) : t('conv.unassigned');
  return h('li', {},
    h('button', {
      type: 'button',
      class: 'conv' + (unread ? ' has-unread' : '') + (c.state === 'resolved' ? ' resolved' : ''),
      'aria-current': selected ? 'true' : null,
      dataset: { key: c.conversation_key },
      onclick: () => onSelect(c.conversation_key),
    },
    h('span', { class: 'conv-top' },
      h('span', { class: 'conv-key', text: c.conversation_key }),
      unread ? h('span', { class: 'badge', 'aria-label': t('list.unread', { count: formatNumber(unread) }), text: unread > 99 ? formatNumber(99) + '+' : formatNumber(unread) }) : null,
      h('span', { class: 'conv-time', text: shortTime(c.last_message_at) })),
    h('span', { class: 'conv-last', text: preview(c.last_message, me) || t('list.noMessages') }),
    h('span', { class: 'conv-meta' },
      waitMs >= 0
        ? h('span', { class: 'waiting' + (waitMs > 5 * 60000 ? ' late' : ''), text: t('list.waiting', { duration: duration(waitMs) }) })
        : h('span', { class: 'state', text: answeredText(c) }),
      c.wants_agent ? h('span', { class: 'waiting late', text: t('conv.asksForPerson') }) : null,
      waitMs >= 0 && c.answered_by === 'bot' ? h('span', { class: 'state', text: t('conv.botReplied') }) : null,
      h('span', { class: 'owner', text: owner }))));
}

// answeredText is the state of a conversation nobody waits on.
function answeredText(c) {
  if (c.state === 'resolved') return t('conv.resolved');
  if (c.answered_by === 'bot') return t('conv.answeredByBot');
  if (c.answered_by === 'agent') return t('conv.answeredByAgent');
  return t('conv.answered');
}

export function messageNode(m, { me, onUseSuggestion, labelControl }) {
  const time = h('time', { datetime: m.created_at || null, title: m.created_at ? formatDateTime(new Date(m.created_at)) : null, text: shortTime(m.created_at) });
  // Why the bot did not answer (a template whose field is missing): the
  // agent knows the customer waits for a person.
  const botNote = m.note ? h('span', { class: 'bot-note', text: m.note }) : null;
  if (isAssignment(m)) {
    return h('li', { class: 'msg event assignment', dataset: { seq: m.seq, kind: m.kind } },
      h('div', { class: 'note' }, h('span', { class: 'body', text: assignmentText(m) }), time));
  }
  if (isEvent(m)) {
    const body = eventBody(m);
    return h('li', { class: 'msg event', dataset: { seq: m.seq, kind: m.kind || 'event' } },
      h('div', { class: 'note' },
        h('strong', { text: eventTitle(m.kind) }),
        body ? h('span', { class: 'body', text: body }) : null,
        payloadSummary(m.payload),
        time,
        botNote));
  }
  const own = m.sender_type === 'agent' && m.sender_name === me;
  const name = m.sender_type === 'agent' && own ? t('sender.you') : (m.sender_name || senderLabel(m.sender_type) || m.sender_type);
  const suggestion = m.sender_type === 'customer' && m.suggestion ? suggestionNode(m, onUseSuggestion) : null;
  return h('li', { class: `msg ${m.sender_type}${own ? ' own' : ''}`, dataset: { seq: m.seq } },
    h('div', { class: 'bubble' },
      h('div', { class: 'meta' },
        h('span', { class: 'who', text: name }),
        m.sender_type === 'bot' ? h('span', { class: 'tag', text: t('tag.bot') }) : null,
        time),
      h('p', { class: 'body', text: m.body || '' }),
      botNote),
    suggestion,
    labelControl ? labelControl(m) : null);
}

// labelNode is the intent control of a customer message or an agent
// reply: a list of intents with the bot's pre-selected (or the label the
// message has) and one button that sends it. For a customer message it
// corrects the bot; for a reply it says what the customer asked for.
// label is the message's label or undefined; botIntent the bot's intent
// on the customer message; onLabel(intent) sends it and resolves to the
// stored label.
export function labelNode(m, { intents, label, botIntent, onLabel }) {
  const customer = m.sender_type === 'customer';
  const current = label ? label.intent : botIntent || '';
  if (current && !intents.includes(current)) intents = [current, ...intents]; // a label of an older model
  const select = h('select', { class: 'label-intent', 'aria-label': customer ? t('label.intentOfMessage') : t('label.intentOfReply') },
    current ? null : h('option', { value: '', text: t('label.choose') }),
    intents.map((i) => h('option', { value: i, text: i, selected: i === current })));
  const status = h('span', { class: 'label-state', role: 'status' });
  const showLabel = (l) => {
    if (!l) {
      status.textContent = '';
      return;
    }
    const said = l.labelled_by ? t('label.labelledBy', { intent: l.intent, name: l.labelled_by }) : t('label.labelled', { intent: l.intent });
    status.textContent = l.corrects_bot ? t('label.correctsBot', { label: said }) : said;
  };
  showLabel(label);
  const button = h('button', { type: 'button', class: 'link label-send' }, customer ? t('label.correct') : t('label.send'));
  button.addEventListener('click', async () => {
    if (!select.value) return;
    button.disabled = true;
    status.textContent = t('label.saving');
    try {
      showLabel(await onLabel(select.value));
    } catch (e) {
      status.textContent = t('label.notSaved', { error: e.message });
    } finally {
      button.disabled = false;
    }
  });
  return h('div', { class: 'label-ctl', dataset: { messageId: m.id } },
    h('span', { class: 'who', text: customer ? (botIntent ? t('label.botSaid') : t('label.intent')) : t('label.answers') }), select, button, status);
}

// retrainNode shows an admin the last retrain's figures.
export function retrainNode(r) {
  if (!r) return h('p', { class: 'muted', text: t('retrain.none') });
  const row = (k, v) => [h('dt', { text: k }), h('dd', { text: v })];
  return h('dl', { class: 'retrain' },
    row(t('retrain.when'), r.finished_at ? formatDateTime(new Date(r.finished_at)) : ''),
    row(t('retrain.outcome'), r.installed ? t('retrain.installed') : t('retrain.kept')),
    row(t('retrain.accuracy'), t('retrain.accuracyValue', {
      old: formatPercent(r.old_accuracy || 0), new: formatPercent(r.new_accuracy || 0), count: formatNumber(r.heldout_size || 0),
    })),
    row(t('retrain.trainedOn'), t('retrain.trainedOnValue', { examples: formatNumber(r.train_size || 0), labelled: formatNumber(r.labelled_size || 0) })),
    row(t('retrain.why'), r.reason || ''),
    row(t('retrain.ranBy'), `${r.ran_by || ''}: ${r.command || ''}`),
    row(t('retrain.model'), r.model_path || ''));
}

function suggestionNode(m, onUse) {
  const conf = m.confidence ? ` · ${formatPercent(m.confidence, 0)}` : '';
  return h('aside', { class: 'suggestion', 'aria-label': t('suggestion.label') },
    h('div', { class: 'meta' }, h('span', { class: 'who', text: t('suggestion.label') }),
      m.intent ? h('span', { class: 'tag', text: m.intent + conf }) : null),
    h('p', { class: 'body', text: m.suggestion }),
    h('button', { type: 'button', class: 'link', onclick: () => onUse(m.suggestion) }, t('suggestion.use')));
}

function payloadSummary(p) {
  if (!p || typeof p !== 'object') return null;
  const parts = Object.entries(p)
    .filter(([, v]) => v == null || typeof v !== 'object')
    .slice(0, 6)
    .map(([k, v]) => `${k}: ${v}`);
  return parts.length ? h('span', { class: 'payload', text: parts.join(' · ') }) : null;
}

export function pendingNode(item, { onRetry, onDiscard }) {
  let status = t('pending.sending');
  if (item.state === 'retrying') status = t('pending.retrying', { error: item.error });
  if (item.state === 'failed') status = t('pending.failed', { error: item.error });
  return h('li', { class: `msg agent own pending ${item.state}`, dataset: { clientId: item.clientId } },
    h('div', { class: 'bubble' },
      h('div', { class: 'meta' }, h('span', { class: 'who', text: t('sender.you') })),
      h('p', { class: 'body', text: item.body })),
    h('p', { class: 'send-state', role: item.state === 'failed' ? 'alert' : null },
      h('span', { text: status }),
      item.state === 'failed' ? h('button', { type: 'button', class: 'link', onclick: () => onRetry(item.clientId) }, t('pending.retry')) : null,
      item.state === 'failed' ? h('button', { type: 'button', class: 'link', onclick: () => onDiscard(item.clientId) }, t('pending.discard')) : null));
}
