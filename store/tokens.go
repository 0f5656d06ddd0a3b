package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// APIToken is a named credential for the JSON API. The token itself is shown once at
// creation; only its SHA-256 and a short prefix are kept.
type APIToken struct {
	ID         int64
	UserID     int64
	Name       string
	Prefix     string // the token's first characters, e.g. "ks_AbCdEfG"
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// Revoked reports whether the token was revoked.
func (t APIToken) Revoked() bool { return t.RevokedAt != nil }

const (
	// TokenPrefix marks Kubestats tokens so secret scanners and humans recognise them.
	TokenPrefix = "ks_"
	// tokenLen is "ks_" plus 43 characters: 32 random bytes in unpadded base64url.
	tokenLen = len(TokenPrefix) + 43
	// tokenShownLen is how much of a token lists show: enough to tell tokens apart,
	// far too little (7 random characters) to help guess one.
	tokenShownLen = len(TokenPrefix) + 7
	maxTokenName  = 100
	// MaxActiveTokens bounds a user's unrevoked tokens: enough for every script and machine
	// one person runs, and a cap on the credentials one leaked session can mint.
	MaxActiveTokens = 20
	// tokenTouchEvery limits last_used_at writes to one per token per interval: a script
	// polling the API must not turn every read into a write on the single writer.
	tokenTouchEvery = time.Minute
)

const tokenColumns = "id, user_id, name, prefix, created_at, last_used_at, revoked_at"

func scanToken(row rowScanner, extra ...any) (APIToken, error) {
	var t APIToken
	var used, revoked sql.NullTime
	dest := append([]any{&t.ID, &t.UserID, &t.Name, &t.Prefix, &t.CreatedAt, &used, &revoked}, extra...)
	if err := row.Scan(dest...); err != nil {
		return APIToken{}, err
	}
	if used.Valid {
		u := used.Time.UTC()
		t.LastUsedAt = &u
	}
	if revoked.Valid {
		r := revoked.Time.UTC()
		t.RevokedAt = &r
	}
	t.CreatedAt = t.CreatedAt.UTC()
	return t, nil
}

func normalizeTokenName(name string) (string, error) {
	name = strings.TrimSpace(name)
	n := utf8.RuneCountInString(name)
	switch {
	case n == 0:
		return "", &ValidationError{Field: "name", Msg: "a token name is required"}
	case n > maxTokenName:
		return "", &ValidationError{Field: "name", Msg: fmt.Sprintf("the token name must have at most %d characters", maxTokenName)}
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "", &ValidationError{Field: "name", Msg: "the token name must not contain control characters"}
	}
	return name, nil
}

// CreateToken makes a new API token for the user and returns it in clear, once. An inactive
// user, or one with MaxActiveTokens unrevoked tokens already, gets a ValidationError.
func (s *Store) CreateToken(ctx context.Context, userID int64, name string) (string, APIToken, error) {
	name, err := normalizeTokenName(name)
	if err != nil {
		return "", APIToken{}, err
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return "", APIToken{}, fmt.Errorf("store: token: %w", err)
	}
	token := TokenPrefix + base64.RawURLEncoding.EncodeToString(buf)
	var t APIToken
	// One write transaction: the count and the insert cannot interleave with another create.
	err = s.InTx(ctx, func(tx *sql.Tx) error {
		var active bool
		var n int
		err := tx.QueryRowContext(ctx, `
			SELECT is_active, (SELECT count(*) FROM api_tokens WHERE user_id = users.id AND revoked_at IS NULL)
			FROM users WHERE id = ?`, userID).Scan(&active, &n)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return ErrNotFound
		case err != nil:
			return err
		case !active:
			return &ValidationError{Field: "user", Msg: "the user is deactivated; reactivate them before creating a token"}
		case n >= MaxActiveTokens:
			return &ValidationError{Field: "tokens", Msg: fmt.Sprintf(
				"the limit of %d active API tokens per user is reached; revoke a token that is no longer used before creating another",
				MaxActiveTokens)}
		}
		t, err = scanToken(tx.QueryRowContext(ctx, `
			INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at)
			VALUES (?, ?, ?, ?, ?)
			RETURNING `+tokenColumns, userID, name, hashToken(token), token[:tokenShownLen], s.now()))
		return err
	})
	var ve *ValidationError
	if errors.As(err, &ve) {
		return "", APIToken{}, ve
	}
	if err != nil {
		return "", APIToken{}, fmt.Errorf("store: create token for user %d: %w", userID, err)
	}
	return token, t, nil
}

// ListTokens returns the user's tokens, revoked ones included, newest first.
func (s *Store) ListTokens(ctx context.Context, userID int64) ([]APIToken, error) {
	rows, err := s.query(ctx, "SELECT "+tokenColumns+" FROM api_tokens WHERE user_id = ? ORDER BY created_at DESC, id DESC", userID)
	if err != nil {
		return nil, fmt.Errorf("store: list tokens of user %d: %w", userID, err)
	}
	defer rows.Close()
	var out []APIToken
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list tokens of user %d: %w", userID, err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list tokens of user %d: %w", userID, err)
	}
	return out, nil
}

// RevokeToken revokes one of the user's tokens. Someone else's (or an unknown) token is
// ErrNotFound, so ids cannot be probed; revoking twice keeps the first revocation time.
func (s *Store) RevokeToken(ctx context.Context, userID, tokenID int64) error {
	res, err := s.w.ExecContext(ctx, "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ? AND user_id = ?", s.now(), tokenID, userID)
	if err != nil {
		return fmt.Errorf("store: revoke token %d: %w", tokenID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: revoke token %d: %w", tokenID, err)
	} else if n == 0 {
		return fmt.Errorf("store: revoke token %d: %w", tokenID, ErrNotFound)
	}
	return nil
}

// TokenUser returns the active user behind an API token. Unknown and revoked tokens and
// inactive users all give ErrNotFound. It stamps last_used_at, at most once a minute.
func (s *Store) TokenUser(ctx context.Context, token string) (User, APIToken, error) {
	// Malformed tokens cannot match; answering without a query keeps junk cheap.
	if len(token) != tokenLen || !strings.HasPrefix(token, TokenPrefix) {
		return User{}, APIToken{}, fmt.Errorf("store: token: %w", ErrNotFound)
	}
	hash := hashToken(token)
	var t APIToken
	var used, revoked sql.NullTime
	u, err := scanUser(s.queryRow(ctx, `
		SELECT u.id, u.email, u.name, u.is_superuser, u.is_active, u.created_at, u.updated_at, u.last_login_at,
		       t.id, t.user_id, t.name, t.prefix, t.created_at, t.last_used_at, t.revoked_at
		FROM api_tokens t JOIN users u ON u.id = t.user_id
		WHERE t.token_hash = ?`, hash),
		&t.ID, &t.UserID, &t.Name, &t.Prefix, &t.CreatedAt, &used, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, APIToken{}, fmt.Errorf("store: token: %w", ErrNotFound)
	}
	if err != nil {
		return User{}, APIToken{}, fmt.Errorf("store: token: %w", err)
	}
	t.CreatedAt = t.CreatedAt.UTC()
	if revoked.Valid || !u.IsActive {
		return User{}, APIToken{}, fmt.Errorf("store: token %d revoked or user inactive: %w", t.ID, ErrNotFound)
	}
	now := s.now()
	if used.Valid {
		lu := used.Time.UTC()
		t.LastUsedAt = &lu
	}
	if !used.Valid || now.Sub(used.Time) >= tokenTouchEvery {
		// The condition repeats the check so concurrent first uses write once, not once each.
		if _, err := s.w.ExecContext(ctx, `
			UPDATE api_tokens SET last_used_at = ?
			WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)`, now, t.ID, now.Add(-tokenTouchEvery)); err != nil {
			return User{}, APIToken{}, fmt.Errorf("store: touch token %d: %w", t.ID, err)
		}
		t.LastUsedAt = &now
	}
	return u, t, nil
}
