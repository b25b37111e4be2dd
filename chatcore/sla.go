package chatcore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// SLARules are the response-time targets (console.sla); zero turns one
// off. A customer's wait breaks the first-response target when no agent
// has answered since the conversation opened, the reply target after;
// an assignee who does not answer within the reply target (counted from
// the later of the wait's start and her assignment) loses the conversation
// to Unassigned, or to the next agent when auto-assignment is on.
type SLARules struct {
	FirstResponse time.Duration
	Reply         time.Duration
}

// MaxSLATarget bounds each target; a wait longer than this is not a
// response-time rule anyone means, and a due time must stay a valid
// database time.
const MaxSLATarget = 30 * 24 * time.Hour

// Check names the first target out of bounds.
func (r SLARules) Check() error {
	for _, t := range []struct {
		name string
		d    time.Duration
	}{{"first_response", r.FirstResponse}, {"reply", r.Reply}} {
		if t.d < 0 || t.d > MaxSLATarget {
			return fmt.Errorf("%s must be between 0 (off) and %s, got %s", t.name, MaxSLATarget, t.d)
		}
	}
	return nil
}

func (r SLARules) on() bool { return r.FirstResponse > 0 || r.Reply > 0 }

// due is when cv's wait breaks its target, and which target; zero when
// nobody waits or that target is off.
func (r SLARules) due(cv Conversation) (time.Time, string) {
	if cv.State != StateOpen || cv.WaitingSince.IsZero() {
		return time.Time{}, ""
	}
	if cv.AgentRepliedAt.IsZero() {
		if r.FirstResponse > 0 {
			return cv.WaitingSince.Add(r.FirstResponse), SLAFirstResponse
		}
		return time.Time{}, ""
	}
	if r.Reply > 0 {
		return cv.WaitingSince.Add(r.Reply), SLAReply
	}
	return time.Time{}, ""
}

// The targets, as Conversation.DueTarget and the breach metric name them.
const (
	SLAFirstResponse = "first_response"
	SLAReply         = "reply"
)

// SLAStore is what the response-time rules read and write.
type SLAStore interface {
	// SLARules returns the rules an admin saved; ok false when none were.
	SLARules(ctx context.Context) (rules SLARules, ok bool, err error)
	// SetSLARules saves the rules for every instance.
	SetSLARules(ctx context.Context, r SLARules) error
	// RecordBreaches records the breach of up to limit open conversations
	// whose wait began at or before cutoff, of the first-response target
	// (first) or the reply target, each once per wait whichever instance
	// asks, and returns the keys this call recorded.
	RecordBreaches(ctx context.Context, first bool, cutoff, at time.Time, limit int) ([]string, error)
	// ReturnLate takes from their assignee up to q.Limit open conversations
	// whose wait, and assignment, began at or before q.Cutoff, gives each
	// to the next candidate (AutoAssign's choice, never the one who had it)
	// or to nobody, and writes the event into its history, each in one
	// transaction.
	ReturnLate(ctx context.Context, q ReturnQuery) ([]Returned, error)
}

// ReturnQuery selects and directs ReturnLate.
type ReturnQuery struct {
	Cutoff, At time.Time
	Target     time.Duration // the reply target, for the event's text
	Candidates []string      // online agents; nil: back to Unassigned
	Capacity   int
	Limit      int
}

// Returned is one conversation ReturnLate took from an agent.
type Returned struct {
	Key      string
	From, To string // To "" for Unassigned
	Event    Message
}

// SLA event kind in a conversation's history.
const EventSLAReturned = "sla_returned"

// SLAStats are the response-time counters of this instance.
type SLAStats struct {
	FirstResponseBreaches int64 // syncd_console_sla_breaches_total{target="first_response"}
	ReplyBreaches         int64 // syncd_console_sla_breaches_total{target="reply"}
	Returned              int64 // syncd_console_sla_returned_total
	AutoAssigned          int64 // syncd_console_auto_assigned_total
}

// slaBatch is the most conversations one pass records or returns.
const slaBatch = 200

// rules returns the rules in force: an admin's, or the configured ones.
func (c *Core) rules() SLARules { return *c.slaRules.Load() }

// loadRules reads the admins' rules; the configured ones stay when none
// were saved.
func (c *Core) loadRules(ctx context.Context) error {
	r, ok, err := c.store.SLARules(ctx)
	if err != nil {
		return fmt.Errorf("read response-time rules: %w", err)
	}
	if !ok {
		r = c.o.SLA
	}
	c.slaRules.Store(&r)
	return nil
}

// withDue sets cv's due time and breach as of now.
func (c *Core) withDue(cv Conversation, now time.Time) Conversation {
	cv.DueAt, cv.DueTarget = c.rules().due(cv)
	cv.Breached = !cv.DueAt.IsZero() && !now.Before(cv.DueAt)
	return cv
}

// checkSLA counts the breaches of the rules and takes conversations from
// assignees who did not reply in time. Each breach and each return is
// done by one instance (the store's fenced writes), however many sweep.
func (c *Core) checkSLA(ctx context.Context) error {
	r := c.rules()
	if !r.on() {
		return nil
	}
	now := c.now()
	var errs []error
	for _, t := range []struct {
		first bool
		d     time.Duration
	}{{true, r.FirstResponse}, {false, r.Reply}} {
		if t.d <= 0 {
			continue
		}
		keys, err := c.store.RecordBreaches(ctx, t.first, now.Add(-t.d), now, slaBatch)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if t.first {
			c.breachFirst.Add(int64(len(keys)))
		} else {
			c.breachReply.Add(int64(len(keys)))
		}
		for _, k := range keys {
			c.log.LogAttrs(ctx, slog.LevelInfo, "response-time target missed", slog.String("conversation_key", k),
				slog.Bool("first_response", t.first))
		}
	}
	if r.Reply > 0 {
		errs = append(errs, c.returnLate(ctx, r.Reply, now))
	}
	return errors.Join(errs...)
}

func (c *Core) returnLate(ctx context.Context, reply time.Duration, now time.Time) error {
	q := ReturnQuery{Cutoff: now.Add(-reply), At: now, Target: reply, Capacity: c.o.Assignment.Capacity, Limit: slaBatch}
	if c.o.Assignment.Enabled {
		online, err := c.Online(ctx)
		if err != nil {
			return fmt.Errorf("return late conversations: who is online: %w", err)
		}
		q.Candidates = online
	}
	got, err := c.store.ReturnLate(ctx, q)
	for _, ret := range got {
		c.returned.Add(1)
		c.log.LogAttrs(ctx, slog.LevelInfo, "conversation returned: no reply within the reply target",
			slog.String("conversation_key", ret.Key), slog.String("from", ret.From), slog.String("to", ret.To))
		if perr := c.publishMessages(ctx, []Message{ret.Event}); perr != nil {
			c.log.LogAttrs(ctx, slog.LevelWarn, "publish return event", slog.Any("error", perr))
		}
		c.announceKey(ctx, ret.Key)
	}
	if err != nil {
		return fmt.Errorf("return late conversations: %w", err)
	}
	return nil
}

// workLoop runs, every SweepInterval and when kicked, the reload of the
// rules, auto-assignment and the response-time check, until ctx is done.
// Failures are logged once per outage, like the sweep's.
func (c *Core) workLoop(ctx context.Context) {
	t := time.NewTicker(c.o.SweepInterval)
	defer t.Stop()
	failing := false
	for {
		rctx, cancel := context.WithTimeout(ctx, max(c.o.SweepInterval, 5*time.Second))
		err := c.workOnce(rctx)
		cancel()
		switch {
		case err != nil && errors.Is(err, context.Canceled):
		case err != nil:
			level := slog.LevelDebug
			if !failing {
				level = slog.LevelWarn
			}
			failing = true
			c.log.LogAttrs(ctx, level, "console assignment and response-time check failed; retrying", slog.Any("error", err))
		case failing:
			failing = false
			c.log.LogAttrs(ctx, slog.LevelInfo, "console assignment and response-time check recovered")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-c.kick:
		}
	}
}

func (c *Core) workOnce(ctx context.Context) error {
	if err := c.loadRules(ctx); err != nil {
		return err
	}
	// The check first: what it returns to Unassigned is assigned next.
	return errors.Join(c.checkSLA(ctx), c.assignQueued(ctx))
}

// slaWire is the rules as the admin API writes them, in seconds.
type slaWire struct {
	FirstResponse *int64 `json:"first_response_seconds"`
	Reply         *int64 `json:"reply_seconds"`
}

func (c *Core) handleGetSLA(w http.ResponseWriter, r *http.Request) {
	if err := c.loadRules(r.Context()); err != nil {
		c.serverError(w, r, "read response-time rules", err)
		return
	}
	rules := c.rules()
	fr, rp := int64(rules.FirstResponse/time.Second), int64(rules.Reply/time.Second)
	writeJSON(w, http.StatusOK, slaWire{FirstResponse: &fr, Reply: &rp})
}

func (c *Core) handlePutSLA(w http.ResponseWriter, r *http.Request) {
	var req slaWire
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if req.FirstResponse == nil || req.Reply == nil {
		writeError(w, http.StatusBadRequest, "give first_response_seconds and reply_seconds (0 turns a target off)")
		return
	}
	most := int64(MaxSLATarget / time.Second)
	if *req.FirstResponse < 0 || *req.FirstResponse > most || *req.Reply < 0 || *req.Reply > most {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("each target must be between 0 (off) and %d seconds", most))
		return
	}
	rules := SLARules{FirstResponse: time.Duration(*req.FirstResponse) * time.Second, Reply: time.Duration(*req.Reply) * time.Second}
	if err := c.store.SetSLARules(r.Context(), rules); err != nil {
		c.serverError(w, r, "save response-time rules", err)
		return
	}
	c.slaRules.Store(&rules)
	c.kickAssign()
	writeJSON(w, http.StatusOK, req)
}
