// ws.js: the live half of docs/protocol.md. LiveSocket keeps one WebSocket
// to /ws open, pings it, and reconnects with exponential backoff.

// backoffDelay is the wait before reconnect attempt n (0-based): base·2ⁿ
// capped at max, with ±20 % jitter so that many consoles do not come back
// at the same instant.
export function backoffDelay(n, { base = 500, max = 15000, random = Math.random } = {}) {
  const d = Math.min(max, base * 2 ** Math.min(n, 30));
  return Math.round(d * (0.8 + 0.4 * random()));
}

const PING_EVERY = 20000; // ms between pings
const STALE_AFTER = 50000; // ms without any frame before the socket counts as dead

export class LiveSocket {
  // handlers: onHello(msg), onEvent(msg), onDown({delay, attempt, code}),
  // onConnecting(), onUnauthorized().
  constructor(handlers, url = defaultURL()) {
    this.h = handlers;
    this.url = url;
    this.ws = null;
    this.attempt = 0;
    this.timer = 0;
    this.pinger = 0;
    this.lastFrame = 0;
    this.stopped = true;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.drop(1000);
  }

  // send writes a frame (watch, typing) when the socket is open; frames
  // are hints, and one lost while reconnecting is not missed.
  send(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  // retryNow skips the rest of the current backoff wait.
  retryNow() {
    if (this.stopped || this.ws) return;
    clearTimeout(this.timer);
    this.connect();
  }

  connect() {
    this.h.onConnecting?.();
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.scheduleReconnect(0);
      return;
    }
    this.ws = ws;
    this.lastFrame = Date.now();
    ws.onmessage = (ev) => this.receive(ev.data);
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearInterval(this.pinger);
      this.afterClose(ev.code);
    };
    clearInterval(this.pinger);
    this.pinger = setInterval(() => this.ping(), PING_EVERY);
  }

  receive(data) {
    this.lastFrame = Date.now();
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    if (!msg || typeof msg.type !== 'string') return;
    if (msg.type === 'hello') {
      this.attempt = 0;
      this.h.onHello?.(msg);
    } else if (msg.type !== 'pong') {
      this.h.onEvent?.(msg);
    }
  }

  ping() {
    const ws = this.ws;
    if (!ws) return;
    if (Date.now() - this.lastFrame > STALE_AFTER) {
      // The connection died without a close frame: give up on it now
      // rather than waiting for TCP to notice.
      this.drop(4000);
      this.afterClose(1006);
      return;
    }
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'ping' }));
  }

  drop(code) {
    const ws = this.ws;
    this.ws = null;
    clearInterval(this.pinger);
    if (!ws) return;
    ws.onmessage = ws.onclose = null;
    try {
      ws.close(code);
    } catch {
      /* already closing */
    }
  }

  afterClose(code) {
    if (this.stopped) return;
    if (code === 4001) {
      this.stopped = true;
      this.h.onUnauthorized?.();
      return;
    }
    this.scheduleReconnect(code);
  }

  scheduleReconnect(code) {
    const delay = backoffDelay(this.attempt);
    this.attempt++;
    this.h.onDown?.({ delay, attempt: this.attempt, code });
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (!this.stopped) this.connect();
    }, delay);
  }
}

function defaultURL() {
  return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
}
