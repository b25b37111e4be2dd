package chatstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/chatcore/credentials"
	"github.com/syncd-dev/syncd/internal/dialect"
)

const agentCols = `username, password_hash, disabled, session_version, admin, away, created_at`

func scanAgents(rows *sql.Rows) ([]chatcore.Agent, error) {
	defer rows.Close()
	var out []chatcore.Agent
	for rows.Next() {
		var a chatcore.Agent
		var created dbTime
		if err := rows.Scan(&a.Username, &a.PasswordHash, &a.Disabled, &a.SessionVersion, &a.Admin, &a.Away, &created); err != nil {
			return nil, fmt.Errorf("scan agent: %w", err)
		}
		a.CreatedAt = created.Time
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read agents: %w", err)
	}
	return out, nil
}

// Agent returns one agent, or an error wrapping chatcore.ErrNotFound.
func (s *DB) Agent(ctx context.Context, username string) (chatcore.Agent, error) {
	rows, err := s.db.WithContext(ctx).Raw(`SELECT `+agentCols+` FROM console_agents WHERE username = ?`, username).Rows()
	if err != nil {
		return chatcore.Agent{}, fmt.Errorf("load agent %s: %w", username, err)
	}
	as, err := scanAgents(rows)
	if err != nil {
		return chatcore.Agent{}, err
	}
	if len(as) == 0 {
		return chatcore.Agent{}, fmt.Errorf("agent %s: %w", username, chatcore.ErrNotFound)
	}
	return as[0], nil
}

// Agents returns those of the named agents that exist.
func (s *DB) Agents(ctx context.Context, usernames []string) ([]chatcore.Agent, error) {
	var out []chatcore.Agent
	for part := range slices.Chunk(usernames, 500) {
		rows, err := s.db.WithContext(ctx).Raw(`SELECT `+agentCols+` FROM console_agents WHERE username IN ?`, part).Rows()
		if err != nil {
			return nil, fmt.Errorf("load agents: %w", err)
		}
		as, err := scanAgents(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, as...)
	}
	return out, nil
}

// ListAgents returns every agent, by username.
func (s *DB) ListAgents(ctx context.Context) ([]chatcore.Agent, error) {
	rows, err := s.db.WithContext(ctx).Raw(`SELECT ` + agentCols + ` FROM console_agents ORDER BY username`).Rows()
	if err != nil {
		return nil, fmt.Errorf("list agents: %w", err)
	}
	return scanAgents(rows)
}

// CreateAgent adds an agent (not an admin) with a bcrypt hash
// (credentials.HashPassword). An existing username is an error wrapping
// chatcore.ErrExists.
func (s *DB) CreateAgent(ctx context.Context, username, passwordHash string) error {
	return s.AddAgent(ctx, username, passwordHash, false)
}

// AddAgent is CreateAgent with the role: admin or agent.
func (s *DB) AddAgent(ctx context.Context, username, passwordHash string, admin bool) error {
	if err := credentials.ValidateUsername(username); err != nil {
		return err
	}
	now := s.at(time.Now())
	err := s.db.WithContext(ctx).Exec(`INSERT INTO console_agents (username, password_hash, disabled, session_version, admin, created_at, updated_at)
VALUES (?, ?, ?, 1, ?, ?, ?)`, username, passwordHash, false, admin, now, now).Error
	if err != nil && dialect.IsDuplicate(err) {
		return fmt.Errorf("agent %s: %w", username, chatcore.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create agent %s: %w", username, err)
	}
	return nil
}

// SetAgentDisabled disables or enables an agent. Either way the agent's
// sessions end (session_version goes up). Disabling the last enabled admin
// is refused with chatcore.ErrLastAdmin.
func (s *DB) SetAgentDisabled(ctx context.Context, username string, disabled bool) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		if disabled {
			if err := s.keepAnAdmin(tx, username); err != nil {
				return err
			}
		}
		return s.updateAgent(tx, username, `disabled = ?, session_version = session_version + 1`, disabled)
	})
}

// SetAgentPassword replaces an agent's password hash and ends its sessions.
func (s *DB) SetAgentPassword(ctx context.Context, username, passwordHash string) error {
	return s.updateAgent(s.db.WithContext(ctx), username, `password_hash = ?, session_version = session_version + 1`, passwordHash)
}

// SetAgentAdmin grants or revokes admin. The agent's sessions go on: every
// request reads the agent afresh, so the change applies at the next one.
// Revoking the last enabled admin is refused with chatcore.ErrLastAdmin.
func (s *DB) SetAgentAdmin(ctx context.Context, username string, admin bool) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		if !admin {
			if err := s.keepAnAdmin(tx, username); err != nil {
				return err
			}
		}
		return s.updateAgent(tx, username, `admin = ?`, admin)
	})
}

// keepAnAdmin refuses to take username from the enabled admins when it
// is the last of them. The enabled admins' rows stay locked until the
// transaction ends, so that two admins disabling each other at once
// cannot both pass (SQLite: one writer at a time anyway). A console
// that has no admin yet (agents from before roles) is left as it is.
func (s *DB) keepAnAdmin(tx *gorm.DB, username string) error {
	var admins []string
	if err := tx.Raw(`SELECT username FROM console_agents WHERE admin = ? AND disabled = ?`+s.d.ForUpdate(), true, false).
		Scan(&admins).Error; err != nil {
		return fmt.Errorf("read admins: %w", err)
	}
	if len(admins) == 1 && admins[0] == username {
		return fmt.Errorf("agent %s is the only admin: %w", username, chatcore.ErrLastAdmin)
	}
	return nil
}

func (s *DB) updateAgent(db *gorm.DB, username, set string, arg any) error {
	res := db.Exec(`UPDATE console_agents SET `+set+`, updated_at = ? WHERE username = ?`, arg, s.at(time.Now()), username)
	if res.Error != nil {
		return fmt.Errorf("update agent %s: %w", username, res.Error)
	}
	if res.RowsAffected == 0 {
		// MySQL counts changed rows; updated_at always changes, but a
		// second in the same microsecond would not: look before saying so.
		var n int64
		if err := db.Raw(`SELECT COUNT(*) FROM console_agents WHERE username = ?`, username).Row().Scan(&n); err != nil {
			return fmt.Errorf("find agent %s: %w", username, err)
		}
		if n == 0 {
			return fmt.Errorf("agent %s: %w", username, chatcore.ErrNotFound)
		}
	}
	return nil
}
