package relay

import (
	"fmt"
	"strings"
)

// failReason is what last_error must contain for a row that must fail, by
// its sender_name tag: the writer's invalid rows and a test's hostile rows.
func (b *bundle) failReason(sender string) (string, bool) {
	if r, ok := invalidReasons[sender]; ok {
		return r, true
	}
	r, ok := b.mustFailWith[sender]
	return r, ok
}

func (b *bundle) mustFail(sender string) bool {
	_, ok := b.failReason(sender)
	return ok
}

// verifyExactlyOnce checks the end state after a run over want rows:
//   - no row pending or processing;
//   - every valid row sent and in chat_messages exactly once, with its
//     conversation and body;
//   - every invalid row failed, with last_error naming the reason, and not
//     in chat_messages;
//   - per conversation, seq runs 1..n without gaps in message_sync id order
//     (history is in commit order; the writer commits each conversation's
//     rows one after another, so here that is id order), and
//     conversations.last_seq is n.
func (b *bundle) verifyExactlyOnce(want int) {
	t := b.t
	t.Helper()
	type src struct {
		key, body, sender, status, lastErr string
	}
	rows, err := b.db.Query(`SELECT id, conversation_key, body, COALESCE(sender_name, ''), status, COALESCE(last_error, '')
FROM message_sync ORDER BY id`)
	if err != nil {
		t.Fatalf("read message_sync: %v", err)
	}
	srcs := map[int64]src{}
	var problems []string
	report := func(format string, args ...any) {
		if len(problems) < 20 {
			problems = append(problems, fmt.Sprintf(format, args...))
		} else if len(problems) == 20 {
			problems = append(problems, "…")
		}
	}
	valid, invalid := 0, 0
	byStatus := map[string]int{}
	for rows.Next() {
		var id int64
		var s src
		if err := rows.Scan(&id, &s.key, &s.body, &s.sender, &s.status, &s.lastErr); err != nil {
			t.Fatalf("read message_sync: %v", err)
		}
		srcs[id] = s
		byStatus[s.status]++
		if reason, bad := b.failReason(s.sender); bad {
			invalid++
			if s.status != "failed" || !strings.Contains(s.lastErr, reason) {
				report("invalid row %d (%s): status %s, last_error %q; want failed naming %q", id, s.sender, s.status, s.lastErr, reason)
			}
			continue
		}
		valid++
		if s.status != "sent" {
			report("valid row %d: status %s, last_error %q; want sent", id, s.status, s.lastErr)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		t.Fatalf("read message_sync: %v", err)
	}
	if len(srcs) != want {
		report("message_sync holds %d rows, want %d", len(srcs), want)
	}
	if byStatus["pending"]+byStatus["processing"] > 0 {
		report("rows left behind: %d pending, %d processing", byStatus["pending"], byStatus["processing"])
	}
	if invalid == 0 {
		report("no invalid rows were written: the test does not check failures")
	}

	crows, err := b.db.Query(`SELECT conversation_key, seq, COALESCE(source_table, ''), COALESCE(source_id, 0), body
FROM chat_messages ORDER BY conversation_key, seq`)
	if err != nil {
		t.Fatalf("read chat_messages: %v", err)
	}
	seen := map[int64]int{}
	perConv := map[string]int{}
	lastID := map[string]int64{}
	chat := 0
	for crows.Next() {
		var key, table, body string
		var seq, id int64
		if err := crows.Scan(&key, &seq, &table, &id, &body); err != nil {
			t.Fatalf("read chat_messages: %v", err)
		}
		chat++
		if table != "message_sync" {
			report("chat message %s/%d has source_table %q", key, seq, table)
			continue
		}
		seen[id]++
		if seen[id] == 2 {
			report("message_sync row %d is in chat history more than once", id)
		}
		s, ok := srcs[id]
		switch {
		case !ok:
			report("chat message %s/%d has source_id %d, which is no message_sync row", key, seq, id)
		case b.mustFail(s.sender):
			report("invalid row %d (%s) was relayed as %s/%d", id, s.sender, key, seq)
		case s.key != key || s.body != body:
			report("chat message %s/%d differs from row %d (%s %q)", key, seq, id, s.key, s.body)
		}
		perConv[key]++
		if want := int64(perConv[key]); seq != want {
			report("conversation %s: seq %d where %d was due (gap or duplicate)", key, seq, want)
			perConv[key] = int(seq) // report each gap once
		}
		if id <= lastID[key] && !b.anyOrder {
			report("conversation %s: seq %d is row %d, after row %d: out of id order", key, seq, id, lastID[key])
		}
		lastID[key] = id
	}
	crows.Close()
	if err := crows.Err(); err != nil {
		t.Fatalf("read chat_messages: %v", err)
	}
	if chat != valid {
		report("chat_messages holds %d messages, want %d (one per valid row)", chat, valid)
	}
	for id, s := range srcs {
		if s.status == "sent" && seen[id] == 0 {
			report("row %d is sent but not in chat history", id)
		}
	}

	lrows, err := b.db.Query(`SELECT conversation_key, last_seq FROM conversations`)
	if err != nil {
		t.Fatalf("read conversations: %v", err)
	}
	convs := 0
	for lrows.Next() {
		var key string
		var last int
		if err := lrows.Scan(&key, &last); err != nil {
			t.Fatalf("read conversations: %v", err)
		}
		convs++
		if last != perConv[key] {
			report("conversation %s: last_seq %d, but %d messages in history", key, last, perConv[key])
		}
	}
	lrows.Close()
	if convs != len(perConv) {
		report("%d conversations rows, %d conversations in history", convs, len(perConv))
	}
	if len(problems) > 0 {
		t.Errorf("end state is wrong (%d valid, %d invalid rows; %v):\n  %s", valid, invalid, byStatus, strings.Join(problems, "\n  "))
		return
	}
	t.Logf("end state ok: %d rows: %d sent exactly once into %d conversations, %d failed as invalid", want, valid, len(perConv), invalid)
}
