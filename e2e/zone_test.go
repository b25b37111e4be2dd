package e2e

import (
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// TestConsoleTimesInAgentZone: an agent whose browser is in Shanghai sees
// a customer who wrote ten minutes ago from a legacy session at +08:00
// below one who wrote just now at UTC, waiting for ten minutes (not
// "Answered"), at the local time the customer wrote.
func TestConsoleTimesInAgentZone(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, 14, "")
	in := d.start("e2e-zone-" + randHex(3))
	b := newBrowser(t)
	b.do(10*time.Second, "put the browser in Shanghai", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Shanghai"}); err != nil {
			return fmt.Errorf("set time zone: %w", err)
		}
		_, err := cdp.Call(ctx, tg, emulation.SetLocaleOverride, emulation.SetLocaleOverrideParams{Locale: "en_GB"})
		return err
	}))
	b.login(in.URL())

	early, recent := "erp-cn-"+randHex(3), "web-"+randHex(3)
	ctx := context.Background()
	conn, err := d.db.Conn(ctx) // a legacy writer's session at +08:00
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SET time_zone = '+08:00'`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `INSERT INTO message_sync (conversation_key, body, created_at) VALUES (?, 'Where is my order?', NOW(6) - INTERVAL 10 MINUTE)`, early); err != nil {
		t.Fatal(err)
	}
	var local string // what the customer's clock said, in the writer's zone: Shanghai's
	if err := conn.QueryRowContext(ctx, `SELECT DATE_FORMAT(created_at, '%H:%i') FROM message_sync WHERE conversation_key = ?`, early).Scan(&local); err != nil {
		t.Fatal(err)
	}
	d.insert(recent, "Hello")

	item := func(key string) string {
		return fmt.Sprintf(`document.querySelector('#conv-list .conv[data-key=%s]')`, jsString(key))
	}
	b.waitJS(30*time.Second, "both conversations in the list", item(early)+` && `+item(recent))
	order := eval[[]string](b, `[...document.querySelectorAll('#conv-list .conv')].map(e => e.dataset.key).filter(k => [`+jsString(early)+`, `+jsString(recent)+`].includes(k))`)
	if len(order) != 2 || order[0] != recent {
		t.Errorf("list order %v, want %s (just now) before %s (ten minutes ago)", order, recent, early)
	}
	state := eval[string](b, item(early)+`.querySelector('.conv-meta span').textContent`)
	if !regexp.MustCompile(`^Waiting 1[01] mins?$`).MatchString(state) {
		t.Errorf("%s shows %q, want \"Waiting 10 min\" (en-GB: \"10 mins\")", early, state)
	}
	if shown := eval[string](b, item(early)+`.querySelector('.conv-time').textContent`); !regexp.MustCompile(`\b` + local + `\b`).MatchString(shown) {
		t.Errorf("%s shows the time %q, want the Shanghai time %s", early, shown, local)
	}
	b.checkPage()
}
