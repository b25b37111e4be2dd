package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// addAgent adds an agent with `syncd agent add` (--admin for an admin).
func (d *deployment) addAgent(name, password string, admin bool) {
	d.t.Helper()
	args := []string{"agent", "add", name, "--password-stdin"}
	if admin {
		args = append(args, "--admin")
	}
	d.cli(strings.NewReader(password+"\n"), args...)
}

// signIn signs name in on the console at url.
func (b *browser) signIn(url, name, password string) {
	b.t.Helper()
	b.do(30*time.Second, "sign in as "+name,
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), name),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
		chromedp.Click(chromedp.CSS(`#login-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#app-view`)),
	)
	b.waitJS(20*time.Second, name+"'s live connection", `document.getElementById('conn').dataset.state === 'live'`)
}

// docsShot saves the page as docs/name when SYNCD_E2E_DOCS is set: the
// pictures docs/ shows are taken that way
// (SYNCD_E2E_DOCS=1 go test ./e2e/ -run 'TestAdmin|TestHandOver|TestNotes').
func (b *browser) docsShot(name string) {
	b.t.Helper()
	if os.Getenv("SYNCD_E2E_DOCS") == "" {
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join("..", "docs", name)
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot saved to %s", path)
}

// openByHash opens conversation key through the address (#key), as a
// link does.
func (b *browser) openByHash(key string) {
	b.t.Helper()
	eval[bool](b, `(location.hash = '#' + encodeURIComponent(`+jsString(key)+`), true)`)
	b.waitJS(10*time.Second, "conversation "+key+" open",
		`document.getElementById('conv-title').textContent === `+jsString(key))
}

func (b *browser) click(what, sel string) {
	b.t.Helper()
	b.do(10*time.Second, what, chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
}

// statusHas waits until the open conversation's header says text.
func (b *browser) statusHas(text string) {
	b.t.Helper()
	b.waitJS(20*time.Second, "the header to say "+text,
		`document.getElementById('conv-status').textContent.includes(`+jsString(text)+`)`)
}

// eventShown waits until the history shows an assignment event saying text.
func (b *browser) eventShown(text string) {
	b.t.Helper()
	b.waitJS(20*time.Second, "the event "+text,
		`[...document.querySelectorAll('#messages .msg.assignment')].some(e => e.textContent.includes(`+jsString(text)+`))`)
}

// confirmSays waits for the confirm dialog with text and answers it.
func (b *browser) confirmSays(text string, ok bool) {
	b.t.Helper()
	b.waitJS(10*time.Second, "the confirm dialog asking "+text,
		`document.getElementById('confirm-dialog').open && document.getElementById('confirm-text').textContent.includes(`+jsString(text)+`)`)
	if ok {
		b.click("agree", `#confirm-ok`)
	} else {
		b.click("cancel", `#confirm-cancel`)
	}
	b.waitJS(5*time.Second, "the dialog closed", `!document.getElementById('confirm-dialog').open`)
}

func (d *deployment) assignee(key string) string {
	d.t.Helper()
	var a string
	if err := d.db.QueryRow(`SELECT COALESCE(assignee, '') FROM conversations WHERE conversation_key = ?`, key).Scan(&a); err != nil {
		d.t.Fatal(err)
	}
	return a
}

// TestHandOverFromHeader: take, hand to (a menu of the active agents
// that marks who is online), take over (asked first) and release from the
// conversation's header; each hand-over shows in the history, in the
// language of whoever reads it.
func TestHandOverFromHeader(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, 14, "")
	d.addAgent("bob", agentPassword, false)
	d.addAgent("carol", agentPassword, false)
	in := d.start("e2e-owner-" + randHex(3))
	alice := newBrowser(t)
	alice.login(in.URL())
	bob := newBrowserIn(t, "zh-CN") // online, and reading in Chinese
	bob.signIn(in.URL(), "bob", agentPassword)

	key := "order-" + randHex(4)
	d.insert(key, "Can someone help?")
	alice.openConversation(key)
	alice.statusHas("Unassigned")
	if got := eval[string](alice, `document.getElementById('reply').placeholder`); !strings.Contains(got, "sending it takes this conversation") {
		t.Errorf("reply hint on an unassigned conversation: %q", got)
	}
	alice.click("Take", `#btn-take`)
	alice.statusHas("Assigned to you")

	alice.click("Hand to…", `#btn-handto`)
	alice.waitJS(10*time.Second, "bob, online, and carol, offline, in the menu",
		`!!document.querySelector('#handto-menu .agent.online[data-agent="bob"]') && !!document.querySelector('#handto-menu .agent[data-agent="carol"]:not(.online)')`)
	if got := eval[string](alice, `document.querySelector('#handto-menu [data-agent="bob"]').textContent`); !strings.Contains(got, "online") {
		t.Errorf("bob's entry %q does not say online", got)
	}
	if n := eval[int](alice, `document.querySelectorAll('#handto-menu [data-agent="alice"]').length`); n != 0 {
		t.Error("the menu offers alice her own conversation")
	}
	alice.docsShot("console-handto.png")
	alice.click("hand to bob", `#handto-menu [data-agent="bob"]`)
	alice.statusHas("Assigned to bob")
	alice.eventShown("alice handed this conversation to bob")
	if got := d.assignee(key); got != "bob" {
		t.Fatalf("assignee %q after the hand-over, want bob", got)
	}
	bob.openByHash(key) // the list redraws with the hand-over: no click on a moving entry
	bob.statusHas("已分配给你")
	bob.eventShown("alice 将此会话转交给了 bob")

	// Bob's now: taking it back asks alice first; cancelling changes nothing.
	alice.waitJS(5*time.Second, "Take over", `document.getElementById('btn-take').textContent === 'Take over'`)
	alice.click("Take over", `#btn-take`)
	alice.confirmSays("bob holds this conversation. Take it over?", false)
	if got := d.assignee(key); got != "bob" {
		t.Fatalf("assignee %q after a cancelled take-over, want bob", got)
	}
	alice.click("Take over", `#btn-take`)
	alice.confirmSays("bob holds this conversation. Take it over?", true)
	alice.statusHas("Assigned to you")
	alice.eventShown("alice took this conversation over from bob")
	bob.eventShown("alice 从 bob 手中接管了此会话")

	alice.click("Release", `#btn-release`)
	alice.statusHas("Unassigned")
	alice.eventShown("alice released this conversation")
	if got := d.assignee(key); got != "" {
		t.Fatalf("assignee %q after release, want none", got)
	}
	alice.checkPage()
	bob.checkPage()
}

// TestReplyToHeldConversationAsks: a conversation another agent holds
// says so in the reply box, and sending asks first: cancelled, the reply
// is not sent (and nothing reaches message_reply); agreed, it is sent and
// the conversation changes hands.
func TestReplyToHeldConversationAsks(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, 14, "")
	d.addAgent("bob", agentPassword, false)
	in := d.start("e2e-held-" + randHex(3))
	key := "order-" + randHex(4)
	d.insert(key, "Hello?")
	bob := newBrowser(t)
	bob.signIn(in.URL(), "bob", agentPassword)
	bob.openConversation(key)
	bob.click("Take", `#btn-take`)
	bob.statusHas("Assigned to you")

	alice := newBrowser(t)
	alice.login(in.URL())
	alice.openConversation(key)
	alice.statusHas("Assigned to bob")
	alice.waitJS(10*time.Second, "the reply hint naming bob",
		`document.getElementById('reply').placeholder.includes('bob holds this conversation')`)

	send := func(text string) {
		t.Helper()
		alice.do(10*time.Second, "type a reply",
			chromedp.Click(chromedp.CSS(`#reply`)),
			chromedp.SendKeys(chromedp.CSS(`#reply`), text))
		alice.do(10*time.Second, "press Enter", pressEnter)
	}
	send("I can help.")
	alice.confirmSays("bob holds this conversation. Send your reply and take it over?", false)
	alice.waitJS(10*time.Second, "the reply marked not sent",
		`document.getElementById('pending').textContent.includes('Not sent: bob holds this conversation.')`)
	var n int
	if err := d.db.QueryRow(`SELECT COUNT(*) FROM message_reply WHERE conversation_key = ?`, key).Scan(&n); err != nil || n != 0 {
		t.Fatalf("message_reply rows %d (%v) after a cancelled reply, want 0", n, err)
	}
	alice.click("retry", `#pending button`)
	alice.confirmSays("bob holds this conversation. Send your reply and take it over?", true)
	alice.waitJS(20*time.Second, "the reply sent", hasMessageJS("I can help."))
	alice.statusHas("Assigned to you")
	alice.eventShown("alice took this conversation over from bob")
	bob.statusHas("Assigned to alice")
	if got := d.assignee(key); got != "alice" {
		t.Fatalf("assignee %q, want alice", got)
	}
	if err := d.db.QueryRow(`SELECT COUNT(*) FROM message_reply WHERE conversation_key = ?`, key).Scan(&n); err != nil || n != 1 {
		t.Fatalf("message_reply rows %d (%v), want 1", n, err)
	}
	alice.checkPage()
}

// agentRow is the admin page's row of name.
func agentRow(name string) string { return fmt.Sprintf(`#admin-body tr[data-agent=%q]`, name) }

// TestAdminManagesAgents: an admin adds an agent, disables them (their
// session ends), enables them and resets their password from the admin
// page, and cannot disable themself as the only admin; an agent sees no
// admin controls and is refused the admin routes.
func TestAdminManagesAgents(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, 14, "")
	d.addAgent("root", agentPassword, true)
	in := d.start("e2e-admin-" + randHex(3))

	agent := newBrowser(t)
	agent.login(in.URL()) // alice, an agent
	if !eval[bool](agent, `document.getElementById('btn-admin').hidden && document.getElementById('admin-panel').hidden`) {
		t.Fatal("an agent sees the Admin button or page")
	}
	if st := eval[int](agent, `fetch('/api/admin/agents').then(r => r.status)`); st != 403 {
		t.Fatalf("an agent's GET /api/admin/agents: %d, want 403", st)
	}

	admin := newBrowser(t)
	admin.signIn(in.URL(), "root", agentPassword)
	admin.click("Admin", `#btn-admin`)
	admin.waitJS(10*time.Second, "the agents", `!!document.querySelector(`+jsString(agentRow("alice"))+`)`)
	admin.do(10*time.Second, "fill in a new agent",
		chromedp.SendKeys(chromedp.CSS(`#new-agent-name`), "dave"),
		chromedp.SendKeys(chromedp.CSS(`#new-agent-password`), "dave's first password"),
		chromedp.Click(chromedp.CSS(`#add-agent button[type=submit]`)))
	admin.waitJS(10*time.Second, "dave's row", `!!document.querySelector(`+jsString(agentRow("dave"))+`)`)
	admin.docsShot("console-admin.png")

	dave := newBrowser(t)
	dave.signIn(in.URL(), "dave", "dave's first password")
	if !eval[bool](dave, `document.getElementById('btn-admin').hidden`) {
		t.Error("dave, an agent, sees the Admin button")
	}

	admin.click("disable dave", agentRow("dave")+` [data-act=disable]`)
	admin.waitJS(10*time.Second, "dave disabled", `document.querySelector(`+jsString(agentRow("dave"))+`).classList.contains('disabled')`)
	if st := eval[int](dave, `fetch('/api/me').then(r => r.status)`); st != 401 {
		t.Fatalf("dave's session after the disable: %d, want 401", st)
	}
	admin.click("enable dave", agentRow("dave")+` [data-act=enable]`)
	admin.waitJS(10*time.Second, "dave enabled", `!document.querySelector(`+jsString(agentRow("dave"))+`).classList.contains('disabled')`)

	admin.click("reset dave's password", agentRow("dave")+` [data-act=password]`)
	admin.do(10*time.Second, "type the new password",
		chromedp.SendKeys(chromedp.CSS(agentRow("dave")+` .new-password`), "dave's second password"),
		chromedp.Click(chromedp.CSS(agentRow("dave")+` .reset-password button[type=submit]`)))
	admin.waitJS(10*time.Second, "the reset confirmed",
		`document.querySelector('#admin-body .admin-status').textContent.includes("dave's password is reset")`)
	dave2 := newBrowser(t)
	dave2.signIn(in.URL(), "dave", "dave's second password")

	admin.click("disable root", agentRow("root")+` [data-act=disable]`)
	admin.waitJS(10*time.Second, "the refusal",
		`document.querySelector('#admin-body .admin-status').textContent.includes('root is the only admin')`)
	if st := eval[int](admin, `fetch('/api/me').then(r => r.status)`); st != 200 {
		t.Fatalf("root's session after the refused disable: %d", st)
	}
	// The admin page also holds the bot's section, and speaks Chinese.
	admin.click("the bot section", `#admin-nav [data-section=bot]`)
	admin.chooseLanguage("zh-CN")
	admin.waitJS(10*time.Second, "the page in Chinese", `document.getElementById('admin-title').textContent === '管理'`)
	admin.waitJS(10*time.Second, "the sections in Chinese",
		`document.querySelector('#admin-nav [data-section=agents]')?.textContent === '客服'`)
	admin.click("the agents section", `#admin-nav [data-section=agents]`)
	admin.waitJS(10*time.Second, "the agents in Chinese",
		`document.querySelector(`+jsString(agentRow("dave")+` [data-act=disable]`)+`)?.textContent === '停用'`)
	for _, b := range []*browser{agent, admin, dave, dave2} {
		b.checkPage()
	}
}
