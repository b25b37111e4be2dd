package main

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/lock"
	"github.com/syncd-dev/syncd/poller"
	"github.com/syncd-dev/syncd/store"
)

// backlog is what `syncd status` shows, read once for the command and
// for the console's ops page alike.
type backlog struct {
	stats   store.Stats
	claims  []store.ClaimInFlight
	orphans int64
	holders []chatcore.OpsShard // [] in JSON, not null, with in-process locks
}

func readBacklog(ctx context.Context, st *store.Store, locker lock.Locker, shards int) (backlog, error) {
	var b backlog
	var err error
	if b.stats, err = st.Stats(ctx, true); err != nil {
		return b, err
	}
	if b.claims, err = st.ClaimsInFlight(ctx); err != nil {
		return b, err
	}
	if b.stats.ByStatus["processing"] > 0 {
		if b.orphans, err = st.CountOrphans(ctx); err != nil {
			return b, err
		}
	}
	b.holders = []chatcore.OpsShard{}
	if locker.Distributed() {
		for i := 0; i < shards; i++ {
			s := store.Shard{Index: i, Count: shards}
			h, err := locker.Holder(ctx, poller.LockKey(s))
			if err != nil {
				return b, fmt.Errorf("read shard lock holders: %w", err)
			}
			b.holders = append(b.holders, chatcore.OpsShard{Shard: s.String(), Holder: h})
		}
	}
	return b, nil
}

func locksKind(locker lock.Locker) string {
	if locker.Distributed() {
		return "redis"
	}
	return "in-process"
}

// consoleOps is chatcore.Ops over the relay's store and shard locks.
type consoleOps struct {
	st     *store.Store
	locker lock.Locker
	shards int
}

// maxReasonBytes cuts a long last_error on the ops page; the requeue
// filter matches any part of it.
const maxReasonBytes = 500

func (o consoleOps) Status(ctx context.Context) (chatcore.OpsStatus, error) {
	b, err := readBacklog(ctx, o.st, o.locker, o.shards)
	if err != nil {
		return chatcore.OpsStatus{}, err
	}
	reasons, err := o.st.FailedReasons(ctx, chatcore.MaxOpsReasons)
	if err != nil {
		return chatcore.OpsStatus{}, err
	}
	s := chatcore.OpsStatus{
		Rows: b.stats.ByStatus, Unrecognised: b.stats.Unrecognised, OldestPendingAgeSeconds: b.stats.OldestPendingAge.Seconds(),
		OrphanedProcessing: b.orphans, Locks: locksKind(o.locker), Shards: b.holders,
		Claims: make([]chatcore.OpsClaim, 0, len(b.claims)), Failed: make([]chatcore.OpsFailure, 0, len(reasons)),
	}
	for _, c := range b.claims {
		s.Claims = append(s.Claims, chatcore.OpsClaim{ClaimedBy: c.ClaimedBy, BucketLo: c.BucketLo, BucketHi: c.BucketHi,
			LeaseUntil: c.LeaseUntil, CreatedAt: c.CreatedAt})
	}
	for _, r := range reasons {
		s.Failed = append(s.Failed, chatcore.OpsFailure{Reason: cut(r.Reason), Rows: r.Rows, Invalid: r.Invalid})
	}
	return s, nil
}

func (o consoleOps) Requeue(ctx context.Context, r chatcore.OpsRequeue) (chatcore.OpsRequeued, error) {
	res, err := o.st.Requeue(ctx, store.RequeueFilter{ConversationKey: r.ConversationKey, ErrorContains: r.ErrorContains, Force: r.Force})
	if err != nil {
		return chatcore.OpsRequeued{}, err
	}
	out := chatcore.OpsRequeued{Requeued: res.Failed, Invalid: res.Invalid, InvalidSample: make([]chatcore.OpsSkipped, 0, len(res.InvalidSample))}
	for _, s := range res.InvalidSample {
		out.InvalidSample = append(out.InvalidSample, chatcore.OpsSkipped{ID: s.ID, Reason: cut(s.Reason)})
	}
	return out, nil
}

// cut shortens s to maxReasonBytes, on a rune boundary.
func cut(s string) string {
	if len(s) <= maxReasonBytes {
		return s
	}
	i := maxReasonBytes
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}
