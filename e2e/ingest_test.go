package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestHTTPIngest: a system with a key from `syncd apikey add` POSTs a
// message; it reaches a logged-in agent's WebSocket and GET shows it sent.
// The same Idempotency-Key twice makes one row, and after `syncd apikey
// revoke` the key gets 401.
func TestHTTPIngest(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, 11, "")
	in := d.start("e2e-ingest-" + randHex(3))

	out := d.cli(nil, "apikey", "add", "shop")
	key := ""
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "sk_syncd_") {
			key = strings.TrimSpace(line)
		}
	}
	if key == "" {
		t.Fatalf("syncd apikey add printed no key:\n%s", out)
	}
	if list := d.cli(nil, "apikey", "list"); !strings.Contains(list, "shop") || strings.Contains(list, key) {
		t.Errorf("syncd apikey list must name the key and never show it:\n%s", list)
	}
	var stored int
	if err := d.db.QueryRow(`SELECT COUNT(*) FROM api_keys WHERE key_hash = ? OR key_prefix = ?`, key, key).Scan(&stored); err != nil || stored != 0 {
		t.Errorf("the key itself is in api_keys (%d, %v)", stored, err)
	}

	ws := agentSocket(t, in)
	conv := "order-" + randHex(4)
	body := "Where is my parcel? " + randHex(3)
	post := func(idem string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest("POST", in.URL()+"/api/v1/messages",
			strings.NewReader(fmt.Sprintf(`{"conversation_key":%q,"body":%q,"sender_name":"Ann"}`, conv, body)))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		if idem != "" {
			req.Header.Set("Idempotency-Key", idem)
		}
		return doJSON(t, req)
	}
	code, first := post("shop-msg-1")
	if code != 201 {
		t.Fatalf("POST /api/v1/messages: %d %v", code, first)
	}
	id := int64(first["id"].(float64))

	// The agent's socket gets the message.
	_ = ws.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		var f struct {
			Type    string `json:"type"`
			Message struct {
				Body     string `json:"body"`
				SourceID int64  `json:"source_id"`
			} `json:"message"`
		}
		if err := ws.conn.ReadJSON(&f); err != nil {
			t.Fatalf("waiting for the message on the agent's socket: %v", err)
		}
		if f.Type == "message" && f.Message.SourceID == id {
			if f.Message.Body != body {
				t.Errorf("the socket got body %q, want %q", f.Message.Body, body)
			}
			break
		}
	}
	get := func() (int, map[string]any) {
		req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/messages/%d", in.URL(), id), nil)
		req.Header.Set("Authorization", "Bearer "+key)
		return doJSON(t, req)
	}
	eventually(t, 10*time.Second, "GET to show the row sent", func() (bool, error) {
		code, st := get()
		return code == 200 && st["status"] == "sent" && st["processed_at"] != nil, fmt.Errorf("%d %v", code, st)
	})

	// A retry with the same Idempotency-Key finds the first row.
	code, again := post("shop-msg-1")
	if code != 200 || int64(again["id"].(float64)) != id || again["status"] != "sent" {
		t.Errorf("the same Idempotency-Key again: %d %v; want 200 with id %d, sent", code, again, id)
	}
	var rows int
	if err := d.db.QueryRow(`SELECT COUNT(*) FROM message_sync WHERE conversation_key = ?`, conv).Scan(&rows); err != nil || rows != 1 {
		t.Errorf("%d rows of the conversation (%v), want 1", rows, err)
	}

	// The front door: the console's Host check holds for the API, an
	// agent's session cookie is no key, no CORS answer lets a page call it,
	// and a body over the bound is refused before it is read.
	req, _ := http.NewRequest("POST", in.URL()+"/api/v1/messages", strings.NewReader(`{}`))
	req.Host = "evil.example"
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	if code, st := doJSON(t, req); code != 403 || !strings.Contains(fmt.Sprint(st["error"]), "host not allowed") {
		t.Errorf("Host evil.example: %d %v; want 403", code, st)
	}
	req, _ = http.NewRequest("POST", in.URL()+"/api/v1/messages", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", in.URL())
	for _, c := range ws.cookies {
		req.AddCookie(c)
	}
	if code, st := doJSON(t, req); code != 401 {
		t.Errorf("an agent's session instead of a key: %d %v; want 401", code, st)
	}
	req, _ = http.NewRequest("OPTIONS", in.URL()+"/api/v1/messages", nil)
	req.Header.Set("Origin", "https://shop.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization")
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
		if h := resp.Header.Get("Access-Control-Allow-Origin"); h != "" || resp.StatusCode < 400 {
			t.Errorf("CORS preflight: %d, Access-Control-Allow-Origin %q; want a refusal without CORS headers", resp.StatusCode, h)
		}
	}
	req, _ = http.NewRequest("POST", in.URL()+"/api/v1/messages", strings.NewReader(strings.Repeat(" ", 1<<20)))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	if code, st := doJSON(t, req); code != 413 {
		t.Errorf("a 1 MiB body: %d %v; want 413", code, st)
	}

	if out := d.cli(nil, "apikey", "revoke", "shop"); !strings.Contains(out, "revoked") {
		t.Errorf("syncd apikey revoke: %s", out)
	}
	// Refused within ingest.key_cache (2s) on the instance that just used
	// it (asked with GET, which writes nothing, until then).
	eventually(t, 10*time.Second, "the revoked key to get 401", func() (bool, error) {
		code, st := get()
		return code == 401, fmt.Errorf("%d %v", code, st)
	})
	if code, st := post("shop-msg-2"); code != 401 || st["error"] != "API key revoked" {
		t.Errorf("POST with the revoked key: %d %v, want 401 API key revoked", code, st)
	}
	if err := d.db.QueryRow(`SELECT COUNT(*) FROM message_sync WHERE conversation_key = ?`, conv).Scan(&rows); err != nil || rows != 1 {
		t.Errorf("%d rows of the conversation after the revoke (%v), want 1", rows, err)
	}
}

func doJSON(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	var v map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatalf("%s %s: %d, answer not JSON: %v", req.Method, req.URL, resp.StatusCode, err)
	}
	return resp.StatusCode, v
}

// agentWS is alice's console WebSocket and her session cookies.
type agentWS struct {
	conn    *websocket.Conn
	cookies []*http.Cookie
}

// agentSocket logs alice in and opens her console WebSocket; it reads the
// hello frame before returning.
func agentSocket(t *testing.T, in *instance) agentWS {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := client.Post(in.URL()+"/api/login", "application/json",
		strings.NewReader(fmt.Sprintf(`{"username":"alice","password":%q}`, agentPassword)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", in.URL()+"/ws", nil)
	hdr := http.Header{"Origin": {in.URL()}}
	for _, c := range jar.Cookies(req.URL) {
		hdr.Add("Cookie", c.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, resp, err := websocket.DefaultDialer.DialContext(ctx, "ws://"+in.addr+"/ws", hdr)
	if err != nil {
		t.Fatalf("dial /ws: %v (%v)", err, resp)
	}
	t.Cleanup(func() { ws.Close() })
	var hello struct{ Type string }
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	if err := ws.ReadJSON(&hello); err != nil || hello.Type != "hello" {
		t.Fatalf("first frame %+v, %v; want hello", hello, err)
	}
	return agentWS{conn: ws, cookies: jar.Cookies(req.URL)}
}
