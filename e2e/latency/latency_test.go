// Package latency measures the whole path an agent waits on: a legacy
// INSERT, the poller's claim and commit, the chat core's push, and the
// frame arriving on the agent's WebSocket. It runs the real components in
// one process against the machine's MariaDB and PostgreSQL.
package latency

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/crypto/bcrypt"

	"github.com/syncd-dev/syncd/bridge"
	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/chatstore"
	"github.com/syncd-dev/syncd/internal/testdb"
	"github.com/syncd-dev/syncd/lock"
	"github.com/syncd-dev/syncd/poller"
	"github.com/syncd-dev/syncd/store"
)

type stack struct {
	db   *testdb.DB
	ws   *websocket.Conn
	mu   sync.Mutex
	seen map[string]time.Time // body → when it reached the socket
	dups int
}

// start runs a poller on schedule, a chat core and a logged-in agent's
// WebSocket, all stopped at cleanup, on a database of driver; notify
// (PostgreSQL) wakes the poller on each insert. fast is the poller's
// FastInterval (0: its default, negative: the schedule alone); the agent's
// socket is the poller's Attention, as in syncd run.
func start(tb testing.TB, driver, schedule string, notify bool, fast time.Duration) *stack {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &stack{db: testdb.New(tb, driver), seen: map[string]time.Time{}}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cs, err := chatstore.New(s.db.Store.Gorm())
	if err != nil {
		tb.Fatal(err)
	}
	hash, _ := bcrypt.GenerateFromPassword([]byte("bench-password"), bcrypt.MinCost)
	if err := cs.CreateAgent(ctx, "bench", string(hash)); err != nil {
		tb.Fatal(err)
	}
	core, err := chatcore.New(chatcore.Options{DB: cs, Logger: quiet, SessionSecret: []byte(strings.Repeat("s", 32))})
	if err != nil {
		tb.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = core.Run(ctx) }()
	srv := httptest.NewServer(core.Handler())

	p, err := poller.New(poller.Options{
		Store: s.db.Store, Locker: lock.NewLocal(), Converter: bridge.New(bridge.Options{Logger: quiet}),
		Publisher: core, Logger: quiet, Instance: "latency", Schedule: schedule,
		FastInterval: fast, Attention: func() bool { return core.Stats().Connections > 0 },
	})
	if err != nil {
		tb.Fatal(err)
	}
	p.Start(ctx)
	if notify {
		if _, err := s.db.Store.SetNotify(ctx, true); err != nil {
			tb.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = s.db.Store.Listen(ctx, p.Wake, time.Second, store.ListenEvents{})
		}()
	}

	resp, err := http.Post(srv.URL+"/api/login", "application/json", strings.NewReader(`{"username":"bench","password":"bench-password"}`))
	if err != nil || resp.StatusCode != http.StatusOK {
		tb.Fatalf("login: %v %v", resp, err)
	}
	resp.Body.Close()
	hdr := http.Header{"Origin": {srv.URL}}
	for _, c := range resp.Cookies() {
		hdr.Add("Cookie", c.Name+"="+c.Value)
	}
	s.ws, _, err = websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", hdr)
	if err != nil {
		tb.Fatalf("dial /ws: %v", err)
	}
	wg.Add(1)
	go func() { defer wg.Done(); s.read() }()
	tb.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		_ = p.Stop(sctx)
		s.ws.Close()
		_ = core.Close()
		srv.Close()
		cancel()
		wg.Wait()
	})
	return s
}

func (s *stack) read() {
	for {
		_, data, err := s.ws.ReadMessage()
		if err != nil {
			return
		}
		now := time.Now()
		var f struct {
			Type    string `json:"type"`
			Message struct {
				Body string `json:"body"`
			} `json:"message"`
		}
		if json.Unmarshal(data, &f) != nil || f.Type != "message" {
			continue
		}
		s.mu.Lock()
		if _, dup := s.seen[f.Message.Body]; dup {
			s.dups++
		} else {
			s.seen[f.Message.Body] = now
		}
		s.mu.Unlock()
	}
}

// run inserts n rows at a steady pace and returns each one's delay from
// its INSERT's commit (when the row starts to exist for any reader) to its
// arrival on the socket.
func (s *stack) run(tb testing.TB, n int, pace time.Duration) []time.Duration {
	tb.Helper()
	sent := make(map[string]time.Time, n)
	for i := 0; i < n; i++ {
		body := fmt.Sprintf("latency probe %d", i)
		s.db.Insert(tb, fmt.Sprintf("conv-%d", i%10), body)
		sent[body] = time.Now()
		time.Sleep(pace)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		s.mu.Lock()
		got := len(s.seen)
		s.mu.Unlock()
		if got >= n {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%d of %d rows reached the socket", got, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dups > 0 {
		tb.Fatalf("%d messages pushed twice", s.dups)
	}
	out := make([]time.Duration, 0, n)
	for body, t0 := range sent {
		out = append(out, s.seen[body].Sub(t0))
	}
	slices.Sort(out)
	return out
}

func pct(d []time.Duration, p float64) time.Duration { return d[int(float64(len(d)-1)*p)] }

// Every inserted row reaches a logged-in agent's socket exactly once; on
// PostgreSQL with the notification, on a schedule that would not run
// during the test.
func TestInsertReachesSocket(t *testing.T) {
	for _, tc := range []struct {
		name, driver, schedule string
		notify                 bool
	}{
		{"mysql", "mysql", "@every 100ms", false},
		{"postgres", "postgres", "@every 100ms", false},
		{"postgres notify", "postgres", "@every 1h", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, tc.driver, tc.schedule, tc.notify, -1)
			d := s.run(t, 40, 5*time.Millisecond)
			t.Logf("p50 %v, p99 %v (not asserted: see BenchmarkInsertToSocket)", pct(d, 0.5), pct(d, 0.99))
		})
	}
}

// BenchmarkInsertToSocket reports the INSERT → socket delay on MariaDB
// and PostgreSQL with the default configuration (schedule @every 1s with
// adaptive polling: the agent's open console keeps the poller probing
// every 100ms), with the schedule alone (adaptive polling off: what syncd
// did before), and on PostgreSQL with the insert notification. Rows come
// every 20ms, or every 700ms ("sparse", so that each waits for a probe of
// its own). b.N is the number of rows; run it with -benchtime 200x.
func BenchmarkInsertToSocket(b *testing.B) {
	type variant struct {
		name, driver string
		fast         time.Duration
		notify       bool
		pace         time.Duration
	}
	var vs []variant
	for _, d := range []string{"mysql", "postgres"} {
		vs = append(vs,
			variant{d + "/default", d, 0, false, 20 * time.Millisecond},
			variant{d + "/default/sparse", d, 0, false, 700 * time.Millisecond},
			variant{d + "/schedule_only", d, -1, false, 20 * time.Millisecond},
		)
	}
	vs = append(vs, variant{"postgres/notify", "postgres", -1, true, 20 * time.Millisecond})
	for _, v := range vs {
		b.Run(v.name, func(b *testing.B) {
			s := start(b, v.driver, "@every 1s", v.notify, v.fast)
			b.ResetTimer()
			d := s.run(b, b.N, v.pace)
			b.StopTimer()
			b.ReportMetric(float64(pct(d, 0.5).Microseconds())/1000, "p50_ms")
			b.ReportMetric(float64(pct(d, 0.99).Microseconds())/1000, "p99_ms")
			b.ReportMetric(float64(d[len(d)-1].Microseconds())/1000, "max_ms")
		})
	}
}
