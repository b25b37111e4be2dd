package chatstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/syncd-dev/syncd/chat/history"
	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/internal/dialect"
)

// QueuedConversations returns up to limit open, unassigned conversations
// in which a customer waits, longest wait first; it walks
// ix_conversations_waiting (sql 0012).
func (s *DB) QueuedConversations(ctx context.Context, limit int) ([]chatcore.Conversation, error) {
	rows, err := s.db.WithContext(ctx).Raw(`SELECT id, conversation_key FROM conversations
WHERE state = 'open' AND waiting_since IS NOT NULL AND (assignee IS NULL OR assignee = '')
ORDER BY waiting_since, id LIMIT ?`, limit).Rows()
	if err != nil {
		return nil, fmt.Errorf("list queued conversations: %w", err)
	}
	defer rows.Close()
	var out []chatcore.Conversation
	for rows.Next() {
		var cv chatcore.Conversation
		if err := rows.Scan(&cv.ID, &cv.Key); err != nil {
			return nil, fmt.Errorf("scan queued conversation: %w", err)
		}
		out = append(out, cv)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list queued conversations: %w", err)
	}
	return out, nil
}

// AutoAssign gives the conversation to the candidate with the fewest open
// conversations below capacity, if nobody holds it: the choice (choose)
// and the fenced write (history.TakeUnassigned) in one transaction.
func (s *DB) AutoAssign(ctx context.Context, convID int64, candidates []string, capacity int, at time.Time) (chatcore.AutoAssignResult, error) {
	var res chatcore.AutoAssignResult
	err := dialect.RetryDeadlocks(func() error {
		res = chatcore.AutoAssignResult{}
		return s.tx(ctx, func(tx *gorm.DB) error {
			// Not straight back to the agent it was taken from for want of
			// a reply (history.ReturnLate).
			var from []sql.NullString
			if err := tx.Raw(`SELECT returned_from FROM conversations WHERE id = ?`, convID).Scan(&from).Error; err != nil {
				return fmt.Errorf("read returned_from: %w", err)
			}
			except := ""
			if len(from) == 1 {
				except = from[0].String
			}
			agent, err := s.choose(tx, candidates, except, capacity)
			if err != nil {
				return err
			}
			if agent == "" {
				// Full only when nobody was passed over: another
				// conversation may still go to the agent this one may not.
				res.Full = except == ""
				return nil
			}
			took, err := history.New(s.d).TakeUnassigned(tx, convID, agent, at)
			if took {
				res.Assignee = agent
			}
			return err
		})
	})
	if err != nil {
		return chatcore.AutoAssignResult{}, fmt.Errorf("auto-assign conversation %d: %w", convID, err)
	}
	return res, nil
}

// choose returns, of the candidates who may be given conversations (not
// away, not disabled, not except), the one with the fewest open
// conversations, below capacity (ties: by username); "" when none has
// room. It locks the candidates' agent rows, in username order so that
// two transactions cannot deadlock on them, and counts after the lock
// (READ COMMITTED: it sees what the previous holder committed), so that
// two instances choosing at once cannot both fill an agent's last place.
// SQLite has one writer, the transaction itself.
func (s *DB) choose(tx *gorm.DB, candidates []string, except string, capacity int) (string, error) {
	if len(candidates) == 0 {
		return "", nil
	}
	var names []string
	if err := tx.Raw(`SELECT username FROM console_agents
WHERE username IN ? AND disabled = ? AND away = ? AND username <> ?
ORDER BY username`+s.d.ForUpdate(), candidates, false, false, except).Scan(&names).Error; err != nil {
		return "", fmt.Errorf("lock candidate agents: %w", err)
	}
	if len(names) == 0 {
		return "", nil
	}
	var counts []struct {
		Assignee string
		N        int
	}
	if err := tx.Raw(`SELECT assignee, COUNT(*) AS n FROM conversations
WHERE assignee IN ? AND state = 'open' GROUP BY assignee`, names).Scan(&counts).Error; err != nil {
		return "", fmt.Errorf("count open conversations per agent: %w", err)
	}
	open := make(map[string]int, len(counts))
	for _, c := range counts {
		open[c.Assignee] += c.N // a case-insensitive collation may group spellings; usernames are lower case
	}
	best, fewest := "", capacity
	for _, n := range names { // in username order: the first of equals wins
		if open[n] < fewest {
			best, fewest = n, open[n]
		}
	}
	return best, nil
}

// SetAway sets whether an agent is away; her sessions go on.
func (s *DB) SetAway(ctx context.Context, username string, away bool) error {
	res := s.db.WithContext(ctx).Exec(`UPDATE console_agents SET away = ?, updated_at = ? WHERE username = ?`,
		away, s.at(time.Now()), username)
	if res.Error != nil {
		return fmt.Errorf("set away of agent %s: %w", username, res.Error)
	}
	return nil
}
