package chatcore_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/chatstore"
	"github.com/syncd-dev/syncd/chatstore/chatstoretest"
	schema "github.com/syncd-dev/syncd/sql"
)

func TestMain(m *testing.M) {
	if os.Getenv(holdEnv) != "" { // a child of BenchmarkIdleConnections
		os.Exit(holdConnections())
	}
	if os.Getenv(fanoutEnv) != "" { // a child of BenchmarkFanout
		os.Exit(fanoutClients())
	}
	goleak.VerifyTestMain(m)
}

const testSecret = "0123456789abcdef0123456789abcdef-test"

// bundle is one running Core behind an httptest server.
type bundle struct {
	core  *chatcore.Core
	srv   *httptest.Server
	db    *gorm.DB
	store *chatstore.DB
	ctx   context.Context
}

type setupOpts struct {
	dialect string // default SQLite
	db      *gorm.DB
	mutate  func(*chatcore.Options)
}

// setup starts a Core on a fresh database (or o.db) and stops it at
// cleanup, checking that Run returns.
func setup(t testing.TB, o setupOpts) *bundle {
	t.Helper()
	db := o.db
	if db == nil {
		if o.dialect == "" {
			o.dialect = schema.SQLite
		}
		db = chatstoretest.Open(t, o.dialect)
	}
	st, err := chatstore.New(db)
	if err != nil {
		t.Fatal(err)
	}
	opts := chatcore.Options{
		DB:            st,
		SessionSecret: []byte(testSecret),
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		SweepInterval: 200 * time.Millisecond,
		SweepLookback: 2 * time.Second,
	}
	if testing.Verbose() {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	if o.mutate != nil {
		o.mutate(&opts)
	}
	core, err := chatcore.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- core.Run(ctx) }()
	srv := httptest.NewServer(core.Handler())
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("Run did not return after cancel")
		}
		srv.Close()
	})
	return &bundle{core: core, srv: srv, db: db, store: st, ctx: context.Background()}
}

// addAgent creates an agent with a cheap bcrypt hash (tests only).
func (b *bundle) addAgent(t testing.TB, name, password string) {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.store.CreateAgent(b.ctx, name, string(h)); err != nil {
		t.Fatal(err)
	}
}

// client is an HTTP client with a cookie jar, logged in or not.
type client struct {
	t    testing.TB
	b    *bundle
	http *http.Client
}

func (b *bundle) client(t testing.TB) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, b: b, http: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

// login creates an agent and returns a client logged in as it.
func (b *bundle) login(t testing.TB, name string) *client {
	t.Helper()
	b.addAgent(t, name, name+"-password")
	c := b.client(t)
	res := c.do("POST", "/api/login", map[string]string{"username": name, "password": name + "-password"}, nil)
	if res.status != 200 {
		t.Fatalf("login %s: %d %s", name, res.status, res.body)
	}
	return c
}

type response struct {
	status int
	body   string
	header http.Header
}

func (r response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
}

// do sends a request; body is JSON-encoded unless it is a string; hdr adds
// headers.
func (c *client) do(method, path string, body any, hdr map[string]string) response {
	c.t.Helper()
	var rd io.Reader
	ctype := ""
	switch v := body.(type) {
	case nil:
	case string:
		rd, ctype = strings.NewReader(v), "application/x-www-form-urlencoded"
	default:
		raw, _ := json.Marshal(v)
		rd, ctype = strings.NewReader(string(raw)), "application/json"
	}
	req, err := http.NewRequest(method, c.b.srv.URL+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, body: string(raw), header: res.Header}
}

func (c *client) cookieHeader() string {
	u, _ := url.Parse(c.b.srv.URL)
	var parts []string
	for _, ck := range c.http.Jar.Cookies(u) {
		parts = append(parts, ck.Name+"="+ck.Value)
	}
	return strings.Join(parts, "; ")
}

// wsURL is the server's /ws address.
func (b *bundle) wsURL() string { return "ws" + strings.TrimPrefix(b.srv.URL, "http") + "/ws" }

// dial opens the client's WebSocket, reads the hello frame and starts
// reading frames in the background.
func (c *client) dial() *wsClient {
	c.t.Helper()
	w := c.dialWith(websocket.DefaultDialer)
	w.start()
	return w
}

// dialWith opens a WebSocket and reads the hello frame; nothing reads after
// it until start is called.
func (c *client) dialWith(d *websocket.Dialer) *wsClient {
	c.t.Helper()
	ws, res, err := d.Dial(c.b.wsURL(), http.Header{"Cookie": {c.cookieHeader()}})
	if err != nil {
		st := 0
		if res != nil {
			st = res.StatusCode
		}
		c.t.Fatalf("dial ws: %v (status %d)", err, st)
	}
	w := newWSClient(c.t, ws)
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, data, err := ws.ReadMessage()
	if err != nil || !strings.Contains(string(data), `"type":"hello"`) {
		c.t.Fatalf("first frame %s, %v; want hello", data, err)
	}
	_ = ws.SetReadDeadline(time.Time{})
	return w
}

// wsClient is a test's WebSocket. Once started, one goroutine reads every
// frame into a channel (gorilla connections cannot be read again after a
// read deadline passes, so tests wait on the channel instead).
type wsClient struct {
	t      testing.TB
	ws     *websocket.Conn
	frames chan serverFrame
	done   chan struct{} // closed when the reader stops; err says why
	err    error
}

func newWSClient(t testing.TB, ws *websocket.Conn) *wsClient {
	w := &wsClient{t: t, ws: ws}
	t.Cleanup(func() {
		ws.Close()
		if w.done != nil {
			<-w.done
		}
	})
	return w
}

func (w *wsClient) start() {
	w.frames = make(chan serverFrame, 1<<16)
	w.done = make(chan struct{})
	go func() {
		defer close(w.done)
		for {
			_, data, err := w.ws.ReadMessage()
			if err != nil {
				w.err = err
				return
			}
			f := serverFrame{at: time.Now()}
			if err := json.Unmarshal(data, &f); err != nil {
				w.err = err
				return
			}
			w.frames <- f
		}
	}()
}

// serverFrame is any frame the server sends.
type serverFrame struct {
	Type         string          `json:"type"`
	Username     string          `json:"username"`
	Instance     string          `json:"instance"`
	Message      json.RawMessage `json:"message"`
	Conversation json.RawMessage `json:"conversation"`
	// typing frames
	ConversationKey string `json:"conversation_key"`
	Typing          bool   `json:"typing"`
	ExpiresInMS     int64  `json:"expires_in_ms"`
	at              time.Time
}

type wireMessage struct {
	ID              int64  `json:"id"`
	ConversationKey string `json:"conversation_key"`
	Seq             int64  `json:"seq"`
	SenderType      string `json:"sender_type"`
	SenderName      string `json:"sender_name"`
	Body            string `json:"body"`
	ClientID        string `json:"client_id"`
}

type wireConversation struct {
	Key         string       `json:"conversation_key"`
	State       string       `json:"state"`
	Assignee    *string      `json:"assignee"`
	LastSeq     int64        `json:"last_seq"`
	ReadSeq     int64        `json:"read_seq"`
	Unread      int64        `json:"unread"`
	LastMessage *wireMessage `json:"last_message"`
}

func (f serverFrame) message(t testing.TB) wireMessage {
	var m wireMessage
	if err := json.Unmarshal(f.Message, &m); err != nil {
		t.Fatalf("message frame: %v", err)
	}
	return m
}

func (f serverFrame) conversation(t testing.TB) wireConversation {
	var c wireConversation
	if len(f.Conversation) == 0 {
		return c
	}
	if err := json.Unmarshal(f.Conversation, &c); err != nil {
		t.Fatalf("conversation frame: %v", err)
	}
	return c
}

var errNoFrame = errors.New("no frame in time")

// read returns the next frame, waiting at most d.
func (w *wsClient) read(d time.Duration) (serverFrame, error) {
	select {
	case f := <-w.frames:
		return f, nil
	default:
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case f := <-w.frames:
		return f, nil
	case <-w.done:
		select {
		case f := <-w.frames:
			return f, nil
		default:
			return serverFrame{}, w.err
		}
	case <-t.C:
		return serverFrame{}, errNoFrame
	}
}

// next reads one frame within d.
func (w *wsClient) next(d time.Duration) serverFrame {
	w.t.Helper()
	f, err := w.read(d)
	if err != nil {
		w.t.Fatalf("read frame: %v", err)
	}
	return f
}

// await reads frames until ok accepts one, within d.
func (w *wsClient) await(d time.Duration, ok func(serverFrame) bool) serverFrame {
	w.t.Helper()
	deadline := time.Now().Add(d)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			w.t.Fatalf("no matching frame within %v", d)
		}
		f, err := w.read(left)
		if err != nil {
			w.t.Fatalf("waiting for a frame: %v", err)
		}
		if ok(f) {
			return f
		}
	}
}

// closeCode waits until the connection ends and returns its close code
// (1006 when it ended without a close frame).
func (w *wsClient) closeCode(d time.Duration) int {
	w.t.Helper()
	if w.frames == nil {
		w.start()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-w.frames:
			continue
		case <-w.done:
			var ce *websocket.CloseError
			if errors.As(w.err, &ce) {
				return ce.Code
			}
			return websocket.CloseAbnormalClosure
		case <-t.C:
			w.t.Fatalf("connection still open after %v", d)
			return 0
		}
	}
}

// eventually polls cond until it holds, or fails after d.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
