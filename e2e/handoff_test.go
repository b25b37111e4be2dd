package e2e

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestHandOffShownToAgents: a customer who asks for a person gets the bot's
// hand-off answer, and the conversation stays on the agents' queue: the
// list and the header say it asks for a person, the database keeps it
// waiting, and an agent's reply clears the flag.
func TestHandOffShownToAgents(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, 14, "")
	extra := []string{"SYNCD_BOT_ENABLED=true"}
	if lib := os.Getenv("SYNCD_ONNXRUNTIME_LIB"); lib != "" {
		extra = append(extra, "SYNCD_ONNXRUNTIME_LIB="+lib)
	}
	in := d.start("e2e-handoff-"+randHex(3), extra...)
	b := newBrowser(t)
	b.login(in.URL())

	key := "order-" + randHex(4)
	d.insert(key, "I want to talk to a real person please")
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var n int
		err := d.db.QueryRow(`SELECT COUNT(*) FROM message_reply WHERE conversation_key = ? AND author_type = 'bot'`, key).Scan(&n)
		if err == nil && n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no bot reply in message_reply after 30s (err %v, %d rows); is the bot on?", err, n)
		}
	}
	var waiting bool
	var wants bool
	if err := d.db.QueryRow(`SELECT waiting_since IS NOT NULL, wants_agent FROM conversations WHERE conversation_key = ?`, key).Scan(&waiting, &wants); err != nil {
		t.Fatal(err)
	}
	if !waiting || !wants {
		t.Fatalf("after the hand-off reply: waiting=%v wants_agent=%v, want both true", waiting, wants)
	}

	b.openConversation(key)
	b.waitJS(30*time.Second, "the customer's message", hasMessageJS("I want to talk to a real person please"))
	b.waitJS(10*time.Second, "the header to say the customer asks for a person",
		`document.getElementById('conv-status').textContent.includes('Asks for a person')`)
	b.waitJS(10*time.Second, "the list item to say it asks for a person",
		`(document.querySelector('#conv-list .conv[data-key=`+jsString(key)+`]')?.textContent || '').includes('Asks for a person')`)

	b.do(10*time.Second, "type a reply",
		chromedp.Click(chromedp.CSS(`#reply`)),
		chromedp.SendKeys(chromedp.CSS(`#reply`), "Hi, this is Alice."),
	)
	b.do(10*time.Second, "press Enter", pressEnter)
	b.waitJS(20*time.Second, "the header to say an agent answered",
		`document.getElementById('conv-status').textContent.includes('Answered by an agent')`)
	if got := eval[string](b, `document.getElementById('conv-status').textContent`); strings.Contains(got, "Asks for a person") {
		t.Errorf("header still says %q after the agent replied", got)
	}
	if err := d.db.QueryRow(`SELECT waiting_since IS NOT NULL, wants_agent FROM conversations WHERE conversation_key = ?`, key).Scan(&waiting, &wants); err != nil {
		t.Fatal(err)
	}
	if waiting || wants {
		t.Errorf("after the agent's reply: waiting=%v wants_agent=%v, want both false", waiting, wants)
	}
	b.checkPage()
}
