package e2e

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/syncd-dev/syncd/chatcore/console"
)

// TestConsoleModules runs the console's own modules in Chromium and checks
// their rules (merge by seq, gaps, tabs, retries with one client_id,
// text-only rendering). It needs no syncd: the page is served by
// console.Handler and every /api/ call answers 401.
func TestConsoleModules(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.Handle("/", console.Handler(func(r *http.Request) string { return "ws://" + r.Host }))
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"error":"not authenticated"}`))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	b := newBrowser(t)
	b.do(20*time.Second, "load the console", chromedp.Navigate(srv.URL), chromedp.WaitVisible(chromedp.CSS(`#login-form`)))

	fails := eval[[]string](b, moduleChecks)
	for _, f := range fails {
		t.Error(f)
	}
	b.checkPage()
}

// moduleChecks resolves to a list of failures.
var moduleChecks = strings.TrimSpace(`
(async () => {
  const fails = [];
  const eq = (name, got, want) => {
    const g = JSON.stringify(got), w = JSON.stringify(want);
    if (g !== w) fails.push(name + ': got ' + g + ', want ' + w);
  };
  const load = (f) => import(new URL(f, location.href).href);
  const { Timeline, inTab, applyMessage, sortConversations, mergeReadMarker } = await load('model.js');
  const { backoffDelay } = await load('ws.js');
  const { Outbox } = await load('outbox.js');
  const { messageNode, conversationItem, duration, preview, shortTime } = await load('views.js');
  const i18n = await load('i18n.js');
  const m = (seq, extra = {}) => ({ conversation_key: 'k', seq, sender_type: 'customer', kind: 'message', body: 'b' + seq, ...extra });
  const until = (cond) => new Promise((resolve, reject) => {
    const t0 = Date.now();
    const i = setInterval(() => {
      if (cond()) { clearInterval(i); resolve(); }
      else if (Date.now() - t0 > 5000) { clearInterval(i); reject(new Error('timeout')); }
    }, 5);
  });

  // Timeline: merge by seq, holes and gaps.
  const t = new Timeline('k');
  eq('merge new', t.merge([m(4), m(3)]).map((x) => x.seq), [3, 4]);
  eq('merge again', t.merge([m(4), m(3)]).length, 0);
  eq('other conversation', t.merge([{ ...m(5), conversation_key: 'x' }]).length, 0);
  eq('no gap', t.hasGap(), false);
  eq('gap behind last_seq', t.hasGap(6), true);
  t.merge([m(6)]);
  eq('hole', [t.highWater, t.maxSeq, t.hasGap()], [4, 6, true]);
  t.merge([m(5)]);
  eq('hole filled', [t.highWater, t.hasGap(), t.hasOlder, t.size], [6, false, true, 4]);
  t.merge([m(1), m(2)]);
  eq('start reached', t.hasOlder, false);

  // Tabs.
  const c = (assignee, state = 'open') => ({ conversation_key: 'k', assignee, state });
  eq('mine', [inTab(c('alice'), 'mine', 'alice'), inTab(c('bob'), 'mine', 'alice'), inTab(c(null), 'mine', 'alice'), inTab(c('alice', 'resolved'), 'mine', 'alice')],
    [true, false, false, false]);
  eq('unassigned', [inTab(c(null), 'unassigned', 'alice'), inTab(c('bob'), 'unassigned', 'alice'), inTab(c(null, 'resolved'), 'unassigned', 'alice')], [true, false, false]);
  eq('all', inTab(c('bob', 'resolved'), 'all', 'alice'), true);
  eq('sorted', sortConversations([
    { conversation_key: 'a', last_message_at: '2026-01-01T00:00:00Z' },
    { conversation_key: 'b', last_message_at: '2026-01-02T00:00:00Z' },
    { conversation_key: 'c', last_message_at: null },
  ]).map((x) => x.conversation_key), ['b', 'a', 'c']);

  // List entries follow new messages.
  const conv = { conversation_key: 'k', last_seq: 2, unread: 0, waiting_since: null };
  eq('newer applies', applyMessage(conv, m(3, { created_at: '2026-01-01T00:00:00Z' })), true);
  eq('entry', [conv.last_seq, conv.unread, conv.waiting_since, conv.last_message.body], [3, 1, '2026-01-01T00:00:00Z', 'b3']);
  eq('older ignored', applyMessage(conv, m(2)), false);
  applyMessage(conv, m(4, { sender_type: 'agent' }));
  eq('answered', [conv.unread, conv.waiting_since], [1, null]);
  applyMessage(conv, m(5), { open: true });
  eq('open means read', conv.unread, 0);
  // A message whose transaction committed late was written earlier: the
  // entry's time stays at the newest one.
  const late = { conversation_key: 'k', last_seq: 1, last_message_at: '2026-01-01T10:00:00Z', waiting_since: null };
  applyMessage(late, m(2, { created_at: '2026-01-01T09:00:00Z' }));
  eq('late commit keeps the time', [late.last_seq, late.last_message_at, late.waiting_since], [2, '2026-01-01T10:00:00Z', '2026-01-01T09:00:00Z']);
  // A customer waits whenever waiting_since is set, even one this
  // browser's clock puts in the future; never "Answered".
  const item = (waiting_since, state = 'open') => conversationItem({ conversation_key: 'k', state, waiting_since, last_seq: 1 },
    { me: 'alice', now: Date.parse('2026-01-01T10:00:00Z'), onSelect() {} }).querySelector('.conv-meta span').textContent;
  eq('waiting', [item('2026-01-01T09:50:00Z'), item('2026-01-01T10:00:30Z'), item(null), item('2026-01-01T09:50:00Z', 'resolved')],
    ['Waiting 10 min', 'Waiting < 1 min', 'Answered', 'Resolved']);
  const pushed = mergeReadMarker({ last_seq: 9, read_seq: 0, unread: 9 }, { read_seq: 7 });
  eq('read marker kept', [pushed.read_seq, pushed.unread], [7, 2]);
  eq('preview', preview(m(1, { sender_name: 'Ann', body: 'a\n b' })), 'Ann: a b');
  eq('preview own', preview(m(1, { sender_type: 'agent', sender_name: 'alice', body: 'ok' }), 'alice'), 'You: ok');
  eq('preview event', preview(m(1, { sender_type: 'system', kind: 'order_created', body: 'Order 7' })), 'Order created: Order 7');
  eq('preview event, body repeats the title', preview(m(1, { sender_type: 'system', kind: 'order_created', body: 'order created' })), 'Order created');

  // Reconnect backoff: doubling, capped, with ±20 % jitter.
  eq('backoff', [0, 1, 2, 3, 20, 100].map((n) => backoffDelay(n, { random: () => 0.5 })), [500, 1000, 2000, 4000, 15000, 15000]);
  eq('jitter', [backoffDelay(2, { random: () => 0 }), backoffDelay(2, { random: () => 1 })], [1600, 2400]);

  // Outbox: retries reuse the client_id; failure after maxTries; 4xx fails at once.
  const retryable = () => Object.assign(new Error('down'), { retryable: true });
  let calls = [], failures = 2;
  const sent = [];
  const box = new Outbox({
    baseDelay: 5, maxTries: 3,
    send: async (item) => {
      calls.push(item.clientId);
      if (failures-- > 0) throw retryable();
      return m(9, { sender_type: 'agent', sender_name: 'alice', body: item.body });
    },
    onChange: () => {},
    onSent: (msg) => sent.push(msg.seq),
  });
  const ok = box.add('k', 'hi', 'alice');
  eq('pending at once', box.pending('k').map((i) => i.body), ['hi']);
  await until(() => ok.state === 'sent');
  eq('one client_id', [calls.length, new Set(calls).size, /^[0-9a-f]{32}$/.test(calls[0])], [3, 1, true]);
  eq('acknowledged', [box.pending('k').length, sent], [0, [9]]);

  calls = []; failures = 100;
  const bad = box.add('k', 'never', 'alice');
  await until(() => bad.state === 'failed');
  eq('failed after tries', [calls.length, box.pending('k').length], [3, 1]);
  failures = 0;
  box.retry(bad.clientId);
  await until(() => bad.state === 'sent');
  eq('manual retry, same id', [calls.length, new Set(calls).size], [4, 1]);

  const rejecting = new Outbox({
    baseDelay: 5,
    send: async () => { throw Object.assign(new Error('forbidden'), { retryable: false }); },
    onChange: () => {},
  });
  const denied = rejecting.add('k', 'x', 'alice');
  await until(() => denied.state === 'failed');
  eq('4xx not retried', denied.tries, 1);
  rejecting.discard(denied.clientId);
  eq('discarded', rejecting.pending('k').length, 0);

  const slow = new Outbox({ send: () => new Promise(() => {}), onChange: () => {} });
  const echoed = slow.add('k', 'hello ', 'alice');
  eq('echo matches', slow.echo(m(3, { sender_type: 'agent', sender_name: 'alice', body: 'hello' })) === echoed, true);
  eq('echo removes', slow.pending('k').length, 0);

  // Views render text, never markup.
  const opts = { me: 'alice', onUseSuggestion() {} };
  const x = messageNode(m(1, { body: '<img src=x onerror=alert(1)>' }), opts);
  eq('body is text', [x.querySelector('.body').textContent, x.querySelectorAll('img').length, x.dataset.seq], ['<img src=x onerror=alert(1)>', 0, '1']);
  const ev = messageNode(m(2, { kind: 'order_created', sender_type: 'system', body: 'Order 7', payload: { order_id: 7 } }), opts);
  eq('event note', [ev.classList.contains('event'), ev.dataset.kind, ev.querySelector('strong').textContent, ev.querySelector('.payload').textContent],
    [true, 'order_created', 'Order created', 'order_id: 7']);
  // An event's body that only repeats its title shows once; the bot's note says why it did not answer.
  const twice = messageNode(m(5, { kind: 'order_created', sender_type: 'system', body: 'order  created', note: 'bot did not answer: payload field order_id is null' }), opts);
  eq('event body once', [twice.querySelector('.note').textContent.match(/order created/gi).length, twice.querySelectorAll('.body').length], [1, 0]);
  eq('event note', twice.querySelector('.bot-note').textContent, 'bot did not answer: payload field order_id is null');
  const noted = messageNode(m(6, { note: 'bot reply not sent: it is 70000 bytes' }), opts);
  eq('message note', noted.querySelector('.bubble .bot-note').textContent, 'bot reply not sent: it is 70000 bytes');
  let used = '';
  const sug = messageNode(m(3, { suggestion: 'Try <b>this</b>', intent: 'refund', confidence: 0.9 }), { me: 'alice', onUseSuggestion: (s) => { used = s; } });
  sug.querySelector('.suggestion button').click();
  eq('suggestion', [used, sug.querySelectorAll('b').length], ['Try <b>this</b>', 0]);
  eq('own reply', messageNode(m(4, { sender_type: 'agent', sender_name: 'alice' }), opts).classList.contains('own'), true);
  eq('duration', [duration(30e3), duration(5 * 60e3), duration(125 * 60e3), duration(3 * 864e5)], ['< 1 min', '5 min', '2 hr 5 min', '3 days']);

  // Languages: the browser's choice, placeholders, and the formats following a switch.
  eq('pick', [i18n.pickLocale(null, ['zh-TW', 'en']), i18n.pickLocale(null, ['fr', 'en-GB', 'zh']), i18n.pickLocale(null, ['de']),
    i18n.pickLocale('en', ['zh-CN']), i18n.pickLocale('xx', ['zh'])], ['zh-CN', 'en', 'en', 'en', 'zh-CN']);
  eq('placeholders', [i18n.t('list.waiting', { duration: '5 min' }), i18n.t('list.waiting'), i18n.t('no.such.key')],
    ['Waiting 5 min', 'Waiting {duration}', 'no.such.key']);
  const el = document.createElement('p');
  i18n.setText(el, 'conv.assignedTo', { name: 'bob' });
  const day = '2026-01-02T03:04:00Z';
  await i18n.setLocale('zh-CN');
  i18n.translate(el);
  eq('zh', [i18n.locale(), document.documentElement.lang, el.textContent, duration(30e3), duration(125 * 60e3), duration(3 * 864e5),
    i18n.formatPercent(0.925), preview(m(1, { sender_name: 'Ann', body: 'hi' }))],
    ['zh-CN', 'zh-CN', '已分配给 bob', '不到1分钟', '2小时5分钟', '3天', '92.5%', 'Ann：hi']);
  eq('zh date', /^2026年1月2日 \d{2}:04$/.test(shortTime(day, new Date('2026-03-01T00:00:00Z'))), true);
  await i18n.setLocale('en');
  i18n.translate(el);
  eq('back to en', [document.documentElement.lang, el.textContent, duration(30e3)], ['en', 'Assigned to bob', '< 1 min']);
  localStorage.removeItem('syncd.lang');
  return fails;
})()
`)
