// Package githubtest is the project's fake GitHub for tests: GitHub's GraphQL API (search, nodes,
// rateLimit) executed by graph-gophers/graphql-go over a subset of GitHub's real schema
// (schema.graphql), the REST tarball endpoint with its redirect to a codeload-like second host,
// GitHub's rate limits and error shapes, and fault injection.
//
//	gh := githubtest.New(t, githubtest.WithRepos(githubtest.GenerateRepos(2500, "k8s-at-home", start, 1)...))
//	client := githubv4.NewEnterpriseClient(gh.GraphQLURL(), httpClientWithToken(gh.Token()))
//	gh.FailNext(2, http.StatusBadGateway)   // then check retries with gh.Stats()
//	resp, _ := http.Get(gh.APIURL() + "repos/o/n/tarball/" + sha) // 302 to gh.CodeloadURL()
package githubtest

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	graphql "github.com/graph-gophers/graphql-go"
)

//go:embed schema.graphql
var schemaSDL string

// DefaultToken is the token the server accepts unless WithToken says otherwise.
const DefaultToken = "test-token"

// Kind classifies a recorded request.
type Kind string

// Request kinds, as recorded in Request.Kind.
const (
	KindSearch   Kind = "search"   // GraphQL with a search field
	KindNodes    Kind = "nodes"    // GraphQL with a nodes or node field (and no search)
	KindGraphQL  Kind = "graphql"  // any other GraphQL request, including unparsable ones
	KindTarball  Kind = "tarball"  // REST GET /repos/{owner}/{name}/tarball/{ref}
	KindCodeload Kind = "codeload" // the archive download on the second host
	KindOther    Kind = "other"    // anything else on the API host
)

// Request is one request as the server saw it.
type Request struct {
	Time      time.Time // by the server's clock, on arrival
	Kind      Kind
	Method    string
	Path      string
	Header    http.Header
	Status    int            // status code answered
	ErrorType string         // first GraphQL error type answered, e.g. "RATE_LIMITED", "NOT_FOUND"
	Query     string         // GraphQL document
	Variables map[string]any // GraphQL variables
	Injected  string         // fault that answered it: "status", "secondary", "penalty"; "" if none
}

// Stats counts requests since the server started (or since ResetStats).
type Stats struct {
	GraphQL          int // requests to the GraphQL endpoint, whatever the outcome
	Search           int // GraphQL requests with a search field
	Nodes            int // GraphQL requests with a nodes or node field
	Unauthorized     int // requests answered 401, on any endpoint
	RateLimited      int // GraphQL requests answered RATE_LIMITED
	Injected         int // requests answered by an injected fault (5xx, secondary limit)
	EarlyRetries     int // requests that arrived before a rate limit's Retry-After elapsed on their host
	Tarball          int // REST tarball requests
	Codeload         int // archive downloads on the second host
	CodeloadWithAuth int // archive downloads that carried an Authorization header (should stay 0)
}

// Option configures New.
type Option func(*Server)

// WithToken sets the token that Authorization: Bearer must carry.
func WithToken(token string) Option { return func(s *Server) { s.token = token } }

// WithNow sets the server's clock, used for rate-limit windows, Retry-After and defaults.
func WithNow(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithRateLimit sets the GraphQL points per hour (default 5000).
func WithRateLimit(limit int) Option {
	return func(s *Server) { s.rl.limit, s.rl.remaining = limit, limit }
}

// WithRepos adds repositories at start.
func WithRepos(rs ...Repo) Option {
	return func(s *Server) { s.initial = append(s.initial, rs...) }
}

// Server is a running fake GitHub. All methods are safe for concurrent use.
type Server struct {
	t        testing.TB
	token    string
	now      func() time.Time
	schema   *graphql.Schema
	api      *httptest.Server
	codeload *httptest.Server
	loadBase string // codeload base URL, on "localhost" so it is another host than the API
	closing  chan struct{}
	initial  []Repo

	mu       sync.Mutex
	repos    map[string]*Repo  // by node id; values are never mutated in place
	names    map[string]string // lower-case owner/name → node id
	nextDBID int64
	rl       rateLimit
	faults   faults
	delay    time.Duration
	hook     func(*http.Request)
	stats    Stats
	requests []Request
	lastHdr  http.Header
}

type rateLimit struct {
	limit, remaining, used int
	resetAt                time.Time
}

type faults struct {
	failNext, failNextStatus     int
	failEvery, failEveryStatus   int
	everyCount                   int
	randP                        float64
	rnd                          *rand.Rand
	secondaryNext                []time.Duration // GraphQL requests
	tarballSecondary             []time.Duration // REST tarball requests
	penaltyUntil                 time.Time       // the API host's, for GraphQL and REST alike
	codeloadLimit                []time.Duration
	codeloadPenaltyUntil         time.Time
	tarballNext, tarballStatus   int
	codeloadNext, codeloadStatus int
}

// New starts a fake GitHub; it is closed by t.Cleanup.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{
		t:        t,
		token:    DefaultToken,
		now:      time.Now,
		closing:  make(chan struct{}),
		repos:    map[string]*Repo{},
		names:    map[string]string{},
		nextDBID: 900_000_000,
		rl:       rateLimit{limit: 5000, remaining: 5000},
	}
	for _, o := range opts {
		o(s)
	}
	s.rl.resetAt = s.now().Add(time.Hour)
	var err error
	s.schema, err = graphql.ParseSchema(schemaSDL, &queryResolver{s: s})
	if err != nil {
		t.Fatalf("githubtest: schema: %v", err)
	}

	s.codeload = httptest.NewServer(s.codeloadMux())
	s.loadBase = strings.Replace(s.codeload.URL, "127.0.0.1", "localhost", 1)
	s.api = httptest.NewServer(s.apiMux())
	t.Cleanup(func() {
		close(s.closing) // release delayed and hooked handlers so Close does not wait on them
		s.api.Close()
		s.codeload.Close()
	})
	s.AddRepos(s.initial...)
	s.initial = nil
	return s
}

// GraphQLURL is the GraphQL endpoint, as for githubv4.NewEnterpriseClient.
func (s *Server) GraphQLURL() string { return s.api.URL + "/graphql" }

// APIURL is the REST base URL with a trailing slash (REST paths hang off the server root).
func (s *Server) APIURL() string { return s.api.URL + "/" }

// URL is the API server's root without a trailing slash; /api/graphql also answers GraphQL (GHES style).
func (s *Server) URL() string { return s.api.URL }

// CodeloadURL is the archive host's root (a different host name than APIURL).
func (s *Server) CodeloadURL() string { return s.loadBase }

// Token is the token the server accepts.
func (s *Server) Token() string { return s.token }

// Now is the server's clock.
func (s *Server) Now() time.Time { return s.now() }

func (s *Server) apiMux() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /graphql", s.serveGraphQL)
	mux.HandleFunc("POST /api/graphql", s.serveGraphQL)
	for _, prefix := range []string{"", "/api/v3"} {
		mux.HandleFunc("GET "+prefix+"/repos/{owner}/{name}/tarball", s.serveTarball)
		mux.HandleFunc("GET "+prefix+"/repos/{owner}/{name}/tarball/{ref...}", s.serveTarball)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		rec := s.begin(w, r, KindOther)
		defer s.end(rec)
		writeJSON(rec, http.StatusNotFound, map[string]string{"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
	})
	return mux
}

// recorder captures the answered status for the request log.
type recorder struct {
	http.ResponseWriter
	req     Request
	status  int
	errType string
}

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// begin records the arrival, runs the hook and the delay; end stores the outcome.
func (s *Server) begin(w http.ResponseWriter, r *http.Request, kind Kind) *recorder {
	s.mu.Lock()
	rec := &recorder{ResponseWriter: w, req: Request{Time: s.now(), Kind: kind, Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone()}}
	if kind != KindCodeload {
		s.lastHdr = r.Header.Clone()
	}
	hook, delay := s.hook, s.delay
	s.mu.Unlock()
	if hook != nil {
		hook(r)
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
		case <-s.closing:
		}
	}
	return rec
}

func (s *Server) end(rec *recorder) {
	rec.req.Status = rec.status
	if rec.req.ErrorType == "" {
		rec.req.ErrorType = rec.errType
	}
	s.mu.Lock()
	s.requests = append(s.requests, rec.req)
	s.mu.Unlock()
}

// authorized checks Authorization: Bearer (or GitHub's older "token") against the token and answers 401 if not.
func (s *Server) authorized(w *recorder, r *http.Request, docURL string) bool {
	h := r.Header.Get("Authorization")
	scheme, tok, _ := strings.Cut(h, " ")
	if (strings.EqualFold(scheme, "bearer") || strings.EqualFold(scheme, "token")) && tok == s.token && tok != "" {
		return true
	}
	s.mu.Lock()
	s.stats.Unauthorized++
	s.mu.Unlock()
	msg := "Bad credentials"
	if h == "" {
		msg = "This endpoint requires you to be authenticated."
		if docURL != graphqlDocURL {
			msg = "Requires authentication"
		}
	}
	writeJSON(w, http.StatusUnauthorized, map[string]string{"message": msg, "documentation_url": docURL})
	return false
}

const graphqlDocURL = "https://docs.github.com/graphql"

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Requests returns every request received so far, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// LastHeader returns the headers of the latest request to the API host (GraphQL or REST).
func (s *Server) LastHeader() http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastHdr.Clone()
}

// ResetStats zeroes the counters and forgets recorded requests.
func (s *Server) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats = Stats{}
	s.requests = nil
}

// FailNext makes the next n GraphQL requests answer status (e.g. 502) with GitHub's HTML error page.
func (s *Server) FailNext(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.failNext, s.faults.failNextStatus = n, status
}

// FailEvery makes every k-th GraphQL request from now on answer status; k <= 0 stops it.
func (s *Server) FailEvery(k, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.failEvery, s.faults.failEveryStatus, s.faults.everyCount = k, status, 0
}

// FailRandomly makes each GraphQL request answer 502 with probability p, from a seeded generator; p <= 0 stops it.
func (s *Server) FailRandomly(p float64, seed int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.randP = p
	s.faults.rnd = rand.New(rand.NewPCG(uint64(seed), 0x6b756265))
}

// SecondaryLimitNext makes the next GraphQL request answer GitHub's secondary rate limit: 403 with
// Retry-After (whole seconds, rounded up; none if retryAfter <= 0). Until Retry-After has elapsed on the
// server's clock, further requests to the API host (GraphQL and REST tarball: GitHub's secondary limits
// are the token's, not one endpoint's) get the same 403 and count as Stats.EarlyRetries.
// Calls queue: each one answers one request.
func (s *Server) SecondaryLimitNext(retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.secondaryNext = append(s.faults.secondaryNext, retryAfter)
}

// SecondaryLimitNextTarball is SecondaryLimitNext for the next REST tarball request: a 403 with
// GitHub's REST message and Retry-After, then the same API-host penalty for GraphQL and tarballs.
func (s *Server) SecondaryLimitNextTarball(retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.tarballSecondary = append(s.faults.tarballSecondary, retryAfter)
}

// RateLimitNextCodeload makes the next archive download on the second host answer 429 Too Many
// Requests with Retry-After (rounded up; none if retryAfter <= 0). Until it has elapsed, further
// downloads there get the same answer and count as Stats.EarlyRetries; the API host is not affected.
// Calls queue.
func (s *Server) RateLimitNextCodeload(retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.codeloadLimit = append(s.faults.codeloadLimit, retryAfter)
}

// FailNextTarball makes the next n REST tarball requests answer status.
func (s *Server) FailNextTarball(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.tarballNext, s.faults.tarballStatus = n, status
}

// FailNextCodeload makes the next n archive downloads on the second host answer status.
func (s *Server) FailNextCodeload(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.codeloadNext, s.faults.codeloadStatus = n, status
}

// SetDelay delays every answer (both hosts) by d, or until the client gives up; 0 stops it.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// SetHook calls f at the start of every request on both hosts (it may block, e.g. on a channel); nil removes it.
func (s *Server) SetHook(f func(r *http.Request)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = f
}

// Closing is closed when the test ends; hooks that block should also select on it.
func (s *Server) Closing() <-chan struct{} { return s.closing }

// RateLimitState reports the GraphQL budget as the next request would see it (before its cost).
func (s *Server) RateLimitState() (limit, remaining, used int, resetAt time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rolloverLocked(s.now())
	return s.rl.limit, s.rl.remaining, s.rl.used, s.rl.resetAt
}

// SetRateLimit sets the GraphQL budget.
func (s *Server) SetRateLimit(limit, remaining int, resetAt time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rl = rateLimit{limit: limit, remaining: remaining, used: limit - remaining, resetAt: resetAt}
}

// ExhaustRateLimit sets remaining to 0 until resetIn from now on the server's clock: GraphQL answers RATE_LIMITED.
func (s *Server) ExhaustRateLimit(resetIn time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rl.remaining, s.rl.used, s.rl.resetAt = 0, s.rl.limit, s.now().Add(resetIn)
}

// rolloverLocked starts a new window once resetAt has passed.
func (s *Server) rolloverLocked(now time.Time) {
	if !now.Before(s.rl.resetAt) {
		s.rl.remaining, s.rl.used, s.rl.resetAt = s.rl.limit, 0, now.Add(time.Hour)
	}
}

// Clock is a settable clock for WithNow, safe for concurrent use. Its After channels fire when
// Advance or Set reaches their time, so a client given the same clock waits for the test, not for
// real time (githubql.Options.After).
type Clock struct {
	mu     sync.Mutex
	t      time.Time
	timers []clockTimer
	added  chan struct{} // closed and replaced when a timer is added, for WaitFor
}

type clockTimer struct {
	at time.Time
	ch chan time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// After is time.After on this clock: the channel receives the clock's time once it has moved d on.
// A channel nobody reads any more still counts in Pending until it fires.
func (c *Clock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.t
		return ch
	}
	c.timers = append(c.timers, clockTimer{at: c.t.Add(d), ch: ch})
	if c.added != nil {
		close(c.added)
		c.added = nil
	}
	return ch
}

// Pending reports how many After channels have not fired yet.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// WaitFor blocks until at least n After channels are pending (n waits have started), or ctx ends.
func (c *Clock) WaitFor(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		if len(c.timers) >= n {
			c.mu.Unlock()
			return nil
		}
		if c.added == nil {
			c.added = make(chan struct{})
		}
		added := c.added
		c.mu.Unlock()
		select {
		case <-added:
		case <-ctx.Done():
			return fmt.Errorf("githubtest: %d waits pending, want %d: %w", c.Pending(), n, ctx.Err())
		}
	}
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setLocked(c.t.Add(d))
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setLocked(t)
}

// setLocked moves the clock and fires the timers it reached.
func (c *Clock) setLocked(t time.Time) {
	c.t = t
	kept := c.timers[:0]
	for _, tm := range c.timers {
		if tm.at.After(t) {
			kept = append(kept, tm)
			continue
		}
		tm.ch <- t // buffered, fired once
	}
	clear(c.timers[len(kept):])
	c.timers = kept
}
