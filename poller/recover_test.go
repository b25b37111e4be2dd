package poller

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/syncd-dev/syncd/bridge"
	"github.com/syncd-dev/syncd/chat"
	"github.com/syncd-dev/syncd/internal/testdb"
	"github.com/syncd-dev/syncd/lock"
	"github.com/syncd-dev/syncd/store"
)

// faultyStore is the real store whose Commit fails on demand, as a database
// error would.
type faultyStore struct {
	*store.Store
	failBatch error         // returned by the first commit of the whole claim
	failRows  map[int64]int // relayed row → how many of its commits fail
	failAll   bool          // every commit after the batch fails
	commits   int
}

func (f *faultyStore) Commit(ctx context.Context, c *store.Claim, out store.Outcome) ([]chat.Message, error) {
	f.commits++
	if f.commits == 1 && f.failBatch != nil {
		return nil, f.failBatch
	}
	if f.failAll && len(out.Relayed) > 0 {
		return nil, errors.New("injected: connection refused")
	}
	for _, r := range out.Relayed {
		if f.failRows[r.Message.SourceID] > 0 {
			f.failRows[r.Message.SourceID]--
			return nil, fmt.Errorf("injected: row %d rejected", r.Message.SourceID)
		}
	}
	return f.Store.Commit(ctx, c, out)
}

type rowState struct {
	Status   string
	Attempts int
	Retry    bool // next_attempt_at is set
}

// TestRecover drives Poller.relay into recover, the path after a batch
// commit fails, on a real SQLite store. The claim holds five rows:
// conv-a's two, then one each of conv-b, conv-c and conv-d.
func TestRecover(t *testing.T) {
	injected := errors.New("injected: deadlock found when trying to get lock")
	sent, held := rowState{"sent", 0, false}, rowState{"pending", 0, false}
	retry := rowState{"pending", 1, true}
	for _, tc := range []struct {
		name        string
		store       func(ids []int64) *faultyStore
		maxAttempts int
		wantErr     bool
		wantCommits int // including the failed batch commit
		want        []rowState
		claimsLost  float64
	}{
		{
			name:        "every row commits on its own",
			store:       func([]int64) *faultyStore { return &faultyStore{failBatch: injected} },
			wantCommits: 6, // the batch, then each row
			want:        []rowState{sent, sent, sent, sent, sent},
		},
		{
			name: "a bad row waits for a retry and holds back its conversation",
			store: func(ids []int64) *faultyStore {
				return &faultyStore{failBatch: injected, failRows: map[int64]int{ids[0]: 1}}
			},
			wantErr: true,
			// the batch, conv-a's first (fails), the three others, then
			// one commit scheduling the retry and releasing conv-a's second
			wantCommits: 6,
			want:        []rowState{retry, held, sent, sent, sent},
		},
		{
			name: "a row out of attempts fails for good",
			store: func(ids []int64) *faultyStore {
				return &faultyStore{failBatch: injected, failRows: map[int64]int{ids[2]: 1}}
			},
			maxAttempts: 1,
			wantErr:     true,
			wantCommits: 7,
			want:        []rowState{sent, sent, {"failed", 0, false}, sent, sent},
		},
		{
			name:    "after three failures in a row it stops trying: an outage",
			store:   func([]int64) *faultyStore { return &faultyStore{failBatch: injected, failAll: true} },
			wantErr: true,
			// the batch, conv-a's first, conv-b and conv-c (three failures;
			// conv-a's second is held without a try), then the retry
			// commit: conv-d is scheduled without being tried
			wantCommits: 5,
			want:        []rowState{retry, held, retry, retry, retry},
		},
		{
			name: "a lost claim is left to its new owner",
			store: func([]int64) *faultyStore {
				return &faultyStore{failBatch: fmt.Errorf("write back sent: %w", store.ErrClaimLost)}
			},
			wantErr:     true,
			wantCommits: 1,
			want: []rowState{{"processing", 0, false}, {"processing", 0, false}, {"processing", 0, false},
				{"processing", 0, false}, {"processing", 0, false}},
			claimsLost: 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := testdb.New(t, "sqlite")
			var ids []int64
			for _, key := range []string{"conv-a", "conv-a", "conv-b", "conv-c", "conv-d"} {
				ids = append(ids, db.Insert(t, key, "hello"))
			}
			fs := tc.store(ids)
			fs.Store = db.Store
			m := NewMetrics(prometheus.NewRegistry())
			p, err := New(Options{Store: fs, Locker: lock.NewLocal(), Converter: bridge.New(bridge.Options{}),
				Metrics: m, MaxAttempts: tc.maxAttempts, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			c, err := db.Store.Claim(ctx, store.Shard{Index: 0, Count: 1}, "test", 10, time.Minute)
			if err != nil || len(c.Rows) != len(ids) {
				t.Fatalf("claim: %d rows, %v", len(c.Rows), err)
			}
			for i, r := range c.Rows {
				if r.ID != ids[i] {
					t.Fatalf("claimed rows %+v, want ids %v in order", c.Rows, ids)
				}
			}
			err = p.relay(ctx, p.log, c)
			if (err != nil) != tc.wantErr {
				t.Fatalf("relay returned %v, want an error: %v", err, tc.wantErr)
			}
			if fs.commits != tc.wantCommits {
				t.Errorf("%d commits, want %d", fs.commits, tc.wantCommits)
			}
			for i, id := range ids {
				var got rowState
				var next *string
				if err := db.Raw.QueryRow(`SELECT status, attempts, next_attempt_at FROM message_sync WHERE id = ?`, id).
					Scan(&got.Status, &got.Attempts, &next); err != nil {
					t.Fatal(err)
				}
				got.Retry = next != nil
				if got != tc.want[i] {
					t.Errorf("row %d (%s): %+v, want %+v", i, c.Rows[i].ConversationKey, got, tc.want[i])
				}
			}
			if n := testutil.ToFloat64(m.ClaimsLost); n != tc.claimsLost {
				t.Errorf("claims lost counted %v, want %v", n, tc.claimsLost)
			}
		})
	}
}
