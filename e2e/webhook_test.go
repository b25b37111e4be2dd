package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/webhook"
)

// webhookReceiver is the business system's endpoint: it checks every
// request's signature, answers 503 while down, and counts the replies it
// accepted by Syncd-Delivery.
type webhookReceiver struct {
	t        *testing.T
	secret   []byte
	down     atomic.Bool
	mu       sync.Mutex
	accepted map[int64]int
	bodies   map[int64]webhook.Payload
	refused  int // POSTs answered 503 during the outage
	badSig   int
}

func (rc *webhookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err := webhook.Verify(rc.secret, r.Header.Get("Syncd-Signature"), body, time.Now(), 5*time.Minute); err != nil {
		rc.badSig++
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if rc.down.Load() {
		rc.refused++
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	id, err := strconv.ParseInt(r.Header.Get("Syncd-Delivery"), 10, 64)
	var p webhook.Payload
	if err != nil || json.Unmarshal(body, &p) != nil || p.ID != id {
		rc.t.Errorf("delivery %q with body %s", r.Header.Get("Syncd-Delivery"), body)
		http.Error(w, "bad delivery", http.StatusBadRequest)
		return
	}
	rc.accepted[id]++
	rc.bodies[id] = p
}

func (rc *webhookReceiver) snapshot() (accepted map[int64]int, refused, badSig int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	accepted = make(map[int64]int, len(rc.accepted))
	for k, v := range rc.accepted {
		accepted[k] = v
	}
	return accepted, rc.refused, rc.badSig
}

// agentClient is alice logged in to one instance's console API.
type agentClient struct {
	t   *testing.T
	url string
	c   *http.Client
}

func loginAgent(t *testing.T, in *instance) *agentClient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	a := &agentClient{t: t, url: in.URL(), c: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
	a.post("/api/login", map[string]string{"username": "alice", "password": agentPassword})
	return a
}

func (a *agentClient) post(path string, v any) {
	a.t.Helper()
	body, _ := json.Marshal(v)
	resp, err := a.c.Post(a.url+path, "application/json", bytes.NewReader(body))
	if err != nil {
		a.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		out, _ := io.ReadAll(resp.Body)
		a.t.Fatalf("POST %s: %s %s", path, resp.Status, out)
	}
}

// TestWebhookDeliversEachReplyOnce: agents reply through two instances;
// the receiver verifies every signature and accepts each reply exactly
// once, across a 30 s outage of the receiver (503) during which the
// instance delivering stops and the other takes over. The legacy status
// stays the legacy application's.
func TestWebhookDeliversEachReplyOnce(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, 13, "")
	secret := randHex(16)
	rc := &webhookReceiver{t: t, secret: []byte(secret), accepted: map[int64]int{}, bodies: map[int64]webhook.Payload{}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	hook := []string{"SYNCD_WEBHOOK_URL=" + srv.URL + "/syncd/replies", "SYNCD_WEBHOOK_SECRET=" + secret,
		"SYNCD_WEBHOOK_TIMEOUT=2s", "SYNCD_WEBHOOK_LEASE=10s", "SYNCD_WEBHOOK_BACKOFF_BASE=200ms", "SYNCD_WEBHOOK_BACKOFF_MAX=2s",
		"SYNCD_WEBHOOK_MAX_ATTEMPTS=1000", "SYNCD_WEBHOOK_INTERVAL=200ms", "SYNCD_WEBHOOK_BATCH_SIZE=4",
		"SYNCD_POLLER_SCHEDULE=@every 200ms"}
	ins := []*instance{d.start("e2e-hook-a-"+randHex(3), hook...), d.start("e2e-hook-b-"+randHex(3), hook...)}
	agents := []*agentClient{loginAgent(t, ins[0]), loginAgent(t, ins[1])}

	const convs = 6
	keys := make([]string, convs)
	for i := range keys {
		keys[i] = "order-" + randHex(4)
		d.insert(keys[i], "Where is my parcel?")
	}
	eventually(t, 30*time.Second, "the conversations relayed", func() (bool, error) {
		var n int
		err := d.db.QueryRow(`SELECT COUNT(*) FROM conversations`).Scan(&n)
		return n == convs, err
	})
	reply := func(round int) {
		for i, key := range keys {
			agents[i%2].post("/api/conversations/"+key+"/replies",
				map[string]string{"body": fmt.Sprintf("Answer %d to %s", round, key), "client_id": fmt.Sprintf("c-%d-%d", round, i)})
		}
	}
	delivered := func(want int) func() (bool, error) {
		return func() (bool, error) {
			var n int
			err := d.db.QueryRow(`SELECT COUNT(*) FROM message_reply WHERE delivery_status = 'delivered'`).Scan(&n)
			return n == want, err
		}
	}

	reply(1)
	eventually(t, 30*time.Second, "the first replies delivered", delivered(convs))

	// The receiver goes down; replies keep coming through both instances.
	rc.down.Store(true)
	reply(2)
	eventually(t, 30*time.Second, "the receiver refusing deliveries", func() (bool, error) {
		_, refused, _ := rc.snapshot()
		return refused > 0, nil
	})
	// The instance that holds the webhook lock stops mid-outage; the other
	// takes over (its claims are released at shutdown, or taken back).
	var holder string
	eventually(t, 30*time.Second, "a delivery retried", func() (bool, error) {
		err := d.db.QueryRow(`SELECT COALESCE(MAX(claimed_by), '') FROM message_reply WHERE delivery_status = 'pending' AND attempts > 0`).Scan(&holder)
		return holder != "", err
	})
	survivor := 0
	for i, in := range ins {
		if in.name == holder {
			in.stop()
			survivor = 1 - i
		}
	}
	for i, key := range keys {
		agents[survivor].post("/api/conversations/"+key+"/replies",
			map[string]string{"body": fmt.Sprintf("Answer 3 to %s", key), "client_id": fmt.Sprintf("c-3-%d", i)})
	}
	time.Sleep(30 * time.Second) // the outage lasts 30 s
	rc.down.Store(false)

	eventually(t, 60*time.Second, "every reply delivered", delivered(3*convs))
	accepted, refused, badSig := rc.snapshot()
	if badSig != 0 {
		t.Errorf("%d requests with a signature that does not verify", badSig)
	}
	if refused == 0 {
		t.Error("the receiver refused nothing: the outage was not seen")
	}
	rows, err := d.db.Query(`SELECT id, status, COALESCE(attempts, 0), delivered_at IS NOT NULL FROM message_reply ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id int64
		var status string
		var attempts int
		var at bool
		if err := rows.Scan(&id, &status, &attempts, &at); err != nil {
			t.Fatal(err)
		}
		n++
		if accepted[id] != 1 {
			t.Errorf("reply %d accepted %d times, want exactly once", id, accepted[id])
		}
		if status != "pending" || attempts < 1 || !at {
			t.Errorf("reply %d: legacy status %q, %d attempts, delivered_at set %v; want pending (the legacy app's), ≥1, true", id, status, attempts, at)
		}
		if p := rc.bodies[id]; p.AuthorType != "agent" || p.AuthorName != "alice" || p.Body == "" || p.InReplyTo == nil {
			t.Errorf("reply %d delivered as %+v", id, p)
		}
	}
	if n != 3*convs || len(accepted) != 3*convs {
		t.Errorf("%d replies in message_reply, %d accepted; want %d", n, len(accepted), 3*convs)
	}
}
