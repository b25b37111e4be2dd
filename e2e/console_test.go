package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestConsoleRelayAndReply: a row a legacy app inserts shows up in the
// console, the agent's keyboard reply lands in message_reply, a hostile
// body is shown as text, and a business event is a system note.
func TestConsoleRelayAndReply(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, 14, "")
	in := d.start("e2e-solo-" + randHex(3))
	b := newBrowser(t)
	b.login(in.URL())

	key := "order-" + randHex(4)
	greeting := "Hello, where is my parcel? " + randHex(3)
	d.insert(key, greeting)
	b.openConversation(key)
	b.waitJS(30*time.Second, "the relayed row", hasMessageJS(greeting))
	if got := eval[string](b, `document.querySelector('#messages [data-seq="1"]').className`); got != "msg customer" {
		t.Errorf("first message class = %q, want a customer message", got)
	}

	// Reply with the keyboard: Shift+Enter adds a line, Enter sends.
	reply := "Thanks, let me check.\nOne moment please."
	b.do(10*time.Second, "type a reply",
		chromedp.Click(chromedp.CSS(`#reply`)),
		chromedp.SendKeys(chromedp.CSS(`#reply`), "Thanks, let me check."),
		chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(kb.ModifierShift)),
		chromedp.SendKeys(chromedp.CSS(`#reply`), "One moment please."),
	)
	if got := eval[string](b, `document.getElementById('reply').value`); got != reply {
		t.Fatalf("reply box = %q, want %q (Shift+Enter must add a line)", got, reply)
	}
	b.do(10*time.Second, "press Enter", pressEnter)
	b.waitJS(20*time.Second, "the acknowledged reply",
		hasMessageJS(reply)+` && document.querySelectorAll('#pending li').length === 0 && document.getElementById('reply').value === ''`)

	var gotKey, gotBody, status, authorType, authorName string
	var n int
	eventually(t, 10*time.Second, "the reply in message_reply", func() (bool, error) {
		err := d.db.QueryRow(`SELECT COUNT(*), MAX(conversation_key), MAX(body), MAX(status), MAX(author_type), MAX(author_name)
			FROM message_reply WHERE conversation_key = ?`, key).Scan(&n, &gotKey, &gotBody, &status, &authorType, &authorName)
		return err == nil && n > 0, err
	})
	if n != 1 || gotKey != key || gotBody != reply || status != "pending" || authorType != "agent" || authorName != "alice" {
		t.Errorf("message_reply: %d row(s), key %q body %q status %q author %s/%s; want 1 pending agent reply by alice with %q",
			n, gotKey, gotBody, status, authorType, authorName, reply)
	}

	// A body that is markup stays text, and no script runs.
	hostile := `<img src=x onerror=alert(1)>`
	d.insert(key, hostile)
	b.waitJS(30*time.Second, "the hostile body as text", hasMessageJS(hostile))
	if n := eval[int](b, `document.querySelectorAll('#messages img, #conv-list img').length`); n != 0 {
		t.Errorf("%d img element(s) in the page: a body was parsed as HTML", n)
	}
	b.waitJS(10*time.Second, "the hostile body as text in the list", fmt.Sprintf(
		`document.querySelector('#conv-list .conv[data-key=%s] .conv-last')?.textContent === %s`, jsString(key), jsString("Customer: "+hostile)))

	// A business event is a system note.
	d.insertEvent(key, "order_created", "Order 1001 created", `{"order_id": 1001}`)
	b.waitJS(30*time.Second, "the order_created note",
		`[...document.querySelectorAll('#messages li.event[data-kind="order_created"]')].some(e => e.textContent.includes('Order created') && e.textContent.includes('Order 1001 created'))`)

	// While the tab is hidden, new customer messages count in the title
	// (and ring); showing the tab again clears the count.
	eval[bool](b, `(() => {
		Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
		Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
		document.dispatchEvent(new Event('visibilitychange'));
		return true;
	})()`)
	d.insert(key, "Are you still there?")
	d.insert("order-"+randHex(4), "A new customer")
	b.waitJS(30*time.Second, "the title badge", `document.title === '(2) syncd'`)
	eval[bool](b, `(() => {
		delete document.hidden;
		delete document.visibilityState;
		document.dispatchEvent(new Event('visibilitychange'));
		return true;
	})()`)
	b.waitJS(10*time.Second, "the title without badge", `document.title === 'syncd'`)

	b.checkPage()
	b.screenshot()
}

// pressEnter presses Enter as a person does. chromedp.KeyEvent would also
// send a "char" event that the protocol delivers even when the page
// cancelled the keydown, which a real keyboard never does.
var pressEnter = chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
	for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeRawKeyDown, input.DispatchKeyEventTypeKeyUp} {
		_, err := cdp.Call(ctx, t, input.DispatchKeyEvent, input.DispatchKeyEventParams{
			Type: typ, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13,
		})
		if err != nil {
			return fmt.Errorf("press Enter: %w", err)
		}
	}
	return nil
})
