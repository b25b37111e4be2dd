package chatstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/syncd-dev/syncd/chat/history"
	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/internal/dialect"
)

// slaSetting is the syncd_settings row of the rules admins save.
const slaSetting = "console.sla"

type slaValue struct {
	FirstResponseSeconds int64 `json:"first_response_seconds"`
	ReplySeconds         int64 `json:"reply_seconds"`
}

// SLARules returns the rules an admin saved; ok false when none were.
func (s *DB) SLARules(ctx context.Context) (chatcore.SLARules, bool, error) {
	var raw string
	err := s.db.WithContext(ctx).Raw(`SELECT value FROM syncd_settings WHERE name = ?`, slaSetting).Row().Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return chatcore.SLARules{}, false, nil
	}
	if err != nil {
		return chatcore.SLARules{}, false, fmt.Errorf("read %s: %w", slaSetting, err)
	}
	var v slaValue
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return chatcore.SLARules{}, false, fmt.Errorf("read %s: %w", slaSetting, err)
	}
	return chatcore.SLARules{FirstResponse: time.Duration(v.FirstResponseSeconds) * time.Second,
		Reply: time.Duration(v.ReplySeconds) * time.Second}, true, nil
}

// SetSLARules saves the rules in syncd_settings.
func (s *DB) SetSLARules(ctx context.Context, r chatcore.SLARules) error {
	raw, _ := json.Marshal(slaValue{FirstResponseSeconds: int64(r.FirstResponse / time.Second), ReplySeconds: int64(r.Reply / time.Second)})
	q := `INSERT INTO syncd_settings (name, value, created_at) VALUES (?, ?, ?)` + s.d.Upsert("name") + `value = ` + s.d.Inserted("value")
	if err := s.db.WithContext(ctx).Exec(q, slaSetting, string(raw), s.at(time.Now())).Error; err != nil {
		return fmt.Errorf("save %s: %w", slaSetting, err)
	}
	return nil
}

type convRef struct {
	ID              int64
	ConversationKey string
	Assignee        sql.NullString
}

// RecordBreaches finds open conversations whose wait began at or before
// cutoff and whose breach is not recorded (ix_conversations_waiting), and
// records each with history.MarkBreach, whose WHERE repeats the condition:
// of instances sweeping at once, one records it.
func (s *DB) RecordBreaches(ctx context.Context, first bool, cutoff, at time.Time, limit int) ([]string, error) {
	replied := "agent_replied_at IS NOT NULL"
	if first {
		replied = "agent_replied_at IS NULL"
	}
	var refs []convRef
	if err := s.db.WithContext(ctx).Raw(`SELECT id, conversation_key FROM conversations
WHERE state = 'open' AND waiting_since IS NOT NULL AND waiting_since <= ? AND `+replied+`
  AND (sla_breached_at IS NULL OR sla_breached_at < waiting_since)
ORDER BY waiting_since, id LIMIT ?`, s.at(cutoff), limit).Scan(&refs).Error; err != nil {
		return nil, fmt.Errorf("find response-time breaches: %w", err)
	}
	var out []string
	hist := history.New(s.d)
	for _, ref := range refs {
		ok, err := hist.MarkBreach(s.db.WithContext(ctx), ref.ID, first, cutoff, at)
		if err != nil {
			return out, err
		}
		if ok {
			out = append(out, ref.ConversationKey)
		}
	}
	return out, nil
}

// ReturnLate takes conversations from assignees who have not answered
// within the reply target (ix_conversations_waiting), each in one
// transaction: the next agent's choice (choose, which locks agent rows
// first, in the order AutoAssign locks them), the fenced write
// (history.ReturnLate) and the event in its history (history.AppendEvent).
func (s *DB) ReturnLate(ctx context.Context, q chatcore.ReturnQuery) ([]chatcore.Returned, error) {
	c := s.at(q.Cutoff)
	var refs []convRef
	if err := s.db.WithContext(ctx).Raw(`SELECT id, conversation_key, assignee FROM conversations
WHERE state = 'open' AND waiting_since IS NOT NULL AND waiting_since <= ?
  AND assignee IS NOT NULL AND assignee <> '' AND (assigned_at IS NULL OR assigned_at <= ?)
ORDER BY waiting_since, id LIMIT ?`, c, c, q.Limit).Scan(&refs).Error; err != nil {
		return nil, fmt.Errorf("find late assigned conversations: %w", err)
	}
	var out []chatcore.Returned
	for _, ref := range refs {
		var ret *chatcore.Returned
		err := dialect.RetryDeadlocks(func() (err error) {
			ret, err = s.returnOne(ctx, ref, q)
			return err
		})
		if err != nil {
			return out, fmt.Errorf("return %s: %w", ref.ConversationKey, err)
		}
		if ret != nil {
			out = append(out, *ret)
		}
	}
	return out, nil
}

func (s *DB) returnOne(ctx context.Context, ref convRef, q chatcore.ReturnQuery) (*chatcore.Returned, error) {
	var ret *chatcore.Returned
	err := s.tx(ctx, func(tx *gorm.DB) error {
		hist := history.New(s.d)
		from := ref.Assignee.String
		to, err := s.choose(tx, q.Candidates, from, q.Capacity)
		if err != nil {
			return err
		}
		ok, err := hist.ReturnLate(tx, ref.ID, from, to, q.Cutoff, q.At)
		if err != nil || !ok {
			return err // answered, handed over, or returned by another instance meanwhile
		}
		body := fmt.Sprintf("%s did not reply within %s; returned to Unassigned", from, q.Target)
		var toField any
		if to != "" {
			body = fmt.Sprintf("%s did not reply within %s; handed to %s", from, q.Target, to)
			toField = to
		}
		ev, err := hist.AppendEvent(tx, ref.ID, history.Event{
			ConversationKey: ref.ConversationKey, Kind: chatcore.EventSLAReturned, Body: body, At: q.At,
			Payload: map[string]any{"from": from, "to": toField, "target_seconds": int64(q.Target / time.Second)},
		})
		if err != nil {
			return err
		}
		ret = &chatcore.Returned{Key: ref.ConversationKey, From: from, To: to, Event: chatcore.Message{Message: ev}}
		return nil
	})
	return ret, err
}
