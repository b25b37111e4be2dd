package relay

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A hostileRow is a row that a legacy application (a DBA, an older syncd)
// can leave in message_sync, legal under the schema, that must neither
// crash an instance nor hold up anyone else's rows. Its tag goes into
// sender_name so that the end-state check knows it. A row with a reason
// must fail with last_error containing it; one without must be relayed
// like any other, exactly once, under its own key; one with recovered
// must be relayed too, keeping in last_error why it was recovered.
type hostileRow struct {
	tag       string
	reason    string
	recovered string
	insert    func(b *bundle, tag string) error
}

// insertRow writes one row as a legacy writer would.
func insertRow(key, body, kind, payload string) func(b *bundle, tag string) error {
	return func(b *bundle, tag string) error {
		var p any
		if payload != "" {
			p = payload
		}
		_, err := b.db.Exec(`INSERT INTO message_sync (conversation_key, body, sender_name, kind, payload) VALUES (?, ?, ?, ?, ?)`,
			key, body, tag, kind, p)
		return err
	}
}

// insertOrphan writes a row left processing with no claim in flight:
// set by hand (no token), or by a syncd that died before 0004_claims
// recorded its claims (a token nobody holds, its lease long over).
func insertOrphan(key, token string) func(b *bundle, tag string) error {
	return func(b *bundle, tag string) error {
		var tok, by any
		if token != "" {
			tok, by = token, "syncd-0.3"
		}
		_, err := b.db.Exec(`INSERT INTO message_sync (conversation_key, body, sender_name, status, claim_token, claimed_by, lease_until)
VALUES (?, ?, ?, 'processing', ?, ?, IF(? IS NULL, NULL, UTC_TIMESTAMP() - INTERVAL 1 HOUR))`, key, "left processing: "+tag, tag, tok, by, tok)
		return err
	}
}

const tenMiB = 10 << 20

// hostileRows arrive in the middle of the writer's traffic (its keys are
// conv-000 … conv-199). Add a case here to send it through the same test.
var hostileRows = []hostileRow{
	// A spelling the database once called the same as conv-007: with
	// syncd's binary key columns it is a conversation of its own.
	{tag: "hostile:case", insert: insertRow("CONV-007", "case variant of conv-007", "message", "")},
	{tag: "hostile:space", insert: insertRow("conv-008 ", "conv-008 with a trailing space", "message", "")},
	{tag: "hostile:accent", insert: insertRow("cönv-009", "accented conv-009", "message", "")},
	{tag: "hostile:control", reason: "control character U+0009", insert: insertRow("conv\t010", "tab in the key", "message", "")},
	{tag: "hostile:big-body", reason: "over relay.max_body_bytes", insert: insertRow("conv-011", strings.Repeat("x", tenMiB), "message", "")},
	{tag: "hostile:big-payload", reason: "over relay.max_payload_bytes", insert: insertRow("conv-012", "order created", "order_created",
		`{"order_id": "`+strings.Repeat("9", tenMiB)+`"}`)},
	// Processing with no claim in flight: the orphan sweep returns them,
	// and they are relayed once, saying so. Conversations of their own:
	// no claim holds their conversation back, so rows inserted after them
	// go first (the README says so of a row left processing).
	{tag: "hostile:orphan", recovered: "processing with no claim in flight", insert: insertOrphan("orphan-1", "")},
	{tag: "hostile:stale-claim", recovered: "processing with no claim in flight", insert: insertOrphan("orphan-2", "0ld5yncdc1a1m")},
}

// TestHostileRowsAmidTraffic runs three instances while a legacy writer
// inserts 20,000 rows into 200 conversations; in the middle of it come
// the hostile rows. No instance exits, every ordinary row is relayed
// exactly once and in order, and each hostile row is relayed or fails
// with its reason; the orphaned ones are found by the sweep of one of
// the instances and relayed once, with the reason kept.
func TestHostileRowsAmidTraffic(t *testing.T) {
	b := setup(t)
	const rows = 20000
	b.mustFailWith = map[string]string{}
	for _, h := range hostileRows {
		if h.reason != "" {
			b.mustFailWith[h.tag] = h.reason
		}
	}
	env := func(name string) []string { return b.env("SYNCD_INSTANCE=" + name) }
	start := time.Now()
	w := b.startWriter(writerOptions{Rows: rows, Conversations: 200, Over: 4 * time.Second, Batch: 50})
	for i := range 3 {
		b.start(fmt.Sprintf("relay-%d", i+1), env(fmt.Sprintf("relay-%d", i+1)))
	}
	b.waitFor(60*time.Second, "the relay to be under way", func() (bool, string) {
		c := b.counts()
		return c.sent >= 2000 && w.Inserted() < rows, fmt.Sprintf("%v; %d inserted", c, w.Inserted())
	})
	for _, h := range hostileRows {
		if err := h.insert(b, h.tag); err != nil {
			t.Fatalf("insert %s: %v", h.tag, err)
		}
	}
	t.Logf("%s: %d hostile rows inserted with %d of %d ordinary rows written; %v", since(start), len(hostileRows), w.Inserted(), rows, b.counts())
	w.wait(t, 120*time.Second, rows)
	b.waitSettled(120*time.Second, rows+len(hostileRows))
	t.Logf("%s: settled", since(start))
	b.mu.Lock()
	ins := append([]*instance(nil), b.instances...)
	b.mu.Unlock()
	orphaned := 0.0
	for _, in := range ins {
		t.Logf("%s: %s", in.name, in.relayMetrics())
		if n, err := in.metric(`syncd_rows_orphaned_total`); err == nil {
			orphaned += n
		}
		if n, err := in.metric(`syncd_relay_panics_total{stage="batch"}`); err == nil && n != 0 {
			t.Errorf("%s: %v batches panicked", in.name, n)
		}
	}
	if orphaned != 2 {
		t.Errorf("syncd_rows_orphaned_total sums to %v over the instances, want 2", orphaned)
	}
	b.stopAll(30 * time.Second)
	b.verifyExactlyOnce(rows + len(hostileRows))
	for _, h := range hostileRows {
		var status, lastErr string
		var attempts int
		if err := b.db.QueryRow(`SELECT status, attempts, COALESCE(last_error, '') FROM message_sync WHERE sender_name = ?`, h.tag).
			Scan(&status, &attempts, &lastErr); err != nil {
			t.Fatalf("%s: %v", h.tag, err)
		}
		t.Logf("%s: %s after %d attempts %s", h.tag, status, attempts, lastErr)
		if attempts != 0 {
			t.Errorf("%s: %d attempts counted", h.tag, attempts)
		}
		if h.recovered != "" && (status != "sent" || !strings.Contains(lastErr, h.recovered)) {
			t.Errorf("%s: %s, last_error %q; want sent, saying it was %q", h.tag, status, lastErr, h.recovered)
		}
	}
}

// TestLegacyCollation: a DBA gave the key columns the legacy database's
// case- and accent-insensitive collation. Keys that the database now calls
// equal fail with a reason that names the conversation they fell into,
// and nothing else does: no instance exits, no row is retried.
func TestLegacyCollation(t *testing.T) {
	b := setup(t)
	for _, table := range []string{"message_sync", "conversations", "chat_messages", "message_reply", "console_reads"} {
		if _, err := b.db.Exec(`ALTER TABLE ` + table + ` MODIFY conversation_key VARCHAR(191) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL`); err != nil {
			t.Fatal(err)
		}
	}
	in := []*instance{b.start("relay-1", b.env("SYNCD_INSTANCE=relay-1")), b.start("relay-2", b.env("SYNCD_INSTANCE=relay-2"))}
	if _, err := b.db.Exec(`INSERT INTO message_sync (conversation_key, body) VALUES ('Order-1001', 'first'), ('cafe-1003', 'first')`); err != nil {
		t.Fatal(err)
	}
	b.waitSettled(30*time.Second, 2)
	var q strings.Builder
	q.WriteString(`INSERT INTO message_sync (conversation_key, body) VALUES ('order-1001', 'case'), ('café-1003', 'accent'), ('order-1002 ', 'space')`)
	for i := range 100 {
		fmt.Fprintf(&q, ", ('innocent-%d', 'innocent %d')", i%10, i)
	}
	if _, err := b.db.Exec(q.String()); err != nil {
		t.Fatal(err)
	}
	b.waitSettled(60*time.Second, 105)
	for _, r := range []struct{ key, reason string }{
		{"order-1001", `is conversation "Order-1001" to the database`},
		{"café-1003", `is conversation "cafe-1003" to the database`},
		{"order-1002 ", "ends in a space, which the database's collation ignores"},
	} {
		var status, lastErr string
		if err := b.db.QueryRow(`SELECT status, COALESCE(last_error, '') FROM message_sync WHERE CAST(conversation_key AS BINARY) = CAST(? AS BINARY)`, r.key).
			Scan(&status, &lastErr); err != nil {
			t.Fatal(err)
		}
		if status != "failed" || !strings.Contains(lastErr, r.reason) {
			t.Errorf("%q: %s, %q; want failed with %q", r.key, status, lastErr, r.reason)
		}
	}
	if n := b.count(`SELECT COUNT(*) FROM message_sync WHERE status <> 'sent' AND body LIKE 'innocent%'`); n != 0 {
		t.Errorf("%d innocent rows not sent", n)
	}
	if n := b.count(`SELECT COUNT(*) FROM message_sync WHERE attempts > 0`); n != 0 {
		t.Errorf("%d rows retried", n)
	}
	for _, i := range in {
		if i.exited() {
			t.Errorf("%s exited", i.name)
		}
	}
	b.stopAll(30 * time.Second)
}

// TestOversizedRowsAreNotRead: rows far over the limits fail without
// their bytes being read, so a batch of them costs the process little
// memory (its peak resident size stays well under what the rows hold).
func TestOversizedRowsAreNotRead(t *testing.T) {
	b := setup(t)
	const n = 12 // 120 MiB in all
	for i := range n {
		var err error
		if i%2 == 0 {
			err = insertRow(fmt.Sprintf("big-%d", i), strings.Repeat("x", tenMiB), "message", "")(b, "big")
		} else {
			err = insertRow(fmt.Sprintf("big-%d", i), "order created", "order_created", `{"blob": "`+strings.Repeat("y", tenMiB)+`"}`)(b, "big")
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	in := b.start("relay", b.env("SYNCD_INSTANCE=relay"))
	b.waitSettled(60*time.Second, n)
	if got := b.count(`SELECT COUNT(*) FROM message_sync WHERE status = 'failed' AND (last_error LIKE '%over relay.max_body_bytes%' OR last_error LIKE '%over relay.max_payload_bytes%')`); got != n {
		t.Errorf("%d of %d oversized rows failed with the limit as the reason", got, n)
	}
	peak := peakRSS(t, in.cmd.Process.Pid)
	t.Logf("peak resident size %d MiB for %d rows of 10 MiB", peak>>20, n)
	if peak > 100<<20 {
		t.Errorf("peak resident size %d MiB: the oversized rows were read", peak>>20)
	}
	b.stopAll(30 * time.Second)
}

// peakRSS is a process's peak resident set size (VmHWM).
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("read the instance's status: %v", err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

// TestEventTemplatesThroughTheBinary: with the bot on, an event template
// whose field is missing, null, an object or a list, or whose reply would
// pass relay.max_body_bytes, sends nothing; the event is relayed (sent),
// keeps the reason in last_error, and history keeps it as the note agents
// see. A good event is answered once.
func TestEventTemplatesThroughTheBinary(t *testing.T) {
	b := setup(t)
	env := b.env("SYNCD_INSTANCE=bot", "SYNCD_BOT_ENABLED=true")
	if lib := os.Getenv("SYNCD_ONNXRUNTIME_LIB"); lib != "" {
		env = append(env, "SYNCD_ONNXRUNTIME_LIB="+lib)
	}
	in := b.start("bot", env)
	b.waitFor(30*time.Second, "the bot to start", func() (bool, string) {
		if log := in.log(); strings.Contains(log, `msg="intent bot on"`) {
			return true, ""
		} else if strings.Contains(log, "intent bot off") {
			t.Fatalf("the bot is off (fetch ONNX Runtime with scripts/onnxruntime.sh, or set SYNCD_ONNXRUNTIME_LIB):\n%s", tail(in.logPath, 20))
		}
		return false, "no \"intent bot on\" line yet"
	})
	cases := []struct{ key, payload, note, reply string }{
		{"ev-null", `{"order_id": null}`, "bot did not answer: event template order_created: payload field order_id is null", ""},
		{"ev-object", `{"order_id": {"a": [1, 2]}}`, "payload field order_id is an object", ""},
		{"ev-list", `{"order_id": [1, 2]}`, "payload field order_id is a list", ""},
		{"ev-array", `[1, 2]`, "the payload is a list, not a JSON object", ""},
		{"ev-missing", `{"customer": "ann"}`, "the payload has no field order_id", ""},
		{"ev-long", `{"order_id": "` + strings.Repeat("9", 2000) + `"}`, "bot reply not sent: it is", ""},
		{"ev-ok", `{"order_id": 1001}`, "", "Thanks! Your order 1001 is confirmed."},
	}
	for _, c := range cases {
		if err := insertRow(c.key, "order created", "order_created", c.payload)(b, "event"); err != nil {
			t.Fatal(err)
		}
	}
	b.waitSettled(30*time.Second, len(cases))
	for _, c := range cases {
		var status, lastErr, note string
		if err := b.db.QueryRow(`SELECT m.status, COALESCE(m.last_error, ''), COALESCE(h.note, '') FROM message_sync m
LEFT JOIN chat_messages h ON h.source_table = 'message_sync' AND h.source_id = m.id WHERE m.conversation_key = ?`, c.key).Scan(&status, &lastErr, &note); err != nil {
			t.Fatal(err)
		}
		var replies int
		var reply string
		if err := b.db.QueryRow(`SELECT COUNT(*), COALESCE(MAX(body), '') FROM message_reply WHERE conversation_key = ?`, c.key).Scan(&replies, &reply); err != nil {
			t.Fatal(err)
		}
		switch {
		case status != "sent":
			t.Errorf("%s: %s (%s), want sent", c.key, status, lastErr)
		case c.note == "" && (lastErr != "" || note != "" || replies != 1 || !strings.HasPrefix(reply, c.reply)):
			t.Errorf("%s: last_error %q, note %q, %d replies %q; want the reply %q", c.key, lastErr, note, replies, reply, c.reply)
		case c.note != "" && (!strings.Contains(lastErr, c.note) || note != lastErr || replies != 0):
			t.Errorf("%s: last_error %q, note %q, %d replies %q; want no reply and %q", c.key, lastErr, note, replies, reply, c.note)
		}
	}
	b.stopAll(30 * time.Second)
}
