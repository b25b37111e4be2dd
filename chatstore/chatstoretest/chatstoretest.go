// Package chatstoretest gives console tests a fresh database (a new MariaDB
// database or SQLite file per test, from internal/testdb) and writes
// customer messages through the real relay store, so that the console is
// tested against exactly what the relay commits.
package chatstoretest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/syncd-dev/syncd/bridge"
	"github.com/syncd-dev/syncd/chat"
	"github.com/syncd-dev/syncd/internal/testdb"
	schema "github.com/syncd-dev/syncd/sql"
	"github.com/syncd-dev/syncd/store"
)

// Dialects lists the databases tests run on.
var Dialects = []string{schema.MySQL, schema.Postgres, schema.SQLite}

// stores maps each handle Open returned to its relay store.
var stores sync.Map // *gorm.DB → *store.Store

// Open returns a fresh database of the dialect with the schema applied.
func Open(t testing.TB, dialect string) *gorm.DB {
	t.Helper()
	d := testdb.New(t, dialect)
	db := d.Store.Gorm()
	stores.Store(db, d.Store)
	t.Cleanup(func() { stores.Delete(db) })
	return db
}

// Relay inserts customer messages as a legacy application would and relays
// them with the relay's own claim and commit, without publishing them. It
// returns the committed messages.
func Relay(t testing.TB, db *gorm.DB, key string, bodies ...string) []chat.Message {
	t.Helper()
	out, err := RelayErr(db, key, bodies...)
	if err != nil {
		t.Fatalf("relay: %v", err)
	}
	return out
}

// RelayFrom is Relay of messages whose sender_name is name (the
// customer's name).
func RelayFrom(t testing.TB, db *gorm.DB, key, name string, bodies ...string) []chat.Message {
	t.Helper()
	out, err := relay(db, key, name, bodies...)
	if err != nil {
		t.Fatalf("relay: %v", err)
	}
	return out
}

// RelayErr is Relay for goroutines other than the test's. Calls running at
// once may relay each other's rows; every row is relayed exactly once, and
// a row another call relayed comes back with only SourceID and
// ConversationKey set.
func RelayErr(db *gorm.DB, key string, bodies ...string) ([]chat.Message, error) {
	return relay(db, key, "customer", bodies...)
}

func relay(db *gorm.DB, key, name string, bodies ...string) ([]chat.Message, error) {
	v, ok := stores.Load(db)
	if !ok {
		return nil, fmt.Errorf("relay: database was not opened by chatstoretest.Open")
	}
	st := v.(*store.Store)
	ctx := context.Background()
	mine := map[int64]bool{}
	for _, body := range bodies {
		id, err := st.Insert(ctx, store.NewRow{ConversationKey: key, Body: body, SenderName: name})
		if err != nil {
			return nil, err
		}
		mine[id] = true
	}
	// Claim and commit as a poller would, until this call's rows are sent:
	// a concurrent call's claim holds the conversation back meanwhile.
	relay := bridge.New(bridge.Options{}) // the relay's own conversion, bot off
	var got []chat.Message
	deadline := time.Now().Add(30 * time.Second)
	for sent := 0; sent < len(bodies); {
		if time.Now().After(deadline) {
			return got, fmt.Errorf("relay: %d of %d rows still not sent", len(bodies)-sent, len(bodies))
		}
		c, err := st.Claim(ctx, store.Shard{Index: 0, Count: 1}, "chatstoretest", 1000, time.Minute)
		if err != nil {
			return got, err
		}
		msgs, err := st.Commit(ctx, c, relay.Convert(ctx, c.Rows))
		if err != nil {
			return got, err
		}
		for _, m := range msgs {
			if mine[m.SourceID] {
				got = append(got, m)
				sent++
			}
		}
		for id := range mine {
			if rs, err := st.Status(ctx, id); err == nil && rs.Status == "sent" && !slices.ContainsFunc(got, func(m chat.Message) bool { return m.SourceID == id }) {
				sent++ // relayed by a concurrent call
				got = append(got, chat.Message{SourceID: id, ConversationKey: key})
			}
		}
		if len(c.Rows) == 0 {
			time.Sleep(5 * time.Millisecond)
		}
	}
	return got, nil
}
