package githubtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const tinyQuery = `{ rateLimit { remaining } }`

func TestAuthIsRequired(t *testing.T) {
	s := New(t, WithToken("s3cret"))
	for _, tc := range []struct{ name, token, wantMsg string }{
		{"missing", "", "This endpoint requires you to be authenticated."},
		{"wrong", "test-token", "Bad credentials"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := post(t, s.GraphQLURL(), tc.token, tinyQuery, nil)
			if a.Status != http.StatusUnauthorized {
				t.Fatalf("got status %d, want 401", a.Status)
			}
			var raw map[string]string
			if err := json.Unmarshal(a.Data, &raw); err != nil {
				t.Fatalf("decoding %s: %v", a.Data, err)
			}
			if raw["message"] != tc.wantMsg || raw["documentation_url"] != "https://docs.github.com/graphql" {
				t.Errorf("got %v, want message %q and GraphQL docs URL", raw, tc.wantMsg)
			}
		})
	}
	// The GHES-style path answers too, and the right token passes.
	a := post(t, s.URL()+"/api/graphql", "s3cret", tinyQuery, nil)
	if a.Status != http.StatusOK || len(a.Errors) != 0 {
		t.Errorf("/api/graphql with token: got %d %+v, want 200", a.Status, a.Errors)
	}
	// REST too.
	resp, err := http.Get(s.APIURL() + "repos/o/n/tarball/main")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("REST without token: got %d, want 401", resp.StatusCode)
	}
	if st := s.Stats(); st.Unauthorized != 3 || st.GraphQL != 3 {
		t.Errorf("got stats %+v, want 3 unauthorized of 3 GraphQL + 1 REST", st)
	}
}

func TestRateLimitExhaustsAndRecovers(t *testing.T) {
	start := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	clock := NewClock(start)
	s := New(t, WithNow(clock.Now), WithRateLimit(3))

	for i := 1; i <= 3; i++ {
		a := post(t, s.GraphQLURL(), s.Token(), tinyQuery, nil)
		if len(a.Errors) != 0 {
			t.Fatalf("query %d: got errors %+v", i, a.Errors)
		}
		checkRateHeaders(t, a.Header, 3, 3-i, i, start.Add(time.Hour))
	}

	a := post(t, s.GraphQLURL(), s.Token(), tinyQuery, nil)
	if a.Status != http.StatusOK || len(a.Errors) != 1 || a.Errors[0].Type != "RATE_LIMITED" {
		t.Fatalf("4th query: got %d %+v, want 200 with RATE_LIMITED", a.Status, a.Errors)
	}
	if !strings.Contains(a.Errors[0].Message, "API rate limit already exceeded") || a.Data != nil {
		t.Errorf("got %+v, data %s; want GitHub's message and no data", a.Errors[0], a.Data)
	}
	checkRateHeaders(t, a.Header, 3, 0, 3, start.Add(time.Hour))

	clock.Advance(59 * time.Minute)
	if a := post(t, s.GraphQLURL(), s.Token(), tinyQuery, nil); len(a.Errors) == 0 || a.Errors[0].Type != "RATE_LIMITED" {
		t.Errorf("before resetAt: got %+v, want RATE_LIMITED", a.Errors)
	}

	clock.Advance(time.Minute) // exactly resetAt
	var d struct{ RateLimit rateLimitJSON }
	query(t, s, `{ rateLimit { limit remaining used resetAt } }`, nil, &d)
	if d.RateLimit.Remaining != 2 || d.RateLimit.Used != 1 || !d.RateLimit.ResetAt.Equal(clock.Now().Add(time.Hour)) {
		t.Errorf("after reset: got %+v, want remaining 2, used 1, resetAt now+1h", d.RateLimit)
	}
	if st := s.Stats(); st.RateLimited != 2 {
		t.Errorf("got %d rate-limited answers, want 2", st.RateLimited)
	}

	s.ExhaustRateLimit(5 * time.Minute)
	a = post(t, s.GraphQLURL(), s.Token(), tinyQuery, nil)
	if len(a.Errors) == 0 || a.Errors[0].Type != "RATE_LIMITED" {
		t.Errorf("after ExhaustRateLimit: got %+v, want RATE_LIMITED", a.Errors)
	}
	checkRateHeaders(t, a.Header, 3, 0, 3, clock.Now().Add(5*time.Minute))
	clock.Advance(5 * time.Minute)
	if a := post(t, s.GraphQLURL(), s.Token(), tinyQuery, nil); len(a.Errors) != 0 {
		t.Errorf("after forced reset: got %+v, want success", a.Errors)
	}
}

func checkRateHeaders(t *testing.T, h http.Header, limit, remaining, used int, reset time.Time) {
	t.Helper()
	want := map[string]string{
		"X-RateLimit-Limit":     strconv.Itoa(limit),
		"X-RateLimit-Remaining": strconv.Itoa(remaining),
		"X-RateLimit-Used":      strconv.Itoa(used),
		"X-RateLimit-Reset":     strconv.FormatInt(reset.Unix(), 10),
		"X-RateLimit-Resource":  "graphql",
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s: got %q, want %q", k, got, v)
		}
	}
}

func TestSecondaryLimitWithRetryAfter(t *testing.T) {
	clock := NewClock(time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC))
	s := New(t, WithNow(clock.Now))
	s.SecondaryLimitNext(1500 * time.Millisecond)

	a := post(t, s.GraphQLURL(), s.Token(), tinyQuery, nil)
	if a.Status != http.StatusForbidden || a.Header.Get("Retry-After") != "2" {
		t.Fatalf("got %d with Retry-After %q, want 403 with 2 (rounded up)", a.Status, a.Header.Get("Retry-After"))
	}
	var body map[string]string
	if err := json.Unmarshal(a.Data, &body); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(body["message"], "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.") ||
		!strings.HasPrefix(body["documentation_url"], "https://docs.github.com/") {
		t.Errorf("got body %v, want GitHub's secondary limit message", body)
	}
	if a.Header.Get("X-RateLimit-Remaining") != "5000" {
		t.Errorf("got remaining %q, want 5000: secondary limits do not spend points", a.Header.Get("X-RateLimit-Remaining"))
	}

	clock.Advance(time.Second) // too early
	a = post(t, s.GraphQLURL(), s.Token(), tinyQuery, nil)
	if a.Status != http.StatusForbidden || a.Header.Get("Retry-After") != "1" {
		t.Errorf("early retry: got %d with Retry-After %q, want 403 with 1", a.Status, a.Header.Get("Retry-After"))
	}
	clock.Advance(time.Second)
	if a := post(t, s.GraphQLURL(), s.Token(), tinyQuery, nil); a.Status != http.StatusOK {
		t.Errorf("after Retry-After: got %d, want 200", a.Status)
	}

	st := s.Stats()
	if st.EarlyRetries != 1 || st.Injected != 2 {
		t.Errorf("got %d early retries and %d injected, want 1 and 2", st.EarlyRetries, st.Injected)
	}
	reqs := s.Requests()
	if len(reqs) != 3 || reqs[0].Injected != "secondary" || reqs[1].Injected != "penalty" || reqs[2].Injected != "" {
		t.Fatalf("got requests %+v, want secondary, penalty, normal", reqs)
	}
	if gap := reqs[1].Time.Sub(reqs[0].Time); gap != time.Second {
		t.Errorf("got gap %v between recorded times, want 1s", gap)
	}
}

func TestInjectedFailures(t *testing.T) {
	s := New(t)
	statuses := func(n int) []int {
		var out []int
		for range n {
			out = append(out, post(t, s.GraphQLURL(), s.Token(), tinyQuery, nil).Status)
		}
		return out
	}

	s.FailNext(2, http.StatusBadGateway)
	got := statuses(3)
	if got[0] != 502 || got[1] != 502 || got[2] != 200 {
		t.Errorf("FailNext(2): got %v, want [502 502 200]", got)
	}
	a := func() gqlAnswer {
		s.FailNext(1, http.StatusServiceUnavailable)
		return post(t, s.GraphQLURL(), s.Token(), tinyQuery, nil)
	}()
	if a.Status != 503 || !strings.Contains(string(a.Data), "Unicorn!") || !strings.HasPrefix(a.Header.Get("Content-Type"), "text/html") {
		t.Errorf("got %d %q %s, want 503 with GitHub's HTML page", a.Status, a.Header.Get("Content-Type"), a.Data)
	}

	s.FailEvery(3, http.StatusBadGateway)
	got = statuses(6)
	want := []int{200, 200, 502, 200, 200, 502}
	if !slices.Equal(got, want) {
		t.Errorf("FailEvery(3): got %v, want %v", got, want)
	}
	s.FailEvery(0, 0)

	run := func() []int { s.FailRandomly(0.3, 42); defer s.FailRandomly(0, 0); return statuses(20) }
	first, second := run(), run()
	if !slices.Equal(first, second) {
		t.Errorf("FailRandomly with one seed: got %v then %v, want the same", first, second)
	}
	fails := 0
	for _, c := range first {
		if c == 502 {
			fails++
		}
	}
	if fails == 0 || fails == 20 {
		t.Errorf("FailRandomly(0.3): got %d of 20 failing, want some", fails)
	}

	st := s.Stats()
	if st.Injected != 2+1+2+2*fails {
		t.Errorf("got %d injected, want %d", st.Injected, 2+1+2+2*fails)
	}
	if _, remaining, _, _ := s.RateLimitState(); remaining != 5000-(st.GraphQL-st.Injected) {
		t.Errorf("got remaining %d, want only answered queries charged (%d)", remaining, 5000-(st.GraphQL-st.Injected))
	}
}

func TestDelayLetsClientsCancel(t *testing.T) {
	s := New(t)
	s.SetDelay(time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.GraphQLURL(), bytes.NewReader([]byte(`{"query":"{ rateLimit { remaining } }"}`)))
	req.Header.Set("Authorization", "Bearer "+s.Token())
	start := time.Now()
	_, err := http.DefaultClient.Do(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want deadline exceeded", err)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("took %v, want the client to give up at its deadline", el)
	}
	s.SetDelay(0)

	// A hook sees every request and can hold it.
	var mu sync.Mutex
	var seen []string
	s.SetHook(func(r *http.Request) { mu.Lock(); seen = append(seen, r.URL.Path); mu.Unlock() })
	post(t, s.GraphQLURL(), s.Token(), tinyQuery, nil)
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen[0] != "/graphql" {
		t.Errorf("hook saw %v, want [/graphql]", seen)
	}
}

func TestCountersAndRequestLog(t *testing.T) {
	s := New(t)
	s.AddRepos(Repo{Owner: "o", Name: "n"})
	post(t, s.GraphQLURL(), s.Token(), searchQuery, map[string]any{"q": "x", "first": 1})
	post(t, s.GraphQLURL(), s.Token(), nodesQuery, map[string]any{"ids": []string{"nope"}})
	post(t, s.GraphQLURL(), s.Token(), tinyQuery, nil)
	st := s.Stats()
	if st.GraphQL != 3 || st.Search != 1 || st.Nodes != 1 {
		t.Errorf("got %+v, want 3 GraphQL, 1 search, 1 nodes", st)
	}
	reqs := s.Requests()
	kinds := []Kind{reqs[0].Kind, reqs[1].Kind, reqs[2].Kind}
	if !slices.Equal(kinds, []Kind{KindSearch, KindNodes, KindGraphQL}) {
		t.Errorf("got kinds %v, want search, nodes, graphql", kinds)
	}
	if reqs[1].ErrorType != "NOT_FOUND" || reqs[1].Variables["ids"] == nil || reqs[0].Status != 200 {
		t.Errorf("got %+v, want the nodes request logged with NOT_FOUND and its variables", reqs[1])
	}
	if got := s.LastHeader().Get("Authorization"); got != "Bearer "+s.Token() {
		t.Errorf("last Authorization: got %q", got)
	}
	s.ResetStats()
	if st := s.Stats(); st != (Stats{}) || len(s.Requests()) != 0 {
		t.Errorf("after ResetStats: got %+v and %d requests", st, len(s.Requests()))
	}
}

// A secondary limit met by a tarball request is the API host's: GraphQL is held too, the archive host is not.
func TestTarballSecondaryLimitPenalisesTheAPIHost(t *testing.T) {
	clock := NewClock(time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC))
	s := New(t, WithNow(clock.Now))
	sha := strings.Repeat("ab", 20)
	s.AddRepos(Repo{Owner: "o", Name: "n", DefaultBranch: "main", HeadOID: sha, Files: map[string]string{"a.yaml": "a: 1\n"}})
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tarball := func() *http.Response {
		return getWithHeader(t, noFollow, s.APIURL()+"repos/o/n/tarball/"+sha, s.Token())
	}
	s.SecondaryLimitNextTarball(1500 * time.Millisecond)

	r := tarball()
	var body map[string]string
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if r.StatusCode != http.StatusForbidden || r.Header.Get("Retry-After") != "2" ||
		!strings.HasPrefix(body["message"], "You have exceeded a secondary rate limit.") {
		t.Fatalf("got %d, Retry-After %q, body %v; want 403, 2 (rounded up) and GitHub's message", r.StatusCode, r.Header.Get("Retry-After"), body)
	}
	clock.Advance(time.Second)
	if a := post(t, s.GraphQLURL(), s.Token(), tinyQuery, nil); a.Status != http.StatusForbidden || a.Header.Get("Retry-After") != "1" {
		t.Errorf("GraphQL during the penalty: got %d with Retry-After %q, want 403 with 1", a.Status, a.Header.Get("Retry-After"))
	}
	if load := get(t, s.CodeloadURL()+"/o/n/legacy.tar.gz/"+sha); load.StatusCode != http.StatusOK {
		t.Errorf("archive host during the API penalty: got %d, want 200", load.StatusCode)
	}
	clock.Advance(time.Second)
	if r := tarball(); r.StatusCode != http.StatusFound {
		t.Errorf("tarball after Retry-After: got %d, want 302", r.StatusCode)
	}
	if st := s.Stats(); st.EarlyRetries != 1 || st.Injected != 2 {
		t.Errorf("got %d early retries and %d injected, want 1 and 2", st.EarlyRetries, st.Injected)
	}
}

// The archive host's limit is its own: 429 with Retry-After there, the API host answers on.
func TestCodeloadRateLimit(t *testing.T) {
	clock := NewClock(time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC))
	s := New(t, WithNow(clock.Now))
	sha := strings.Repeat("ab", 20)
	s.AddRepos(Repo{Owner: "o", Name: "n", DefaultBranch: "main", HeadOID: sha, Files: map[string]string{"a.yaml": "a: 1\n"}})
	load := func() *http.Response { return get(t, s.CodeloadURL()+"/o/n/legacy.tar.gz/"+sha) }
	s.RateLimitNextCodeload(time.Second)

	if r := load(); r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") != "1" {
		t.Fatalf("got %d with Retry-After %q, want 429 with 1", r.StatusCode, r.Header.Get("Retry-After"))
	}
	if r := load(); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("early retry: got %d, want 429", r.StatusCode)
	}
	if a := post(t, s.GraphQLURL(), s.Token(), tinyQuery, nil); a.Status != http.StatusOK {
		t.Errorf("GraphQL during the archive host's penalty: got %d, want 200", a.Status)
	}
	clock.Advance(time.Second)
	if r := load(); r.StatusCode != http.StatusOK {
		t.Errorf("after Retry-After: got %d, want 200", r.StatusCode)
	}
	if st := s.Stats(); st.EarlyRetries != 1 || st.Injected != 2 {
		t.Errorf("got %d early retries and %d injected, want 1 and 2", st.EarlyRetries, st.Injected)
	}
}

func TestClockAfterFiresWhenTheClockGetsThere(t *testing.T) {
	start := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	clock := NewClock(start)
	if got := <-clock.After(0); !got.Equal(start) {
		t.Errorf("After(0): got %v, want now", got)
	}
	short, long := clock.After(time.Second), clock.After(time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := clock.WaitFor(ctx, 2); err != nil {
		t.Fatal(err)
	}
	clock.Advance(999 * time.Millisecond)
	select {
	case <-short:
		t.Fatal("fired before its time")
	default:
	}
	clock.Advance(time.Millisecond)
	if got := <-short; !got.Equal(start.Add(time.Second)) {
		t.Errorf("got %v, want start+1s", got)
	}
	if n := clock.Pending(); n != 1 {
		t.Errorf("got %d pending, want 1", n)
	}
	clock.Set(start.Add(time.Hour))
	<-long
	// WaitFor returns once a waiter starts, from another goroutine.
	go clock.After(time.Second)
	if err := clock.WaitFor(ctx, 1); err != nil {
		t.Fatal(err)
	}
}

// get fetches u without credentials; the body is closed when the test ends.
func get(t *testing.T, u string) *http.Response {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}
