package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/store/storetest"
)

func mustUser(t *testing.T, s *store.Store, email string, super bool) store.User {
	t.Helper()
	u, err := s.CreateUser(context.Background(), store.NewUser{Email: email, Name: "N " + email, Password: "correct horse", IsSuperuser: super})
	if err != nil {
		t.Fatalf("create %s: %v", email, err)
	}
	return u
}

func TestCreateUserValidatesAndRejectsDuplicates(t *testing.T) {
	s := storetest.Open(t)
	ctx := context.Background()
	u := mustUser(t, s, "Ada@example.org", true)
	if !u.IsActive || !u.IsSuperuser || u.ID == 0 {
		t.Fatalf("got %+v, want an active superuser with an id", u)
	}
	tests := []struct {
		name  string
		in    store.NewUser
		field string
		is    error
	}{
		{"bad email", store.NewUser{Email: "not-an-email", Password: "longenough"}, "email", nil},
		{"display-name email", store.NewUser{Email: "Ada <x@example.org>", Password: "longenough"}, "email", nil},
		{"short password", store.NewUser{Email: "b@example.org", Password: "short"}, "password", nil},
		{"huge password", store.NewUser{Email: "b@example.org", Password: strings.Repeat("x", store.MaxPasswordLen+1)}, "password", nil},
		{"long name", store.NewUser{Email: "b@example.org", Name: strings.Repeat("n", 101), Password: "longenough"}, "name", nil},
		{"duplicate email, other case", store.NewUser{Email: "ADA@example.org", Password: "longenough"}, "", store.ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.CreateUser(ctx, tt.in)
			if tt.is != nil {
				if !errors.Is(err, tt.is) {
					t.Fatalf("got %v, want %v", err, tt.is)
				}
				return
			}
			var ve *store.ValidationError
			if !errors.As(err, &ve) || ve.Field != tt.field {
				t.Fatalf("got %v, want a validation error on %s", err, tt.field)
			}
		})
	}
	if n, _ := s.CountUsers(ctx); n != (store.UserCounts{Total: 1, Active: 1, Superusers: 1}) {
		t.Fatalf("got %+v users, want 1 active superuser", n)
	}
}

func TestAuthenticate(t *testing.T) {
	s := storetest.Open(t)
	ctx := context.Background()
	u := mustUser(t, s, "ada@example.org", true)
	mustUser(t, s, "bob@example.org", true)
	if got, err := s.Authenticate(ctx, " ADA@example.org ", "correct horse"); err != nil || got.ID != u.ID {
		t.Fatalf("got %v, %v; want user %d", got.ID, err, u.ID)
	}
	for _, c := range []struct{ email, pw string }{
		{"ada@example.org", "wrong horse"},
		{"nobody@example.org", "correct horse"},
		{"ada@example.org", ""},
	} {
		if _, err := s.Authenticate(ctx, c.email, c.pw); !errors.Is(err, store.ErrInvalidCredentials) {
			t.Errorf("%s/%s: got %v, want ErrInvalidCredentials", c.email, c.pw, err)
		}
	}
	if _, err := s.UpdateUser(ctx, u.ID, store.UserUpdate{Email: u.Email, Name: u.Name, IsSuperuser: true, IsActive: false}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, "ada@example.org", "correct horse"); !errors.Is(err, store.ErrInvalidCredentials) {
		t.Fatalf("inactive user: got %v, want ErrInvalidCredentials", err)
	}
}

func TestProductionPasswordParamsAreExplicit(t *testing.T) {
	s := storetest.Open(t, func(o *store.Options) { o.PasswordParams = nil })
	u := mustUser(t, s, "ada@example.org", true)
	var hash string
	if err := s.Readers().QueryRow("SELECT password_hash FROM users WHERE id = ?", u.ID).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=65536,t=2,p=2$") {
		t.Fatalf("got hash %q, want argon2id m=65536,t=2,p=2", hash)
	}
	if strings.Contains(hash, "correct horse") {
		t.Fatal("hash contains the password")
	}
}

func TestLastActiveSuperuserStays(t *testing.T) {
	s := storetest.Open(t)
	ctx := context.Background()
	ada := mustUser(t, s, "ada@example.org", true)
	bob := mustUser(t, s, "bob@example.org", false)
	for _, up := range []store.UserUpdate{
		{Email: ada.Email, IsSuperuser: false, IsActive: true},
		{Email: ada.Email, IsSuperuser: true, IsActive: false},
	} {
		if _, err := s.UpdateUser(ctx, ada.ID, up); !errors.Is(err, store.ErrLastSuperuser) {
			t.Fatalf("update %+v: got %v, want ErrLastSuperuser", up, err)
		}
	}
	if got, _ := s.GetUser(ctx, ada.ID); !got.IsSuperuser || !got.IsActive {
		t.Fatalf("refused update changed the user: %+v", got)
	}
	// With a second superuser, ada may step down.
	if _, err := s.UpdateUser(ctx, bob.ID, store.UserUpdate{Email: bob.Email, IsSuperuser: true, IsActive: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateUser(ctx, ada.ID, store.UserUpdate{Email: ada.Email, IsSuperuser: false, IsActive: true}); err != nil {
		t.Fatalf("demote with another superuser: %v", err)
	}
	// Email uniqueness on update is a field error, not a 500.
	_, err := s.UpdateUser(ctx, ada.ID, store.UserUpdate{Email: "BOB@example.org", IsActive: true})
	var ve *store.ValidationError
	if !errors.As(err, &ve) || ve.Field != "email" {
		t.Fatalf("got %v, want email validation error", err)
	}
	if _, err := s.UpdateUser(ctx, 999, store.UserUpdate{Email: "x@example.org"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("got %v, want ErrNotFound", err)
	}
}

func TestSessionsLifecycle(t *testing.T) {
	c := storetest.NewClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	s := storetest.Open(t, func(o *store.Options) { o.Now = c.Now })
	ctx := context.Background()
	p := store.SessionPolicy{Idle: time.Hour, Lifetime: 3 * time.Hour}
	u := mustUser(t, s, "ada@example.org", true)

	tok, err := s.CreateSession(ctx, u.ID, p, "127.0.0.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	var stored int
	if err := s.Readers().QueryRow("SELECT count(*) FROM sessions WHERE id_hash = ?", tok).Scan(&stored); err != nil || stored != 0 {
		t.Fatalf("raw token found in the sessions table (%d, %v): only its hash may be stored", stored, err)
	}
	got, _, err := s.SessionUser(ctx, tok, p)
	if err != nil || got.ID != u.ID {
		t.Fatalf("got %v %v, want user %d", got.ID, err, u.ID)
	}
	if got.LastLoginAt == nil || !got.LastLoginAt.Equal(c.Now()) {
		t.Fatalf("got last login %v, want %v", got.LastLoginAt, c.Now())
	}

	// Activity keeps the session alive past one idle period...
	for range 3 {
		c.Advance(50 * time.Minute)
		if _, _, err := s.SessionUser(ctx, tok, p); err != nil {
			t.Fatalf("active session ended early: %v", err)
		}
	}
	// ...but never past its absolute lifetime (150 min used, 3 h allowed).
	c.Advance(31 * time.Minute)
	if _, _, err := s.SessionUser(ctx, tok, p); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("past lifetime: got %v, want ErrNotFound", err)
	}

	// Idle expiry.
	tok2, _ := s.CreateSession(ctx, u.ID, p, "", "")
	c.Advance(61 * time.Minute)
	if _, _, err := s.SessionUser(ctx, tok2, p); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("idle: got %v, want ErrNotFound", err)
	}

	// Logout and password change.
	tok3, _ := s.CreateSession(ctx, u.ID, p, "", "")
	tok4, _ := s.CreateSession(ctx, u.ID, p, "", "")
	if err := s.DeleteSession(ctx, tok3); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SessionUser(ctx, tok3, p); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after logout: got %v, want ErrNotFound", err)
	}
	if err := s.SetPassword(ctx, u.ID, "another horse"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SessionUser(ctx, tok4, p); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after password change: got %v, want ErrNotFound", err)
	}
	if _, err := s.Authenticate(ctx, u.Email, "another horse"); err != nil {
		t.Fatalf("new password refused: %v", err)
	}
}

func TestDeactivationEndsSessionsAndPruneRemovesExpired(t *testing.T) {
	c := storetest.NewClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	s := storetest.Open(t, func(o *store.Options) { o.Now = c.Now })
	ctx := context.Background()
	p := store.SessionPolicy{Idle: time.Hour, Lifetime: 24 * time.Hour}
	mustUser(t, s, "root@example.org", true)
	bob := mustUser(t, s, "bob@example.org", false)
	tok, _ := s.CreateSession(ctx, bob.ID, p, "", "")
	if _, err := s.UpdateUser(ctx, bob.ID, store.UserUpdate{Email: bob.Email, IsActive: false}); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.CountUserSessions(ctx, bob.ID); n != 0 {
		t.Fatalf("got %d sessions after deactivation, want 0", n)
	}
	if _, _, err := s.SessionUser(ctx, tok, p); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("got %v, want ErrNotFound", err)
	}

	root, _ := s.GetUserByEmail(ctx, "root@example.org")
	s.CreateSession(ctx, root.ID, p, "", "")
	c.Advance(30 * time.Minute)
	s.CreateSession(ctx, root.ID, p, "", "")
	c.Advance(45 * time.Minute) // the first is now idle 75 min, the second 45 min
	n, err := s.DeleteExpiredSessions(ctx, p)
	if err != nil || n != 1 {
		t.Fatalf("pruned %d (%v), want 1", n, err)
	}
	if left, _ := s.CountUserSessions(ctx, root.ID); left != 1 {
		t.Fatalf("got %d sessions left, want 1", left)
	}
}
