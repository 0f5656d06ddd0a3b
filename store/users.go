package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// User is an account that can log in.
type User struct {
	ID          int64
	Email       string
	Name        string
	IsSuperuser bool
	IsActive    bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
	LastLoginAt *time.Time
}

// DisplayName is the name, or the email for users who never set one.
func (u User) DisplayName() string {
	if u.Name != "" {
		return u.Name
	}
	return u.Email
}

// NewUser is the input of CreateUser.
type NewUser struct {
	Email       string
	Name        string
	Password    string
	IsSuperuser bool
}

// UserUpdate is the input of UpdateUser: every field is written.
type UserUpdate struct {
	Email       string
	Name        string
	IsSuperuser bool
	IsActive    bool
}

// Password length bounds: 8 is NIST SP 800-63B's minimum; the maximum stops
// megabyte-sized "passwords" from being fed to the hasher.
const (
	MinPasswordLen = 8
	MaxPasswordLen = 512
	maxNameLen     = 100
)

// NormalizeEmail trims and validates an email address.
func NormalizeEmail(email string) (string, error) {
	email = strings.TrimSpace(email)
	if email == "" {
		return "", &ValidationError{Field: "email", Msg: "an email address is required"}
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || len(email) > 254 {
		return "", &ValidationError{Field: "email", Msg: fmt.Sprintf("%q is not a valid email address", email)}
	}
	return email, nil
}

// ValidatePassword checks the length rules for a new password.
func ValidatePassword(pw string) error {
	n := utf8.RuneCountInString(pw)
	switch {
	case n < MinPasswordLen:
		return &ValidationError{Field: "password", Msg: fmt.Sprintf("the password must have at least %d characters", MinPasswordLen)}
	case len(pw) > MaxPasswordLen:
		return &ValidationError{Field: "password", Msg: fmt.Sprintf("the password must have at most %d bytes", MaxPasswordLen)}
	}
	return nil
}

func normalizeName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > maxNameLen {
		return "", &ValidationError{Field: "name", Msg: fmt.Sprintf("the name must have at most %d characters", maxNameLen)}
	}
	return name, nil
}

const userColumns = "id, email, name, is_superuser, is_active, created_at, updated_at, last_login_at"

type rowScanner interface{ Scan(dest ...any) error }

// scanUser reads userColumns, then any extra columns the query appended into extra.
func scanUser(row rowScanner, extra ...any) (User, error) {
	var u User
	var last sql.NullTime
	dest := append([]any{&u.ID, &u.Email, &u.Name, &u.IsSuperuser, &u.IsActive, &u.CreatedAt, &u.UpdatedAt, &last}, extra...)
	err := row.Scan(dest...)
	if last.Valid {
		t := last.Time
		u.LastLoginAt = &t
	}
	return u, err
}

func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE
}

// CreateUser validates, hashes the password and inserts the user.
func (s *Store) CreateUser(ctx context.Context, nu NewUser) (User, error) {
	email, err := NormalizeEmail(nu.Email)
	if err != nil {
		return User{}, err
	}
	name, err := normalizeName(nu.Name)
	if err != nil {
		return User{}, err
	}
	if err := ValidatePassword(nu.Password); err != nil {
		return User{}, err
	}
	hash, err := s.pw.hash(ctx, nu.Password)
	if err != nil {
		return User{}, err
	}
	now := s.now()
	row := s.w.QueryRowContext(ctx, `
		INSERT INTO users (email, name, password_hash, is_superuser, is_active, created_at, updated_at)
		VALUES (?, ?, ?, ?, 1, ?, ?)
		RETURNING `+userColumns, email, name, hash, nu.IsSuperuser, now, now)
	u, err := scanUser(row)
	if isUniqueViolation(err) {
		return User{}, fmt.Errorf("store: create user %s: %w", email, ErrConflict)
	}
	if err != nil {
		return User{}, fmt.Errorf("store: create user %s: %w", email, err)
	}
	return u, nil
}

// GetUser returns the user with the given id.
func (s *Store) GetUser(ctx context.Context, id int64) (User, error) {
	u, err := scanUser(s.queryRow(ctx, "SELECT "+userColumns+" FROM users WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("store: user %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("store: user %d: %w", id, err)
	}
	return u, nil
}

// GetUserByEmail returns the user with the given email (case-insensitive).
func (s *Store) GetUserByEmail(ctx context.Context, email string) (User, error) {
	u, err := scanUser(s.queryRow(ctx, "SELECT "+userColumns+" FROM users WHERE email = ?", strings.TrimSpace(email)))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("store: user %s: %w", email, ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("store: user %s: %w", email, err)
	}
	return u, nil
}

// ListUsers returns every user, superusers first, then by email.
func (s *Store) ListUsers(ctx context.Context) ([]User, error) {
	rows, err := s.query(ctx, "SELECT "+userColumns+" FROM users ORDER BY is_superuser DESC, email")
	if err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	defer rows.Close()
	var users []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list users: %w", err)
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	return users, nil
}

// UserCounts are the numbers of users by state.
type UserCounts struct {
	Total, Active, Superusers int
}

// CountUsers counts users, active users and active superusers.
func (s *Store) CountUsers(ctx context.Context) (UserCounts, error) {
	var n UserCounts
	err := s.queryRow(ctx, `
		SELECT count(*), coalesce(sum(is_active), 0), coalesce(sum(is_active AND is_superuser), 0) FROM users`).
		Scan(&n.Total, &n.Active, &n.Superusers)
	if err != nil {
		return UserCounts{}, fmt.Errorf("store: count users: %w", err)
	}
	return n, nil
}

// UpdateUser writes a user's profile and flags. It refuses a change that would leave no
// active superuser; deactivating a user ends all of their sessions and revokes their tokens.
func (s *Store) UpdateUser(ctx context.Context, id int64, up UserUpdate) (User, error) {
	email, err := NormalizeEmail(up.Email)
	if err != nil {
		return User{}, err
	}
	name, err := normalizeName(up.Name)
	if err != nil {
		return User{}, err
	}
	var u User
	err = s.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		u, err = scanUser(tx.QueryRowContext(ctx, `
			UPDATE users SET email = ?, name = ?, is_superuser = ?, is_active = ?, updated_at = ?
			WHERE id = ? RETURNING `+userColumns, email, name, up.IsSuperuser, up.IsActive, s.now(), id))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return ErrNotFound
		case isUniqueViolation(err):
			return &ValidationError{Field: "email", Msg: fmt.Sprintf("another user already has the email %s", email)}
		case err != nil:
			return err
		}
		var supers int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM users WHERE is_superuser = 1 AND is_active = 1").Scan(&supers); err != nil {
			return err
		}
		if supers == 0 {
			return ErrLastSuperuser
		}
		if !u.IsActive {
			// Deactivation ends what the user could still act through: sessions, and tokens
			// for good, so that reactivating the account does not revive forgotten scripts.
			if _, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE user_id = ?", id); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL", u.UpdatedAt, id); err != nil {
				return err
			}
		}
		return s.bumpSessionsGen(ctx, tx) // a session's user (role, active) is cached with it
	})
	if err != nil {
		return User{}, fmt.Errorf("store: update user %d: %w", id, err)
	}
	return u, nil
}

// SetPassword replaces a user's password and ends every session of that user, so a
// stolen session does not survive the password change that was meant to lock it out.
func (s *Store) SetPassword(ctx context.Context, id int64, password string) error {
	if err := ValidatePassword(password); err != nil {
		return err
	}
	hash, err := s.pw.hash(ctx, password)
	if err != nil {
		return err
	}
	err = s.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?", hash, s.now(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE user_id = ?", id); err != nil {
			return err
		}
		return s.bumpSessionsGen(ctx, tx)
	})
	if err != nil {
		return fmt.Errorf("store: set password of user %d: %w", id, err)
	}
	return nil
}

// Authenticate returns the active user with this email and password, or
// ErrInvalidCredentials without saying which part was wrong. Every call does exactly one
// password verification (against the user's hash, or a dummy one for unknown emails) and
// decides only afterwards, so the time taken says nothing about the account.
func (s *Store) Authenticate(ctx context.Context, email, password string) (User, error) {
	var hash string
	u, err := scanUser(s.queryRow(ctx,
		"SELECT "+userColumns+", password_hash FROM users WHERE email = ?", strings.TrimSpace(email)), &hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("store: authenticate: %w", err)
	}
	ok, err := s.pw.verify(ctx, password, hash) // hash is "" for an unknown email: the dummy
	if err != nil {
		return User{}, err
	}
	if !ok || !u.IsActive {
		return User{}, ErrInvalidCredentials
	}
	return u, nil
}

// CheckPassword reports whether password is the user's current one.
func (s *Store) CheckPassword(ctx context.Context, id int64, password string) (bool, error) {
	var hash string
	if err := s.queryRow(ctx, "SELECT password_hash FROM users WHERE id = ?", id).Scan(&hash); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return false, fmt.Errorf("store: user %d: %w", id, ErrNotFound)
		}
		return false, fmt.Errorf("store: check password: %w", err)
	}
	return s.pw.verify(ctx, password, hash)
}
