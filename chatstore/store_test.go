package chatstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/syncd-dev/syncd/chat"
	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/chatcore/credentials"
	"github.com/syncd-dev/syncd/chatstore"
	"github.com/syncd-dev/syncd/chatstore/chatstoretest"
)

type bundle struct {
	db    *gorm.DB
	store *chatstore.DB
	ctx   context.Context
}

func setup(t *testing.T, dialect string) bundle {
	t.Helper()
	db := chatstoretest.Open(t, dialect)
	s, err := chatstore.New(db)
	if err != nil {
		t.Fatal(err)
	}
	return bundle{db: db, store: s, ctx: context.Background()}
}

// forEachDialect runs fn as a parallel subtest on MariaDB and SQLite.
func forEachDialect(t *testing.T, fn func(t *testing.T, b bundle)) {
	t.Parallel()
	for _, d := range chatstoretest.Dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			fn(t, setup(t, d))
		})
	}
}

func count(t *testing.T, db *gorm.DB, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.Raw(query, args...).Row().Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestAppendReply(t *testing.T) {
	forEachDialect(t, func(t *testing.T, b bundle) {
		in := chatstoretest.Relay(t, b.db, "order-1", "hello", "anyone there?")
		at := time.Now().UTC() // nanoseconds: history keeps microseconds
		res, err := b.store.AppendReply(b.ctx, chatcore.Reply{
			ConversationKey: "order-1", Author: "alice", Body: "Hi, how can I help?", ClientID: "c-1", At: at,
		})
		if err != nil || !res.Created {
			t.Fatalf("AppendReply = created %v, %v", res.Created, err)
		}
		msg := res.Message
		if msg.Seq != 3 || msg.SenderType != chat.SenderAgent || msg.SenderName != "alice" || msg.ID == 0 {
			t.Fatalf("reply message = %+v", msg)
		}

		// One transaction wrote both: history and the outbound row.
		var (
			status, author, authorType, delivery string
			inReplyTo, chatMsgID                 int64
		)
		err = b.db.Raw(`SELECT status, author_type, author_name, in_reply_to, chat_message_id, delivery_status FROM message_reply WHERE conversation_key = ?`, "order-1").
			Row().Scan(&status, &authorType, &author, &inReplyTo, &chatMsgID, &delivery)
		if err != nil {
			t.Fatal(err)
		}
		if delivery != "pending" {
			t.Errorf("message_reply.delivery_status = %q, want pending (for the webhook worker)", delivery)
		}
		if status != "pending" || authorType != "agent" || author != "alice" || inReplyTo != in[1].SourceID || chatMsgID != msg.ID {
			t.Fatalf("message_reply = %s %s %s in_reply_to=%d chat_message_id=%d; want in_reply_to %d, id %d",
				status, authorType, author, inReplyTo, chatMsgID, in[1].SourceID, msg.ID)
		}
		cv, err := b.store.Conversation(b.ctx, "order-1", "alice")
		if err != nil {
			t.Fatal(err)
		}
		if cv.LastSeq != 3 || !cv.WaitingSince.IsZero() || cv.ReadSeq != 3 || cv.Unread != 0 ||
			cv.LastMessage == nil || cv.LastMessage.ID != msg.ID {
			t.Fatalf("conversation after reply = %+v", cv)
		}
		if !cv.LastMessage.CreatedAt.Equal(msg.CreatedAt) {
			t.Fatalf("reply pushed with created_at %v, history gives %v", msg.CreatedAt, cv.LastMessage.CreatedAt)
		}

		// A retry with the same client_id returns the first message.
		res, err = b.store.AppendReply(b.ctx, chatcore.Reply{
			ConversationKey: "order-1", Author: "alice", Body: "Hi, how can I help?", ClientID: "c-1", At: time.Now(),
		})
		if again := res.Message; err != nil || res.Created || again.ID != msg.ID || again.Seq != 3 {
			t.Fatalf("retry = %+v created %v, %v", again, res.Created, err)
		}
		if n := count(t, b.db, `SELECT COUNT(*) FROM chat_messages WHERE conversation_key = ?`, "order-1"); n != 3 {
			t.Fatalf("chat_messages = %d, want 3", n)
		}
		if n := count(t, b.db, `SELECT COUNT(*) FROM message_reply`); n != 1 {
			t.Fatalf("message_reply rows = %d, want 1", n)
		}
		if n := count(t, b.db, `SELECT last_seq FROM conversations WHERE conversation_key = ?`, "order-1"); n != 3 {
			t.Fatalf("last_seq = %d after retry, want 3", n)
		}

		// The legacy reader's contract, as documented in 0002_console.sql.
		rows, err := b.db.Raw(`SELECT id, body FROM message_reply WHERE conversation_key = ? AND status = 'pending' ORDER BY id`, "order-1").Rows()
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for rows.Next() {
			var id int64
			var body string
			if err := rows.Scan(&id, &body); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		done := `UPDATE message_reply SET status = 'done', done_at = NOW(6) WHERE id = ?`
		switch b.db.Dialector.Name() {
		case "sqlite":
			done = `UPDATE message_reply SET status = 'done', done_at = strftime('%Y-%m-%d %H:%M:%f', 'now') WHERE id = ?`
		case "postgres":
			done = `UPDATE message_reply SET status = 'done', done_at = now() WHERE id = ?`
		}
		for _, id := range ids {
			if err := b.db.Exec(done, id).Error; err != nil {
				t.Fatal(err)
			}
		}
		if len(ids) != 1 || count(t, b.db, `SELECT COUNT(*) FROM message_reply WHERE status = 'pending'`) != 0 {
			t.Fatalf("legacy reader saw %v", ids)
		}

		_, err = b.store.AppendReply(b.ctx, chatcore.Reply{ConversationKey: "nope", Author: "alice", Body: "x", ClientID: "c", At: at})
		if !errors.Is(err, chatcore.ErrNotFound) {
			t.Fatalf("reply to a missing conversation: %v", err)
		}
	})
}

// Concurrent replies and relay batches share the counter: seqs are 1..n
// with no gap and no duplicate, and duplicates of one client_id write once.
func TestAppendReplyConcurrent(t *testing.T) {
	forEachDialect(t, func(t *testing.T, b bundle) {
		chatstoretest.Relay(t, b.db, "k", "first")
		const replies, dupes, relays = 12, 6, 4
		var wg sync.WaitGroup
		errs := make(chan error, replies+dupes+relays)
		for i := range replies {
			wg.Go(func() {
				_, err := b.store.AppendReply(b.ctx, chatcore.Reply{ConversationKey: "k", Author: "alice",
					Body: "r", ClientID: fmt.Sprintf("r-%d", i), At: time.Now()})
				errs <- err
			})
		}
		ids := make(chan int64, dupes)
		for range dupes {
			wg.Go(func() {
				res, err := b.store.AppendReply(b.ctx, chatcore.Reply{ConversationKey: "k", Author: "alice",
					Body: "same", ClientID: "dup", At: time.Now()})
				errs <- err
				ids <- res.Message.ID
			})
		}
		for range relays {
			wg.Go(func() {
				_, err := chatstoretest.RelayErr(b.db, "k", "more", "and more")
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		close(ids)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		first := int64(0)
		for id := range ids {
			if first == 0 {
				first = id
			}
			if id != first {
				t.Fatalf("duplicate client_id returned ids %d and %d", first, id)
			}
		}
		want := int64(1 + replies + 1 + 2*relays)
		if n := count(t, b.db, `SELECT COUNT(*) FROM chat_messages WHERE conversation_key = 'k'`); n != want {
			t.Fatalf("messages = %d, want %d", n, want)
		}
		if n := count(t, b.db, `SELECT COUNT(DISTINCT seq) FROM chat_messages WHERE conversation_key = 'k'`); n != want {
			t.Fatalf("distinct seqs = %d, want %d", n, want)
		}
		if n := count(t, b.db, `SELECT MAX(seq) FROM chat_messages WHERE conversation_key = 'k'`); n != want {
			t.Fatalf("max seq = %d, want %d (a gap)", n, want)
		}
		if n := count(t, b.db, `SELECT last_seq FROM conversations WHERE conversation_key = 'k'`); n != want {
			t.Fatalf("last_seq = %d, want %d", n, want)
		}
		if n := count(t, b.db, `SELECT COUNT(*) FROM message_reply`); n != replies+1 {
			t.Fatalf("message_reply rows = %d, want %d", n, replies+1)
		}
	})
}

func TestConversationsTabsAndState(t *testing.T) {
	forEachDialect(t, func(t *testing.T, b bundle) {
		chatstoretest.Relay(t, b.db, "a", "1")
		chatstoretest.Relay(t, b.db, "b", "1", "2")
		chatstoretest.Relay(t, b.db, "c", "1", "2", "3")
		now := time.Now()
		must(t, b.store.Assign(b.ctx, "a", "alice", now))
		must(t, b.store.Assign(b.ctx, "b", "bob", now))
		must(t, b.store.SetState(b.ctx, "c", chatcore.StateResolved, now))
		must(t, b.store.MarkRead(b.ctx, "alice", "c", 2))
		must(t, b.store.MarkRead(b.ctx, "alice", "c", 1))  // never lowers
		must(t, b.store.MarkRead(b.ctx, "alice", "a", 99)) // capped at last_seq

		keys := func(q chatcore.ConversationQuery) []string {
			q.Username, q.Limit = "alice", 100
			cs, err := b.store.Conversations(b.ctx, q)
			must(t, err)
			var out []string
			for _, c := range cs {
				out = append(out, c.Key)
			}
			return out
		}
		for _, tc := range []struct {
			q    chatcore.ConversationQuery
			want string
		}{
			{chatcore.ConversationQuery{Tab: chatcore.TabMine, State: chatcore.StateOpen}, "[a]"},
			{chatcore.ConversationQuery{Tab: chatcore.TabUnassigned, State: chatcore.StateOpen}, "[]"},
			{chatcore.ConversationQuery{Tab: chatcore.TabUnassigned}, "[c]"},
			{chatcore.ConversationQuery{Tab: chatcore.TabAll}, "[c b a]"},
			{chatcore.ConversationQuery{Tab: chatcore.TabAll, State: chatcore.StateResolved}, "[c]"},
		} {
			if got := fmt.Sprint(keys(tc.q)); got != tc.want && !(tc.want == "[]" && got == "[]") {
				t.Errorf("%+v: got %s, want %s", tc.q, got, tc.want)
			}
		}
		c, err := b.store.Conversation(b.ctx, "c", "alice")
		must(t, err)
		if c.State != chatcore.StateResolved || c.ReadSeq != 2 || c.Unread != 1 || !c.WaitingSince.IsZero() || c.LastMessage.Body != "3" {
			t.Fatalf("c = %+v", c)
		}
		a, err := b.store.Conversation(b.ctx, "a", "alice")
		must(t, err)
		if a.ReadSeq != 1 || a.Assignee != "alice" {
			t.Fatalf("a = %+v", a)
		}
		// A new customer message reopens a resolved conversation.
		chatstoretest.Relay(t, b.db, "c", "4")
		c, err = b.store.Conversation(b.ctx, "c", "bob")
		must(t, err)
		if c.State != chatcore.StateOpen || c.LastSeq != 4 || c.Unread != 4 || c.WaitingSince.IsZero() {
			t.Fatalf("c after a new message = %+v", c)
		}
		must(t, b.store.Assign(b.ctx, "a", "", now))
		a, err = b.store.Conversation(b.ctx, "a", "alice")
		must(t, err)
		if a.Assignee != "" {
			t.Fatalf("released a = %+v", a)
		}
		if err := b.store.Assign(b.ctx, "zzz", "alice", now); !errors.Is(err, chatcore.ErrNotFound) {
			t.Fatalf("assign missing: %v", err)
		}
		if err := b.store.MarkRead(b.ctx, "alice", "zzz", 1); !errors.Is(err, chatcore.ErrNotFound) {
			t.Fatalf("read missing: %v", err)
		}
		// Unchanged assignment is not "missing".
		must(t, b.store.SetState(b.ctx, "a", chatcore.StateOpen, now))
		must(t, b.store.SetState(b.ctx, "a", chatcore.StateOpen, now))
	})
}

func TestMessagesPages(t *testing.T) {
	forEachDialect(t, func(t *testing.T, b bundle) {
		var bodies []string
		for i := 1; i <= 10; i++ {
			bodies = append(bodies, fmt.Sprint(i))
		}
		chatstoretest.Relay(t, b.db, "k", bodies...)
		seqs := func(q chatcore.MessageQuery) string {
			q.ConversationKey = "k"
			ms, err := b.store.Messages(b.ctx, q)
			must(t, err)
			var out []int64
			for _, m := range ms {
				out = append(out, m.Seq)
			}
			return fmt.Sprint(out)
		}
		for _, tc := range []struct {
			q    chatcore.MessageQuery
			want string
		}{
			{chatcore.MessageQuery{Limit: 3}, "[8 9 10]"},
			{chatcore.MessageQuery{BeforeSeq: 8, Limit: 3}, "[5 6 7]"},
			{chatcore.MessageQuery{BeforeSeq: 3, Limit: 3}, "[1 2]"},
			{chatcore.MessageQuery{After: true, AfterSeq: 0, Limit: 3}, "[1 2 3]"},
			{chatcore.MessageQuery{After: true, AfterSeq: 8, Limit: 500}, "[9 10]"},
			{chatcore.MessageQuery{After: true, AfterSeq: 10, Limit: 500}, "[]"},
		} {
			if got := seqs(tc.q); got != tc.want {
				t.Errorf("%+v: got %s, want %s", tc.q, got, tc.want)
			}
		}
	})
}

func TestAgents(t *testing.T) {
	forEachDialect(t, func(t *testing.T, b bundle) {
		must(t, b.store.CreateAgent(b.ctx, "alice", "hash1"))
		must(t, b.store.CreateAgent(b.ctx, "bob", "hash2"))
		if err := b.store.CreateAgent(b.ctx, "alice", "x"); !errors.Is(err, chatcore.ErrExists) {
			t.Fatalf("duplicate agent: %v", err)
		}
		if err := b.store.CreateAgent(b.ctx, "Bad Name", "x"); !errors.Is(err, credentials.ErrInvalid) {
			t.Fatalf("bad name: %v", err)
		}
		a, err := b.store.Agent(b.ctx, "alice")
		must(t, err)
		if a.PasswordHash != "hash1" || a.Disabled || a.SessionVersion != 1 || a.CreatedAt.IsZero() {
			t.Fatalf("alice = %+v", a)
		}
		must(t, b.store.SetAgentDisabled(b.ctx, "alice", true))
		must(t, b.store.SetAgentPassword(b.ctx, "bob", "hash3"))
		as, err := b.store.ListAgents(b.ctx)
		must(t, err)
		if len(as) != 2 || !as[0].Disabled || as[0].SessionVersion != 2 || as[1].PasswordHash != "hash3" || as[1].SessionVersion != 2 {
			t.Fatalf("agents = %+v", as)
		}
		some, err := b.store.Agents(b.ctx, []string{"bob", "nobody"})
		must(t, err)
		if len(some) != 1 || some[0].Username != "bob" {
			t.Fatalf("Agents = %+v", some)
		}
		if _, err := b.store.Agent(b.ctx, "nobody"); !errors.Is(err, chatcore.ErrNotFound) {
			t.Fatalf("missing agent: %v", err)
		}
		if err := b.store.SetAgentDisabled(b.ctx, "nobody", true); !errors.Is(err, chatcore.ErrNotFound) {
			t.Fatalf("disable missing agent: %v", err)
		}
	})
}

func TestSweepQueries(t *testing.T) {
	forEachDialect(t, func(t *testing.T, b bundle) {
		latest, err := b.store.LatestUpdate(b.ctx)
		must(t, err)
		if !latest.IsZero() {
			t.Fatalf("empty LatestUpdate = %v", latest)
		}
		start := time.Now().UTC().Add(-time.Second)
		for i := range 5 {
			chatstoretest.Relay(t, b.db, fmt.Sprintf("k%d", i), "x")
		}
		latest, err = b.store.LatestUpdate(b.ctx)
		must(t, err)
		if latest.Before(start) || latest.After(time.Now().Add(time.Second)) {
			t.Fatalf("LatestUpdate = %v, started %v", latest, start)
		}
		var got []string
		cur := chatcore.SweepCursor{UpdatedAt: start}
		for {
			cs, err := b.store.ChangedConversations(b.ctx, cur, 2)
			must(t, err)
			for _, c := range cs {
				if c.LastMessage == nil || c.LastMessage.Body != "x" || c.ReadSeq != 0 {
					t.Fatalf("changed conversation = %+v", c)
				}
				got = append(got, c.Key)
			}
			if len(cs) < 2 {
				break
			}
			cur = chatcore.SweepCursor{UpdatedAt: cs[len(cs)-1].UpdatedAt, ID: cs[len(cs)-1].ID}
		}
		if fmt.Sprint(got) != "[k0 k1 k2 k3 k4]" {
			t.Fatalf("paged sweep = %v", got)
		}
		must(t, b.store.MarkRead(b.ctx, "alice", "k1", 1))
		must(t, b.store.MarkRead(b.ctx, "bob", "k2", 1))
		m, err := b.store.ReadMarkers(b.ctx, []string{"k1", "k2", "k3"}, []string{"alice", "bob", "carol"})
		must(t, err)
		want := map[chatcore.ReadKey]int64{{Username: "alice", ConversationKey: "k1"}: 1, {Username: "bob", ConversationKey: "k2"}: 1}
		if fmt.Sprint(m) != fmt.Sprint(want) {
			t.Fatalf("ReadMarkers = %v, want %v", m, want)
		}
		byKey, err := b.store.ConversationsByKey(b.ctx, []string{"k3", "nope", "k1"})
		must(t, err)
		got = got[:0]
		for _, c := range byKey {
			if c.LastMessage == nil || c.LastMessage.Body != "x" || c.ReadSeq != 0 || c.LastSeq != 1 {
				t.Fatalf("conversation by key = %+v", c)
			}
			got = append(got, c.Key)
		}
		slices.Sort(got)
		if fmt.Sprint(got) != "[k1 k3]" {
			t.Fatalf("ConversationsByKey(k3, nope, k1) = %v", got)
		}
	})
}

// Payloads that are not JSON come back as JSON strings, so they always
// encode.
func TestBadPayload(t *testing.T) {
	forEachDialect(t, func(t *testing.T, b bundle) {
		chatstoretest.Relay(t, b.db, "k", "x")
		must(t, b.db.Exec(`UPDATE chat_messages SET payload = ? WHERE conversation_key = 'k'`, "{not json").Error)
		ms, err := b.store.Messages(b.ctx, chatcore.MessageQuery{ConversationKey: "k", Limit: 10})
		must(t, err)
		if string(ms[0].Payload) != `"{not json"` {
			t.Fatalf("payload = %s", ms[0].Payload)
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// History holds the bot's intent, not its suggestion's text; the store asks
// the suggester when it reads a classified customer message, and keeps a
// suggestion stored by an older syncd.
func TestSuggestionsComeFromTheSuggester(t *testing.T) {
	forEachDialect(t, func(t *testing.T, b bundle) {
		msgs := chatstoretest.Relay(t, b.db, "k", "where is my refund", "hello", "old row")
		for _, q := range []struct {
			sql string
			id  int64
		}{
			{`UPDATE chat_messages SET intent = 'refund', confidence = 0.4 WHERE id = ?`, msgs[0].ID},
			// answered by the bot itself: nothing to look up
			{`UPDATE chat_messages SET intent = 'shipping', confidence = 0.9, suggestion = '' WHERE id = ?`, msgs[1].ID},
			{`UPDATE chat_messages SET intent = 'refund', confidence = 0.4, suggestion = 'stored text' WHERE id = ?`, msgs[2].ID},
		} {
			if err := b.db.Exec(q.sql, q.id).Error; err != nil {
				t.Fatal(err)
			}
		}
		var asked []string
		b.store.SetSuggester(func(intent string, confidence float64, _ string) string {
			asked = append(asked, fmt.Sprintf("%s@%.1f", intent, confidence))
			return "Refunds take 5 days."
		})
		got, err := b.store.Messages(b.ctx, chatcore.MessageQuery{ConversationKey: "k", Limit: 10})
		must(t, err)
		if len(got) != 3 || got[0].Suggestion != "Refunds take 5 days." || got[1].Suggestion != "" || got[2].Suggestion != "stored text" {
			t.Fatalf("suggestions %q, %q, %q; want the suggester's, none, the stored one",
				got[0].Suggestion, got[1].Suggestion, got[2].Suggestion)
		}
		if fmt.Sprint(asked) != "[refund@0.4]" {
			t.Fatalf("suggester asked %v, want once: for the classified message whose suggestion was left to look up", asked)
		}
		// The conversation list carries a preview of the last message: no
		// suggestion to look up.
		asked = nil
		if err := b.db.Exec(`UPDATE chat_messages SET suggestion = NULL WHERE id = ?`, msgs[2].ID).Error; err != nil {
			t.Fatal(err)
		}
		convs, err := b.store.Conversations(b.ctx, chatcore.ConversationQuery{Username: "alice", Tab: chatcore.TabAll, Limit: 10})
		must(t, err)
		if len(convs) != 1 || convs[0].LastMessage == nil || convs[0].LastMessage.Body != "old row" || convs[0].LastMessage.Suggestion != "" || len(asked) != 0 {
			t.Fatalf("conversation list: %+v, suggester asked %v", convs, asked)
		}
	})
}
