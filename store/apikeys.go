package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/syncd-dev/syncd/internal/dbtime"
	"github.com/syncd-dev/syncd/internal/dialect"
)

// APIKey is a row of api_keys (migration 0014): a key of the HTTP ingest
// API, known by the SHA-256 of its secret.
type APIKey struct {
	ID        int64
	Name      string
	Hash      string // hex SHA-256 of the key
	Prefix    string // the key's first characters, for `syncd apikey list`
	Scope     string
	CreatedAt time.Time
	RevokedAt time.Time // zero while the key is in force
}

// Revoked reports whether the key was withdrawn.
func (k APIKey) Revoked() bool { return !k.RevokedAt.IsZero() }

// ErrNoAPIKey means no key has that name or hash.
var ErrNoAPIKey = errors.New("no such API key")

// ErrAPIKeyExists means the name is taken, by a key in force or a revoked
// one (names are never reused: they prefix their rows' source_ref).
var ErrAPIKeyExists = errors.New("an API key of that name exists (revoked keys keep their names)")

// AddAPIKey records a key; k.ID and k.CreatedAt are set by the store.
func (s *Store) AddAPIKey(ctx context.Context, k APIKey) (APIKey, error) {
	k.CreatedAt = time.Now().UTC().Truncate(time.Microsecond)
	q := `INSERT INTO api_keys (name, key_hash, key_prefix, scope, created_at) VALUES (?, ?, ?, ?, ?)`
	args := []any{k.Name, k.Hash, k.Prefix, k.Scope, s.d.Time(k.CreatedAt)}
	var err error
	if s.d.Returning() {
		err = s.sqlDB.QueryRowContext(ctx, s.d.Rebind(q+` RETURNING id`), args...).Scan(&k.ID)
	} else {
		var res sql.Result
		if res, err = s.sqlDB.ExecContext(ctx, q, args...); err == nil {
			k.ID, err = res.LastInsertId()
		}
	}
	if dialect.IsDuplicate(err) {
		return k, fmt.Errorf("add API key %q: %w", k.Name, ErrAPIKeyExists)
	}
	if err != nil {
		return k, fmt.Errorf("add API key %q: %w", k.Name, err)
	}
	return k, nil
}

const apiKeyCols = `id, name, key_hash, key_prefix, scope, created_at, revoked_at`

func scanAPIKey(sc interface{ Scan(...any) error }) (APIKey, error) {
	var k APIKey
	var created, revoked dbtime.Time
	if err := sc.Scan(&k.ID, &k.Name, &k.Hash, &k.Prefix, &k.Scope, &created, &revoked); err != nil {
		return k, err
	}
	k.CreatedAt, k.RevokedAt = created.Time, revoked.Time
	return k, nil
}

// APIKeyByHash finds the key whose SHA-256 is hash (hex), revoked or not;
// ErrNoAPIKey when there is none. One read of ux_api_keys_hash.
func (s *Store) APIKeyByHash(ctx context.Context, hash string) (APIKey, error) {
	k, err := scanAPIKey(s.sqlDB.QueryRowContext(ctx, s.d.Rebind(`SELECT `+apiKeyCols+` FROM api_keys WHERE key_hash = ?`), hash))
	if errors.Is(err, sql.ErrNoRows) {
		return k, ErrNoAPIKey
	}
	if err != nil {
		return k, fmt.Errorf("look up API key: %w", err)
	}
	return k, nil
}

// APIKeys lists every key, revoked ones too, by name.
func (s *Store) APIKeys(ctx context.Context) ([]APIKey, error) {
	rows, err := s.sqlDB.QueryContext(ctx, `SELECT `+apiKeyCols+` FROM api_keys ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	defer rows.Close()
	var out []APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, fmt.Errorf("list API keys: %w", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	return out, nil
}

// RevokeAPIKey withdraws the key of that name. It reports whether it was in
// force (false: revoked before); ErrNoAPIKey when there is none.
func (s *Store) RevokeAPIKey(ctx context.Context, name string) (bool, error) {
	res, err := s.sqlDB.ExecContext(ctx, s.d.Rebind(`UPDATE api_keys SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL`),
		s.d.Time(time.Now()), name)
	if err != nil {
		return false, fmt.Errorf("revoke API key %q: %w", name, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return false, fmt.Errorf("revoke API key %q: %w", name, err)
	} else if n == 1 {
		return true, nil
	}
	var one int
	err = s.sqlDB.QueryRowContext(ctx, s.d.Rebind(`SELECT 1 FROM api_keys WHERE name = ?`), name).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("revoke API key %q: %w", name, ErrNoAPIKey)
	}
	if err != nil {
		return false, fmt.Errorf("revoke API key %q: %w", name, err)
	}
	return false, nil
}
