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
// Esc clears the search and shows the list again; in English and in
// Chinese, with the search's texts in the page's language.
func TestConsoleSearch(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, 14, "")
	in := d.start("e2e-search-" + randHex(3))
	for _, lang := range []struct {
		code, other, placeholder, none string
		data                           searchData
	}{
		{"en", "zh-CN", "Search: key, customer, message (/)", "No conversation matches.",
			searchData{"Wang Fang", "wang fa", "我要退款，谢谢", "退款", "Where is my parcel?", "parcel"}},
		{"zh-CN", "en", "搜索：会话号、客户、消息（/）", "没有匹配的会话。",
			searchData{"Zhou Min", "zhou m", "发票什么时候开", "发票", "The invoice is wrong", "invoi"}},
	} {
		t.Run(lang.code, func(t *testing.T) {
			b := newBrowserIn(t, lang.code)
			b.login(in.URL())
			if got := eval[string](b, `document.getElementById('search-q').placeholder`); got != lang.placeholder {
				t.Errorf("search box placeholder %q, want %q", got, lang.placeholder)
			}
			searchIn(t, d, b, lang.data, lang.none)
			b.noTextsOf(lang.other)
			b.checkPage()
		})
	}
}

// searchData is what one run of searchIn writes and searches for: a
// customer's name who writes in Chinese, and an English message.
type searchData struct {
	name, nameQuery, zhBody, zhQuery, enBody, enQuery string
}

// searchIn runs the searches of TestConsoleSearch in b, on conversations
// of its own; none is the text for no result.
func searchIn(t *testing.T, d *deployment, b *browser, data searchData, none string) {
	tag := randHex(3)
	wang, smith := "order-"+tag+"-1001", "shop-"+tag+"-7"
	for _, r := range []struct{ key, name, body string }{
		{wang, data.name, data.zhBody},
		{smith, "Alice Smith", data.enBody},
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
		b.do(10*time.Second, "press /", pressSlash)
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
	b.do(10*time.Second, "type a name", chromedp.SendKeys(chromedp.CSS(`#search-q`), data.nameQuery))
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
	b.do(10*time.Second, "press Esc", chromedp.Click(chromedp.CSS(`#search-q`)), pressKey("Escape"))
	b.waitJS(5*time.Second, "the list back", `document.getElementById('search-q').value === '' && document.getElementById('search-results').hidden && document.getElementById('conv-list').offsetParent !== null`)

	// A message's text, in Chinese; Enter opens the first result.
	focusSearch()
	b.do(10*time.Second, "type Chinese text", chromedp.SendKeys(chromedp.CSS(`#search-q`), data.zhQuery))
	onlyResult("a Chinese word of the message", wang)
	b.do(10*time.Second, "press Esc", pressKey("Escape"))
	focusSearch()
	b.do(10*time.Second, "type English text", chromedp.SendKeys(chromedp.CSS(`#search-q`), data.enQuery))
	onlyResult("a word of the message", smith)
	b.do(10*time.Second, "press Enter", pressEnter)
	b.waitJS(10*time.Second, smith+" open", openedJS(smith))

	// Part of a key.
	b.do(10*time.Second, "press Esc", chromedp.Click(chromedp.CSS(`#search-q`)), pressKey("Escape"))
	focusSearch()
	b.do(10*time.Second, "type part of a key", chromedp.SendKeys(chromedp.CSS(`#search-q`), tag+"-1001"))
	onlyResult("part of the key", wang)
	b.do(10*time.Second, "press ↓", pressKey("ArrowDown"))
	if got := eval[string](b, `document.activeElement.closest('#search-results .conv')?.dataset.key ?? ''`); got != wang {
		t.Errorf("after ↓ in the search box the focus is on result %q, want %q", got, wang)
	}
	b.do(10*time.Second, "press Enter", pressEnter)
	b.waitJS(10*time.Second, wang+" open", openedJS(wang))

	// Nothing found says so.
	b.do(10*time.Second, "press Esc", chromedp.Click(chromedp.CSS(`#search-q`)), pressKey("Escape"))
	b.do(10*time.Second, "type what no message has", chromedp.SendKeys(chromedp.CSS(`#search-q`), "zzz"+tag))
	b.waitJS(10*time.Second, "no result", `document.querySelectorAll('#search-results .conv').length === 0 && document.getElementById('search-status').textContent === `+jsString(none))
}

// pressSlash presses "/" as a person does (see pressEnter): a page that
// cancels the keydown gets no "/" typed.
var pressSlash = chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
	for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeRawKeyDown, input.DispatchKeyEventTypeKeyUp} {
		_, err := cdp.Call(ctx, t, input.DispatchKeyEvent, input.DispatchKeyEventParams{
			Type: typ, Key: "/", Code: "Slash", WindowsVirtualKeyCode: 191, NativeVirtualKeyCode: 191,
		})
		if err != nil {
			return fmt.Errorf("press /: %w", err)
		}
	}
	return nil
})
