package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/store/storetest"
)

// BenchmarkSessionUser is the cost every logged-in page view pays to resolve its cookie.
func BenchmarkSessionUser(b *testing.B) {
	s := storetest.Open(b)
	ctx := context.Background()
	p := store.SessionPolicy{Idle: time.Hour, Lifetime: 24 * time.Hour}
	u, err := s.CreateUser(ctx, store.NewUser{Email: "a@example.org", Password: "longenough", IsSuperuser: true})
	if err != nil {
		b.Fatal(err)
	}
	// Other sessions in the table, so the lookup is by index, not by luck.
	for range 1000 {
		if _, err := s.CreateSession(ctx, u.ID, p, "", ""); err != nil {
			b.Fatal(err)
		}
	}
	tok, _ := s.CreateSession(ctx, u.ID, p, "", "")
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := s.SessionUser(ctx, tok, p); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkAuthenticate measures one login with the production argon2id parameters:
// the cost that login throttling and the hashing semaphore bound.
func BenchmarkAuthenticate(b *testing.B) {
	s := storetest.Open(b, func(o *store.Options) { o.PasswordParams = nil })
	ctx := context.Background()
	if _, err := s.CreateUser(ctx, store.NewUser{Email: "a@example.org", Password: "longenough"}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Authenticate(ctx, "a@example.org", "longenough"); err != nil {
			b.Fatal(err)
		}
	}
}
