package relay

import (
	"context"
	"database/sql"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"
)

// maxBodyBytes is relay.max_body_bytes for the instances: low, so that an
// oversized body is cheap to write.
const maxBodyBytes = 1024

// Invalid rows are tagged by sender_name; the value is what last_error
// must contain.
var invalidReasons = map[string]string{
	"bad:empty": "body is empty",
	"bad:json":  "payload is not valid JSON",
	"bad:big":   "over relay.max_body_bytes",
}

var invalidTags = []string{"bad:empty", "bad:json", "bad:big"}

// writerOptions describe a legacy writer's load.
type writerOptions struct {
	Rows          int           // in total
	Conversations int           // conversation_keys conv-000…
	Over          time.Duration // spread the inserts over this long; 0: as fast as possible
	Goroutines    int           // writers; each owns the conversations ≡ its index
	Batch         int           // rows per multi-row INSERT
}

// writer inserts rows as legacy applications would. Every conversation
// belongs to one goroutine, which inserts its rows in order, so a
// conversation's rows have increasing ids. About 1% of the rows are
// invalid, one of the three kinds in invalidReasons in turn.
type writer struct {
	done     chan struct{}
	mu       sync.Mutex
	inserted int
	err      error
	cancel   context.CancelFunc
}

func (b *bundle) startWriter(o writerOptions) *writer {
	b.t.Helper()
	if o.Goroutines == 0 {
		o.Goroutines = 4
	}
	if o.Batch == 0 {
		o.Batch = 20
	}
	if o.Rows%o.Goroutines != 0 || o.Conversations < o.Goroutines {
		b.t.Fatalf("writer: %d rows do not split over %d goroutines", o.Rows, o.Goroutines)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &writer{done: make(chan struct{}), cancel: cancel}
	b.t.Cleanup(func() { cancel(); <-w.done })
	seed := mrand.Uint64()
	b.t.Logf("writer: %d rows into %d conversations over %s (seed %d)", o.Rows, o.Conversations, o.Over, seed)
	var wg sync.WaitGroup
	for g := 0; g < o.Goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.run(ctx, b.db, o, g, seed); err != nil {
				w.mu.Lock()
				if w.err == nil {
					w.err = err
				}
				w.mu.Unlock()
			}
		}()
	}
	go func() { wg.Wait(); close(w.done) }()
	return w
}

func (w *writer) run(ctx context.Context, db *sql.DB, o writerOptions, g int, seed uint64) error {
	rnd := mrand.New(mrand.NewPCG(seed, uint64(g)))
	var convs []int
	for c := g; c < o.Conversations; c += o.Goroutines {
		convs = append(convs, c)
	}
	next := make(map[int]int) // per conversation: rows written
	per := o.Rows / o.Goroutines
	start := time.Now()
	for k := 0; k < per; {
		n := min(o.Batch, per-k)
		var q strings.Builder
		q.WriteString(`INSERT INTO message_sync (conversation_key, body, sender_name, payload) VALUES `)
		args := make([]any, 0, n*4)
		for i := 0; i < n; i, k = i+1, k+1 {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?)")
			c := convs[rnd.IntN(len(convs))]
			key := fmt.Sprintf("conv-%03d", c)
			next[c]++
			var body, sender string
			var payload any
			switch {
			case k%100 == 37:
				sender = invalidTags[(k/100+g)%len(invalidTags)]
				switch sender {
				case "bad:empty":
					body = ""
				case "bad:json":
					body, payload = "order update", `{"order": 42,`
				case "bad:big":
					body = strings.Repeat("x", 2*maxBodyBytes)
				}
			default:
				sender = "ok"
				body = fmt.Sprintf("%s #%d from writer %d", key, next[c], g)
				if k%10 == 3 {
					payload = fmt.Sprintf(`{"n": %d}`, k)
				}
			}
			args = append(args, key, body, sender, payload)
		}
		if _, err := db.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("writer %d: insert: %w", g, err)
		}
		w.mu.Lock()
		w.inserted += n
		w.mu.Unlock()
		if o.Over > 0 {
			// Pacing, not synchronisation: keep to the planned rate.
			due := start.Add(time.Duration(float64(o.Over) * float64(k) / float64(per)))
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Until(due)):
			}
		}
	}
	return nil
}

// Inserted is how many rows the writer has committed so far.
func (w *writer) Inserted() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.inserted
}

// wait waits for the writer to finish and fails the test if it could not
// insert every row.
func (w *writer) wait(t *testing.T, timeout time.Duration, want int) {
	t.Helper()
	select {
	case <-w.done:
	case <-time.After(timeout):
		w.cancel()
		<-w.done
		t.Fatalf("writer did not finish within %s (%d of %d rows)", timeout, w.Inserted(), want)
	}
	if w.err != nil {
		t.Fatalf("writer: %v", w.err)
	}
	if got := w.Inserted(); got != want {
		t.Fatalf("writer inserted %d rows, want %d", got, want)
	}
}
