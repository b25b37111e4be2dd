package e2e

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// loginAs signs an agent in on the console at url.
func (b *browser) loginAs(url, username string) {
	b.t.Helper()
	b.do(30*time.Second, "log in as "+username,
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), username),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), agentPassword),
		chromedp.Click(chromedp.CSS(`#login-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#app-view`)),
	)
	b.waitJS(20*time.Second, "the live connection", `document.getElementById('conn').dataset.state === 'live'`)
}

func (d *deployment) replyRows(key string) []string {
	d.t.Helper()
	rows, err := d.db.Query(`SELECT body FROM message_reply WHERE conversation_key = ? ORDER BY id`, key)
	if err != nil {
		d.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			d.t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// TestNotesAndCannedInConsole: an admin adds a canned reply in the
// console; an agent writes a private note, which is shown apart and never
// reaches message_reply, then types /thanks and gets the canned reply with
// the customer's name and the order's id filled in, sends it, and a reply
// whose placeholder has no value is held back with the field to fill.
func TestNotesAndCannedInConsole(t *testing.T) {
	d := newDeployment(t, 13, "")
	d.cli(nil, "agent", "admin", "alice")
	in := d.start("e2e-notes-" + randHex(3))
	b := newBrowser(t)
	b.login(in.URL())

	key := "order-" + randHex(4)
	if _, err := d.db.Exec(`INSERT INTO message_sync (conversation_key, body, sender_name) VALUES (?, ?, ?)`, key, "Where is my parcel?", "Mei Ling"); err != nil {
		t.Fatal(err)
	}
	d.insertEvent(key, "order_shipped", "Order shipped", `{"order_id": 1001, "carrier": "SF Express"}`)

	// The admin's canned replies.
	b.do(10*time.Second, "open the admin page's canned replies", chromedp.Click(chromedp.CSS(`#btn-admin`)),
		chromedp.Click(chromedp.CSS(`#admin-nav [data-section=canned]`)), chromedp.WaitVisible(chromedp.CSS(`#canned-shortcut`)))
	addCanned := func(shortcut, title, en, zh string) {
		t.Helper()
		b.do(10*time.Second, "fill in /"+shortcut,
			chromedp.SendKeys(chromedp.CSS(`#canned-shortcut`), shortcut),
			chromedp.SendKeys(chromedp.CSS(`#canned-title`), title),
			chromedp.SendKeys(chromedp.CSS(`#canned-text-en`), en),
			chromedp.SendKeys(chromedp.CSS(`#canned-text-zh-CN`), zh),
			chromedp.Click(chromedp.CSS(`#admin-body button[type=submit]`)))
		b.waitJS(10*time.Second, "/"+shortcut+" in the table", `document.querySelector('.canned-table tr[data-shortcut=`+jsString(shortcut)+`]') !== null`)
	}
	addCanned("thanks", "Thank the customer", "Thank you {{.customer_name}}, order {{.order_id}} is on its way with {{.carrier}}.", "谢谢您，{{.customer_name}}！订单 {{.order_id}} 已发货。")
	addCanned("track", "Tracking number", "Your tracking number is {{.tracking_no}}.", "您的运单号是 {{.tracking_no}}。")
	b.docsShot("console-canned-admin.png")
	b.do(10*time.Second, "close the admin page", chromedp.Click(chromedp.CSS(`#admin-close`)))

	b.openConversation(key)
	b.waitJS(30*time.Second, "the customer's message", hasMessageJS("Where is my parcel?"))

	// A private note.
	const note = "VIP: refund approved by finance, do not ask again"
	b.do(10*time.Second, "write a note",
		chromedp.Click(chromedp.CSS(`#note-toggle`)),
		chromedp.Click(chromedp.CSS(`#reply`)),
		chromedp.SendKeys(chromedp.CSS(`#reply`), note))
	b.do(10*time.Second, "press Enter", pressEnter)
	b.waitJS(20*time.Second, "the note in the history", `[...document.querySelectorAll('#messages .msg.private-note .body')].some(e => e.textContent === `+jsString(note)+`)`)
	style := eval[string](b, `(() => {
		const n = document.querySelector('#messages .msg.private-note');
		const bg = getComputedStyle(n.querySelector('.bubble')).backgroundColor;
		const c = getComputedStyle(document.querySelector('#messages .msg.customer .bubble')).backgroundColor;
		return [n.dataset.kind, n.querySelector('.note-tag').textContent, bg === c ? 'same' : 'apart', n.querySelector('.label-ctl') ? 'label' : 'no label'].join('|');
	})()`)
	if style != "note|Private note|apart|no label" {
		t.Errorf("the note is drawn as %q, want kind note, its tag, a colour apart and no label control", style)
	}
	if got := d.replyRows(key); len(got) != 0 {
		t.Fatalf("message_reply after a note: %q, want nothing", got)
	}
	b.do(10*time.Second, "back to replies", chromedp.Click(chromedp.CSS(`#note-toggle`)))

	// /thanks, chosen with the keyboard.
	b.do(10*time.Second, "type /tha", chromedp.Click(chromedp.CSS(`#reply`)), chromedp.SendKeys(chromedp.CSS(`#reply`), "/tha"))
	b.waitJS(10*time.Second, "the suggestion list", `!document.getElementById('canned-list').hidden && document.querySelector('#canned-list [aria-selected=true]')?.dataset.shortcut === 'thanks'`)
	b.do(10*time.Second, "press Enter", pressEnter)
	want := "Thank you Mei Ling, order 1001 is on its way with SF Express."
	b.waitJS(10*time.Second, "the canned reply in the box", `document.getElementById('reply').value === `+jsString(want))
	b.docsShot("console-note-canned.png")
	b.do(10*time.Second, "send it", pressEnter)
	b.waitJS(20*time.Second, "the reply sent", hasMessageJS(want)+` && document.getElementById('reply').value === ''`)

	// /track has nothing to fill {{.tracking_no}} with: it stays, selected,
	// and Enter does not send it.
	b.do(10*time.Second, "type /track", chromedp.SendKeys(chromedp.CSS(`#reply`), "/track"))
	b.waitJS(10*time.Second, "the suggestion list", `document.querySelector('#canned-list [aria-selected=true]')?.dataset.shortcut === 'track'`)
	b.do(10*time.Second, "press Enter", pressEnter)
	b.waitJS(10*time.Second, "the marker selected", `(() => { const r = document.getElementById('reply');
		return r.value === 'Your tracking number is {{.tracking_no}}.' && r.value.slice(r.selectionStart, r.selectionEnd) === '{{.tracking_no}}'; })()`)
	b.do(10*time.Second, "try to send it", pressEnter)
	b.waitJS(10*time.Second, "the hint", `document.getElementById('canned-hint').textContent.includes('tracking_no')`)
	if got := eval[string](b, `document.getElementById('reply').value`); got != "Your tracking number is {{.tracking_no}}." {
		t.Errorf("the reply box after Enter = %q, want the reply held back", got)
	}
	eventually(t, 10*time.Second, "the canned reply in message_reply", func() (bool, error) {
		return len(d.replyRows(key)) == 1, nil
	})
	if got := d.replyRows(key); len(got) != 1 || got[0] != want {
		t.Errorf("message_reply = %q, want only %q (no note, no held-back reply)", got, want)
	}
	b.checkPage()
}

// TestTypingIndicatorInConsole: two agents, one in English and one in
// Chinese, on different instances, have a conversation open; while one
// types the other sees that she is replying, and it clears when she sends
// or stops.
func TestTypingIndicatorInConsole(t *testing.T) {
	d := newDeployment(t, 13, "")
	d.addAgent("bob", agentPassword, false)
	a := d.start("e2e-typing-a-" + randHex(3))
	bIn := d.start("e2e-typing-b-" + randHex(3))
	alice := newBrowser(t)
	alice.login(a.URL())
	bob := newBrowserIn(t, "zh-CN")
	bob.loginAs(bIn.URL(), "bob")

	key := "order-" + randHex(4)
	d.insert(key, "Is anyone there?")
	alice.openConversation(key)
	bob.openConversation(key)
	alice.waitJS(30*time.Second, "the message", hasMessageJS("Is anyone there?"))
	bob.waitJS(30*time.Second, "the message", hasMessageJS("Is anyone there?"))

	typingShown := func(text string) string {
		return `(() => { const e = document.getElementById('typing'); return !e.hidden && e.textContent === ` + jsString(text) + `; })()`
	}
	const typingHidden = `document.getElementById('typing').hidden`

	// bob types; alice sees it; bob sends: it clears.
	bob.do(10*time.Second, "bob types", chromedp.Click(chromedp.CSS(`#reply`)), chromedp.SendKeys(chromedp.CSS(`#reply`), "Yes, I am"))
	alice.waitJS(15*time.Second, "bob is replying", typingShown("bob is replying…"))
	bob.do(10*time.Second, "bob sends", pressEnter)
	alice.waitJS(15*time.Second, "the indicator cleared after bob sent", typingHidden)
	alice.waitJS(15*time.Second, "bob's reply", hasMessageJS("Yes, I am"))

	// alice types; bob sees it in Chinese; alice stops: it clears.
	alice.do(10*time.Second, "alice types", chromedp.Click(chromedp.CSS(`#reply`)), chromedp.SendKeys(chromedp.CSS(`#reply`), "One more thing"))
	bob.waitJS(15*time.Second, "alice 正在回复", typingShown("alice 正在回复…"))
	bob.waitJS(20*time.Second, "the indicator cleared after alice stopped", typingHidden)
	if got := eval[string](alice, `document.getElementById('reply').value`); got != "One more thing" {
		t.Errorf("alice's box = %q", got)
	}
	alice.checkPage()
	bob.checkPage()
}
