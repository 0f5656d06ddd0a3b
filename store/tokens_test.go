package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/store/storetest"
)

var tokenPattern = regexp.MustCompile(`^ks_[A-Za-z0-9_-]{43}$`)

func TestCreateTokenKeepsOnlyHashAndPrefix(t *testing.T) {
	s := storetest.Open(t)
	ctx := context.Background()
	u := mustUser(t, s, "ada@example.org", false)
	token, tok, err := s.CreateToken(ctx, u.ID, "  laptop  ")
	if err != nil {
		t.Fatal(err)
	}
	if !tokenPattern.MatchString(token) {
		t.Fatalf("got token %q, want ks_ + 43 base64url characters", token)
	}
	if tok.Name != "laptop" || tok.UserID != u.ID || tok.ID == 0 || tok.LastUsedAt != nil || tok.RevokedAt != nil {
		t.Fatalf("got %+v, want a fresh token named laptop", tok)
	}
	if !strings.HasPrefix(token, tok.Prefix) || len(tok.Prefix) != 10 {
		t.Fatalf("got prefix %q, want the token's first 10 characters", tok.Prefix)
	}
	// Nothing in the database holds the token in clear: only its hash and prefix.
	raw := s.Readers()
	var hash, prefix string
	if err := raw.QueryRowContext(ctx, "SELECT token_hash, prefix FROM api_tokens WHERE id = ?", tok.ID).Scan(&hash, &prefix); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(token))
	if hash != hex.EncodeToString(sum[:]) || prefix != tok.Prefix {
		t.Fatalf("got hash %s prefix %s, want the SHA-256 and %s", hash, prefix, tok.Prefix)
	}
	var n int
	if err := raw.QueryRowContext(ctx, "SELECT count(*) FROM api_tokens WHERE token_hash = ? OR name = ? OR prefix = ?", token, token, token).Scan(&n); err != nil || n != 0 {
		t.Fatalf("got %d rows holding the clear token (err %v), want 0", n, err)
	}

	other, _, err := s.CreateToken(ctx, u.ID, "laptop")
	if err != nil || other == token {
		t.Fatalf("second token: %v; same name must still give a new, different token", err)
	}
}

func TestCreateTokenValidatesName(t *testing.T) {
	s := storetest.Open(t)
	u := mustUser(t, s, "ada@example.org", false)
	for name, in := range map[string]string{
		"empty":    "",
		"blank":    "   ",
		"too long": strings.Repeat("é", 101),
		"control":  "a\x00b",
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := s.CreateToken(context.Background(), u.ID, in)
			var ve *store.ValidationError
			if !errors.As(err, &ve) || ve.Field != "name" {
				t.Fatalf("got %v, want a validation error on name", err)
			}
		})
	}
	if _, _, err := s.CreateToken(context.Background(), u.ID, strings.Repeat("é", 100)); err != nil {
		t.Fatalf("100 characters: got %v, want accepted", err)
	}
}

func TestListAndRevokeTokens(t *testing.T) {
	clock := storetest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	s := storetest.Open(t, func(o *store.Options) { o.Now = clock.Now })
	ctx := context.Background()
	ada := mustUser(t, s, "ada@example.org", false)
	bob := mustUser(t, s, "bob@example.org", false)
	var ids []int64
	for _, name := range []string{"first", "second", "third"} {
		_, tok, err := s.CreateToken(ctx, ada.ID, name)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tok.ID)
		clock.Advance(time.Second)
	}
	_, bobs, err := s.CreateToken(ctx, bob.ID, "bob's")
	if err != nil {
		t.Fatal(err)
	}

	list, err := s.ListTokens(ctx, ada.ID)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tok := range list {
		names = append(names, tok.Name)
	}
	if got := strings.Join(names, ","); got != "third,second,first" {
		t.Fatalf("got %s, want ada's tokens newest first: third,second,first", got)
	}

	if err := s.RevokeToken(ctx, ada.ID, bobs.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoking bob's token as ada: got %v, want ErrNotFound", err)
	}
	if err := s.RevokeToken(ctx, ada.ID, 999999); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoking an unknown token: got %v, want ErrNotFound", err)
	}
	revokedAt := clock.Now()
	if err := s.RevokeToken(ctx, ada.ID, ids[1]); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	if err := s.RevokeToken(ctx, ada.ID, ids[1]); err != nil {
		t.Fatalf("revoking twice: got %v, want nil", err)
	}
	list, _ = s.ListTokens(ctx, ada.ID)
	for _, tok := range list {
		switch {
		case tok.ID == ids[1] && (tok.RevokedAt == nil || !tok.RevokedAt.Equal(revokedAt)):
			t.Fatalf("got revoked_at %v, want the first revocation %v", tok.RevokedAt, revokedAt)
		case tok.ID != ids[1] && tok.Revoked():
			t.Fatalf("token %s revoked, want only %d", tok.Name, ids[1])
		}
	}
	if l, _ := s.ListTokens(ctx, bob.ID); len(l) != 1 || l[0].Revoked() {
		t.Fatalf("got bob's tokens %+v, want his one token untouched", l)
	}
}

func TestTokenUser(t *testing.T) {
	clock := storetest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	s := storetest.Open(t, func(o *store.Options) { o.Now = clock.Now })
	ctx := context.Background()
	ada := mustUser(t, s, "ada@example.org", true)
	token, created, err := s.CreateToken(ctx, ada.ID, "ci")
	if err != nil {
		t.Fatal(err)
	}

	u, tok, err := s.TokenUser(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != ada.ID || !u.IsSuperuser || tok.ID != created.ID || tok.Name != "ci" {
		t.Fatalf("got %+v / %+v, want ada and token ci", u, tok)
	}

	for name, bad := range map[string]string{
		"empty":             "",
		"unknown":           "ks_" + strings.Repeat("A", 43),
		"no prefix":         token[3:],
		"one char off":      token[:len(token)-1] + string(rune(token[len(token)-1])^1),
		"trailing garbage":  token + "x",
		"another user's id": "1",
	} {
		if _, _, err := s.TokenUser(ctx, bad); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: got %v, want ErrNotFound", name, err)
		}
	}

	// Inactive user: the token stops working, and stays revoked after reactivation
	// (TestDeactivationRevokesTokens); a new token works.
	if _, err := s.UpdateUser(ctx, ada.ID, store.UserUpdate{Email: ada.Email, IsSuperuser: false, IsActive: false}); err != nil {
		// ada is the only superuser; make another so she can be deactivated.
		mustUser(t, s, "root@example.org", true)
		if _, err := s.UpdateUser(ctx, ada.ID, store.UserUpdate{Email: ada.Email, IsSuperuser: false, IsActive: false}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.TokenUser(ctx, token); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("inactive user: got %v, want ErrNotFound", err)
	}
	if _, err := s.UpdateUser(ctx, ada.ID, store.UserUpdate{Email: ada.Email, IsActive: true}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.TokenUser(ctx, token); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("reactivated user's old token: got %v, want ErrNotFound", err)
	}
	token, created, err = s.CreateToken(ctx, ada.ID, "ci again")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.TokenUser(ctx, token); err != nil {
		t.Fatalf("reactivated user's new token: got %v, want it to work", err)
	}

	if err := s.RevokeToken(ctx, ada.ID, created.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.TokenUser(ctx, token); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoked: got %v, want ErrNotFound", err)
	}
}

func TestTokenUserStampsLastUseAtMostOnceAMinute(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := storetest.NewClock(start)
	s := storetest.Open(t, func(o *store.Options) { o.Now = clock.Now })
	ctx := context.Background()
	u := mustUser(t, s, "ada@example.org", false)
	token, _, err := s.CreateToken(ctx, u.ID, "ci")
	if err != nil {
		t.Fatal(err)
	}
	lastUsed := func() *time.Time {
		t.Helper()
		l, err := s.ListTokens(ctx, u.ID)
		if err != nil || len(l) != 1 {
			t.Fatalf("list: %v %v", l, err)
		}
		return l[0].LastUsedAt
	}
	if lu := lastUsed(); lu != nil {
		t.Fatalf("got last used %v before any use, want never", lu)
	}
	use := func() {
		t.Helper()
		if _, _, err := s.TokenUser(ctx, token); err != nil {
			t.Fatal(err)
		}
	}
	use()
	if lu := lastUsed(); lu == nil || !lu.Equal(start) {
		t.Fatalf("got last used %v, want %v", lu, start)
	}
	// Within the minute: no write, so the stamp stays at the first use.
	changes := totalChanges(t, s)
	clock.Advance(59 * time.Second)
	use()
	if lu := lastUsed(); !lu.Equal(start) {
		t.Fatalf("got last used %v after 59 s, want still %v", lu, start)
	}
	if got := totalChanges(t, s); got != changes {
		t.Fatalf("got %d row changes within the minute, want none", got-changes)
	}
	clock.Advance(time.Second)
	use()
	if lu := lastUsed(); !lu.Equal(start.Add(time.Minute)) {
		t.Fatalf("got last used %v after a minute, want %v", lu, start.Add(time.Minute))
	}
}

// totalChanges counts rows written through the store's single writer connection.
func totalChanges(t *testing.T, s *store.Store) int64 {
	t.Helper()
	var n int64
	if err := s.Writer().QueryRowContext(context.Background(), "SELECT total_changes()").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// BenchmarkTokenUser is the per-request cost of token authentication (after the first
// use, which is the only one in the minute that writes).
func BenchmarkTokenUser(b *testing.B) {
	s := storetest.Open(b)
	ctx := context.Background()
	u, err := s.CreateUser(ctx, store.NewUser{Email: "ada@example.org", Password: "correct horse"})
	if err != nil {
		b.Fatal(err)
	}
	token, _, err := s.CreateToken(ctx, u.ID, "bench")
	if err != nil {
		b.Fatal(err)
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := s.TokenUser(ctx, token); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// A user has at most MaxActiveTokens unrevoked tokens; revoking one makes room again.
func TestCreateTokenLimitsActiveTokens(t *testing.T) {
	s := storetest.Open(t)
	ctx := context.Background()
	u := mustUser(t, s, "ada@example.org", false)
	other := mustUser(t, s, "bob@example.org", false)
	var first store.APIToken
	for i := range store.MaxActiveTokens {
		_, tok, err := s.CreateToken(ctx, u.ID, "t")
		if err != nil {
			t.Fatalf("token %d: %v", i+1, err)
		}
		if i == 0 {
			first = tok
		}
	}
	_, _, err := s.CreateToken(ctx, u.ID, "one too many")
	var ve *store.ValidationError
	if !errors.As(err, &ve) || !strings.Contains(ve.Msg, "20") || !strings.Contains(ve.Msg, "revoke") {
		t.Fatalf("token %d: got %v, want a validation error naming the limit of 20 and what to do", store.MaxActiveTokens+1, err)
	}
	if tokens, _ := s.ListTokens(ctx, u.ID); len(tokens) != store.MaxActiveTokens {
		t.Fatalf("got %d tokens, want %d: the refused one must not be stored", len(tokens), store.MaxActiveTokens)
	}
	if _, _, err := s.CreateToken(ctx, other.ID, "own budget"); err != nil {
		t.Fatalf("another user's token: got %v, want created", err)
	}
	if err := s.RevokeToken(ctx, u.ID, first.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateToken(ctx, u.ID, "after a revocation"); err != nil {
		t.Fatalf("after revoking one: got %v, want created", err)
	}
}

// A deactivated user gets no new tokens (the CLI can name any user).
func TestCreateTokenRefusesInactiveUser(t *testing.T) {
	s := storetest.Open(t)
	ctx := context.Background()
	mustUser(t, s, "root@example.org", true)
	u := mustUser(t, s, "ada@example.org", false)
	if _, err := s.UpdateUser(ctx, u.ID, store.UserUpdate{Email: u.Email, IsActive: false}); err != nil {
		t.Fatal(err)
	}
	_, _, err := s.CreateToken(ctx, u.ID, "t")
	var ve *store.ValidationError
	if !errors.As(err, &ve) || !strings.Contains(ve.Msg, "deactivated") {
		t.Fatalf("got %v, want a validation error saying the user is deactivated", err)
	}
	if _, _, err := s.CreateToken(ctx, 999, "t"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown user: got %v, want ErrNotFound", err)
	}
}

// Deactivation revokes every token of the user, keeping earlier revocation times.
func TestDeactivationRevokesTokens(t *testing.T) {
	clock := storetest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	s := storetest.Open(t, func(o *store.Options) { o.Now = clock.Now })
	ctx := context.Background()
	mustUser(t, s, "root@example.org", true)
	u := mustUser(t, s, "ada@example.org", false)
	other := mustUser(t, s, "bob@example.org", false)
	live, _, _ := s.CreateToken(ctx, u.ID, "live")
	_, old, _ := s.CreateToken(ctx, u.ID, "old")
	bobs, _, _ := s.CreateToken(ctx, other.ID, "bob's")
	if err := s.RevokeToken(ctx, u.ID, old.ID); err != nil {
		t.Fatal(err)
	}
	revokedAt := clock.Now()
	clock.Advance(time.Hour)
	if _, err := s.UpdateUser(ctx, u.ID, store.UserUpdate{Email: u.Email, IsActive: false}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateUser(ctx, u.ID, store.UserUpdate{Email: u.Email, IsActive: true}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.TokenUser(ctx, live); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("token after deactivation and reactivation: got %v, want ErrNotFound", err)
	}
	tokens, _ := s.ListTokens(ctx, u.ID)
	for _, tok := range tokens {
		switch {
		case !tok.Revoked():
			t.Fatalf("token %q not revoked", tok.Name)
		case tok.ID == old.ID && !tok.RevokedAt.Equal(revokedAt):
			t.Fatalf("earlier revocation moved from %v to %v", revokedAt, tok.RevokedAt)
		case tok.ID != old.ID && !tok.RevokedAt.Equal(clock.Now()):
			t.Fatalf("got revoked at %v, want the deactivation time %v", tok.RevokedAt, clock.Now())
		}
	}
	if _, _, err := s.TokenUser(ctx, bobs); err != nil {
		t.Fatalf("another user's token: got %v, want it untouched", err)
	}
}
