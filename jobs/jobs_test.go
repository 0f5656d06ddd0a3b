package jobs_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/kubestats/kubestats/githubql"
	"github.com/kubestats/kubestats/jobs"
	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/store/storetest"
)

// seed makes one session that is expired (idle) and one that is live.
func seed(t *testing.T) (*store.Store, store.SessionPolicy, int64) {
	c := storetest.NewClock(time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC))
	s := storetest.Open(t, func(o *store.Options) { o.Now = c.Now })
	ctx := context.Background()
	p := store.SessionPolicy{Idle: time.Hour, Lifetime: 24 * time.Hour}
	u, err := s.CreateUser(ctx, store.NewUser{Email: "a@example.org", Password: "longenough", IsSuperuser: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateSession(ctx, u.ID, p, "", ""); err != nil {
		t.Fatal(err)
	}
	c.Advance(2 * time.Hour)
	if _, err := s.CreateSession(ctx, u.ID, p, "", ""); err != nil {
		t.Fatal(err)
	}
	return s, p, u.ID
}

// countAll counts the user's sessions within their lifetime, idle ones included.
func countAll(t *testing.T, s *store.Store, userID int64) int {
	n, err := s.CountUserSessions(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPruneDeletesOnlyExpiredSessions(t *testing.T) {
	s, p, uid := seed(t)
	if n := countAll(t, s, uid); n != 2 {
		t.Fatalf("got %d sessions before prune, want 2", n)
	}
	r := jobs.New(s, githubql.New(githubql.Options{}), jobs.Config{Sessions: p}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if _, err := r.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := countAll(t, s, uid); n != 1 {
		t.Fatalf("got %d sessions after prune, want 1", n)
	}
}

func TestScheduleRunsPruneAtStart(t *testing.T) {
	s, p, uid := seed(t)
	sched, err := jobs.New(s, githubql.New(githubql.Options{}), jobs.Config{Sessions: p}, slog.New(slog.NewTextHandler(io.Discard, nil))).Schedule()
	if err != nil {
		t.Fatal(err)
	}
	defer sched.Shutdown()
	deadline := time.Now().Add(10 * time.Second)
	for countAll(t, s, uid) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("prune did not run at scheduler start")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
