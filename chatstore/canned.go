package chatstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"gorm.io/gorm"

	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/internal/dialect"
)

// The store owns canned_replies (sql/*/0011_canned.sql).

const cannedCols = `id, shortcut, title, texts, updated_by, updated_at`

func scanCanned(rows *sql.Rows) ([]chatcore.CannedReply, error) {
	defer rows.Close()
	var out []chatcore.CannedReply
	for rows.Next() {
		var r chatcore.CannedReply
		var texts string
		var at dbTime
		if err := rows.Scan(&r.ID, &r.Shortcut, &r.Title, &texts, &r.UpdatedBy, &at); err != nil {
			return nil, fmt.Errorf("scan canned reply: %w", err)
		}
		if err := json.Unmarshal([]byte(texts), &r.Texts); err != nil {
			return nil, fmt.Errorf("canned reply %d: texts: %w", r.ID, err)
		}
		r.UpdatedAt = at.Time
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read canned replies: %w", err)
	}
	return out, nil
}

// CannedReplies lists the library by shortcut.
func (s *DB) CannedReplies(ctx context.Context) ([]chatcore.CannedReply, error) {
	rows, err := s.db.WithContext(ctx).Raw(`SELECT ` + cannedCols + ` FROM canned_replies ORDER BY shortcut`).Rows()
	if err != nil {
		return nil, fmt.Errorf("list canned replies: %w", err)
	}
	return scanCanned(rows)
}

// CannedReply returns one reply.
func (s *DB) CannedReply(ctx context.Context, id int64) (chatcore.CannedReply, error) {
	return s.cannedByID(s.db.WithContext(ctx), id)
}

func (s *DB) cannedByID(db *gorm.DB, id int64) (chatcore.CannedReply, error) {
	rows, err := db.Raw(`SELECT `+cannedCols+` FROM canned_replies WHERE id = ?`, id).Rows()
	if err != nil {
		return chatcore.CannedReply{}, fmt.Errorf("load canned reply %d: %w", id, err)
	}
	list, err := scanCanned(rows)
	if err != nil {
		return chatcore.CannedReply{}, err
	}
	if len(list) == 0 {
		return chatcore.CannedReply{}, fmt.Errorf("canned reply %d: %w", id, chatcore.ErrNotFound)
	}
	return list[0], nil
}

// SaveCanned creates (ID 0) or replaces a reply. The unique shortcut
// index decides between two admins saving the same shortcut.
func (s *DB) SaveCanned(ctx context.Context, r chatcore.CannedReply) (chatcore.CannedReply, error) {
	texts, err := json.Marshal(r.Texts)
	if err != nil {
		return chatcore.CannedReply{}, fmt.Errorf("encode canned texts: %w", err)
	}
	at := s.at(r.UpdatedAt)
	var saved chatcore.CannedReply
	err = s.tx(ctx, func(tx *gorm.DB) error {
		id := r.ID
		if id == 0 {
			var err error
			id, err = s.insert(tx, `INSERT INTO canned_replies (shortcut, title, texts, updated_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
				r.Shortcut, r.Title, string(texts), r.UpdatedBy, at, at)
			if err != nil {
				return err
			}
		} else {
			res := tx.Exec(`UPDATE canned_replies SET shortcut = ?, title = ?, texts = ?, updated_by = ?, updated_at = ? WHERE id = ?`,
				r.Shortcut, r.Title, string(texts), r.UpdatedBy, at, id)
			if res.Error != nil {
				return res.Error
			}
			// RowsAffected is 0 on MySQL also for a row saved unchanged
			// (same second): tell a missing row by reading it.
		}
		var err error
		saved, err = s.cannedByID(tx, id)
		return err
	})
	switch {
	case err == nil:
		return saved, nil
	case dialect.IsDuplicate(err):
		return chatcore.CannedReply{}, fmt.Errorf("canned shortcut %s: %w", r.Shortcut, chatcore.ErrExists)
	case errors.Is(err, chatcore.ErrNotFound):
		return chatcore.CannedReply{}, err
	default:
		return chatcore.CannedReply{}, fmt.Errorf("save canned reply /%s: %w", r.Shortcut, err)
	}
}

// DeleteCanned removes a reply.
func (s *DB) DeleteCanned(ctx context.Context, id int64) error {
	res := s.db.WithContext(ctx).Exec(`DELETE FROM canned_replies WHERE id = ?`, id)
	if res.Error != nil {
		return fmt.Errorf("delete canned reply %d: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("canned reply %d: %w", id, chatcore.ErrNotFound)
	}
	return nil
}

// payloadsRead is how many of a conversation's latest payloads fill a
// canned reply: enough for the events of one order, bounded for a
// conversation with thousands.
const payloadsRead = 20

// ConversationFields reads customer_name and the payload fields of the
// conversation's latest relayed rows, by (conversation_key, seq) (the
// index ux_chat_messages_seq).
func (s *DB) ConversationFields(ctx context.Context, key string) (map[string]string, error) {
	db := s.db.WithContext(ctx)
	if _, err := s.lookup(db, key); err != nil {
		return nil, err
	}
	out := map[string]string{}
	rows, err := db.Raw(`SELECT payload FROM chat_messages
 WHERE conversation_key = ? AND source_table = 'message_sync' AND payload IS NOT NULL
 ORDER BY seq DESC LIMIT ?`, key, payloadsRead).Rows()
	if err != nil {
		return nil, fmt.Errorf("read payloads of %s: %w", key, err)
	}
	var payloads []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read payloads of %s: %w", key, err)
		}
		payloads = append(payloads, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read payloads of %s: %w", key, err)
	}
	for i := len(payloads) - 1; i >= 0; i-- { // oldest first: the latest wins
		addPayloadFields(out, payloads[i])
	}
	var name sql.NullString
	err = db.Raw(`SELECT sender_name FROM chat_messages
 WHERE conversation_key = ? AND sender_type = 'customer' AND sender_name IS NOT NULL AND sender_name <> ''
 ORDER BY seq DESC LIMIT 1`, key).Row().Scan(&name)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("read customer name of %s: %w", key, err)
	}
	if name.String != "" {
		out["customer_name"] = name.String
	}
	return out, nil
}

// addPayloadFields adds a JSON object's top-level strings, numbers (as
// written: order ids stay whole) and booleans. Anything else (not JSON,
// null, objects, lists) fills nothing.
func addPayloadFields(out map[string]string, payload string) {
	dec := json.NewDecoder(bytes.NewReader([]byte(payload)))
	dec.UseNumber()
	var obj map[string]any
	if dec.Decode(&obj) != nil {
		return
	}
	for k, v := range obj {
		switch v := v.(type) {
		case string:
			out[k] = v
		case json.Number:
			out[k] = v.String()
		case bool:
			out[k] = strconv.FormatBool(v)
		}
	}
}
