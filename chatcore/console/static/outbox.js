// outbox.js: replies on their way to the server. A reply is shown at once
// as pending, sent with a client_id, retried with backoff on failure with
// the same client_id (the server stores it once), and marked failed after
// a few tries so that the agent can retry or discard it.

import { backoffDelay } from './ws.js';

export function newClientId() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export class Outbox {
  // send(item) resolves to the stored Message or rejects with an ApiError;
  // onChange(item) is called whenever an item's state changes, including
  // when it is done (item.state === 'sent') or discarded.
  constructor({ send, onChange, onSent, maxTries = 5, baseDelay = 1000 }) {
    this.send = send;
    this.onChange = onChange;
    this.onSent = onSent;
    this.maxTries = maxTries;
    this.baseDelay = baseDelay;
    this.items = new Map(); // clientId → item, in insertion order
  }

  add(key, body, me) {
    const item = { clientId: newClientId(), key, body, me, state: 'sending', tries: 0, error: '', timer: 0 };
    this.items.set(item.clientId, item);
    this.attempt(item);
    return item;
  }

  // pending lists the unfinished replies of a conversation, oldest first.
  pending(key) {
    return [...this.items.values()].filter((i) => i.key === key);
  }

  retry(clientId) {
    const item = this.items.get(clientId);
    if (!item || item.state !== 'failed') return;
    item.tries = 0;
    this.attempt(item);
  }

  discard(clientId) {
    const item = this.items.get(clientId);
    if (!item) return;
    clearTimeout(item.timer);
    this.finish(item, 'discarded');
  }

  // echo is told about every message that arrives over the WebSocket. The
  // agent's own reply may arrive before the POST answers; it then replaces
  // the pending copy at once. Returns the item it matched, if any.
  echo(m) {
    if (m.sender_type !== 'agent') return null;
    for (const item of this.items.values()) {
      if (item.key !== m.conversation_key) continue;
      const same = m.client_id ? m.client_id === item.clientId
        : m.sender_name === item.me && m.body.trim() === item.body.trim();
      if (same) {
        clearTimeout(item.timer);
        this.finish(item, 'sent', m);
        return item;
      }
    }
    return null;
  }

  async attempt(item) {
    item.state = 'sending';
    item.tries++;
    item.error = '';
    this.onChange(item);
    let msg;
    try {
      msg = await this.send(item);
    } catch (err) {
      if (!this.items.has(item.clientId)) return; // settled meanwhile
      item.error = err.message || String(err);
      if (err.retryable === false || item.tries >= this.maxTries) {
        item.state = 'failed';
        this.onChange(item);
        return;
      }
      item.state = 'retrying';
      const delay = backoffDelay(item.tries - 1, { base: this.baseDelay, max: 10000 });
      item.retryAt = Date.now() + delay;
      item.timer = setTimeout(() => this.attempt(item), delay);
      this.onChange(item);
      return;
    }
    if (this.items.has(item.clientId)) this.finish(item, 'sent', msg);
    else if (msg) this.onSent?.(msg); // its echo came first; merging again is harmless
  }

  finish(item, state, msg) {
    this.items.delete(item.clientId);
    item.state = state;
    if (msg && state === 'sent') this.onSent?.(msg);
    this.onChange(item);
  }
}
