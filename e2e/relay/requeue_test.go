package relay

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRequeueSaysWhy runs `syncd requeue` as an operator would after a
// relay run: rows that failed as invalid are not requeued unless forced
// (they would only fail again), every id it leaves alone is explained,
// orphaned processing rows are taken with --orphaned, and a bad flag gets
// one line naming it.
func TestRequeueSaysWhy(t *testing.T) {
	for _, dialect := range []string{"mysql", "sqlite"} {
		t.Run(dialect, func(t *testing.T) {
			l := newLegacyDB(t, dialect)
			sent := l.insert("conv-a", "hello", nil)
			badJSON := l.insert("conv-b", "order update", `{"order": 42,`)
			transient := l.insert("conv-c", "relayed during an outage", nil)
			in := l.start("relay-1")
			waitFor(t, 60*time.Second, "the relay to settle", func() (bool, string) {
				if in.exited() {
					t.Fatalf("syncd run exited:\n%s", tail(in.logPath, 30))
				}
				a, b := l.row(sent), l.row(badJSON)
				return a.status == "sent" && b.status == "failed", fmt.Sprintf("%+v %+v", a, b)
			})
			in.stop(20 * time.Second)
			// What an outage leaves behind, and a row set to processing by hand.
			l.client(fmt.Sprintf(`UPDATE message_sync SET status = 'failed', attempts = 8,
 last_error = 'gave up after 8 attempts: insert chat history: Error 1213: Deadlock found' WHERE id = %d`, transient))
			orphan := l.insert("conv-d", "stuck", nil)
			l.client(fmt.Sprintf(`UPDATE message_sync SET status = 'processing' WHERE id = %d`, orphan))

			res := l.requeue("--error-contains", "JSON")
			if res.code != 0 || !strings.Contains(res.stdout, "requeued 0 rows") ||
				!strings.Contains(res.stderr, "skipped 1 row that failed as invalid") || !strings.Contains(res.stderr, "--force") {
				t.Errorf("requeue --error-contains JSON: exit %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
			}
			if r := l.row(badJSON); r.status != "failed" {
				t.Errorf("the invalid row was requeued: %+v", r)
			}

			ids := fmt.Sprintf("%d,%d,%d,%d,999999", sent, badJSON, orphan, transient)
			res = l.requeue("--ids", ids)
			if res.code != 0 || !strings.Contains(res.stdout, "requeued 1 row") {
				t.Errorf("requeue --ids %s: exit %d\nstdout: %s\nstderr: %s", ids, res.code, res.stdout, res.stderr)
			}
			for id, want := range map[int64]string{sent: "sent already", badJSON: "would fail again", orphan: "--orphaned", 999999: "no such row"} {
				if line := lineAbout(res.stderr, id); !strings.Contains(line, want) {
					t.Errorf("requeue --ids: about row %d it says %q, want %q\nstderr: %s", id, line, want, res.stderr)
				}
			}
			if r := l.row(transient); r.status != "pending" || r.attempts != 0 {
				t.Errorf("the failed row after requeue: %+v", r)
			}

			res = l.requeue("--ids", strconv.FormatInt(orphan, 10), "--orphaned")
			if res.code != 0 || !strings.Contains(res.stdout, "requeued 1 row: 0 failed, 1 orphaned processing") {
				t.Errorf("requeue --orphaned: exit %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
			}
			res = l.requeue("--error-contains", "JSON", "--force")
			if res.code != 0 || !strings.Contains(res.stdout, "requeued 1 row") {
				t.Errorf("requeue --force: exit %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
			}
			for _, id := range []int64{orphan, badJSON} {
				if r := l.row(id); r.status != "pending" {
					t.Errorf("row %d: %+v, want pending", id, r)
				}
			}

			res = l.requeue("--since", "1x")
			if res.code != 2 || !strings.Contains(res.stderr, `--since: "1x" is not a duration`) ||
				strings.Contains(res.stdout+res.stderr, "USAGE:") || strings.Count(strings.TrimSpace(res.stderr), "\n") != 0 {
				t.Errorf("requeue --since 1x: exit %d, want 2 and one line naming --since\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
			}
		})
	}
}

// lineAbout is the line of out that is about row id.
func lineAbout(out string, id int64) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, fmt.Sprintf("row %d ", id)) {
			return l
		}
	}
	return ""
}
