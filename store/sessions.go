package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Session is a server-side login. Its token lives only in the user's cookie.
type Session struct {
	UserID     int64
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
}

// SessionPolicy bounds a session's life: Idle since the last request, Lifetime since login.
type SessionPolicy struct {
	Idle     time.Duration
	Lifetime time.Duration
}

// touchEvery limits last_seen_at writes to one per session per interval, so browsing
// does not turn every page view into a write transaction.
const touchEvery = time.Minute

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// CreateSession starts a session for the user and returns its token (256 random bits).
// It also stamps the user's last login.
func (s *Store) CreateSession(ctx context.Context, userID int64, p SessionPolicy, ip, userAgent string) (string, error) {
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("store: session token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(buf)
	if len(userAgent) > 256 {
		userAgent = userAgent[:256]
	}
	now := s.now()
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, expires_at, ip, user_agent)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, hashToken(token), userID, now, now, now.Add(p.Lifetime), ip, userAgent); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "UPDATE users SET last_login_at = ? WHERE id = ?", now, userID)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("store: create session for user %d: %w", userID, err)
	}
	return token, nil
}

// SessionUser returns the active user behind a session token and refreshes the session's
// idle clock. Expired, idle, unknown tokens and inactive users all give ErrNotFound.
func (s *Store) SessionUser(ctx context.Context, token string, p SessionPolicy) (User, Session, error) {
	if token == "" {
		return User{}, Session{}, fmt.Errorf("store: session: %w", ErrNotFound)
	}
	hash := hashToken(token)
	var u User
	var sess Session
	var gen string
	var cached bool
	if s.sessions.has(hash) {
		var err error
		if gen, err = s.sessionsGen(ctx); err != nil {
			return User{}, Session{}, err
		}
		u, sess, cached = s.sessions.get(hash, gen)
	}
	if !cached {
		var err error
		u, err = scanUser(s.queryRow(ctx, `
			SELECT u.id, u.email, u.name, u.is_superuser, u.is_active, u.created_at, u.updated_at, u.last_login_at,
			       s.user_id, s.created_at, s.last_seen_at, s.expires_at, `+sessionsGenSQL+`
			FROM sessions s JOIN users u ON u.id = s.user_id
			WHERE s.id_hash = ?`, hash),
			&sess.UserID, &sess.CreatedAt, &sess.LastSeenAt, &sess.ExpiresAt, &gen)
		if errors.Is(err, sql.ErrNoRows) {
			return User{}, Session{}, fmt.Errorf("store: session: %w", ErrNotFound)
		}
		if err != nil {
			return User{}, Session{}, fmt.Errorf("store: session: %w", err)
		}
	}
	now := s.now()
	if !u.IsActive || !now.Before(sess.ExpiresAt) || !now.Before(sess.LastSeenAt.Add(p.Idle)) {
		if err := s.DeleteSession(ctx, token); err != nil {
			return User{}, Session{}, err
		}
		return User{}, Session{}, fmt.Errorf("store: session expired: %w", ErrNotFound)
	}
	if now.Sub(sess.LastSeenAt) >= touchEvery {
		if _, err := s.w.ExecContext(ctx, "UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?", now, hash); err != nil {
			return User{}, Session{}, fmt.Errorf("store: touch session: %w", err)
		}
		sess.LastSeenAt = now
		cached = false
	}
	if !cached {
		s.sessions.put(hash, u, sess, gen, time.Now())
	}
	return u, sess, nil
}

// DeleteSession ends one session (logout). Deleting an unknown token is not an error.
func (s *Store) DeleteSession(ctx context.Context, token string) error {
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE id_hash = ?", hashToken(token)); err != nil {
			return err
		}
		return s.bumpSessionsGen(ctx, tx)
	})
	if err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions ends every session of a user.
func (s *Store) DeleteUserSessions(ctx context.Context, userID int64) error {
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE user_id = ?", userID); err != nil {
			return err
		}
		return s.bumpSessionsGen(ctx, tx)
	})
	if err != nil {
		return fmt.Errorf("store: delete sessions of user %d: %w", userID, err)
	}
	return nil
}

// CountUserSessions counts a user's live (unexpired) sessions.
func (s *Store) CountUserSessions(ctx context.Context, userID int64) (int, error) {
	var n int
	if err := s.queryRow(ctx, "SELECT count(*) FROM sessions WHERE user_id = ? AND expires_at > ?", userID, s.now()).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count sessions: %w", err)
	}
	return n, nil
}

// DeleteExpiredSessions removes sessions past their lifetime or idle limit. A zero
// idle limit means "no idle limit", never "everything is idle".
func (s *Store) DeleteExpiredSessions(ctx context.Context, p SessionPolicy) (int64, error) {
	now := s.now()
	if p.Idle <= 0 {
		p.Idle = 100 * 365 * 24 * time.Hour
	}
	var n int64
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at <= ?", now, now.Add(-p.Idle))
		if err != nil {
			return err
		}
		if n, _ = res.RowsAffected(); n == 0 {
			return nil // nothing ended: cached lookups stay valid
		}
		return s.bumpSessionsGen(ctx, tx)
	})
	if err != nil {
		return 0, fmt.Errorf("store: delete expired sessions: %w", err)
	}
	return n, nil
}
