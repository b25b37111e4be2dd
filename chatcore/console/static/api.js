// api.js: the HTTP half of docs/protocol.md. Each call resolves to the
// answer's payload and rejects with an ApiError on a 4xx/5xx answer or a
// network failure (status 0).

import { t } from './i18n.js';

export class ApiError extends Error {
  // data is the answer's JSON, when it had one: a 409 names who holds a
  // conversation in data.assignee.
  constructor(status, message, data = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.data = data;
  }

  // Worth trying again later: no answer at all, a timeout, a rate limit or
  // a server error. Anything else will fail the same way again.
  get retryable() {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

let unauthorized = () => {};

// onUnauthorized sets what to do when the session is gone (any 401 except
// a failed login).
export function onUnauthorized(fn) {
  unauthorized = fn;
}

async function request(method, path, body) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, t('error.unreachable'));
  }
  let data = null;
  const text = res.status === 204 ? '' : await res.text().catch(() => '');
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    if (res.status === 401 && path !== '/api/login') unauthorized();
    const msg = data && typeof data.error === 'string' ? data.error : `${res.status} ${res.statusText}`.trim();
    throw new ApiError(res.status, msg, data);
  }
  return data;
}

const conv = (key) => '/api/conversations/' + encodeURIComponent(key);

export function login(username, password) {
  return request('POST', '/api/login', { username, password });
}

export function logout() {
  return request('POST', '/api/logout');
}

export function me() {
  return request('GET', '/api/me');
}

export async function conversations(tab) {
  const d = await request('GET', '/api/conversations?tab=' + encodeURIComponent(tab));
  return (d && d.conversations) || [];
}

// search finds conversations by key, customer name and message text.
export async function search(q) {
  const d = await request('GET', '/api/conversations?q=' + encodeURIComponent(q));
  return (d && d.conversations) || [];
}

// messages fetches one page: the latest, the one before beforeSeq, or what
// came after afterSeq. Pages are ascending by seq.
export async function messages(key, { beforeSeq, afterSeq, limit } = {}) {
  const q = new URLSearchParams();
  if (beforeSeq != null) q.set('before_seq', String(beforeSeq));
  if (afterSeq != null) q.set('after_seq', String(afterSeq));
  if (limit != null) q.set('limit', String(limit));
  const qs = q.toString();
  const d = await request('GET', conv(key) + '/messages' + (qs ? '?' + qs : ''));
  return (d && d.messages) || [];
}

// reply sends an agent's reply. Sending the same clientId again is safe:
// the server answers with the message it stored the first time. The
// answer is { message, took, conversation }: took when the reply made an
// unassigned conversation the agent's, with the conversation as it is now.
export async function reply(key, body, clientId, takeOver = false) {
  const d = await request('POST', conv(key) + '/replies', { body, client_id: clientId, take_over: takeOver });
  return d || {};
}
export function markRead(key, seq) {
  return request('POST', conv(key) + '/read', { seq });
}

// assign gives the conversation to assignee (null releases it). One that
// another agent holds is refused with 409 (data.assignee) unless takeOver.
export async function assign(key, assignee, takeOver = false) {
  const d = await request('POST', conv(key) + '/assign', { assignee, take_over: takeOver });
  return d && d.conversation;
}

// agents lists the active agents: { username, admin, online }.
export async function agents() {
  const d = await request('GET', '/api/agents');
  return (d && d.agents) || [];
}

// The admins' agent management (admins only): every agent, disabled too.
export async function adminAgents() {
  const d = await request('GET', '/api/admin/agents');
  return (d && d.agents) || [];
}

export function addAgent(username, password, admin) {
  return request('POST', '/api/admin/agents', { username, password, admin });
}

const adminAgent = (name) => '/api/admin/agents/' + encodeURIComponent(name);

export function setAgentDisabled(name, disabled) {
  return request('POST', adminAgent(name) + (disabled ? '/disable' : '/enable'));
}

export function resetPassword(name, password) {
  return request('POST', adminAgent(name) + '/password', { password });
}

export function setAgentAdmin(name, admin) {
  return request('POST', adminAgent(name) + '/role', { admin });
}
export async function resolve(key) {
  const d = await request('POST', conv(key) + '/resolve');
  return d && d.conversation;
}

export async function reopen(key) {
  const d = await request('POST', conv(key) + '/reopen');
  return d && d.conversation;
}

// intents lists what a message may be labelled with (the bot's model's
// intents); empty while the bot is off.
export async function intents() {
  const d = await request('GET', '/api/intents');
  return (d && d.intents) || [];
}

export async function labels(key) {
  const d = await request('GET', conv(key) + '/labels');
  return (d && d.labels) || [];
}

// label gives a customer message or an agent reply an intent.
export async function label(key, messageId, intent) {
  const d = await request('POST', conv(key) + '/messages/' + encodeURIComponent(String(messageId)) + '/label', { intent });
  return d && d.label;
}

// lastRetrain is the last `syncd bot retrain`'s figures (admins only), or
// null before the first.
export async function lastRetrain() {
  const d = await request('GET', '/api/bot/retrain');
  return (d && d.retrain) || null;
}

// setAway pauses (true) or resumes auto-assignment for the agent.
export function setAway(away) {
  return request('POST', '/api/me/away', { away });
}

// slaRules and saveSLARules read and write the response-time rules
// (admins only), in seconds.
export function slaRules() {
  return request('GET', '/api/admin/sla');
}

export function saveSLARules(rules) {
  return request('PUT', '/api/admin/sla', rules);
}

// note writes a private note (agents only ever see it). Sending the same
// clientId again is safe, as for reply.
export async function note(key, body, clientId) {
  const d = await request('POST', conv(key) + '/notes', { body, client_id: clientId });
  return d && d.message;
}

// cannedReplies lists the shared library of canned replies.
export async function cannedReplies() {
  const d = await request('GET', '/api/canned');
  return (d && d.canned) || [];
}

// renderCanned is a canned reply filled for a conversation, in lang (or
// its fallback): { text, lang, missing }.
export function renderCanned(key, id, lang) {
  return request('GET', conv(key) + '/canned/' + encodeURIComponent(String(id)) + '?lang=' + encodeURIComponent(lang));
}

// saveCanned creates (no id) or replaces a canned reply (admins only).
export async function saveCanned({ id, shortcut, title, texts }) {
  const path = id ? '/api/canned/' + encodeURIComponent(String(id)) : '/api/canned';
  const d = await request(id ? 'PUT' : 'POST', path, { shortcut, title, texts });
  return d && d.canned;
}

export function deleteCanned(id) {
  return request('DELETE', '/api/canned/' + encodeURIComponent(String(id)));
}

// opsStatus and opsRequeue are the admins' relay operations (syncd status,
// syncd requeue).
export function opsStatus() {
  return request('GET', '/api/admin/ops');
}

export function opsRequeue(filter) {
  return request('POST', '/api/admin/ops/requeue', filter);
}
