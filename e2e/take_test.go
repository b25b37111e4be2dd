package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestReplyTakesConversation: an agent who answers an unassigned
// conversation in the console has taken it, and the console says so: the
// header, a note, the Mine tab and the database agree.
func TestReplyTakesConversation(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, 14, "")
	in := d.start("e2e-take-" + randHex(3))
	b := newBrowser(t)
	b.login(in.URL())

	key := "order-" + randHex(4)
	d.insert(key, "Is anyone there?")
	b.openConversation(key)
	b.waitJS(30*time.Second, "the relayed row", hasMessageJS("Is anyone there?"))
	if got := eval[string](b, `document.getElementById('conv-status').textContent`); !strings.Contains(got, "Unassigned") {
		t.Fatalf("header says %q before the reply, want Unassigned", got)
	}
	if got := eval[string](b, `document.getElementById('reply').placeholder`); !strings.Contains(got, "takes this conversation") {
		t.Errorf("reply box placeholder %q does not say that sending takes the conversation", got)
	}

	b.do(10*time.Second, "type a reply",
		chromedp.Click(chromedp.CSS(`#reply`)),
		chromedp.SendKeys(chromedp.CSS(`#reply`), "Yes, I'm here."),
	)
	b.do(10*time.Second, "press Enter", pressEnter)
	b.waitJS(20*time.Second, "the header to say the conversation is alice's",
		`document.getElementById('conv-status').textContent.includes('Assigned to you')`)
	b.waitJS(5*time.Second, "the note that replying took it",
		`document.getElementById('conv-note').textContent.includes('You took this conversation')`)

	var assignee string
	if err := d.db.QueryRow(`SELECT COALESCE(assignee, '') FROM conversations WHERE conversation_key = ?`, key).Scan(&assignee); err != nil {
		t.Fatal(err)
	}
	if assignee != "alice" {
		t.Errorf("conversations.assignee = %q after alice replied, want alice", assignee)
	}
	b.do(10*time.Second, "open the Mine tab", chromedp.Click(chromedp.CSS(`#tab-mine`)))
	b.waitJS(10*time.Second, "the conversation under Mine",
		`!!document.querySelector('#conv-list .conv[data-key=`+jsString(key)+`]')`)
	b.checkPage()
}
