package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// insertAged adds a customer message the legacy application wrote age
// ago (its created_at), so that its wait is that old without the test
// waiting.
func (d *deployment) insertAged(key, body string, age time.Duration) {
	d.t.Helper()
	if _, err := d.db.Exec("INSERT INTO message_sync (conversation_key, body, created_at) VALUES (?, ?, ?)",
		key, body, time.Now().UTC().Add(-age)); err != nil {
		d.t.Fatalf("insert message_sync: %v", err)
	}
}

// slaMarkJS is the text of conversation key's response-time mark when it
// is in the state breached, or "".
func slaMarkJS(key string, breached bool) string {
	return fmt.Sprintf(`(document.querySelector('#conv-list .conv[data-key=%s] .sla[data-breached="%t"]') || {}).textContent || ''`,
		jsString(key), breached)
}

// TestSLAMarksInList: with a first-response target of an hour, the list
// shows the time left on a fresh wait and marks one older than the target
// as overdue, in English and in Chinese.
func TestSLAMarksInList(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, 14, "")
	in := d.start("e2e-sla-"+randHex(3), "SYNCD_CONSOLE_SLA_FIRST_RESPONSE=1h", "SYNCD_CONSOLE_SLA_REPLY=2h")
	fresh, late := "fresh-"+randHex(4), "late-"+randHex(4)
	d.insert(fresh, "Just asking.")
	d.insertAged(late, "Hello? Anyone?", 2*time.Hour)

	// The late wait's breach is counted, once, on /metrics.
	const series = `syncd_console_sla_breaches_total{target="first_response"} `
	eventually(t, 30*time.Second, "the breach on /metrics", func() (bool, error) {
		resp, err := http.Get(in.URL() + "/metrics")
		if err != nil {
			return false, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return strings.Contains(string(body), series+"1\n"), err
	})

	for _, c := range []struct{ lang, left, overdue string }{{"en-US", "left", "Overdue"}, {"zh-CN", "剩余", "已超时"}} {
		t.Run(c.lang, func(t *testing.T) {
			b := newBrowserIn(t, c.lang)
			b.login(in.URL())
			b.waitJS(30*time.Second, "the time left on the fresh wait",
				slaMarkJS(fresh, false)+`.includes(`+jsString(c.left)+`)`)
			b.waitJS(30*time.Second, "the breach mark on the late wait",
				slaMarkJS(late, true)+`.includes(`+jsString(c.overdue)+`)`)
			if eval[bool](b, slaMarkJS(fresh, true)+` !== ''`) {
				t.Error("the fresh wait is marked as a breach")
			}
			b.checkPage()
		})
	}
}

// TestAwayAndAutoAssignment: with auto-assignment on, the Away toggle is
// kept by the server (the database, a reload) and while it is on nothing
// lands in alice's Mine; once off, a new conversation lands there.
func TestAwayAndAutoAssignment(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, 14, "")
	in := d.start("e2e-assign-"+randHex(3), "SYNCD_CONSOLE_ASSIGNMENT_ENABLED=true", "SYNCD_CONSOLE_ASSIGNMENT_CAPACITY=5")
	b := newBrowser(t)
	b.login(in.URL())
	b.waitJS(10*time.Second, "the Away toggle", `!document.getElementById('away-toggle').hidden`)
	b.do(10*time.Second, "switch Away on", chromedp.Click(chromedp.CSS(`#away-toggle`)))
	b.waitJS(10*time.Second, "the toggle pressed", `document.getElementById('away-toggle').getAttribute('aria-pressed') === 'true'`)
	away := func() bool {
		var v bool
		if err := d.db.QueryRow(`SELECT away FROM console_agents WHERE username = 'alice'`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if !away() {
		t.Fatal("console_agents.away is off after the toggle")
	}
	b.do(30*time.Second, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#app-view`)))
	b.waitJS(10*time.Second, "the toggle still pressed after a reload",
		`document.getElementById('away-toggle').getAttribute('aria-pressed') === 'true'`)

	waiting := "waits-" + randHex(4)
	d.insert(waiting, "Hello, while you are away")
	b.waitJS(30*time.Second, "the conversation in the list", `!!document.querySelector('#conv-list .conv[data-key=`+jsString(waiting)+`]')`)
	var assignee string
	if err := d.db.QueryRow(`SELECT COALESCE(assignee, '') FROM conversations WHERE conversation_key = ?`, waiting).Scan(&assignee); err != nil {
		t.Fatal(err)
	}
	if assignee != "" {
		t.Fatalf("%s went to %q while its only agent was away", waiting, assignee)
	}

	b.do(10*time.Second, "switch Away off", chromedp.Click(chromedp.CSS(`#away-toggle`)))
	b.waitJS(10*time.Second, "the toggle released", `document.getElementById('away-toggle').getAttribute('aria-pressed') === 'false'`)
	key := "new-" + randHex(4)
	d.insert(key, "I need help with my order")
	b.do(10*time.Second, "open the Mine tab", chromedp.Click(chromedp.CSS(`#tab-mine`)))
	b.waitJS(30*time.Second, "the new conversation under Mine",
		`!!document.querySelector('#conv-list .conv[data-key=`+jsString(key)+`]')`)
	b.waitJS(30*time.Second, "the one that waited under Mine too",
		`!!document.querySelector('#conv-list .conv[data-key=`+jsString(waiting)+`]')`)
	if away() {
		t.Error("console_agents.away is on after the toggle went off")
	}
	b.checkPage()
}
