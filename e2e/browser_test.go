package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

var chromiumPath = envOr("SYNCD_E2E_CHROMIUM", "/usr/bin/chromium")

// browser is one headless Chromium with a fresh profile and one tab.
type browser struct {
	t   *testing.T
	ctx context.Context

	mu      sync.Mutex
	dialogs []string // JavaScript dialogs that opened (there must be none)
	console []string
}

// newBrowser starts Chromium in English. It fails the test, never skips
// it, when Chromium is missing: CI installs it.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	return newBrowserIn(t, "en-US")
}

// newBrowserIn starts Chromium whose language (navigator.languages, and
// Intl's default locale) is lang, e.g. "zh-CN".
func newBrowserIn(t *testing.T, lang string) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("Chromium not found at %s (%v): run `apt-get install -y chromium`, or set SYNCD_E2E_CHROMIUM", chromiumPath, err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
		chromedp.Flag("lang", lang),
		chromedp.Flag("accept-lang", lang),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil { // start the browser with no deadline
		t.Fatalf("start Chromium: %v", err)
	}
	b := &browser{t: t, ctx: ctx}

	// A dialog would block the page; record it and dismiss it.
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.dialogs = append(b.dialogs, string(ev.Type)+": "+ev.Message)
			b.mu.Unlock()
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			text := m.String()
			if m.IsException() && !strings.Contains(text, "Uncaught") {
				text = "Uncaught " + text
			}
			b.mu.Lock()
			b.console = append(b.console, text)
			b.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		if t.Failed() {
			b.mu.Lock()
			defer b.mu.Unlock()
			t.Logf("---- browser console ----\n%s", strings.Join(b.console, "\n"))
		}
	})
	return b
}

// checkPage fails the test if a dialog opened, a script threw, or the
// Content-Security-Policy blocked something.
func (b *browser) checkPage() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.dialogs) > 0 {
		b.t.Errorf("JavaScript dialogs opened: %q", b.dialogs)
	}
	for _, m := range b.console {
		if strings.Contains(m, "Uncaught") || strings.Contains(m, "Content Security Policy") {
			b.t.Errorf("browser console: %s", m)
		}
	}
}

// do runs actions with a deadline.
func (b *browser) do(timeout time.Duration, what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v\n%s", what, err, b.pageState())
	}
}

// eval evaluates a JavaScript expression (promises are awaited).
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %q: %v", expr, err)
	}
	return v
}

// waitJS waits until a JavaScript expression is truthy.
func (b *browser) waitJS(timeout time.Duration, what, expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout+5*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
	if err != nil {
		b.t.Fatalf("waiting for %s: %v\n%s", what, err, b.pageState())
	}
}

// pageState describes the page for a failure message.
func (b *browser) pageState() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const q = (s) => [...document.querySelectorAll(s)];
		return 'title: ' + document.title +
			'\nbanner: ' + (document.getElementById('banner')?.hidden ? '(hidden)' : document.getElementById('banner')?.textContent.trim()) +
			'\nconversations: ' + q('#conv-list .conv').map(e => e.dataset.key).join(', ') +
			'\nmessages: ' + q('#messages [data-seq]').map(e => e.dataset.seq + '=' + JSON.stringify(e.querySelector('.body')?.textContent ?? e.textContent)).join(' ') +
			'\npending: ' + q('#pending li').map(e => e.textContent).join(' | ') +
			'\nerrors: ' + q('.error').map(e => e.textContent).join(' | ');
	})()`))
	if err != nil {
		return "(page state unavailable: " + err.Error() + ")"
	}
	return s
}

// login signs alice in on the console at url.
func (b *browser) login(url string) {
	b.t.Helper()
	b.do(30*time.Second, "log in",
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "alice"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), agentPassword),
		chromedp.Click(chromedp.CSS(`#login-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#app-view`)),
	)
	b.waitJS(20*time.Second, "the live connection", `document.getElementById('conn').dataset.state === 'live'`)
}

// openConversation clicks a conversation in the list once it is there.
func (b *browser) openConversation(key string) {
	b.t.Helper()
	sel := fmt.Sprintf(`#conv-list .conv[data-key=%s]`, strconv.Quote(key))
	b.do(30*time.Second, "conversation "+key+" in the list", chromedp.WaitVisible(chromedp.CSS(sel)))
	// The list redraws as frames arrive: a node found for a click may be
	// replaced before the click lands, so click in the page and ask again
	// until the conversation is open.
	b.waitJS(30*time.Second, "conversation "+key+" open", fmt.Sprintf(`(() => {
  if (document.getElementById('conv-title').textContent === %[2]s && !document.getElementById('conv-pane').hidden) return true;
  const e = document.querySelector(%[1]s);
  if (e) e.click();
  return false;
})()`, strconv.Quote(sel), strconv.Quote(key)))
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string { return strconv.Quote(s) }

// hasMessageJS is true once a message with exactly this body is shown.
func hasMessageJS(body string) string {
	return fmt.Sprintf(`[...document.querySelectorAll('#messages [data-seq] .body')].some(e => e.textContent === %s)`, jsString(body))
}

// screenshot saves the page to testdata/console.png (ignored by git), or
// to the path in SYNCD_E2E_SCREENSHOT, for a person to look at.
func (b *browser) screenshot() {
	b.t.Helper()
	path := envOr("SYNCD_E2E_SCREENSHOT", filepath.Join("testdata", "console.png"))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	quality := 100 // PNG
	if strings.HasSuffix(path, ".jpg") || strings.HasSuffix(path, ".jpeg") {
		quality = 85
	}
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(quality))
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot saved to %s (%d bytes)", path, len(buf))
}
