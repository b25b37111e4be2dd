package e2e

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestAdminOpsPage: an admin sees the failed rows grouped by reason on the
// console's Relay operations section, a requeue without force skips the
// rows that failed as invalid and says why, and with force puts them back
// to be relayed; an agent is refused the routes.
func TestAdminOpsPage(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, 14, "")
	d.addAgent("root", agentPassword, true)
	in := d.start("e2e-ops-" + randHex(3))
	key := "ops-" + randHex(4)
	const reason = "invalid row: payload is not valid JSON"
	for range 2 {
		if _, err := d.db.Exec("INSERT INTO message_sync (conversation_key, body, status, last_error) VALUES (?, ?, 'failed', ?)",
			key, "Where is my order?", reason); err != nil {
			t.Fatal(err)
		}
	}

	agent := newBrowser(t)
	agent.login(in.URL())
	for _, js := range []string{`fetch('/api/admin/ops').then(r => r.status)`,
		`fetch('/api/admin/ops/requeue', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: '{}'}).then(r => r.status)`} {
		if st := eval[int](agent, js); st != 403 {
			t.Errorf("an agent's %s: %d, want 403", js, st)
		}
	}

	admin := newBrowser(t)
	admin.signIn(in.URL(), "root", agentPassword)
	admin.click("Admin", `#btn-admin`)
	admin.click("the ops section", `#admin-nav [data-section=ops]`)
	admin.waitJS(10*time.Second, "the failed rows by reason",
		`[...document.querySelectorAll('.ops-failed tbody tr')].some(tr => tr.cells[0].textContent === `+jsString(reason)+` && tr.cells[1].textContent === '2')`)
	if got := eval[string](admin, `document.querySelector('.ops-backlog tr[data-status=failed] td.num').textContent`); got != "2" {
		t.Errorf("failed rows in the backlog: %q, want 2", got)
	}

	admin.do(10*time.Second, "requeue this conversation without force",
		chromedp.SendKeys(chromedp.CSS(`#ops-conversation`), key),
		chromedp.Click(chromedp.CSS(`#ops-requeue`)))
	admin.waitJS(10*time.Second, "the skipped rows and why",
		`(document.querySelector('#ops-result .ops-skipped') || {}).textContent?.includes('2 rows that failed as invalid') &&
		 document.querySelector('#ops-result li').textContent.includes(`+jsString(reason)+`)`)

	admin.do(10*time.Second, "requeue with force", chromedp.Click(chromedp.CSS(`#ops-force`)), chromedp.Click(chromedp.CSS(`#ops-requeue`)))
	admin.waitJS(10*time.Second, "the rows requeued",
		`(document.querySelector('#ops-result .ops-requeued') || {}).textContent === 'Requeued 2 rows.' && !document.querySelector('#ops-result .ops-skipped')`)
	eventually(t, 20*time.Second, "the requeued rows relayed", func() (bool, error) {
		var n int
		err := d.db.QueryRow("SELECT COUNT(*) FROM message_sync WHERE conversation_key = ? AND status = 'sent'", key).Scan(&n)
		return n == 2, err
	})

	// The section speaks Chinese too.
	admin.chooseLanguage("zh-CN")
	admin.waitJS(10*time.Second, "the section in Chinese", `document.querySelector('#admin-body .ops h3').textContent === '中继运维'`)
}
