package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/syncd-dev/syncd/bridge"
	"github.com/syncd-dev/syncd/ingest"
	"github.com/syncd-dev/syncd/internal/testdb"
	"github.com/syncd-dev/syncd/store"
)

// fixture is the API over a real (SQLite) store, with a clock the test
// moves.
type fixture struct {
	t   *testing.T
	db  *testdb.DB
	h   *ingest.Handler
	mu  sync.Mutex
	now time.Time
}

func newFixture(t *testing.T, o ingest.Options) *fixture {
	t.Helper()
	f := &fixture{t: t, db: testdb.New(t, "sqlite"), now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	o.Keys, o.Rows = f.db.Store, f.db.Store
	o.Validator = bridge.New(bridge.Options{MaxBodyBytes: o.MaxBodyBytes, MaxPayloadBytes: o.MaxPayloadBytes})
	o.Now = func() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	h, err := ingest.New(o)
	if err != nil {
		t.Fatal(err)
	}
	f.h = h
	return f
}

func (f *fixture) advance(d time.Duration) { f.mu.Lock(); f.now = f.now.Add(d); f.mu.Unlock() }

// key adds a key and returns its secret.
func (f *fixture) key(name, scope string) string {
	f.t.Helper()
	key, hash, prefix, err := ingest.NewKey()
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.db.Store.AddAPIKey(context.Background(), store.APIKey{Name: name, Hash: hash, Prefix: prefix, Scope: scope}); err != nil {
		f.t.Fatal(err)
	}
	return key
}

type answer struct {
	code   int
	header http.Header
	body   map[string]any
}

func (a answer) err() string { s, _ := a.body["error"].(string); return s }

func (f *fixture) do(method, path, key string, body string, hdr ...string) answer {
	f.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	a := answer{code: rec.Code, header: rec.Header()}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		f.t.Errorf("%s %s: Content-Type %q, want JSON", method, path, ct)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &a.body); err != nil {
		f.t.Errorf("%s %s: answer is not a JSON object: %q", method, path, rec.Body.String())
	}
	return a
}

func (f *fixture) rows() int {
	f.t.Helper()
	var n int
	if err := f.db.Raw.QueryRow(`SELECT COUNT(*) FROM message_sync`).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

const msg = `{"conversation_key":"order-1001","body":"Where is my parcel?","sender_name":"Ann","payload":{"order_id":1001}}`

func TestAuthentication(t *testing.T) {
	f := newFixture(t, ingest.Options{})
	good := f.key("shop", ingest.Scope)
	other := f.key("reports", "reports")

	a := f.do("POST", "/api/v1/messages", "", msg)
	if a.code != 401 || !strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Bearer") || !strings.Contains(a.err(), "missing API key") {
		t.Errorf("no key: %d %v %q; want 401 with WWW-Authenticate: Bearer", a.code, a.header.Get("WWW-Authenticate"), a.err())
	}
	for name, token := range map[string]string{
		"not a key":     "hunter2",
		"unknown key":   ingest.KeyPrefix + strings.Repeat("A", 43),
		"key with tail": good + "x",
	} {
		if a := f.do("POST", "/api/v1/messages", token, msg); a.code != 401 {
			t.Errorf("%s: %d %q; want 401", name, a.code, a.err())
		}
	}
	req := httptest.NewRequest("POST", "/api/v1/messages", strings.NewReader(msg))
	req.Header.Set("Authorization", "Basic "+good)
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	if rec.Code != 401 {
		t.Errorf("the key as Basic credentials: %d, want 401", rec.Code)
	}
	if a := f.do("POST", "/api/v1/messages", other, msg); a.code != 403 || !strings.Contains(a.err(), `scope "reports"`) {
		t.Errorf("a key of another scope: %d %q; want 403 naming its scope", a.code, a.err())
	}
	if a := f.do("POST", "/api/v1/messages", good, msg); a.code != 201 {
		t.Fatalf("good key: %d %q; want 201", a.code, a.err())
	}
	if n := f.rows(); n != 1 {
		t.Errorf("%d rows, want 1: refused requests write nothing", n)
	}
}

// A revoked key is refused once the cache's time has passed, on an
// instance that had just used it; with no cache, at once.
func TestRevokedKey(t *testing.T) {
	f := newFixture(t, ingest.Options{KeyCache: 2 * time.Second})
	key := f.key("shop", ingest.Scope)
	if a := f.do("POST", "/api/v1/messages", key, msg); a.code != 201 {
		t.Fatalf("before revoke: %d %q", a.code, a.err())
	}
	if _, err := f.db.Store.RevokeAPIKey(context.Background(), "shop"); err != nil {
		t.Fatal(err)
	}
	f.advance(2 * time.Second)
	if a := f.do("POST", "/api/v1/messages", key, msg); a.code != 401 || a.err() != "API key revoked" {
		t.Errorf("after revoke and key_cache: %d %q; want 401 API key revoked", a.code, a.err())
	}
	if a := f.do("GET", "/api/v1/messages/1", key, ""); a.code != 401 {
		t.Errorf("GET with a revoked key: %d, want 401", a.code)
	}

	g := newFixture(t, ingest.Options{})
	key = g.key("shop", ingest.Scope)
	if a := g.do("POST", "/api/v1/messages", key, msg); a.code != 201 {
		t.Fatalf("before revoke: %d %q", a.code, a.err())
	}
	if _, err := g.db.Store.RevokeAPIKey(context.Background(), "shop"); err != nil {
		t.Fatal(err)
	}
	if a := g.do("POST", "/api/v1/messages", key, msg); a.code != 401 {
		t.Errorf("after revoke without a cache: %d, want 401", a.code)
	}
}

func TestTooBig(t *testing.T) {
	f := newFixture(t, ingest.Options{MaxBodyBytes: 1000, MaxPayloadBytes: 1000})
	key := f.key("shop", ingest.Scope)
	limit := ingest.MaxRequest(1000, 1000)
	huge := fmt.Sprintf(`{"conversation_key":"k","body":%q}`, strings.Repeat("x", int(limit)))
	if a := f.do("POST", "/api/v1/messages", key, huge); a.code != 413 {
		t.Errorf("declared too big: %d %q; want 413", a.code, a.err())
	}
	// The same without Content-Length (chunked): cut at the limit.
	req := httptest.NewRequest("POST", "/api/v1/messages", io.MultiReader(strings.NewReader(huge)))
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	if rec.Code != 413 {
		t.Errorf("chunked too big: %d %s; want 413", rec.Code, rec.Body)
	}
	// Within the request bound but over relay.max_body_bytes: the relay's reason.
	a := f.do("POST", "/api/v1/messages", key, fmt.Sprintf(`{"conversation_key":"k","body":%q}`, strings.Repeat("x", 1001)))
	if a.code != 422 || a.err() != "invalid row: body is 1001 bytes, over relay.max_body_bytes (1000)" {
		t.Errorf("body over the limit: %d %q", a.code, a.err())
	}
	if n := f.rows(); n != 0 {
		t.Errorf("%d rows, want 0", n)
	}
}

// A request the relay would fail gets 422 with the reason the relay gives
// the same row as a legacy INSERT (its last_error), and no row.
func TestInvalidGetsTheRelaysReason(t *testing.T) {
	f := newFixture(t, ingest.Options{MaxBodyBytes: 100, MaxPayloadBytes: 50})
	key := f.key("shop", ingest.Scope)
	cases := []struct {
		path string
		req  map[string]any
		row  store.NewRow // the same as a legacy writer's row
	}{
		{"/api/v1/messages", map[string]any{"conversation_key": "k", "body": "  "}, store.NewRow{ConversationKey: "k", Body: "  "}},
		{"/api/v1/messages", map[string]any{"conversation_key": "", "body": "hi"}, store.NewRow{ConversationKey: "", Body: "hi"}},
		{"/api/v1/messages", map[string]any{"conversation_key": "a\tb", "body": "hi"}, store.NewRow{ConversationKey: "a\tb", Body: "hi"}},
		{"/api/v1/messages", map[string]any{"conversation_key": "..", "body": "hi"}, store.NewRow{ConversationKey: "..", Body: "hi"}},
		{"/api/v1/messages", map[string]any{"conversation_key": strings.Repeat("é", 192), "body": "hi"}, store.NewRow{ConversationKey: strings.Repeat("é", 192), Body: "hi"}},
		{"/api/v1/messages", map[string]any{"conversation_key": "k", "body": "hi", "sender_name": strings.Repeat("n", 192)}, store.NewRow{ConversationKey: "k", Body: "hi", SenderName: strings.Repeat("n", 192)}},
		{"/api/v1/messages", map[string]any{"conversation_key": "k", "body": "hi", "payload": map[string]string{"x": strings.Repeat("p", 60)}},
			store.NewRow{ConversationKey: "k", Body: "hi", Payload: `{"x":"` + strings.Repeat("p", 60) + `"}`}},
		{"/api/v1/events", map[string]any{"conversation_key": "k", "kind": strings.Repeat("e", 65), "payload": map[string]int{"order_id": 1}},
			store.NewRow{ConversationKey: "k", Body: strings.Repeat("e", 65), Kind: strings.Repeat("e", 65), Payload: `{"order_id":1}`}},
		{"/api/v1/events", map[string]any{"conversation_key": "k", "kind": "   ", "payload": 1}, store.NewRow{ConversationKey: "k", Body: "   ", Kind: "   ", Payload: "1"}},
	}
	ctx := context.Background()
	for i, c := range cases {
		body, _ := json.Marshal(c.req)
		a := f.do("POST", c.path, key, string(body))
		if a.code != 422 || !strings.HasPrefix(a.err(), "invalid row: ") {
			t.Errorf("case %d: %d %q; want 422 invalid row: …", i, a.code, a.err())
			continue
		}
		// What the relay says of the same row written by a legacy writer.
		id, err := f.db.Store.Insert(ctx, c.row)
		if err != nil {
			t.Fatal(err)
		}
		st, err := f.db.Store.Claim(ctx, store.Shard{Index: 0, Count: 1}, "test", 10, time.Minute)
		if err != nil || len(st.Rows) != 1 {
			t.Fatalf("case %d: claim: %v", i, err)
		}
		v := bridge.New(bridge.Options{MaxBodyBytes: 100, MaxPayloadBytes: 50})
		out := v.Convert(ctx, st.Rows)
		if len(out.Failed) != 1 || out.Failed[0].ID != id || out.Failed[0].Reason != a.err() {
			t.Errorf("case %d: the API said %q, the relay %+v", i, a.err(), out.Failed)
		}
		if _, err := f.db.Store.Commit(ctx, st, out); err != nil {
			t.Fatal(err)
		}
	}
	var apiRows int
	if err := f.db.Raw.QueryRow(`SELECT COUNT(*) FROM message_sync WHERE source_ref IS NOT NULL`).Scan(&apiRows); err != nil || apiRows != 0 {
		t.Errorf("%d rows from the API (%v), want 0", apiRows, err)
	}
}

func TestMalformedRequests(t *testing.T) {
	f := newFixture(t, ingest.Options{})
	key := f.key("shop", ingest.Scope)
	for name, c := range map[string]struct {
		path, body string
		code       int
		want       string
	}{
		"not JSON":              {"/api/v1/messages", `{"conversation_key":`, 400, "not the expected JSON"},
		"unknown field":         {"/api/v1/messages", `{"conversation_key":"k","body":"b","kind":"x"}`, 400, "unknown field"},
		"two values":            {"/api/v1/messages", `{"conversation_key":"k","body":"b"} {}`, 400, "more than one"},
		"no key":                {"/api/v1/messages", `{"body":"b"}`, 400, "conversation_key is required"},
		"no body":               {"/api/v1/messages", `{"conversation_key":"k"}`, 400, "body is required"},
		"body a number":         {"/api/v1/messages", `{"conversation_key":"k","body":1}`, 400, "not the expected JSON"},
		"invalid UTF-8":         {"/api/v1/messages", "{\"conversation_key\":\"k\",\"body\":\"\xff\"}", 400, "not valid UTF-8"},
		"event without kind":    {"/api/v1/events", `{"conversation_key":"k","payload":{}}`, 400, "kind is required"},
		"event of kind message": {"/api/v1/events", `{"conversation_key":"k","kind":"message","payload":{}}`, 422, "/api/v1/messages"},
		"event without payload": {"/api/v1/events", `{"conversation_key":"k","kind":"order_created"}`, 400, "payload is required"},
		"event with sender":     {"/api/v1/events", `{"conversation_key":"k","kind":"x","payload":{},"sender_name":"a"}`, 400, "unknown field"},
	} {
		if a := f.do("POST", c.path, key, c.body); a.code != c.code || !strings.Contains(a.err(), c.want) {
			t.Errorf("%s: %d %q; want %d with %q", name, a.code, a.err(), c.code, c.want)
		}
	}
	a := f.do("POST", "/api/v1/messages", key, "")
	if a.code != 415 {
		t.Errorf("no Content-Type: %d, want 415", a.code)
	}
	if a := f.do("PUT", "/api/v1/messages", key, msg); a.code != 405 || a.header.Get("Allow") != "POST" {
		t.Errorf("PUT: %d Allow %q; want 405 Allow POST", a.code, a.header.Get("Allow"))
	}
	if a := f.do("GET", "/api/v1/nothing", key, ""); a.code != 404 {
		t.Errorf("unknown route: %d, want 404", a.code)
	}
	for _, bad := range []string{"", strings.Repeat("i", ingest.MaxIdempotencyKey+1), "has space", "naïve"} {
		if a := f.do("POST", "/api/v1/messages", key, msg, "Idempotency-Key", bad); a.code != 400 || !strings.Contains(a.err(), "Idempotency-Key") {
			t.Errorf("Idempotency-Key %q: %d %q; want 400", bad, a.code, a.err())
		}
	}
	if n := f.rows(); n != 0 {
		t.Errorf("%d rows, want 0", n)
	}
}

func TestRateLimit(t *testing.T) {
	reg := prometheus.NewRegistry()
	f := newFixture(t, ingest.Options{Rate: 1, Burst: 2, Metrics: ingest.NewMetrics(reg)})
	shop, crm := f.key("shop", ingest.Scope), f.key("crm", ingest.Scope)
	for i := 0; i < 2; i++ {
		if a := f.do("POST", "/api/v1/messages", shop, msg); a.code != 201 {
			t.Fatalf("request %d within the burst: %d %q", i, a.code, a.err())
		}
	}
	a := f.do("POST", "/api/v1/messages", shop, msg)
	if a.code != 429 || a.header.Get("Retry-After") != "1" || !strings.Contains(a.err(), "rate limit") {
		t.Errorf("over the burst: %d Retry-After %q %q; want 429 Retry-After 1", a.code, a.header.Get("Retry-After"), a.err())
	}
	if a := f.do("POST", "/api/v1/messages", crm, msg); a.code != 201 {
		t.Errorf("another key: %d, want 201: buckets are per key", a.code)
	}
	f.advance(time.Second)
	if a := f.do("POST", "/api/v1/messages", shop, msg); a.code != 201 {
		t.Errorf("a second later: %d, want 201", a.code)
	}
	if n := f.rows(); n != 4 {
		t.Errorf("%d rows, want 4: the refused request wrote none", n)
	}
	want := `
# HELP syncd_ingest_requests_total HTTP ingest API requests by route (messages, events, status, other) and status code.
# TYPE syncd_ingest_requests_total counter
syncd_ingest_requests_total{code="201",route="messages"} 4
syncd_ingest_requests_total{code="429",route="messages"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "syncd_ingest_requests_total"); err != nil {
		t.Error(err)
	}
}

func TestIdempotencyAndStatus(t *testing.T) {
	f := newFixture(t, ingest.Options{})
	shop, crm := f.key("shop", ingest.Scope), f.key("crm", ingest.Scope)
	first := f.do("POST", "/api/v1/messages", shop, msg, "Idempotency-Key", "order-1001-msg-1")
	if first.code != 201 || first.body["status"] != "pending" {
		t.Fatalf("first: %d %v", first.code, first.body)
	}
	id := first.body["id"].(float64)
	if loc := first.header.Get("Location"); loc != fmt.Sprintf("/api/v1/messages/%d", int64(id)) {
		t.Errorf("Location %q", loc)
	}
	again := f.do("POST", "/api/v1/messages", shop, msg, "Idempotency-Key", "order-1001-msg-1")
	if again.code != 200 || again.body["id"] != id {
		t.Errorf("repeat: %d %v; want 200 with id %v", again.code, again.body, id)
	}
	// The same Idempotency-Key from another key is that key's own.
	if a := f.do("POST", "/api/v1/messages", crm, msg, "Idempotency-Key", "order-1001-msg-1"); a.code != 201 || a.body["id"] == id {
		t.Errorf("same Idempotency-Key, other API key: %d %v; want a row of its own", a.code, a.body)
	}
	// Without the header every request is a row of its own.
	for i := 0; i < 2; i++ {
		if a := f.do("POST", "/api/v1/events", shop, `{"conversation_key":"order-1001","kind":"order_created","payload":{"order_id":1001}}`); a.code != 201 {
			t.Errorf("event %d: %d %q", i, a.code, a.err())
		}
	}
	var refs []string
	rows, err := f.db.Raw.Query(`SELECT source_ref FROM message_sync ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var r string
		_ = rows.Scan(&r)
		refs = append(refs, r)
	}
	rows.Close()
	if len(refs) != 4 || refs[0] != "api:shop:order-1001-msg-1" || refs[1] != "api:crm:order-1001-msg-1" ||
		!strings.HasPrefix(refs[2], "api:shop:") || refs[2] == refs[3] {
		t.Errorf("source_refs %q", refs)
	}

	path := fmt.Sprintf("/api/v1/messages/%d", int64(id))
	st := f.do("GET", path, shop, "")
	if st.code != 200 || st.body["status"] != "pending" || st.body["attempts"] != 0.0 || st.body["created_at"] == nil ||
		st.body["processed_at"] != nil || st.body["kind"] != "message" {
		t.Errorf("GET: %d %v", st.code, st.body)
	}
	if a := f.do("GET", path, crm, ""); a.code != 404 {
		t.Errorf("GET of another key's row: %d, want 404", a.code)
	}
	legacy, err := f.db.Store.Insert(context.Background(), store.NewRow{ConversationKey: "k", Body: "legacy"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fmt.Sprintf("/api/v1/messages/%d", legacy), "/api/v1/messages/999", "/api/v1/messages/x", "/api/v1/messages/-1"} {
		if a := f.do("GET", p, shop, ""); a.code != 404 {
			t.Errorf("GET %s: %d, want 404", p, a.code)
		}
	}
}

// An event without a body is stored with its kind as the body, which the
// relay requires and agents see.
func TestEventBodyDefaultsToKind(t *testing.T) {
	f := newFixture(t, ingest.Options{})
	key := f.key("shop", ingest.Scope)
	a := f.do("POST", "/api/v1/events", key, `{"conversation_key":"order-1001","kind":"order_created","payload":{"order_id":1001}}`)
	if a.code != 201 {
		t.Fatalf("%d %q", a.code, a.err())
	}
	var body, kind, payload string
	if err := f.db.Raw.QueryRow(`SELECT body, kind, payload FROM message_sync`).Scan(&body, &kind, &payload); err != nil {
		t.Fatal(err)
	}
	if body != "order_created" || kind != "order_created" || !bytes.Equal([]byte(payload), []byte(`{"order_id":1001}`)) {
		t.Errorf("row: body %q kind %q payload %q", body, kind, payload)
	}
}

// While the database cannot be reached the API answers 503 with
// Retry-After (never 500, never a row half-written): the client retries
// with the same Idempotency-Key.
func TestDatabaseDown(t *testing.T) {
	f := newFixture(t, ingest.Options{KeyCache: time.Minute})
	key := f.key("shop", ingest.Scope)
	if a := f.do("POST", "/api/v1/messages", key, msg); a.code != 201 {
		t.Fatalf("%d %q", a.code, a.err())
	}
	f.db.Store.Close()
	// The key is cached: the write itself fails.
	if a := f.do("POST", "/api/v1/messages", key, msg, "Idempotency-Key", "k1"); a.code != 503 || a.header.Get("Retry-After") != "1" ||
		!strings.Contains(a.err(), "same Idempotency-Key") {
		t.Errorf("write with the database closed: %d %v %q; want 503 with Retry-After", a.code, a.header, a.err())
	}
	if a := f.do("GET", "/api/v1/messages/1", key, ""); a.code != 503 {
		t.Errorf("GET with the database closed: %d, want 503", a.code)
	}
	// A key not cached cannot be checked.
	f.advance(time.Minute)
	if a := f.do("POST", "/api/v1/messages", key, msg); a.code != 503 || a.header.Get("Retry-After") != "1" {
		t.Errorf("key lookup with the database closed: %d %q; want 503", a.code, a.err())
	}
}
