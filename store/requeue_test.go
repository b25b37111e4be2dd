package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/testdb"
	"github.com/syncd-dev/syncd/store"
)

// requeueFixture writes one row in each state requeue meets and returns
// their ids by name.
func requeueFixture(t *testing.T, db *testdb.DB) map[string]int64 {
	t.Helper()
	ids := map[string]int64{}
	for _, name := range []string{"transient", "invalid", "oversized", "orphan", "claimed", "sent", "pending"} {
		ids[name] = db.Insert(t, "conv-"+name, name)
	}
	ctx := context.Background()
	c, err := db.Store.Claim(ctx, all, "relay-1", 100, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var out store.Outcome
	for _, r := range c.Rows {
		switch r.ID {
		case ids["transient"]:
			out.Failed = append(out.Failed, store.Failed{ID: r.ID, Reason: "gave up after 8 attempts: insert chat history: Error 1213: Deadlock found"})
		case ids["invalid"]:
			out.Failed = append(out.Failed, store.Failed{ID: r.ID, Reason: "invalid row: payload is not valid JSON"})
		case ids["oversized"]:
			out.Failed = append(out.Failed, store.Failed{ID: r.ID, Reason: "invalid row: body is 70000 bytes, over relay.max_body_bytes (65536)"})
		case ids["sent"]:
			out.Relayed = relayAll(&store.Claim{Rows: []store.Row{r}}).Relayed
		case ids["claimed"]:
			// stays in flight below
		default:
			out.Release = append(out.Release, r.ID)
		}
	}
	if _, err := db.Store.Commit(ctx, c, out); err != nil {
		t.Fatal(err)
	}
	exec(t, db, `UPDATE message_sync SET status = 'processing' WHERE id = ?`, ids["orphan"])
	return ids
}

func skippedReasons(res store.RequeueResult) map[int64]string {
	m := map[int64]string{}
	for _, s := range res.Skipped {
		m[s.ID] = s.Reason
	}
	return m
}

// syncd requeue takes what can be relayed again, leaves alone what would
// only fail again (unless forced), takes orphaned processing rows when
// asked, and says for each id it leaves alone why.
func TestRequeue(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		ctx := context.Background()
		ids := requeueFixture(t, db)
		every := make([]int64, 0, len(ids)+1)
		for _, id := range ids {
			every = append(every, id)
		}
		every = append(every, 999999)

		res, err := db.Store.Requeue(ctx, store.RequeueFilter{IDs: every})
		if err != nil {
			t.Fatal(err)
		}
		if res.Failed != 1 || res.Orphaned != 0 {
			t.Errorf("requeue by ids: %+v; want only the transient failure", res)
		}
		why := skippedReasons(res)
		for name, want := range map[string]string{
			"invalid":   "would fail again",
			"oversized": "--force",
			"orphan":    "--orphaned",
			"claimed":   "claim in flight by relay-1",
			"sent":      "sent already",
			"pending":   "pending already",
		} {
			if !strings.Contains(why[ids[name]], want) {
				t.Errorf("row %s (%d): reason %q, want it to say %q", name, ids[name], why[ids[name]], want)
			}
		}
		if why[999999] != "no such row" {
			t.Errorf("row 999999: reason %q", why[999999])
		}
		if _, listed := why[ids["transient"]]; listed || len(why) != 7 {
			t.Errorf("reasons %v: want one for each row left alone", why)
		}
		if rs := rowStatus(t, db, ids["transient"]); rs.Status != "pending" || rs.Attempts != 0 {
			t.Errorf("transient failure after requeue: %+v", rs)
		}

		// --error-contains: a permanent failure is skipped and counted, even
		// when the text matches (and _ in the text is not a wildcard: it
		// matches on SQLite too).
		res, err = db.Store.Requeue(ctx, store.RequeueFilter{ErrorContains: "max_body_bytes"})
		if err != nil || res.Failed != 0 || res.Invalid != 1 || len(res.InvalidSample) != 1 || res.InvalidSample[0].ID != ids["oversized"] {
			t.Errorf("requeue --error-contains max_body_bytes: %+v, %v; want the oversized row skipped as invalid", res, err)
		}
		res, err = db.Store.Requeue(ctx, store.RequeueFilter{ErrorContains: "max%body"})
		if err != nil || res.Invalid != 0 {
			t.Errorf("requeue --error-contains max%%body: %+v, %v; %% is not a wildcard", res, err)
		}
		res, err = db.Store.Requeue(ctx, store.RequeueFilter{ErrorContains: "JSON", Force: true})
		if err != nil || res.Failed != 1 {
			t.Errorf("requeue --error-contains JSON --force: %+v, %v", res, err)
		}
		res, err = db.Store.Requeue(ctx, store.RequeueFilter{IDs: []int64{ids["orphan"], ids["claimed"]}, Orphaned: true})
		if err != nil || res.Orphaned != 1 || len(res.Skipped) != 1 || res.Skipped[0].ID != ids["claimed"] {
			t.Errorf("requeue --orphaned: %+v, %v; want the orphan, not the claim in flight", res, err)
		}
		if rs := rowStatus(t, db, ids["orphan"]); rs.Status != "pending" || !strings.Contains(rs.LastError, "--orphaned") {
			t.Errorf("orphan after requeue --orphaned: %+v", rs)
		}
		if rs := rowStatus(t, db, ids["claimed"]); rs.Status != "processing" {
			t.Errorf("the claim in flight was taken: %+v", rs)
		}
		res, err = db.Store.Requeue(ctx, store.RequeueFilter{IDs: []int64{ids["oversized"]}, ConversationKey: "conv-other"})
		if err != nil || res.Failed != 0 || len(res.Skipped) != 1 || !strings.Contains(res.Skipped[0].Reason, "--conversation") {
			t.Errorf("requeue --ids --conversation of another conversation: %+v, %v", res, err)
		}
	})
}
