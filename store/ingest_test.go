package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/syncd-dev/syncd/internal/testdb"
	"github.com/syncd-dev/syncd/store"
)

// The HTTP ingest's write: one row per source_ref, however often and
// however concurrently it is sent, before and after the row is relayed;
// RowState then reads the row's status as the relay left it.
func TestInsertOnceAndRowState(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		ctx := context.Background()
		row := store.NewRow{ConversationKey: "order-1001", Body: "Where is my parcel?", SenderName: "Ann",
			Payload: `{"order_id":1001}`, SourceRef: "api:shop:req-1"}
		id, created, err := db.Store.InsertOnce(ctx, row)
		if err != nil || !created || id == 0 {
			t.Fatalf("first InsertOnce: id %d, created %v, %v; want a new row", id, created, err)
		}
		st, err := db.Store.RowState(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if st.Status != "pending" || st.SourceRef != "api:shop:req-1" || st.Kind != "message" || st.CreatedAt.IsZero() || !st.ProcessedAt.IsZero() {
			t.Errorf("new row's state %+v; want pending, its source_ref, kind message, a created_at and no processed_at", st)
		}

		// Concurrent repeats (a client that timed out and retried at once)
		// all find the first row.
		var wg sync.WaitGroup
		ids := make([]int64, 8)
		errs := make([]error, 8)
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var c bool
				ids[i], c, errs[i] = db.Store.InsertOnce(ctx, row)
				if c {
					errs[i] = errors.New("a repeat made a new row")
				}
			}()
		}
		wg.Wait()
		for i := range ids {
			if errs[i] != nil || ids[i] != id {
				t.Errorf("repeat %d: id %d, %v; want %d", i, ids[i], errs[i], id)
			}
		}

		c := claim(t, db.Store, 10)
		if len(c.Rows) != 1 {
			t.Fatalf("claimed %d rows, want 1", len(c.Rows))
		}
		if _, err := db.Store.Commit(ctx, c, relayAll(c)); err != nil {
			t.Fatal(err)
		}
		if again, created, err := db.Store.InsertOnce(ctx, row); err != nil || created || again != id {
			t.Errorf("repeat after relay: id %d, created %v, %v; want %d, not created", again, created, err, id)
		}
		st, err = db.Store.RowState(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if st.Status != "sent" || st.ProcessedAt.IsZero() || st.Attempts != 0 {
			t.Errorf("relayed row's state %+v; want sent with a processed_at", st)
		}

		// Another reference is another row; an event keeps its kind.
		other, created, err := db.Store.InsertOnce(ctx, store.NewRow{ConversationKey: "order-1001", Body: "order_created",
			Kind: "order_created", Payload: `{}`, SourceRef: "api:shop:req-2"})
		if err != nil || !created || other == id {
			t.Fatalf("second reference: id %d, created %v, %v; want a new row", other, created, err)
		}
		if st, err := db.Store.RowState(ctx, other); err != nil || st.Kind != "order_created" {
			t.Errorf("event row's state %+v, %v; want kind order_created", st, err)
		}
		if _, err := db.Store.RowState(ctx, other+100); !errors.Is(err, store.ErrNoRow) {
			t.Errorf("RowState of a missing row: %v, want ErrNoRow", err)
		}
		var n int
		if err := db.Raw.QueryRowContext(ctx, `SELECT COUNT(*) FROM message_sync`).Scan(&n); err != nil || n != 2 {
			t.Errorf("%d rows (%v), want 2", n, err)
		}
		if _, _, err := db.Store.InsertOnce(ctx, store.NewRow{ConversationKey: "k", Body: "b"}); err == nil {
			t.Error("InsertOnce without a source_ref succeeded")
		}
	})
}

// API keys: found by hash, listed, revoked once, names never reused.
func TestAPIKeys(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		ctx := context.Background()
		hash := "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4"
		k, err := db.Store.AddAPIKey(ctx, store.APIKey{Name: "shop", Hash: hash, Prefix: "sk_syncd_ab", Scope: "ingest"})
		if err != nil || k.ID == 0 {
			t.Fatalf("AddAPIKey: %+v, %v", k, err)
		}
		if _, err := db.Store.AddAPIKey(ctx, store.APIKey{Name: "shop", Hash: hash[1:] + "0", Prefix: "x", Scope: "ingest"}); !errors.Is(err, store.ErrAPIKeyExists) {
			t.Errorf("second key named shop: %v, want ErrAPIKeyExists", err)
		}
		got, err := db.Store.APIKeyByHash(ctx, hash)
		if err != nil || got.Name != "shop" || got.Scope != "ingest" || got.Revoked() || got.CreatedAt.IsZero() {
			t.Fatalf("APIKeyByHash: %+v, %v", got, err)
		}
		if _, err := db.Store.APIKeyByHash(ctx, hash[1:]+"0"); !errors.Is(err, store.ErrNoAPIKey) {
			t.Errorf("unknown hash: %v, want ErrNoAPIKey", err)
		}
		if was, err := db.Store.RevokeAPIKey(ctx, "shop"); err != nil || !was {
			t.Fatalf("revoke: %v, %v", was, err)
		}
		if was, err := db.Store.RevokeAPIKey(ctx, "shop"); err != nil || was {
			t.Errorf("second revoke: %v, %v; want false, nil", was, err)
		}
		if _, err := db.Store.RevokeAPIKey(ctx, "nobody"); !errors.Is(err, store.ErrNoAPIKey) {
			t.Errorf("revoke of an unknown name: %v, want ErrNoAPIKey", err)
		}
		if got, err := db.Store.APIKeyByHash(ctx, hash); err != nil || !got.Revoked() {
			t.Errorf("revoked key: %+v, %v; want revoked", got, err)
		}
		if _, err := db.Store.AddAPIKey(ctx, store.APIKey{Name: "shop", Hash: hash[2:] + "00", Prefix: "x", Scope: "ingest"}); !errors.Is(err, store.ErrAPIKeyExists) {
			t.Errorf("a new key with a revoked key's name: %v, want ErrAPIKeyExists", err)
		}
		list, err := db.Store.APIKeys(ctx)
		if err != nil || len(list) != 1 || list[0].Name != "shop" || !list[0].Revoked() {
			t.Errorf("APIKeys: %+v, %v", list, err)
		}
	})
}
