package chatstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/bridge"
	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/chatstore"
	"github.com/syncd-dev/syncd/internal/testdb"
	"github.com/syncd-dev/syncd/store"
)

// The console's list, waiting times and answered state come from the
// writer's created_at: a customer who wrote ten minutes ago from a +08:00
// session sorts below one who wrote just now at UTC, and waits ten
// minutes (an answered conversation is one with no waiting_since).
func TestConsoleTimesFromWriterZone(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := testdb.New(t, dialect)
			writer, earlier := db.Raw, `strftime('%Y-%m-%d %H:%M:%f+08:00', 'now', '+8 hours', '-10 minutes')`
			if dialect == "mysql" {
				writer, earlier = db.WriterAt(t, "+08:00"), `NOW(6) - INTERVAL 10 MINUTE`
			}
			from := time.Now()
			if _, err := writer.Exec(`INSERT INTO message_sync (conversation_key, body, created_at) VALUES ('early', 'anyone?', ` + earlier + `)`); err != nil {
				t.Fatal(err)
			}
			db.Insert(t, "recent", "hello")
			c, err := db.Store.Claim(ctx, store.Shard{Index: 0, Count: 1}, "test", 10, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Store.Commit(ctx, c, bridge.New(bridge.Options{}).Convert(ctx, c.Rows)); err != nil {
				t.Fatal(err)
			}
			cs, err := chatstore.New(db.Store.Gorm())
			if err != nil {
				t.Fatal(err)
			}
			list, err := cs.Conversations(ctx, chatcore.ConversationQuery{Username: "alice", Tab: chatcore.TabAll, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 2 || list[0].Key != "recent" || list[1].Key != "early" {
				t.Fatalf("conversations %v, want recent before early", keys(list))
			}
			early := list[1]
			waited := time.Since(early.WaitingSince)
			if early.WaitingSince.IsZero() || waited < 10*time.Minute-2*time.Second || waited > 10*time.Minute+time.Since(from)+2*time.Second {
				t.Errorf("early waits since %v (%v), want about 10 minutes", early.WaitingSince, waited)
			}
			if !early.LastMessageAt.Equal(early.WaitingSince) || !early.LastMessage.CreatedAt.Equal(early.WaitingSince) {
				t.Errorf("early: last message at %v, created at %v, waiting since %v; want one instant",
					early.LastMessageAt, early.LastMessage.CreatedAt, early.WaitingSince)
			}
		})
	}
}

func keys(cs []chatcore.Conversation) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Key)
	}
	return out
}
