package chatcore

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// SweepStore is what the sweep reads.
type SweepStore interface {
	// LatestUpdate returns the newest conversations.updated_at; zero when
	// there are no conversations.
	LatestUpdate(ctx context.Context) (time.Time, error)
	// ChangedConversations returns up to limit conversations updated after
	// the cursor, ordered by (updated_at, id), with ReadSeq 0.
	ChangedConversations(ctx context.Context, after SweepCursor, limit int) ([]Conversation, error)
	// ReadMarkers returns the read_seq of the given agents in the given
	// conversations; a marker that does not exist is absent.
	ReadMarkers(ctx context.Context, keys, usernames []string) (map[ReadKey]int64, error)
	// ConversationsByKey returns those of the given conversations that
	// exist, in no particular order, with ReadSeq 0.
	ConversationsByKey(ctx context.Context, keys []string) ([]Conversation, error)
}

// sweepFloor is the earliest time the sweep asks for; DATETIME columns
// cannot hold year 0.
var sweepFloor = time.Unix(0, 0).UTC()

const (
	sweepPage     = 500
	sweepMaxPages = 40 // 20,000 conversations a sweep at most
)

// sweeper re-reads, every SweepInterval, the conversations whose updated_at
// moved and pushes a conversation frame for each whose last_seq, state or
// assignee changed since it last pushed one. A message committed by an
// instance that died before publishing shows up this way.
//
// The cursor is the newest updated_at seen; each sweep reads again from
// SweepLookback before it, so a transaction that committed late (its
// updated_at older than rows already seen) is still found. seen remembers
// what was pushed for the rows in that window, so they are not pushed twice.
type sweeper struct {
	c       *Core
	started bool
	hwm     time.Time
	seen    map[string]sweepSig
}

// sweepSig is what a conversation frame shows that the sweep compares;
// updatedAt only says when the entry may be forgotten.
type sweepSig struct {
	lastSeq   int64
	state     State
	assignee  string
	updatedAt time.Time
}

func (a sweepSig) sameAs(b sweepSig) bool {
	return a.lastSeq == b.lastSeq && a.state == b.state && a.assignee == b.assignee
}

func sigOf(cv Conversation) sweepSig {
	return sweepSig{lastSeq: cv.LastSeq, state: cv.State, assignee: cv.Assignee, updatedAt: cv.UpdatedAt}
}

func newSweeper(c *Core) *sweeper { return &sweeper{c: c, seen: map[string]sweepSig{}} }

// loop runs a sweep every SweepInterval until ctx is done. The first
// failure of an outage is logged as a warning, the repeats at debug level
// (a database down for a minute would otherwise log 30 warnings), and the
// first success after it says how long the sweep failed.
func (s *sweeper) loop(ctx context.Context) {
	t := time.NewTicker(s.c.o.SweepInterval)
	defer t.Stop()
	var failingSince time.Time
	failures := 0
	for {
		rctx, cancel := context.WithTimeout(ctx, max(s.c.o.SweepInterval, 5*time.Second))
		err := s.runOnce(rctx)
		cancel()
		switch {
		case err != nil && errors.Is(err, context.Canceled):
		case err != nil:
			failures++
			level := slog.LevelDebug
			if failures == 1 {
				failingSince, level = time.Now(), slog.LevelWarn
			}
			s.c.log.LogAttrs(ctx, level, "console sweep failed; retrying every "+s.c.o.SweepInterval.String(),
				slog.Int("failures", failures), slog.Any("error", err))
		case failures > 0:
			s.c.log.LogAttrs(ctx, slog.LevelInfo, "console sweep recovered",
				slog.Int("failures", failures), slog.Duration("failed_for", time.Since(failingSince).Round(time.Millisecond)))
			failures = 0
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// runOnce is one sweep: push changed conversations, then drop the sockets
// whose session stopped being valid.
func (s *sweeper) runOnce(ctx context.Context) error {
	if !s.started {
		// Start from the newest row; what changed before this instance
		// started is in the list a client loads when it connects.
		hwm, err := s.c.store.LatestUpdate(ctx)
		if err != nil {
			return err
		}
		s.hwm, s.started = hwm, true
		if _, err := s.changed(ctx); err != nil { // fill seen, push nothing
			return err
		}
		return s.c.checkSessions(ctx)
	}
	s.c.renderMu.Lock()
	changed, err := s.changed(ctx)
	if err == nil {
		s.c.deliverConversations(ctx, changed, "")
	}
	s.c.renderMu.Unlock()
	// Sessions are checked even when the window could not be read: a
	// disabled agent must not keep a socket because one query failed.
	return errors.Join(err, s.c.checkSessions(ctx))
}

// changed reads the window and returns what moved since it was last seen.
func (s *sweeper) changed(ctx context.Context) ([]Conversation, error) {
	since := s.hwm.Add(-s.c.o.SweepLookback)
	if since.Before(sweepFloor) { // no conversations yet: hwm is zero
		since = sweepFloor
	}
	cur := SweepCursor{UpdatedAt: since}
	var out []Conversation
	for range sweepMaxPages {
		rows, err := s.c.store.ChangedConversations(ctx, cur, sweepPage)
		if err != nil {
			return nil, err
		}
		for _, cv := range rows {
			if cv.UpdatedAt.After(s.hwm) {
				s.hwm = cv.UpdatedAt
			}
			sig := sigOf(cv)
			if old, ok := s.seen[cv.Key]; !ok || !old.sameAs(sig) {
				out = append(out, cv)
			}
			s.seen[cv.Key] = sig
		}
		if len(rows) < sweepPage {
			break
		}
		last := rows[len(rows)-1]
		cur = SweepCursor{UpdatedAt: last.UpdatedAt, ID: last.ID}
	}
	for k, sig := range s.seen {
		if sig.updatedAt.Before(since) {
			delete(s.seen, k)
		}
	}
	return out, nil
}
