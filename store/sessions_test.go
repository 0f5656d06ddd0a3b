package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/store/storetest"
)

// openTwice opens two stores on one database file, as the server and a CLI run would.
func openTwice(t *testing.T) (server, cli *store.Store) {
	t.Helper()
	opts := storetest.Options(t)
	var err error
	if server, err = store.Open(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	if cli, err = store.Open(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return server, cli
}

// Session and user changes made by another process (kubestats user set-password) apply to
// the server's very next session lookup, although the server caches lookups.
func TestSessionChangesByAnotherProcessApplyAtOnce(t *testing.T) {
	server, cli := openTwice(t)
	ctx := context.Background()
	p := store.SessionPolicy{Idle: time.Hour, Lifetime: 24 * time.Hour}
	mustUser(t, server, "root@example.org", true)
	ada := mustUser(t, server, "ada@example.org", false)
	login := func() string {
		t.Helper()
		tok, err := server.CreateSession(ctx, ada.ID, p, "", "")
		if err != nil {
			t.Fatal(err)
		}
		for range 2 { // the second lookup is answered from the cache
			if _, _, err := server.SessionUser(ctx, tok, p); err != nil {
				t.Fatalf("fresh session: %v", err)
			}
		}
		return tok
	}
	tests := []struct {
		name   string
		change func(tok string) error
	}{
		{"set-password", func(string) error { return cli.SetPassword(ctx, ada.ID, "another horse") }},
		{"logout", func(tok string) error { return cli.DeleteSession(ctx, tok) }},
		{"all sessions ended", func(string) error { return cli.DeleteUserSessions(ctx, ada.ID) }},
		{"deactivated", func(string) error {
			_, err := cli.UpdateUser(ctx, ada.ID, store.UserUpdate{Email: ada.Email, IsActive: false})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := cli.UpdateUser(ctx, ada.ID, store.UserUpdate{Email: ada.Email, IsActive: true}); err != nil {
				t.Fatal(err)
			}
			tok := login()
			if err := tt.change(tok); err != nil {
				t.Fatal(err)
			}
			if _, _, err := server.SessionUser(ctx, tok, p); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("server's next lookup: got %v, want ErrNotFound", err)
			}
		})
	}

	// A change of role by the other process shows in the next lookup too.
	if _, err := cli.UpdateUser(ctx, ada.ID, store.UserUpdate{Email: ada.Email, IsActive: true}); err != nil {
		t.Fatal(err)
	}
	tok := login()
	if _, err := cli.UpdateUser(ctx, ada.ID, store.UserUpdate{Email: ada.Email, Name: "Ada", IsSuperuser: true, IsActive: true}); err != nil {
		t.Fatal(err)
	}
	if u, _, err := server.SessionUser(ctx, tok, p); err != nil || !u.IsSuperuser || u.Name != "Ada" {
		t.Fatalf("after promotion elsewhere: got %+v, %v; want the superuser Ada", u, err)
	}
}

// Lookups are still answered from the cache while nothing about sessions or users changed:
// an edit behind the store's back (raw SQL) stays unseen until the cache's time-to-live ends.
func TestSessionLookupsStillCached(t *testing.T) {
	s := storetest.Open(t)
	ctx := context.Background()
	p := store.SessionPolicy{Idle: time.Hour, Lifetime: 24 * time.Hour}
	ada := mustUser(t, s, "ada@example.org", false)
	tok, err := s.CreateSession(ctx, ada.ID, p, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SessionUser(ctx, tok, p); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Writer().ExecContext(ctx, "UPDATE users SET name = 'raw' WHERE id = ?", ada.ID); err != nil {
		t.Fatal(err)
	}
	if u, _, err := s.SessionUser(ctx, tok, p); err != nil || u.Name == "raw" {
		t.Fatalf("got %q, %v; want the cached answer", u.Name, err)
	}
}
