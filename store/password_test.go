package store_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/store/storetest"
)

// Every login attempt does exactly one argon2 verification, whatever the email and password,
// so response times do not tell known accounts from unknown ones.
func TestAuthenticateAlwaysVerifiesOnce(t *testing.T) {
	var verifies atomic.Int64
	s := storetest.Open(t, func(o *store.Options) {
		o.PasswordHook = func(op string) {
			if op == "verify" {
				verifies.Add(1)
			}
		}
	})
	ctx := context.Background()
	mustUser(t, s, "root@example.org", true)
	ada := mustUser(t, s, "ada@example.org", false)
	gone := mustUser(t, s, "gone@example.org", false)
	if _, err := s.UpdateUser(ctx, gone.ID, store.UserUpdate{Email: gone.Email, IsActive: false}); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", 600)
	atMax := strings.Repeat("y", store.MaxPasswordLen)
	tests := []struct {
		name, email, pw string
		wantOK          bool
	}{
		{"known email, right password", "ada@example.org", "correct horse", true},
		{"known email, wrong password", "ada@example.org", "wrong horse", false},
		{"known email, 600-byte password", "ada@example.org", long, false},
		{"known email, password at the limit", "ada@example.org", atMax, false},
		{"known email, right password padded past the limit", "ada@example.org", "correct horse" + long, false},
		{"unknown email, 600-byte password", "nobody@example.org", long, false},
		{"unknown email, short password", "nobody@example.org", "wrong horse", false},
		{"inactive user, right password", "gone@example.org", "correct horse", false},
		{"inactive user, 600-byte password", "gone@example.org", long, false},
		{"malformed email", "not an email", "correct horse", false},
		{"empty email and password", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			verifies.Store(0)
			u, err := s.Authenticate(ctx, tt.email, tt.pw)
			if tt.wantOK && (err != nil || u.ID != ada.ID) {
				t.Fatalf("got %v, %v; want user %d", u.ID, err, ada.ID)
			}
			if !tt.wantOK && !errors.Is(err, store.ErrInvalidCredentials) {
				t.Fatalf("got %v, want ErrInvalidCredentials", err)
			}
			if n := verifies.Load(); n != 1 {
				t.Fatalf("got %d argon2 verifications, want exactly 1", n)
			}
		})
	}
	t.Run("CheckPassword with a 600-byte password", func(t *testing.T) {
		verifies.Store(0)
		if ok, err := s.CheckPassword(ctx, ada.ID, long); ok || err != nil {
			t.Fatalf("got %v, %v; want false, nil", ok, err)
		}
		if n := verifies.Load(); n != 1 {
			t.Fatalf("got %d argon2 verifications, want exactly 1", n)
		}
	})
}

// holdHashing returns a store with one hashing slot and a tiny queue wait, and a function
// that occupies the slot (through a login that blocks inside it) until release is called.
func holdHashing(t *testing.T) (s *store.Store, hold func() (release func())) {
	t.Helper()
	var armed atomic.Pointer[chan struct{}]
	entered := make(chan struct{}, 1)
	s = storetest.Open(t, func(o *store.Options) {
		o.HashConcurrency = 1
		o.HashWait = time.Millisecond
		o.PasswordHook = func(string) {
			if ch := armed.Swap(nil); ch != nil {
				entered <- struct{}{}
				<-*ch
			}
		}
	})
	return s, func() func() {
		ch := make(chan struct{})
		armed.Store(&ch)
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = s.Authenticate(context.Background(), "holder@example.org", "whatever pw")
		}()
		<-entered
		return func() { close(ch); <-done }
	}
}

// A login that cannot start hashing within HashWait gives up with ErrBusy instead of queueing.
func TestPasswordWorkGivesUpWhenBusy(t *testing.T) {
	s, hold := holdHashing(t)
	mustUser(t, s, "ada@example.org", false)
	release := hold()
	// The guard only keeps a regression from hanging the test; the answer is expected at once.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.Authenticate(ctx, "ada@example.org", "correct horse"); !errors.Is(err, store.ErrBusy) {
		t.Fatalf("login while the hasher is full: got %v, want ErrBusy", err)
	}
	if _, err := s.CreateUser(ctx, store.NewUser{Email: "bob@example.org", Password: "correct horse"}); !errors.Is(err, store.ErrBusy) {
		t.Fatalf("create user while the hasher is full: got %v, want ErrBusy", err)
	}
	release()
	if _, err := s.Authenticate(ctx, "ada@example.org", "correct horse"); err != nil {
		t.Fatalf("login after the slot freed: got %v, want success", err)
	}
}
