package store_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/testdb"
	"github.com/syncd-dev/syncd/store"
)

func insertReply(t *testing.T, db *testdb.DB, key, body string, delivery any) int64 {
	t.Helper()
	ctx := context.Background()
	if _, err := db.Raw.ExecContext(ctx, `INSERT INTO message_reply (conversation_key, body, author_type, author_name, delivery_status)
VALUES (?, ?, 'agent', 'alice', ?)`, key, body, delivery); err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := db.Raw.QueryRowContext(ctx, `SELECT MAX(id) FROM message_reply`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

type replyState struct {
	Status, Delivery     string
	Attempts             int
	LastError            sql.NullString
	Delivered, NextRetry bool
	Token                sql.NullString
}

func readReply(t *testing.T, db *testdb.DB, id int64) replyState {
	t.Helper()
	var r replyState
	var delivery sql.NullString
	if err := db.Raw.QueryRowContext(context.Background(), `SELECT status, delivery_status, COALESCE(attempts, 0), last_error,
  delivered_at IS NOT NULL, next_attempt_at IS NOT NULL, claim_token FROM message_reply WHERE id = ?`, id).
		Scan(&r.Status, &delivery, &r.Attempts, &r.LastError, &r.Delivered, &r.NextRetry, &r.Token); err != nil {
		t.Fatal(err)
	}
	r.Delivery = delivery.String
	return r
}

// Two claimers never hold the same reply; results are written only under
// the token that still holds the row; the legacy status is never touched.
func TestDeliveryClaimAndFencedResult(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.AllDialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := testdb.New(t, dialect)
			st := db.Store
			old := insertReply(t, db, "k", "written before 0016", nil)
			a := insertReply(t, db, "k", "one", "pending")
			b := insertReply(t, db, "k", "two", "pending")
			c := insertReply(t, db, "j", "three", "pending")

			first, err := st.ClaimDeliveries(ctx, "i1", 10, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, r := range first.Replies {
				got = append(got, r.ID)
			}
			if len(got) != 3 || got[0] != a || got[1] != b || got[2] != c {
				t.Fatalf("first claim got %v, want [%d %d %d] (not %d, written before webhooks)", got, a, b, c, old)
			}
			if r := first.Replies[0]; r.Body != "one" || r.ConversationKey != "k" || r.AuthorType != "agent" || r.AuthorName != "alice" || r.CreatedAt.IsZero() {
				t.Errorf("claimed reply read back as %+v", r)
			}
			second, err := st.ClaimDeliveries(ctx, "i2", 10, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if len(second.Replies) != 0 {
				t.Fatalf("a second claimer got %d replies held by the first", len(second.Replies))
			}
			if n, err := st.DeliveryBacklog(ctx); err != nil || n != 3 {
				t.Errorf("backlog %d, %v; want 3", n, err)
			}

			if err := st.FinishDelivery(ctx, first, a, store.DeliveryResult{Delivered: true}); err != nil {
				t.Fatal(err)
			}
			if err := st.FinishDelivery(ctx, first, a, store.DeliveryResult{Delivered: true}); !errors.Is(err, store.ErrDeliveryLost) {
				t.Errorf("second write-back of a delivered reply: %v, want ErrDeliveryLost", err)
			}
			if err := st.FinishDelivery(ctx, second, b, store.DeliveryResult{Delivered: true}); !errors.Is(err, store.ErrDeliveryLost) {
				t.Errorf("write-back under another claim's token: %v, want ErrDeliveryLost", err)
			}
			retryAt := time.Now().Add(time.Hour)
			if err := st.FinishDelivery(ctx, first, b, store.DeliveryResult{Error: "503 Service Unavailable", RetryAt: retryAt}); err != nil {
				t.Fatal(err)
			}
			if err := st.FinishDelivery(ctx, first, c, store.DeliveryResult{Error: "400 Bad Request"}); err != nil {
				t.Fatal(err)
			}
			want := map[int64]replyState{
				a:   {Status: "pending", Delivery: "delivered", Attempts: 1, Delivered: true},
				b:   {Status: "pending", Delivery: "pending", Attempts: 1, NextRetry: true, LastError: sql.NullString{String: "503 Service Unavailable", Valid: true}},
				c:   {Status: "pending", Delivery: "failed", Attempts: 1, LastError: sql.NullString{String: "400 Bad Request", Valid: true}},
				old: {Status: "pending"},
			}
			for id, w := range want {
				if r := readReply(t, db, id); r != w {
					t.Errorf("reply %d: %+v, want %+v", id, r, w)
				}
			}
			// b waits for its retry.
			if again, err := st.ClaimDeliveries(ctx, "i2", 10, time.Minute); err != nil || len(again.Replies) != 0 {
				t.Errorf("claim before the retry is due: %v, %v; want nothing", again, err)
			}
			if n, err := st.DeliveryBacklog(ctx); err != nil || n != 1 {
				t.Errorf("backlog %d, %v; want 1 (the retry)", n, err)
			}
		})
	}
}

// A claim whose lease ran out (its holder died) is taken back and claimed
// again; the dead holder's late write-back changes nothing. Release returns
// rows not POSTed without counting an attempt.
func TestDeliveryTakeBackAndRelease(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.AllDialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := testdb.New(t, dialect)
			st := db.Store
			a := insertReply(t, db, "k", "one", "pending")
			b := insertReply(t, db, "k", "two", "pending")

			// A lease already over: its holder is as good as dead.
			dead, err := st.ClaimDeliveries(ctx, "dead", 10, -time.Second)
			if err != nil || len(dead.Replies) != 2 {
				t.Fatalf("claim: %v, %v", dead, err)
			}
			live, err := st.ClaimDeliveries(ctx, "live", 10, time.Minute)
			if err != nil || len(live.Replies) != 0 {
				t.Fatalf("claim of held rows before the take-back: %v, %v", live, err)
			}
			if n, err := st.TakeBackDeliveries(ctx); err != nil || n != 2 {
				t.Fatalf("take back: %d, %v; want 2", n, err)
			}
			if n, err := st.TakeBackDeliveries(ctx); err != nil || n != 0 {
				t.Errorf("second take back: %d, %v; want 0", n, err)
			}
			live, err = st.ClaimDeliveries(ctx, "live", 10, time.Minute)
			if err != nil || len(live.Replies) != 2 {
				t.Fatalf("claim after the take-back: %v, %v", live, err)
			}
			if err := st.FinishDelivery(ctx, dead, a, store.DeliveryResult{Delivered: true}); !errors.Is(err, store.ErrDeliveryLost) {
				t.Errorf("dead holder's write-back: %v, want ErrDeliveryLost", err)
			}
			if r := readReply(t, db, a); r.Delivery != "processing" || r.LastError.String != "delivery claim abandoned: its lease ran out before the result was written (the instance died or stalled); delivered again" {
				t.Errorf("taken-back reply: %+v", r)
			}
			// A lease that is not over is not taken back.
			if n, err := st.TakeBackDeliveries(ctx); err != nil || n != 0 {
				t.Errorf("take back of a live claim: %d, %v; want 0", n, err)
			}
			if n, err := st.ReleaseDeliveries(ctx, live, []int64{b}); err != nil || n != 1 {
				t.Fatalf("release: %d, %v", n, err)
			}
			if r := readReply(t, db, b); r.Delivery != "pending" || r.Attempts != 0 || r.Token.Valid {
				t.Errorf("released reply: %+v, want pending with no attempt counted and no token", r)
			}
			if n, err := st.ReleaseDeliveries(ctx, dead, []int64{a}); err != nil || n != 0 {
				t.Errorf("release under a lost token: %d, %v; want 0", n, err)
			}
		})
	}
}
