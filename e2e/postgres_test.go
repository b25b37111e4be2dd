package e2e

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestPostgresDeployment: syncd runs on PostgreSQL with database.notify.
// A psql session at Asia/Shanghai inserts a row; it is relayed at once
// (the schedule would take a minute), the agent sees it in the console
// and replies, and the reply is in message_reply for the legacy app.
func TestPostgresDeployment(t *testing.T) {
	t.Parallel()
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Fatal("no psql on PATH; .ci/run installs postgresql-client")
	}
	d := newDeploymentOn(t, "postgres", 12, "")
	in := d.start("e2e-pg-"+randHex(3), "SYNCD_DATABASE_NOTIFY=true", "SYNCD_POLLER_SCHEDULE=@every 1m")
	b := newBrowser(t)
	b.login(in.URL())

	key := "erp-" + randHex(4)
	body := "我的订单什么时候发货？ " + randHex(3)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", dsnOf(d), "-c",
		"SET TIME ZONE 'Asia/Shanghai'; INSERT INTO message_sync (conversation_key, body) VALUES ('"+key+"', '"+body+"')")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("psql: %v\n%s", err, out)
	}
	var status string
	eventually(t, 10*time.Second, "the row relayed on its notification", func() (bool, error) {
		err := d.db.QueryRow(`SELECT status FROM message_sync WHERE conversation_key = ?`, key).Scan(&status)
		return err == nil && status == "sent", err
	})
	var age float64
	if err := d.db.QueryRow(`SELECT EXTRACT(EPOCH FROM processed_at - created_at) FROM message_sync WHERE conversation_key = ?`, key).Scan(&age); err != nil || age < 0 || age > 10 {
		t.Errorf("relayed %vs after its insert (%v): the writer's zone must not shift created_at", age, err)
	}

	b.openConversation(key)
	b.waitJS(30*time.Second, "the relayed row", hasMessageJS(body))
	reply := "您好，今天发货。"
	b.do(10*time.Second, "type a reply",
		chromedp.Click(chromedp.CSS(`#reply`)),
		chromedp.SendKeys(chromedp.CSS(`#reply`), reply),
	)
	b.do(10*time.Second, "press Enter", pressEnter)
	var n int
	eventually(t, 10*time.Second, "the reply in message_reply", func() (bool, error) {
		err := d.db.QueryRow(`SELECT COUNT(*) FROM message_reply WHERE conversation_key = ? AND author_type = 'agent' AND body = ? AND status = 'pending'`, key, reply).Scan(&n)
		return err == nil && n == 1, err
	})
	if logs := in.logs.String(); !strings.Contains(logs, "waking on inserts") {
		t.Errorf("the instance did not log that it listens:\n%s", tail(logs, 2000))
	}

	// The listener's connection dies (a failover, a proxy's idle timeout):
	// the log says so, and says when notifications are back.
	if _, err := d.db.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'listen%'`); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the log to say notifications resumed", func() (bool, error) {
		logs := in.logs.String()
		return strings.Contains(logs, "insert notifications interrupted") && strings.Contains(logs, "insert notifications resumed"), nil
	})

	// A second instance started with database.notify false turns the
	// database's switch off for both, and says so.
	other := d.start("e2e-pg-off-"+randHex(3), "SYNCD_DATABASE_NOTIFY=false")
	eventually(t, 30*time.Second, "the warning that the switch went off", func() (bool, error) {
		return strings.Contains(other.logs.String(), "insert notification is now off for every instance"), nil
	})
	b.checkPage()
}

func dsnOf(d *deployment) string {
	for _, kv := range d.env {
		if v, ok := strings.CutPrefix(kv, "SYNCD_DATABASE_DSN="); ok {
			return v
		}
	}
	d.t.Fatal("no DSN in the deployment's settings")
	return ""
}
