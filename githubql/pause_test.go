package githubql

import (
	"context"
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/kubestats/kubestats/githubql/githubtest"
)

// pauseEnv is a fake GitHub and a client on one fake clock: the client's waits end when the test
// moves the clock, and the test sees every wait start (githubtest.Clock.WaitFor).
type pauseEnv struct {
	t     *testing.T
	clock *githubtest.Clock
	gh    *githubtest.Server
	c     *Client
	ctx   context.Context // bounds a test that would hang; no assertion depends on it
	done  chan error
}

var pauseStart = time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)

func newPauseEnv(t *testing.T) *pauseEnv {
	clock := githubtest.NewClock(pauseStart)
	gh := githubtest.New(t, githubtest.WithNow(clock.Now), githubtest.WithRepos(homeOps()))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return &pauseEnv{t: t, clock: clock, gh: gh, ctx: ctx, done: make(chan error, 16),
		c: newTarballClient(t, gh, Options{Now: clock.Now, After: clock.After})}
}

// download starts a whole tarball download; its outcome goes to done.
func (p *pauseEnv) download(ctx context.Context) {
	go func() {
		body, err := p.c.Tarball(ctx, "onedr0p", "home-ops", headOID)
		if err == nil {
			_, err = io.Copy(io.Discard, body)
			body.Close()
		}
		p.done <- err
	}()
}

// query starts a GraphQL search; its outcome goes to done.
func (p *pauseEnv) query(ctx context.Context) {
	go func() {
		_, err := p.c.SearchRepositories(ctx, "topic:k8s-at-home", "")
		p.done <- err
	}()
}

// waiting blocks until n waits have started on the clock.
func (p *pauseEnv) waiting(n int) {
	p.t.Helper()
	if err := p.clock.WaitFor(p.ctx, n); err != nil {
		p.t.Fatal(err)
	}
}

// finish collects n outcomes, which must all be successes.
func (p *pauseEnv) finish(n int) {
	p.t.Helper()
	for range n {
		select {
		case err := <-p.done:
			if err != nil {
				p.t.Error(err)
			}
		case <-p.ctx.Done():
			p.t.Fatal("a call is still waiting")
		}
	}
}

// noneBefore fails for any request of kinds that reached the fake before until, other than the first.
func (p *pauseEnv) noneBefore(until time.Time, kinds ...githubtest.Kind) {
	p.t.Helper()
	first := true
	for _, r := range p.gh.Requests() {
		if !slices.Contains(kinds, r.Kind) {
			continue
		}
		if first {
			first = false
			continue
		}
		if r.Time.Before(until) {
			p.t.Errorf("%s %s arrived at %s, before the limit's end %s", r.Kind, r.Path, r.Time.Format(time.TimeOnly), until.Format(time.TimeOnly))
		}
	}
}

// A secondary limit met by one download holds every request to the API host until Retry-After has
// passed: the other downloads and GraphQL queries wait for it instead of meeting it again.
func TestSecondaryLimitOnATarballHoldsTheAPIHost(t *testing.T) {
	p := newPauseEnv(t)
	p.gh.SecondaryLimitNextTarball(time.Second)
	until := pauseStart.Add(time.Second)

	p.download(p.ctx)
	p.waiting(1) // it met the limit and waits
	for range 3 {
		p.download(p.ctx)
	}
	p.query(p.ctx)
	cancelled, cancel := context.WithCancel(p.ctx)
	p.download(cancelled)
	p.waiting(6)

	if st := p.gh.Stats(); st.Tarball != 1 || st.GraphQL != 0 {
		t.Errorf("during the limit: got %d tarball and %d GraphQL requests, want 1 and 0 (the one that met it)", st.Tarball, st.GraphQL)
	}
	if w := p.c.RateLimit().WaitingUntil; !w.Equal(until) {
		t.Errorf("got WaitingUntil %v, want %v", w, until)
	}
	// A wait ends with its context.
	cancel()
	if err := <-p.done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled while held: got %v, want context.Canceled", err)
	}

	p.clock.Advance(time.Second)
	p.finish(5)
	if st := p.gh.Stats(); st.EarlyRetries != 0 || st.Tarball != 5 || st.Codeload != 4 || st.GraphQL != 1 {
		t.Errorf("got stats %+v, want no early retries, 5 tarball, 4 codeload, 1 GraphQL requests", st)
	}
	p.noneBefore(until, githubtest.KindTarball, githubtest.KindSearch, githubtest.KindNodes, githubtest.KindGraphQL)
	if w := p.c.RateLimit().WaitingUntil; !w.IsZero() {
		t.Errorf("after the limit: got WaitingUntil %v, want zero", w)
	}
}

// The same host serves GraphQL and the tarball endpoint: a limit met by a query holds downloads too.
func TestSecondaryLimitOnAQueryHoldsDownloads(t *testing.T) {
	p := newPauseEnv(t)
	p.gh.SecondaryLimitNext(time.Second)
	until := pauseStart.Add(time.Second)

	p.query(p.ctx)
	p.waiting(1)
	p.download(p.ctx)
	p.download(p.ctx)
	p.waiting(3)
	if st := p.gh.Stats(); st.Tarball != 0 || st.GraphQL != 1 {
		t.Errorf("during the limit: got %d tarball and %d GraphQL requests, want 0 and 1", st.Tarball, st.GraphQL)
	}
	p.clock.Advance(time.Second)
	p.finish(3)
	if st := p.gh.Stats(); st.EarlyRetries != 0 || st.Tarball != 2 || st.GraphQL != 2 {
		t.Errorf("got stats %+v, want no early retries, 2 tarball and 2 GraphQL requests", st)
	}
	p.noneBefore(until, githubtest.KindTarball, githubtest.KindSearch, githubtest.KindNodes, githubtest.KindGraphQL)
}

// The archive host is another host: its limit holds downloads at the archive host only, and queries
// to the API host go on meanwhile.
func TestArchiveHostLimitHoldsOnlyTheArchiveHost(t *testing.T) {
	p := newPauseEnv(t)
	p.gh.RateLimitNextCodeload(time.Second)
	until := pauseStart.Add(time.Second)

	p.download(p.ctx)
	p.waiting(1)
	p.download(p.ctx)
	p.waiting(2)
	if st := p.gh.Stats(); st.Codeload != 1 {
		t.Errorf("during the archive host's limit: got %d archive requests, want 1 (the one that met it)", st.Codeload)
	}
	// Not held: the API host has no limit (this would wait for the test's clock, and time out, if it were).
	if _, err := p.c.SearchRepositories(p.ctx, "topic:k8s-at-home", ""); err != nil {
		t.Fatalf("query during the archive host's limit: %v", err)
	}
	p.clock.Advance(time.Second)
	p.finish(2)
	if st := p.gh.Stats(); st.EarlyRetries != 0 || st.Codeload != 3 {
		t.Errorf("got stats %+v, want no early retries and 3 archive requests", st)
	}
	p.noneBefore(until, githubtest.KindCodeload)
}
