package history

import (
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/syncd-dev/syncd/internal/dialect"
)

// Assign sets the agent a conversation is assigned to and when
// (assigned_at, from which the reply target runs for her); "" releases it.
func (w Writer) Assign(tx *gorm.DB, convID int64, assignee string, at time.Time) error {
	var since any
	if assignee != "" {
		since = w.d.Time(at)
	}
	return w.setConversation(tx, convID, at, `assignee = ?, assigned_at = ?`, dialect.NullIfEmpty(assignee), since)
}

// TakeUnassigned assigns the conversation to agent when nobody has it
// (an agent who replies takes it; one assigned to someone else stays
// theirs; auto-assignment gives it this way), and reports whether it did.
// The WHERE is the fence: of two instances assigning the same
// conversation, one updates a row and the other none.
func (w Writer) TakeUnassigned(tx *gorm.DB, convID int64, agent string, at time.Time) (bool, error) {
	t := w.d.Time(at)
	res := tx.Exec(`UPDATE conversations SET assignee = ?, assigned_at = ?, updated_at = ?
 WHERE id = ? AND (assignee IS NULL OR assignee = '')`, agent, t, t, convID)
	if res.Error != nil {
		return false, fmt.Errorf("take conversation: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// ReturnLate takes the conversation from agent from, who has not answered
// a wait that began (or an assignment made) at or before cutoff, and gives
// it to to ("" for Unassigned); returned_from remembers from, whom
// auto-assignment then passes over. It reports whether it did: the WHERE
// repeats the condition, so a reply or hand-over committed since the
// caller looked, or another instance's return, leaves the row alone.
func (w Writer) ReturnLate(tx *gorm.DB, convID int64, from, to string, cutoff, at time.Time) (bool, error) {
	c, t := w.d.Time(cutoff), w.d.Time(at)
	var since any
	if to != "" {
		since = t
	}
	res := tx.Exec(`UPDATE conversations SET assignee = ?, assigned_at = ?, returned_from = ?, updated_at = ?
 WHERE id = ? AND assignee = ? AND state = 'open'
   AND waiting_since IS NOT NULL AND waiting_since <= ?
   AND (assigned_at IS NULL OR assigned_at <= ?)`, dialect.NullIfEmpty(to), since, from, t, convID, from, c, c)
	if res.Error != nil {
		return false, fmt.Errorf("return conversation: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// MarkBreach records that the conversation's current wait, which began at
// or before cutoff, broke its target, and reports whether this call
// recorded it (once per wait, whichever instance asks first). first
// selects the first-response target (no agent has replied since it
// opened) or the reply target.
func (w Writer) MarkBreach(tx *gorm.DB, convID int64, first bool, cutoff, at time.Time) (bool, error) {
	replied := "agent_replied_at IS NOT NULL"
	if first {
		replied = "agent_replied_at IS NULL"
	}
	// updated_at stays: a breach changes nothing a conversation frame
	// shows that the console cannot work out from due_at.
	res := tx.Exec(`UPDATE conversations SET sla_breached_at = ?
 WHERE id = ? AND state = 'open' AND `+replied+`
   AND waiting_since IS NOT NULL AND waiting_since <= ?
   AND (sla_breached_at IS NULL OR sla_breached_at < waiting_since)`, w.d.Time(at), convID, w.d.Time(cutoff))
	if res.Error != nil {
		return false, fmt.Errorf("record response-time breach: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}
