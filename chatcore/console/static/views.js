// views.js: builds DOM nodes from data. Text from the server is only ever
// set as text (textContent or text nodes), never parsed as HTML.

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

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dateTimeFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

function parse(iso) {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(t) ? null : new Date(t);
}

// shortTime is the time of day for today, else date and time.
export function shortTime(iso, now = new Date()) {
  const d = parse(iso);
  if (!d) return '';
  return d.toDateString() === now.toDateString() ? timeFmt.format(d) : dateTimeFmt.format(d);
}

// duration says how long ms is, coarsely: "now", "4 min", "2 h 5 min", "3 d".
export function duration(ms) {
  const min = Math.floor(ms / 60000);
  if (min < 1) return '< 1 min';
  if (min < 60) return `${min} min`;
  const hr = Math.floor(min / 60);
  if (hr < 24) return min % 60 ? `${hr} h ${min % 60} min` : `${hr} h`;
  return `${Math.floor(hr / 24)} d`;
}

const senderLabel = { customer: 'Customer', agent: 'Agent', bot: 'Bot', system: 'System' };

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
  return sameWords(m.body, eventTitle(m.kind)) ? '' : m.body || '';
}

// preview is one line describing a message for the conversation list.
export function preview(m, me) {
  if (!m) return '';
  let who = isEvent(m) ? eventTitle(m.kind) : (m.sender_name || senderLabel[m.sender_type] || '');
  if (m.sender_type === 'agent' && m.sender_name && m.sender_name === me) who = 'You';
  const body = (isEvent(m) ? eventBody(m) : m.body || '').replace(/\s+/g, ' ').trim();
  if (!body) return who;
  return who ? `${who}: ${body}` : body;
}

export function conversationItem(c, { selected, me, now, onSelect }) {
  const unread = c.unread > 0 ? c.unread : 0;
  // A customer waits whenever waiting_since is set, even if this browser's
  // clock is behind the server's (the wait then starts at zero).
  const since = c.state !== 'resolved' ? parse(c.waiting_since) : null;
  const waitMs = since ? Math.max(0, now - since.getTime()) : -1;
  const owner = c.assignee ? (c.assignee === me ? 'You' : c.assignee) : 'Unassigned';
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
      unread ? h('span', { class: 'badge', 'aria-label': `${unread} unread`, text: unread > 99 ? '99+' : String(unread) }) : null,
      h('span', { class: 'conv-time', text: shortTime(c.last_message_at) })),
    h('span', { class: 'conv-last', text: preview(c.last_message, me) || 'No messages yet' }),
    h('span', { class: 'conv-meta' },
      waitMs >= 0
        ? h('span', { class: 'waiting' + (waitMs > 5 * 60000 ? ' late' : ''), text: `Waiting ${duration(waitMs)}` })
        : h('span', { class: 'state', text: c.state === 'resolved' ? 'Resolved' : c.answered_by === 'bot' ? 'Answered by the bot' : c.answered_by === 'agent' ? 'Answered by an agent' : 'Answered' }),
      c.wants_agent ? h('span', { class: 'waiting late', text: 'Asks for a person' }) : null,
      waitMs >= 0 && c.answered_by === 'bot' ? h('span', { class: 'state', text: 'Bot replied' }) : null,
      h('span', { class: 'owner', text: owner }))));
}

export function messageNode(m, { me, onUseSuggestion, labelControl }) {
  const time = h('time', { datetime: m.created_at || null, title: m.created_at ? dateTimeFmt.format(new Date(m.created_at)) : null, text: shortTime(m.created_at) });
  // Why the bot did not answer (a template whose field is missing): the
  // agent knows the customer waits for a person.
  const botNote = m.note ? h('span', { class: 'bot-note', text: m.note }) : null;
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
  const name = m.sender_type === 'agent' && own ? 'You' : (m.sender_name || senderLabel[m.sender_type] || m.sender_type);
  const suggestion = m.sender_type === 'customer' && m.suggestion ? suggestionNode(m, onUseSuggestion) : null;
  return h('li', { class: `msg ${m.sender_type}${own ? ' own' : ''}`, dataset: { seq: m.seq } },
    h('div', { class: 'bubble' },
      h('div', { class: 'meta' },
        h('span', { class: 'who', text: name }),
        m.sender_type === 'bot' ? h('span', { class: 'tag', text: 'bot' }) : null,
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
  const select = h('select', { class: 'label-intent', 'aria-label': customer ? 'Intent of this message' : 'Intent this reply answers' },
    current ? null : h('option', { value: '', text: 'Choose an intent' }),
    intents.map((i) => h('option', { value: i, text: i, selected: i === current })));
  const status = h('span', { class: 'label-state', role: 'status' });
  const showLabel = (l) => {
    status.textContent = l ? `Labelled ${l.intent}${l.labelled_by ? ' by ' + l.labelled_by : ''}${l.corrects_bot ? ' (corrects the bot)' : ''}` : '';
  };
  showLabel(label);
  const button = h('button', { type: 'button', class: 'link label-send' }, customer ? 'Correct intent' : 'Label');
  button.addEventListener('click', async () => {
    if (!select.value) return;
    button.disabled = true;
    status.textContent = 'Saving…';
    try {
      showLabel(await onLabel(select.value));
    } catch (e) {
      status.textContent = `Not saved: ${e.message}`;
    } finally {
      button.disabled = false;
    }
  });
  return h('div', { class: 'label-ctl', dataset: { messageId: m.id } },
    h('span', { class: 'who', text: customer ? (botIntent ? 'Bot said' : 'Intent') : 'Answers' }), select, button, status);
}

// retrainNode shows an admin the last retrain's figures.
export function retrainNode(r) {
  if (!r) return h('p', { class: 'muted', text: 'No retrain yet: run `syncd bot retrain`.' });
  const pct = (x) => `${(100 * x).toFixed(1)} %`;
  const row = (k, v) => [h('dt', { text: k }), h('dd', { text: v })];
  return h('dl', { class: 'retrain' },
    row('When', r.finished_at ? dateTimeFmt.format(new Date(r.finished_at)) : ''),
    row('Outcome', r.installed ? 'New model installed' : 'Kept the current model'),
    row('Held-out accuracy', `current ${pct(r.old_accuracy)} → new ${pct(r.new_accuracy)} on ${r.heldout_size} messages`),
    row('Trained on', `${r.train_size} examples, ${r.labelled_size} labelled by agents`),
    row('Why', r.reason || ''),
    row('Run by', `${r.ran_by || ''}: ${r.command || ''}`),
    row('Model file', r.model_path || ''));
}

function suggestionNode(m, onUse) {
  const conf = m.confidence ? ` · ${Math.round(m.confidence * 100)} %` : '';
  return h('aside', { class: 'suggestion', 'aria-label': 'Suggested reply' },
    h('div', { class: 'meta' }, h('span', { class: 'who', text: 'Suggested reply' }),
      m.intent ? h('span', { class: 'tag', text: m.intent + conf }) : null),
    h('p', { class: 'body', text: m.suggestion }),
    h('button', { type: 'button', class: 'link', onclick: () => onUse(m.suggestion) }, 'Use in reply'));
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
  let status = 'Sending…';
  if (item.state === 'retrying') status = `Not sent yet, retrying (${item.error})`;
  if (item.state === 'failed') status = `Failed: ${item.error}`;
  return h('li', { class: `msg agent own pending ${item.state}`, dataset: { clientId: item.clientId } },
    h('div', { class: 'bubble' },
      h('div', { class: 'meta' }, h('span', { class: 'who', text: 'You' })),
      h('p', { class: 'body', text: item.body })),
    h('p', { class: 'send-state', role: item.state === 'failed' ? 'alert' : null },
      h('span', { text: status }),
      item.state === 'failed' ? h('button', { type: 'button', class: 'link', onclick: () => onRetry(item.clientId) }, 'Retry') : null,
      item.state === 'failed' ? h('button', { type: 'button', class: 'link', onclick: () => onDiscard(item.clientId) }, 'Discard') : null));
}
