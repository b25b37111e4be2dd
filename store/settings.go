package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Setting returns the shared value called name, storing generate()'s
// result first if there is none. Instances racing to create it all end up
// with the one that was stored first.
func (s *Store) Setting(ctx context.Context, name string, generate func() (string, error)) (string, error) {
	value, err := s.readSetting(ctx, name)
	if err == nil {
		return value, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", err
	}
	fresh, gerr := generate()
	if gerr != nil {
		return "", fmt.Errorf("generate setting %s: %w", name, gerr)
	}
	if err := s.db.WithContext(ctx).Exec(s.d.InsertIgnore(`syncd_settings (name, value) VALUES (?, ?)`, "name"), name, fresh).Error; err != nil {
		return "", fmt.Errorf("store setting %s: %w", name, err)
	}
	return s.readSetting(ctx, name)
}

func (s *Store) readSetting(ctx context.Context, name string) (string, error) {
	var value string
	if err := s.sqlDB.QueryRowContext(ctx, s.d.Rebind(`SELECT value FROM syncd_settings WHERE name = ?`), name).Scan(&value); err != nil {
		return "", fmt.Errorf("read setting %s: %w", name, err)
	}
	return value, nil
}
