package webhook

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/testdb"
	"github.com/syncd-dev/syncd/lock"
)

const secret = "test-secret-of-at-least-32-chars!"

// receiver records what it is sent and answers with answer(n), n counting
// requests from 1.
type receiver struct {
	mu     sync.Mutex
	got    []request
	answer func(n int, w http.ResponseWriter, r *http.Request)
}

type request struct {
	header http.Header
	body   []byte
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.got = append(rc.got, request{r.Header.Clone(), body})
	n := len(rc.got)
	rc.mu.Unlock()
	if rc.answer != nil {
		rc.answer(n, w, r)
	}
}

func (rc *receiver) requests() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]request(nil), rc.got...)
}

func setup(t *testing.T, url string, tweak func(*Options)) (*testdb.DB, *Worker) {
	t.Helper()
	db := testdb.New(t, "sqlite")
	o := Options{Store: db.Store, Locker: lock.NewLocal(), Instance: "test", URL: url, Secret: secret,
		Timeout: 2 * time.Second, MaxAttempts: 5, BackoffBase: time.Millisecond, BackoffMax: 2 * time.Millisecond,
		Lease: time.Minute, BatchSize: 10, Interval: 10 * time.Millisecond}
	if tweak != nil {
		tweak(&o)
	}
	w, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return db, w
}

func addReply(t *testing.T, db *testdb.DB, body string) int64 {
	t.Helper()
	if _, err := db.Raw.Exec(`INSERT INTO message_reply (conversation_key, body, author_type, author_name, in_reply_to, chat_message_id, delivery_status)
VALUES ('order-1', ?, 'agent', 'alice', 7, 9, 'pending')`, body); err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := db.Raw.QueryRow(`SELECT MAX(id) FROM message_reply`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func state(t *testing.T, db *testdb.DB, id int64) (delivery string, attempts int, lastError string) {
	t.Helper()
	if err := db.Raw.QueryRow(`SELECT delivery_status, COALESCE(attempts, 0), COALESCE(last_error, '') FROM message_reply WHERE id = ?`, id).
		Scan(&delivery, &attempts, &lastError); err != nil {
		t.Fatal(err)
	}
	return
}

// roundsUntil runs rounds until the reply leaves pending (a retry waits
// for its backoff of a few milliseconds), at most 200.
func roundsUntil(t *testing.T, db *testdb.DB, w *Worker, id int64) string {
	t.Helper()
	for range 200 {
		w.round(context.Background())
		if s, _, _ := state(t, db, id); s != "pending" {
			return s
		}
		time.Sleep(3 * time.Millisecond)
	}
	s, _, _ := state(t, db, id)
	return s
}

func TestDeliveredSignedOnce(t *testing.T) {
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	db, w := setup(t, srv.URL+"/hook", nil)
	id := addReply(t, db, "Your parcel left today.")
	if s := roundsUntil(t, db, w, id); s != "delivered" {
		t.Fatalf("delivery_status %q, want delivered", s)
	}
	w.round(context.Background())
	got := rc.requests()
	if len(got) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(got))
	}
	r := got[0]
	if err := Verify([]byte(secret), r.header.Get(HeaderSignature), r.body, time.Now(), 5*time.Minute); err != nil {
		t.Errorf("signature: %v", err)
	}
	if err := Verify([]byte("another secret"), r.header.Get(HeaderSignature), r.body, time.Now(), 5*time.Minute); err == nil {
		t.Error("signature verified with the wrong secret")
	}
	if err := Verify([]byte(secret), r.header.Get(HeaderSignature), append(r.body, ' '), time.Now(), 5*time.Minute); err == nil {
		t.Error("signature verified for another body")
	}
	if err := Verify([]byte(secret), r.header.Get(HeaderSignature), r.body, time.Now().Add(time.Hour), 5*time.Minute); err == nil {
		t.Error("an hour-old signature verified: replays are not refused")
	}
	if r.header.Get(HeaderDelivery) != strconv.FormatInt(id, 10) || r.header.Get(HeaderAttempt) != "1" ||
		r.header.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", r.header)
	}
	var p Payload
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatal(err)
	}
	if p.ID != id || p.Type != "reply" || p.ConversationKey != "order-1" || p.Body != "Your parcel left today." ||
		p.AuthorType != "agent" || p.AuthorName != "alice" || p.InReplyTo == nil || *p.InReplyTo != 7 || p.ChatMessageID != 9 || p.CreatedAt.IsZero() {
		t.Errorf("payload %+v", p)
	}
	var status string
	if err := db.Raw.QueryRow(`SELECT status FROM message_reply WHERE id = ?`, id).Scan(&status); err != nil || status != "pending" {
		t.Errorf("legacy status %q, %v: webhook delivery must leave it to the legacy application", status, err)
	}
}

// 5xx, 429 and 408 are retried (with the same delivery id and a growing
// attempt); the reply is delivered when the receiver is back.
func TestServerErrorsRetried(t *testing.T) {
	codes := []int{503, 429, 408, 500}
	rc := &receiver{answer: func(n int, w http.ResponseWriter, _ *http.Request) {
		if n <= len(codes) {
			w.WriteHeader(codes[n-1])
		}
	}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	db, w := setup(t, srv.URL, func(o *Options) { o.MaxAttempts = 10 })
	id := addReply(t, db, "hello")
	if s := roundsUntil(t, db, w, id); s != "delivered" {
		t.Fatalf("delivery_status %q, want delivered", s)
	}
	got := rc.requests()
	if len(got) != len(codes)+1 {
		t.Fatalf("receiver got %d requests, want %d", len(got), len(codes)+1)
	}
	for i, r := range got {
		if r.header.Get(HeaderDelivery) != strconv.FormatInt(id, 10) || r.header.Get(HeaderAttempt) != strconv.Itoa(i+1) {
			t.Errorf("request %d: delivery %q attempt %q", i+1, r.header.Get(HeaderDelivery), r.header.Get(HeaderAttempt))
		}
	}
	if _, attempts, _ := state(t, db, id); attempts != len(codes)+1 {
		t.Errorf("attempts %d, want %d", attempts, len(codes)+1)
	}
}

// Another 4xx is the receiver's final word: failed at once, with its answer.
func TestClientErrorIsPermanent(t *testing.T) {
	rc := &receiver{answer: func(_ int, w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "unknown conversation", http.StatusUnprocessableEntity)
	}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	db, w := setup(t, srv.URL, nil)
	id := addReply(t, db, "hello")
	if s := roundsUntil(t, db, w, id); s != "failed" {
		t.Fatalf("delivery_status %q, want failed", s)
	}
	w.round(context.Background())
	_, attempts, lastError := state(t, db, id)
	if n := len(rc.requests()); n != 1 || attempts != 1 {
		t.Errorf("%d requests, %d attempts; want 1 of each", n, attempts)
	}
	if !strings.Contains(lastError, "422") || !strings.Contains(lastError, "unknown conversation") || !strings.Contains(lastError, "not retried") {
		t.Errorf("last_error %q does not give the answer", lastError)
	}
}

// A receiver that always fails gets webhook.max_attempts POSTs, then the
// reply is failed with the last error.
func TestGivesUpAfterMaxAttempts(t *testing.T) {
	rc := &receiver{answer: func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(502) }}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	db, w := setup(t, srv.URL, func(o *Options) { o.MaxAttempts = 3 })
	id := addReply(t, db, "hello")
	if s := roundsUntil(t, db, w, id); s != "failed" {
		t.Fatalf("delivery_status %q, want failed", s)
	}
	_, attempts, lastError := state(t, db, id)
	if n := len(rc.requests()); n != 3 || attempts != 3 || !strings.Contains(lastError, "gave up after 3 attempts") {
		t.Errorf("%d requests, %d attempts, last_error %q; want 3, 3, gave up", n, attempts, lastError)
	}
}

// A receiver that does not answer within webhook.timeout is retried.
func TestTimeoutRetried(t *testing.T) {
	rc := &receiver{answer: func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			<-r.Context().Done() // hangs until syncd gives up
		}
	}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	db, w := setup(t, srv.URL, func(o *Options) { o.Timeout = 200 * time.Millisecond; o.Lease = time.Second })
	id := addReply(t, db, "hello")
	w.round(context.Background())
	s, attempts, lastError := state(t, db, id)
	if s != "pending" || attempts != 1 || !strings.Contains(lastError, "webhook.timeout") {
		t.Fatalf("after a timeout: %s, %d attempts, %q; want pending, 1, a timeout", s, attempts, lastError)
	}
	if s := roundsUntil(t, db, w, id); s != "delivered" {
		t.Errorf("delivery_status %q, want delivered", s)
	}
}

// While the receiver is down one POST per round probes it; the other
// replies are released without an attempt counted.
func TestOutageProbesWithOneReply(t *testing.T) {
	rc := &receiver{answer: func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) }}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	db, w := setup(t, srv.URL, nil)
	a, b := addReply(t, db, "one"), addReply(t, db, "two")
	w.round(context.Background())
	if n := len(rc.requests()); n != 1 {
		t.Errorf("one round in an outage sent %d requests, want 1", n)
	}
	if _, attempts, _ := state(t, db, a); attempts != 1 {
		t.Errorf("first reply: %d attempts, want 1", attempts)
	}
	if s, attempts, _ := state(t, db, b); s != "pending" || attempts != 0 {
		t.Errorf("second reply: %s with %d attempts, want pending with 0", s, attempts)
	}
}

// A redirect to another host is not followed: the signed reply goes only
// where the operator said.
func TestRedirectToAnotherHostRefused(t *testing.T) {
	elsewhere := &receiver{}
	other := httptest.NewServer(elsewhere)
	defer other.Close()
	rc := &receiver{answer: func(_ int, w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, strings.Replace(other.URL, "127.0.0.1", "localhost", 1), http.StatusTemporaryRedirect)
	}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	db, w := setup(t, srv.URL, nil)
	id := addReply(t, db, "hello")
	if s := roundsUntil(t, db, w, id); s != "failed" {
		t.Fatalf("delivery_status %q, want failed", s)
	}
	if n := len(elsewhere.requests()); n != 0 {
		t.Errorf("the other host got %d requests", n)
	}
	if _, _, lastError := state(t, db, id); !strings.Contains(lastError, "another host") {
		t.Errorf("last_error %q", lastError)
	}
}

// Two workers with locks of their own (as if the lock were lost) still
// deliver each reply once: the claim excludes them from each other.
func TestTwoWorkersDeliverEachReplyOnce(t *testing.T) {
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	db, w1 := setup(t, srv.URL, func(o *Options) { o.BatchSize = 3 })
	o2 := w1.o
	o2.Locker, o2.Instance = lock.NewLocal(), "other"
	w2, err := New(o2)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for i := range 40 {
		ids = append(ids, addReply(t, db, "reply "+strconv.Itoa(i)))
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, w := range []*Worker{w1, w2} {
		wg.Add(1)
		go func() { defer wg.Done(); w.Run(ctx) }()
	}
	for range 1000 {
		if n, err := db.Store.DeliveryBacklog(ctx); err == nil && n == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	wg.Wait() // Run returns once its context ends
	seen := map[string]int{}
	for _, r := range rc.requests() {
		seen[r.header.Get(HeaderDelivery)]++
	}
	for _, id := range ids {
		if n := seen[strconv.FormatInt(id, 10)]; n != 1 {
			t.Errorf("reply %d delivered %d times, want once", id, n)
		}
	}
}

func TestBackoffGrows(t *testing.T) {
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 10: time.Minute} {
		d := Backoff(attempt, time.Second, time.Minute)
		if d < want/2 || d > want {
			t.Errorf("Backoff(%d) = %s, want within [%s, %s]", attempt, d, want/2, want)
		}
	}
}

// Stopping while a POST hangs cancels it and releases the reply, with no
// attempt counted, for the next holder.
func TestStopReleasesTheReplyInFlight(t *testing.T) {
	inFlight := make(chan struct{})
	rc := &receiver{answer: func(_ int, w http.ResponseWriter, r *http.Request) {
		close(inFlight)
		<-r.Context().Done()
	}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	db, w := setup(t, srv.URL, func(o *Options) { o.Timeout = time.Minute; o.Lease = 5 * time.Minute })
	id := addReply(t, db, "hello")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	<-inFlight
	cancel()
	<-done
	if s, attempts, _ := state(t, db, id); s != "pending" || attempts != 0 {
		t.Errorf("after a stop mid-POST: %s with %d attempts, want pending with 0", s, attempts)
	}
}
