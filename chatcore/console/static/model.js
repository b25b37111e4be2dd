// model.js: the console's state, with no DOM and no network, so that its
// rules (merge by seq, gap detection, which tab a conversation belongs to)
// can be read and tested on their own.

// Timeline holds the loaded messages of one conversation by seq. seq
// numbers a conversation's messages 1, 2, 3 … with no gaps, so a message is
// shown at most once however often it arrives.
export class Timeline {
  constructor(key) {
    this.key = key;
    this.bySeq = new Map();
    this.minSeq = 0;
    this.maxSeq = 0;
    this.loaded = false; // the first page has arrived
  }

  // merge adds messages of this conversation, replacing any with the same
  // seq, and returns those that were not there before, ascending.
  merge(list) {
    const added = [];
    for (const m of list) {
      if (!m || m.conversation_key !== this.key || !(m.seq > 0)) continue;
      if (!this.bySeq.has(m.seq)) added.push(m);
      this.bySeq.set(m.seq, m);
      if (!this.minSeq || m.seq < this.minSeq) this.minSeq = m.seq;
      if (m.seq > this.maxSeq) this.maxSeq = m.seq;
    }
    return added.sort((a, b) => a.seq - b.seq);
  }

  has(seq) {
    return this.bySeq.has(seq);
  }

  get size() {
    return this.bySeq.size;
  }

  // highWater is the highest seq up to which nothing is missing (from the
  // oldest loaded message on). Catch-up asks for messages after it.
  get highWater() {
    if (!this.minSeq) return 0;
    let s = this.minSeq;
    while (this.bySeq.has(s + 1)) s++;
    return s;
  }

  // hasGap reports whether something is missing: a hole inside what is
  // loaded, or a known lastSeq (from a Conversation) above it.
  hasGap(lastSeq = 0) {
    const hw = this.highWater;
    return hw < this.maxSeq || lastSeq > hw;
  }

  // hasOlder reports whether messages before the loaded ones exist.
  get hasOlder() {
    return this.minSeq > 1;
  }
}

// inTab says whether a conversation belongs in a tab of the list, as the
// server lists them: Mine and Unassigned hold open conversations only.
export function inTab(c, tab, me) {
  switch (tab) {
    case 'mine':
      return c.assignee === me && c.state !== 'resolved';
    case 'unassigned':
      return !c.assignee && c.state !== 'resolved';
    default:
      return true;
  }
}

// sortConversations orders the list most recent first.
export function sortConversations(list) {
  const t = (c) => (c.last_message_at ? Date.parse(c.last_message_at) : 0) || 0;
  return list.sort((a, b) => t(b) - t(a) || (a.conversation_key < b.conversation_key ? -1 : 1));
}

// notifies says whether a message should ring and count in the title: a
// customer wrote something.
export function notifies(m) {
  return m.sender_type === 'customer';
}

// applyMessage updates a list entry for a new message of its conversation
// (the server's next Conversation event supersedes these guesses). It
// returns false when the message is not newer than what the entry knows.
export function applyMessage(c, m, { open = false } = {}) {
  if (m.seq <= (c.last_seq || 0)) return false;
  c.last_seq = m.seq;
  c.last_message = m;
  // Messages arrive in commit order; one whose transaction committed late
  // was written earlier, and the list's time never goes back.
  if (m.created_at && !(Date.parse(c.last_message_at) > Date.parse(m.created_at))) c.last_message_at = m.created_at;
  // A bot reply leaves the customer waiting unless its answer resolves;
  // only the server knows, so its Conversation event says.
  if (m.sender_type === 'customer') {
    if (!c.waiting_since) c.waiting_since = m.created_at;
    c.answered_by = null;
  } else if (m.sender_type === 'agent' && m.kind !== 'note') { // a private note answers nobody
    c.waiting_since = null;
    c.answered_by = 'agent';
    c.wants_agent = false;
  } else if (m.sender_type === 'bot') {
    c.answered_by = 'bot';
  }
  if (open) {
    c.unread = 0;
  } else if (m.sender_type === 'customer' || m.sender_type === 'system') {
    c.unread = (c.unread || 0) + 1;
  }
  return true;
}

// mergeReadMarker keeps the highest read_seq known for a conversation: a
// pushed Conversation may carry an older marker (or none) than the one
// this console has already sent. It recomputes unread from it.
export function mergeReadMarker(c, prev) {
  const read = Math.max(c.read_seq || 0, (prev && prev.read_seq) || 0);
  c.read_seq = read;
  if (c.last_seq != null) c.unread = Math.max(0, c.last_seq - read);
  return c;
}
