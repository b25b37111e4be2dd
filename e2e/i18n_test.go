package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// TestConsoleInChinese: a browser in Simplified Chinese gets the console
// in Chinese (sign-in page, tabs, conversation header, reply box, waiting
// times, dates), with no English text of the catalogs anywhere on the
// page; the switch in the top bar turns it English and back, and the
// choice outlives a reload even though the browser speaks Chinese.
func TestConsoleInChinese(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, 14, "")
	in := d.start("e2e-zh-" + randHex(3))
	b := newBrowserIn(t, "zh-CN")

	b.do(30*time.Second, "open the sign-in page", chromedp.Navigate(in.URL()), chromedp.WaitVisible(chromedp.CSS(`#login-form`)))
	b.expectTexts("the sign-in page in Chinese", map[string]string{
		`document.documentElement.lang`:                                   "zh-CN",
		`document.querySelector('#login-form h1').textContent`:            "syncd 控制台",
		`document.querySelector('label[for=username]').textContent`:       "用户名",
		`document.querySelector('label[for=password]').textContent`:       "密码",
		`document.querySelector('#login-form [type=submit]').textContent`: "登录",
	})
	b.noTextsOf("en")

	b.login(in.URL())
	key := "order-" + randHex(4)
	d.insert(key, "你好，我的包裹在哪里？")
	b.openConversation(key)
	b.waitJS(30*time.Second, "the customer's message", hasMessageJS("你好，我的包裹在哪里？"))
	b.expectTexts("the console in Chinese", map[string]string{
		`document.getElementById('tab-mine').textContent`:               "我的",
		`document.getElementById('tab-unassigned').textContent`:         "未分配",
		`document.getElementById('tab-all').textContent`:                "全部",
		`document.getElementById('conv-status').textContent`:            "处理中 · 未分配",
		`document.getElementById('btn-take').textContent`:               "认领",
		`document.getElementById('btn-resolve').textContent`:            "标记为已解决",
		`document.getElementById('reply').placeholder`:                  "输入回复；发送后此会话即归你负责。Enter 发送，Shift+Enter 换行。",
		`document.querySelector('#composer [type=submit]').textContent`: "发送",
		`document.getElementById('logout').textContent`:                 "退出登录",
		`document.getElementById('conn').textContent`:                   "已连接",
	})
	waiting := fmt.Sprintf(`document.querySelector('#conv-list .conv[data-key=%s] .waiting')?.textContent`, jsString(key))
	if got := eval[string](b, waiting); !regexp.MustCompile(`^已等待 (不到1分钟|\d+分钟)$`).MatchString(got) {
		t.Errorf("waiting time %q, want 已等待 in Chinese minutes", got)
	}
	stamp := `document.querySelector('#messages [data-seq="1"] time').title`
	if got := eval[string](b, stamp); !regexp.MustCompile(`^\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}$`).MatchString(got) {
		t.Errorf("message date %q, want a Chinese date (2026年12月3日 10:05)", got)
	}
	b.noTextsOf("en")
	b.landmarks(map[string]string{"banner": "", "navigation": "会话", "main": "会话内容", "form": "回复", "tablist": "显示会话"})

	// The switch: English at once, for what is drawn from data too.
	b.chooseLanguage("en")
	b.waitJS(10*time.Second, "the console in English", `document.documentElement.lang === 'en' && document.getElementById('tab-mine').textContent === 'Mine'`)
	b.expectTexts("the console in English", map[string]string{
		`document.getElementById('conv-status').textContent`: "Open · Unassigned",
		`document.getElementById('btn-take').textContent`:    "Take",
		`document.getElementById('conn').textContent`:        "Live",
		`document.getElementById('lang').value`:              "en",
	})
	if got := eval[string](b, waiting); !regexp.MustCompile(`^Waiting (< 1 min|\d+ min)$`).MatchString(got) {
		t.Errorf("waiting time %q after the switch, want English", got)
	}
	if got := eval[string](b, stamp); !regexp.MustCompile(`^[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2}\s?[AP]M$`).MatchString(got) {
		t.Errorf("message date %q after the switch, want an English date (Dec 3, 2026, 10:05 AM)", got)
	}
	b.noTextsOf("zh-CN")

	// The choice is kept: English after a reload, in a Chinese browser.
	b.do(30*time.Second, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#app-view`)))
	b.waitJS(20*time.Second, "the conversation after the reload", hasMessageJS("你好，我的包裹在哪里？"))
	b.expectTexts("English after the reload", map[string]string{
		`document.documentElement.lang`:                   "en",
		`document.getElementById('tab-all').textContent`:  "All",
		`document.getElementById('lang').value`:           "en",
		`document.getElementById('btn-take').textContent`: "Take",
	})
	b.noTextsOf("zh-CN")

	b.chooseLanguage("zh-CN")
	b.waitJS(10*time.Second, "the console in Chinese again", `document.documentElement.lang === 'zh-CN' && document.getElementById('tab-all').textContent === '全部'`)
	b.do(30*time.Second, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#app-view`)))
	b.waitJS(20*time.Second, "the conversation after the reload", hasMessageJS("你好，我的包裹在哪里？"))
	b.expectTexts("Chinese after the reload", map[string]string{
		`document.documentElement.lang`:                      "zh-CN",
		`document.getElementById('conv-status').textContent`: "处理中 · 未分配",
	})
	b.noTextsOf("en")
	b.checkPage()
}

// TestConsoleKeyboard: an agent reaches the list with Tab, moves in it
// with the arrows, opens a conversation with Enter (the cursor lands in
// the reply box) and leaves the reply box with Escape, back to the list;
// the focused element always shows an outline.
func TestConsoleKeyboard(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, 14, "")
	in := d.start("e2e-keys-" + randHex(3))
	b := newBrowser(t)
	b.login(in.URL())

	var keys []string
	for i := range 3 {
		k := fmt.Sprintf("kbd-%d-%s", i, randHex(3))
		d.insert(k, "Hello "+k)
		keys = append(keys, k)
	}
	b.waitJS(30*time.Second, "the three conversations", fmt.Sprintf(`[%s, %s, %s].every(k => document.querySelector('#conv-list .conv[data-key="' + k + '"]'))`,
		jsString(keys[0]), jsString(keys[1]), jsString(keys[2])))
	order := eval[[]string](b, `[...document.querySelectorAll('#conv-list .conv')].map(e => e.dataset.key)`)
	if n := eval[int](b, `[...document.querySelectorAll('#conv-list .conv')].filter(e => e.tabIndex === 0).length`); n != 1 {
		t.Errorf("%d list entries are in the Tab order, want 1 (the arrows move among them)", n)
	}

	// Tab from the selected tab lands on the list's first entry.
	eval[bool](b, `(document.querySelector('[role=tab][aria-selected=true]').focus(), true)`)
	b.do(5*time.Second, "press Tab", pressKey("Tab"))
	b.expectFocus("Tab into the list", order[0])

	b.do(5*time.Second, "press ↓", pressKey("ArrowDown"))
	b.expectFocus("↓", order[1])
	b.do(5*time.Second, "press ↓ ↓", pressKey("ArrowDown"), pressKey("ArrowDown"))
	b.expectFocus("↓ at the end", order[len(order)-1])
	b.do(5*time.Second, "press ↑", pressKey("ArrowUp"))
	target := order[len(order)-2]
	b.expectFocus("↑", target)

	b.do(5*time.Second, "press Enter", pressKey("Enter"))
	b.waitJS(10*time.Second, "the conversation open", fmt.Sprintf(`document.getElementById('conv-title').textContent === %s`, jsString(target)))
	b.waitJS(10*time.Second, "the cursor in the reply box", `document.activeElement === document.getElementById('reply')`)
	b.expectOutline("the reply box")
	b.do(5*time.Second, "type", chromedp.SendKeys(chromedp.CSS(`#reply`), "draft"))

	b.do(5*time.Second, "press Escape", pressKey("Escape"))
	b.expectFocus("Escape in the reply box", target)
	if got := eval[string](b, `document.getElementById('reply').value`); got != "draft" {
		t.Errorf("reply box holds %q after Escape, want the draft kept", got)
	}
	if got := eval[string](b, `document.getElementById('conv-title').textContent`); got != target {
		t.Errorf("conversation %q open after Escape, want %q still open", got, target)
	}
	b.checkPage()
}

// expectTexts fails the test for each expression whose value differs.
func (b *browser) expectTexts(what string, want map[string]string) {
	b.t.Helper()
	exprs := make([]string, 0, len(want))
	for e := range want {
		exprs = append(exprs, e)
	}
	slices.Sort(exprs)
	for _, e := range exprs {
		if got := eval[string](b, e); got != want[e] {
			b.t.Errorf("%s: %s = %q, want %q", what, e, got, want[e])
		}
	}
}

// noTextsOf fails the test if the page shows a text of loc's catalog that
// the page's own language says otherwise: in a text node or in the
// placeholder, aria-label or title of an element that is shown.
func (b *browser) noTextsOf(loc string) {
	b.t.Helper()
	found := eval[[]string](b, `(async (other) => {
		const load = async (l) => (await fetch('/locales/' + l + '.json')).json();
		const theirs = await load(other), ours = await load(document.documentElement.lang);
		const pats = [];
		for (const [k, v] of Object.entries(theirs)) {
			if (v === ours[k]) continue;
			const fixed = v.replace(/\{\w+\}/g, '');
			if (!/\p{L}/u.test(fixed)) continue;
			// The text alone, or as words within a longer one ("处理中 · Unassigned").
			const re = v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\\\{\w+\\\}/g, '.+');
			pats.push([k, new RegExp('(^|[^\\p{L}])' + re + '([^\\p{L}]|$)', 'su')]);
		}
		const hits = [];
		const check = (text, where) => {
			const s = (text || '').trim();
			if (!s) return;
			for (const [k, re] of pats) if (re.test(s)) hits.push(where + ' shows ' + JSON.stringify(s) + ' (' + k + ')');
		};
		const shown = (el) => el.checkVisibility({ visibilityProperty: true, opacityProperty: false });
		const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
		for (let n = walker.nextNode(); n; n = walker.nextNode()) {
			const el = n.parentElement;
			if (el && el.tagName !== 'OPTION' && shown(el)) check(n.nodeValue, '<' + el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + '>');
		}
		for (const el of document.querySelectorAll('[placeholder], [aria-label], [title]')) {
			if (!shown(el)) continue;
			for (const a of ['placeholder', 'aria-label', 'title']) if (el.hasAttribute(a)) check(el.getAttribute(a), a + ' of <' + el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + '>');
		}
		return hits;
	})(`+jsString(loc)+`)`)
	for _, f := range found {
		b.t.Errorf("page in %s: %s", eval[string](b, `document.documentElement.lang`), f)
	}
}

// chooseLanguage picks loc in the top bar's switch as an agent does.
func (b *browser) chooseLanguage(loc string) {
	b.t.Helper()
	b.do(10*time.Second, "choose "+loc, chromedp.Focus(chromedp.CSS(`#lang`)))
	eval[bool](b, `(() => {
		const s = document.getElementById('lang');
		s.value = `+jsString(loc)+`;
		s.dispatchEvent(new Event('change', { bubbles: true }));
		return true;
	})()`)
}

// expectFocus waits until the list entry of key has the focus, showing
// an outline.
func (b *browser) expectFocus(what, key string) {
	b.t.Helper()
	b.waitJS(5*time.Second, what+": focus on "+key, fmt.Sprintf(`document.activeElement?.matches('#conv-list .conv') && document.activeElement.dataset.key === %s`, jsString(key)))
	b.expectOutline(what)
}

// expectOutline fails the test unless the focused element shows a focus
// outline (:focus-visible, at least 2px and not transparent).
func (b *browser) expectOutline(what string) {
	b.t.Helper()
	got := eval[string](b, `(() => {
		const el = document.activeElement, s = getComputedStyle(el);
		return [el.matches(':focus-visible'), s.outlineStyle, s.outlineWidth, s.outlineColor].join(' ');
	})()`)
	f := strings.Fields(got)
	width := 0.0
	if len(f) > 2 {
		width, _ = strconv.ParseFloat(strings.TrimSuffix(f[2], "px"), 64)
	}
	if len(f) < 4 || f[0] != "true" || f[1] == "none" || width < 2 || strings.Contains(got, "rgba(0, 0, 0, 0)") {
		b.t.Errorf("%s: the focused element shows no outline (focus-visible, style, width, colour: %s)", what, got)
	}
}

// landmarks fails the test unless the page has each landmark role with
// the accessible name given ("" for any).
func (b *browser) landmarks(want map[string]string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	var nodes []*accessibility.Node
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		res, err := cdp.Call(ctx, tg, accessibility.GetFullAXTree, accessibility.GetFullAXTreeParams{})
		nodes = res.Nodes
		return err
	}))
	if err != nil {
		b.t.Fatalf("accessibility tree: %v", err)
	}
	have := map[string][]string{}
	for _, n := range nodes {
		if n.Ignored || n.Role == nil {
			continue
		}
		var role, name string
		json.Unmarshal([]byte(n.Role.Value), &role)
		if n.Name != nil {
			json.Unmarshal([]byte(n.Name.Value), &name)
		}
		have[role] = append(have[role], name)
	}
	for role, name := range want {
		names, ok := have[role]
		if !ok {
			b.t.Errorf("no %s landmark in the page", role)
			continue
		}
		if name != "" && !slices.Contains(names, name) {
			b.t.Errorf("%s landmark named %q, want %q", role, names, name)
		}
	}
}

// pressKey presses a key as a person does (see pressEnter).
func pressKey(key string) chromedp.Action[chromedp.Void] {
	codes := map[string]int64{"Enter": 13, "Escape": 27, "Tab": 9, "ArrowUp": 38, "ArrowDown": 40, "Home": 36, "End": 35}
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeRawKeyDown, input.DispatchKeyEventTypeKeyUp} {
			_, err := cdp.Call(ctx, t, input.DispatchKeyEvent, input.DispatchKeyEventParams{
				Type: typ, Key: key, Code: key, WindowsVirtualKeyCode: codes[key], NativeVirtualKeyCode: codes[key],
			})
			if err != nil {
				return fmt.Errorf("press %s: %w", key, err)
			}
		}
		return nil
	})
}
