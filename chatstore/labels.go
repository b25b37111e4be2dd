package chatstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/syncd-dev/syncd/chat"
	"github.com/syncd-dev/syncd/chatcore"
)

// The store owns chat_labels and bot_retrains (sql/*/0008_learning.sql).

// LabelMessage gives a message of l.ConversationKey the intent l.Intent,
// as labelled by l.LabelledBy at l.LabelledAt, replacing an earlier label
// of that message. The label is checked against the customer message it is
// about (the message itself, or the last customer message before an agent
// reply) and records whether it differs from the bot's intent there.
func (s *DB) LabelMessage(ctx context.Context, l chatcore.Label) (chatcore.Label, error) {
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var key, sender, kind string
		var seq int64
		err := tx.Raw(`SELECT conversation_key, sender_type, kind, seq FROM chat_messages WHERE id = ?`,
			l.MessageID).Row().Scan(&key, &sender, &kind, &seq)
		// The key byte for byte: a collation that ignores case must not
		// let one conversation's URL label another's message.
		if errors.Is(err, sql.ErrNoRows) || err == nil && key != l.ConversationKey {
			return fmt.Errorf("message %d of %s: %w", l.MessageID, l.ConversationKey, chatcore.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("load message %d: %w", l.MessageID, err)
		}
		if sender != string(chat.SenderCustomer) && sender != string(chat.SenderAgent) {
			return fmt.Errorf("message %d is from the %s: %w", l.MessageID, sender, chatcore.ErrNotLabellable)
		}
		if sender == string(chat.SenderAgent) && kind == chat.KindNote {
			// A private note answers nobody: it teaches the bot nothing.
			return fmt.Errorf("message %d is a private note: %w", l.MessageID, chatcore.ErrNotLabellable)
		}
		if sender == string(chat.SenderCustomer) && kind != "message" {
			return fmt.Errorf("message %d is a %s event: %w", l.MessageID, kind, chatcore.ErrNotLabellable)
		}
		var botIntent sql.NullString
		err = tx.Raw(`SELECT intent FROM chat_messages WHERE conversation_key = ? AND sender_type = 'customer' AND kind = 'message' AND seq <= ?
ORDER BY seq DESC LIMIT 1`, l.ConversationKey, seq).Row().Scan(&botIntent)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("reply %d answers no customer message: %w", l.MessageID, chatcore.ErrNotLabellable)
		}
		if err != nil {
			return fmt.Errorf("load the customer message of %d: %w", l.MessageID, err)
		}
		l.BotIntent = botIntent.String
		l.CorrectsBot = l.BotIntent != "" && l.BotIntent != l.Intent
		l.LabelledAt = l.LabelledAt.UTC().Truncate(time.Microsecond)
		v := s.d.Inserted
		upsert := `INSERT INTO chat_labels (message_id, intent, labelled_by, corrects_bot, labelled_at) VALUES (?, ?, ?, ?, ?)` +
			s.d.Upsert("message_id") + `intent = ` + v("intent") + `, labelled_by = ` + v("labelled_by") +
			`, corrects_bot = ` + v("corrects_bot") + `, labelled_at = ` + v("labelled_at")
		if err := tx.Exec(upsert, l.MessageID, l.Intent, l.LabelledBy, l.CorrectsBot, s.at(l.LabelledAt)).Error; err != nil {
			return fmt.Errorf("write label of message %d: %w", l.MessageID, err)
		}
		return nil
	})
	if err != nil {
		return chatcore.Label{}, err
	}
	return l, nil
}

// labelSelect reads labels with the customer message each is about: c is
// the labelled message itself or the last customer message before it.
const labelSelect = `SELECT l.message_id, m.conversation_key, l.intent, l.labelled_by, l.corrects_bot, l.labelled_at,
  c.id, c.body, c.intent
FROM chat_labels l
JOIN chat_messages m ON m.id = l.message_id
JOIN chat_messages c ON c.conversation_key = m.conversation_key AND c.seq = (
  SELECT MAX(p.seq) FROM chat_messages p
  WHERE p.conversation_key = m.conversation_key AND p.sender_type = 'customer' AND p.kind = 'message' AND p.seq <= m.seq)`

type labelRow struct {
	chatcore.Label
	customerID int64
	text       string
}

func (s *DB) labels(ctx context.Context, where string, args ...any) ([]labelRow, error) {
	rows, err := s.db.WithContext(ctx).Raw(labelSelect+where, args...).Rows()
	if err != nil {
		return nil, fmt.Errorf("read labels: %w", err)
	}
	defer rows.Close()
	var out []labelRow
	for rows.Next() {
		var r labelRow
		var at dbTime
		var botIntent sql.NullString
		if err := rows.Scan(&r.MessageID, &r.ConversationKey, &r.Intent, &r.LabelledBy, &r.CorrectsBot, &at,
			&r.customerID, &r.text, &botIntent); err != nil {
			return nil, fmt.Errorf("read labels: %w", err)
		}
		r.LabelledAt, r.BotIntent = at.Time, botIntent.String
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read labels: %w", err)
	}
	return out, nil
}

// ConversationLabels returns the labels of one conversation's messages.
func (s *DB) ConversationLabels(ctx context.Context, key string) ([]chatcore.Label, error) {
	rows, err := s.labels(ctx, ` WHERE m.conversation_key = ? ORDER BY m.seq`, key)
	if err != nil {
		return nil, err
	}
	out := make([]chatcore.Label, 0, len(rows))
	for _, r := range rows {
		if r.ConversationKey == key { // byte for byte, whatever the collation found
			out = append(out, r.Label)
		}
	}
	return out, nil
}

// LabelledText is one training example from the labelled history: the
// customer's text and the intent an agent gave it.
type LabelledText struct {
	Text   string
	Intent string
	Label  chatcore.Label // the label it comes from
}

// LabelledTexts returns the labelled history as training examples, one per
// customer message, oldest label first. A customer message labelled more
// than once (itself, and a reply to it) counts once, with its latest label.
func (s *DB) LabelledTexts(ctx context.Context) ([]LabelledText, error) {
	rows, err := s.labels(ctx, ` ORDER BY l.labelled_at, l.message_id`)
	if err != nil {
		return nil, err
	}
	latest := make(map[int64]int, len(rows)) // customer message → index in rows
	for i, r := range rows {
		latest[r.customerID] = i
	}
	var out []LabelledText
	for i, r := range rows {
		if latest[r.customerID] == i {
			out = append(out, LabelledText{Text: r.text, Intent: r.Intent, Label: r.Label})
		}
	}
	return out, nil
}

// RecordRetrain writes one retrain's outcome and returns its id.
func (s *DB) RecordRetrain(ctx context.Context, r chatcore.Retrain) (int64, error) {
	var id int64
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		id, err = s.insert(tx, `INSERT INTO bot_retrains (started_at, finished_at, ran_by, command, model_path,
  old_accuracy, new_accuracy, train_size, heldout_size, labelled_size, installed, reason)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			s.at(r.StartedAt), s.at(r.FinishedAt), r.RanBy, r.Command, r.ModelPath,
			r.OldAccuracy, r.NewAccuracy, r.TrainSize, r.HeldOutSize, r.LabelledSize, r.Installed, r.Reason)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("record retrain: %w", err)
	}
	return id, nil
}

// LastRetrain returns the latest retrain, or an error wrapping
// chatcore.ErrNotFound when there has been none.
func (s *DB) LastRetrain(ctx context.Context) (chatcore.Retrain, error) {
	var r chatcore.Retrain
	var started, finished dbTime
	err := s.db.WithContext(ctx).Raw(`SELECT id, started_at, finished_at, ran_by, command, model_path,
  old_accuracy, new_accuracy, train_size, heldout_size, labelled_size, installed, reason
FROM bot_retrains ORDER BY id DESC LIMIT 1`).Row().Scan(&r.ID, &started, &finished, &r.RanBy, &r.Command, &r.ModelPath,
		&r.OldAccuracy, &r.NewAccuracy, &r.TrainSize, &r.HeldOutSize, &r.LabelledSize, &r.Installed, &r.Reason)
	if errors.Is(err, sql.ErrNoRows) {
		return chatcore.Retrain{}, fmt.Errorf("last retrain: %w", chatcore.ErrNotFound)
	}
	if err != nil {
		return chatcore.Retrain{}, fmt.Errorf("last retrain: %w", err)
	}
	r.StartedAt, r.FinishedAt = started.Time, finished.Time
	return r, nil
}
