package chatcore_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/syncd-dev/syncd/chatcore"
)

// fakeOps stands in for cmd/syncd's adapter (tested there on a real store).
type fakeOps struct {
	mu  sync.Mutex
	got []chatcore.OpsRequeue
}

func (f *fakeOps) Status(context.Context) (chatcore.OpsStatus, error) {
	return chatcore.OpsStatus{
		Rows: map[string]int64{"pending": 3, "processing": 0, "sent": 9, "failed": 2}, OldestPendingAgeSeconds: 42,
		Claims: []chatcore.OpsClaim{}, Locks: "redis", Shards: []chatcore.OpsShard{{Shard: "0/1", Holder: "syncd-a"}},
		Failed: []chatcore.OpsFailure{{Reason: "invalid row: payload is not valid JSON", Rows: 2, Invalid: true}},
	}, nil
}

func (f *fakeOps) Requeue(_ context.Context, r chatcore.OpsRequeue) (chatcore.OpsRequeued, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, r)
	return chatcore.OpsRequeued{Invalid: 2, InvalidSample: []chatcore.OpsSkipped{{ID: 7, Reason: "invalid row: payload is not valid JSON"}}}, nil
}

// Admins read the relay's status and requeue by filter; agents are
// refused; bad filters get 400.
func TestOpsAPI(t *testing.T) {
	t.Parallel()
	ops := &fakeOps{}
	b := setup(t, setupOpts{mutate: func(o *chatcore.Options) { o.Ops = ops }})
	admin, agent := b.login(t, "root"), b.login(t, "bob")
	if err := b.store.SetAgentAdmin(b.ctx, "root", true); err != nil {
		t.Fatal(err)
	}
	var st chatcore.OpsStatus
	admin.do("GET", "/api/admin/ops", nil, nil).decode(t, &st)
	if st.Rows["pending"] != 3 || st.OldestPendingAgeSeconds != 42 || len(st.Shards) != 1 || st.Shards[0].Holder != "syncd-a" ||
		len(st.Failed) != 1 || st.Failed[0].Rows != 2 || !st.Failed[0].Invalid {
		t.Errorf("status = %+v", st)
	}
	if res := agent.do("GET", "/api/admin/ops", nil, nil); res.status != 403 {
		t.Errorf("agent GET: %d, want 403", res.status)
	}
	if res := agent.do("POST", "/api/admin/ops/requeue", map[string]any{}, nil); res.status != 403 {
		t.Errorf("agent requeue: %d, want 403", res.status)
	}
	for _, bad := range []any{map[string]any{"error_contains": strings.Repeat("x", 256)}, map[string]any{"conversation_key": 5}} {
		if res := admin.do("POST", "/api/admin/ops/requeue", bad, nil); res.status != 400 {
			t.Errorf("requeue %v: %d, want 400", bad, res.status)
		}
	}
	var done chatcore.OpsRequeued
	admin.do("POST", "/api/admin/ops/requeue", map[string]any{"conversation_key": "k", "error_contains": "JSON", "force": true}, nil).decode(t, &done)
	if done.Invalid != 2 || len(done.InvalidSample) != 1 || done.InvalidSample[0].ID != 7 {
		t.Errorf("requeue answer = %+v", done)
	}
	ops.mu.Lock()
	defer ops.mu.Unlock()
	if want := (chatcore.OpsRequeue{ConversationKey: "k", ErrorContains: "JSON", Force: true}); len(ops.got) != 1 || ops.got[0] != want {
		t.Errorf("requeues passed on = %+v, want one %+v", ops.got, want)
	}
}

// Without Ops (a console with no relay store) the routes say so.
func TestOpsUnavailable(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	admin := b.login(t, "root")
	if err := b.store.SetAgentAdmin(b.ctx, "root", true); err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct{ method, path string }{{"GET", "/api/admin/ops"}, {"POST", "/api/admin/ops/requeue"}} {
		res := admin.do(r.method, r.path, map[string]any{}, nil)
		if res.status != 503 || !strings.Contains(string(res.body), "not available") {
			t.Errorf("%s %s without Ops: %d %s, want 503", r.method, r.path, res.status, res.body)
		}
	}
}
