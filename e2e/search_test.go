package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// TestConsoleSearch: "/" focuses the search box (but types "/" in the
// reply box), typing a customer's name, a message's text (Chinese too) or
// part of a key finds the conversation, a click or Enter opens it, and
// Esc clears the search and shows the list again.
func TestConsoleSearch(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, 14, "")
	in := d.start("e2e-search-" + randHex(3))
	b := newBrowser(t)
	b.login(in.URL())

	tag := randHex(3)
	wang, smith := "order-"+tag+"-1001", "shop-"+tag+"-7"
	for _, r := range []struct{ key, name, body string }{
		{wang, "Wang Fang", "我要退款，谢谢"},
		{smith, "Alice Smith", "Where is my parcel?"},
	} {
		if _, err := d.db.Exec(`INSERT INTO message_sync (conversation_key, body, sender_name) VALUES (?, ?, ?)`, r.key, r.body, r.name); err != nil {
			t.Fatal(err)
		}
	}
	for _, key := range []string{wang, smith} {
		b.waitJS(30*time.Second, key+" in the list", `!!document.querySelector('#conv-list .conv[data-key=`+jsString(key)+`]')`)
	}

	focusSearch := func() {
		t.Helper()
		eval[bool](b, `(document.activeElement?.blur(), true)`) // no field has the focus
		b.do(10*time.Second, "press /", pressKey("/", "Slash", 191))
		if got := eval[string](b, `document.activeElement.id`); got != "search-q" {
			t.Fatalf("after /, the focus is on %q, want the search box", got)
		}
		if got := eval[string](b, `document.getElementById('search-q').value`); got != "" {
			t.Fatalf("after /, the search box holds %q", got)
		}
	}
	result := func(key string) string { return `#search-results .conv[data-key=` + jsString(key) + `]` }
	onlyResult := func(what, key string) {
		t.Helper()
		b.waitJS(10*time.Second, what+" to find "+key, fmt.Sprintf(
			`(() => { const r = [...document.querySelectorAll('#search-results .conv')].map(e => e.dataset.key); return r.length === 1 && r[0] === %s && document.getElementById('search-results').offsetParent !== null; })()`, jsString(key)))
		if eval[bool](b, `document.getElementById('conv-list').offsetParent !== null`) {
			t.Errorf("the list shows beside the search results")
		}
	}
	openedJS := func(key string) string {
		return `document.getElementById('conv-title').textContent === ` + jsString(key)
	}

	// The customer's name; a click opens the conversation.
	focusSearch()
	b.do(10*time.Second, "type a name", chromedp.SendKeys(chromedp.CSS(`#search-q`), "wang fa"))
	onlyResult("the customer's name", wang)
	b.do(10*time.Second, "click the result", chromedp.Click(chromedp.CSS(result(wang))))
	b.waitJS(10*time.Second, wang+" open", openedJS(wang))

	// In the reply box "/" is a character.
	b.do(10*time.Second, "type / in the reply box", chromedp.Click(chromedp.CSS(`#reply`)), chromedp.SendKeys(chromedp.CSS(`#reply`), "/"))
	if id, v := eval[string](b, `document.activeElement.id`), eval[string](b, `document.getElementById('reply').value`); id != "reply" || v != "/" {
		t.Errorf("typing / in the reply box: focus on %q, reply %q", id, v)
	}
	eval[bool](b, `(document.getElementById('reply').value = '', true)`)

	// Esc clears the search and shows the list.
	b.do(10*time.Second, "press Esc", chromedp.Click(chromedp.CSS(`#search-q`)), pressKey("Escape", "Escape", 27))
	b.waitJS(5*time.Second, "the list back", `document.getElementById('search-q').value === '' && document.getElementById('search-results').hidden && document.getElementById('conv-list').offsetParent !== null`)

	// A message's text, in Chinese; Enter opens the first result.
	focusSearch()
	b.do(10*time.Second, "type Chinese text", chromedp.SendKeys(chromedp.CSS(`#search-q`), "退款"))
	onlyResult("a Chinese word of the message", wang)
	b.do(10*time.Second, "press Esc", pressKey("Escape", "Escape", 27))
	focusSearch()
	b.do(10*time.Second, "type English text", chromedp.SendKeys(chromedp.CSS(`#search-q`), "parcel"))
	onlyResult("a word of the message", smith)
	b.do(10*time.Second, "press Enter", pressEnter)
	b.waitJS(10*time.Second, smith+" open", openedJS(smith))

	// Part of a key.
	b.do(10*time.Second, "press Esc", chromedp.Click(chromedp.CSS(`#search-q`)), pressKey("Escape", "Escape", 27))
	focusSearch()
	b.do(10*time.Second, "type part of a key", chromedp.SendKeys(chromedp.CSS(`#search-q`), tag+"-1001"))
	onlyResult("part of the key", wang)
	b.do(10*time.Second, "press Enter", pressEnter)
	b.waitJS(10*time.Second, wang+" open", openedJS(wang))

	// Nothing found says so.
	b.do(10*time.Second, "press Esc", chromedp.Click(chromedp.CSS(`#search-q`)), pressKey("Escape", "Escape", 27))
	b.do(10*time.Second, "type what no message has", chromedp.SendKeys(chromedp.CSS(`#search-q`), "zzz"+tag))
	b.waitJS(10*time.Second, "no result", `document.querySelectorAll('#search-results .conv').length === 0 && document.getElementById('search-status').textContent === 'No conversation matches.'`)
	b.checkPage()
}

// pressKey presses a key as a person does, without the "char" event
// chromedp.KeyEvent sends even when the page cancelled the keydown (see
// pressEnter).
func pressKey(key, code string, vk int64) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeRawKeyDown, input.DispatchKeyEventTypeKeyUp} {
			_, err := cdp.Call(ctx, t, input.DispatchKeyEvent, input.DispatchKeyEventParams{
				Type: typ, Key: key, Code: code, WindowsVirtualKeyCode: vk, NativeVirtualKeyCode: vk,
			})
			if err != nil {
				return fmt.Errorf("press %s: %w", key, err)
			}
		}
		return nil
	})
}
