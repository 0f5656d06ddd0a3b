package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Setting keys the app owns.
const SettingSessionKey = "session_key"

// GetSetting returns a stored setting or ErrNotFound.
func (s *Store) GetSetting(ctx context.Context, key string) (string, error) {
	var v string
	err := s.queryRow(ctx, "SELECT value FROM settings WHERE key = ?", key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("store: setting %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("store: setting %s: %w", key, err)
	}
	return v, nil
}

// SetSetting writes a setting, replacing any earlier value.
func (s *Store) SetSetting(ctx context.Context, key, value string) error {
	_, err := s.w.ExecContext(ctx, `
		INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, key, value, s.now())
	if err != nil {
		return fmt.Errorf("store: set setting %s: %w", key, err)
	}
	return nil
}

// EnsureSetting returns the stored value of key, first storing generate's value when
// there is none. Two processes racing here both end up with the same, first value.
func (s *Store) EnsureSetting(ctx context.Context, key string, generate func() (string, error)) (string, error) {
	v, err := s.GetSetting(ctx, key)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return "", err
	}
	nv, err := generate()
	if err != nil {
		return "", fmt.Errorf("store: generate setting %s: %w", key, err)
	}
	err = s.w.QueryRowContext(ctx, `
		INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET key = key
		RETURNING value`, key, nv, s.now()).Scan(&v)
	if err != nil {
		return "", fmt.Errorf("store: ensure setting %s: %w", key, err)
	}
	return v, nil
}
