// Package githubql is Kubestats' GitHub client: GraphQL queries through githubv4 with
// rate-limit accounting, retries and partial-success handling, plus the REST tarball download.
package githubql

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shurcooL/githubv4"
)

// Defaults for github.com.
const (
	DefaultGraphQLURL = "https://api.github.com/graphql"
	DefaultAPIURL     = "https://api.github.com"
)

// Errors callers can match.
var (
	ErrNoToken      = errors.New("githubql: no GitHub token configured")
	ErrUnauthorized = errors.New("githubql: GitHub refused the token (401 Bad credentials)")
)

// Options configure a Client. Zero values pick the defaults.
type Options struct {
	Token      string
	GraphQLURL string
	APIURL     string
	// HTTPClient supplies the base transport and timeout; the token is added per request.
	HTTPClient *http.Client
	// Reserve is how many rate-limit points to keep: below it, queries wait for the reset,
	// leaving room for the user's other tools that share the token.
	Reserve int
	// MaxAttempts bounds tries per query (5xx, network errors, secondary limits).
	MaxAttempts int
	// Backoff is the first retry delay after a 5xx; it doubles per attempt, capped at a minute.
	Backoff time.Duration
	// SecondaryWait is the wait after a secondary limit that gave no Retry-After (GitHub: ≥ 1 min).
	SecondaryWait time.Duration
	// MaxWait caps any single wait (for a reset or Retry-After).
	MaxWait time.Duration
	// DownloadStall bounds a tarball download's silences: waiting for the answer's headers, and
	// between body bytes (default 60 s). Downloads have no overall timeout: a big archive may take minutes.
	DownloadStall time.Duration

	// Now and After are the client's clock (defaults time.Now and time.After). After paces every wait:
	// rate limits, Retry-After, retry backoff; tests pass a fake clock's. Download stall guards run on
	// real time: they measure the network.
	Now    func() time.Time
	After  func(time.Duration) <-chan time.Time
	Logger *slog.Logger
	// Observer, when set, is told about every request, for process-wide metrics.
	Observer Observer
}

// Observer receives the client's figures as they happen (a Meter counts one job's share).
// Its methods are called concurrently and must be cheap.
type Observer interface {
	// GitHubRequest reports one HTTP attempt: kind "graphql" or "tarball", outcome "success",
	// "error" (retried or not) or "cancelled".
	GitHubRequest(kind, outcome string)
	// GitHubRateLimit reports a GraphQL answer's cost and the points it says remain.
	GitHubRateLimit(cost, remaining int)
	// GitHubRetry reports a retry: reason "rate_limit", "server_error", "network" or "stalled".
	GitHubRetry(reason string)
}

type nopObserver struct{}

func (nopObserver) GitHubRequest(string, string) {}
func (nopObserver) GitHubRateLimit(int, int)     {}
func (nopObserver) GitHubRetry(string)           {}

func (c *Client) observer() Observer {
	if c.o.Observer == nil {
		return nopObserver{}
	}
	return c.o.Observer
}

// retryReason names why an attempt that got status (0: no answer) is retried.
func retryReason(status int) string {
	switch {
	case status == 0:
		return "network"
	case status >= 500:
		return "server_error"
	default: // 403/429 secondary limits, and 200 answers with RATE_LIMITED errors
		return "rate_limit"
	}
}

// RateLimit is the last known state of the GraphQL rate limit.
type RateLimit struct {
	Known        bool
	Limit        int
	Remaining    int
	Used         int
	ResetAt      time.Time
	WaitingUntil time.Time // non-zero while a request waits (for the reset, a secondary limit, a retry)
}

// Client talks to GitHub. It is safe for concurrent use.
type Client struct {
	o   Options
	gql *githubv4.Client
	hc  *http.Client

	gqlHost, apiHost string // the hosts of GraphQLURL and APIURL (one host on github.com)

	mu    sync.Mutex
	rate  RateLimit
	held  map[string]time.Time // per host: no request is sent to it before this instant
	waits map[*time.Time]bool  // the ends of the waits in progress, for RateLimit.WaitingUntil
}

// New returns a client; without a token every call returns ErrNoToken.
func New(o Options) *Client {
	if o.GraphQLURL == "" {
		o.GraphQLURL = DefaultGraphQLURL
	}
	if o.APIURL == "" {
		o.APIURL = DefaultAPIURL
	}
	o.APIURL = strings.TrimRight(o.APIURL, "/")
	if o.Reserve <= 0 {
		o.Reserve = 50
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 6
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Second
	}
	if o.SecondaryWait <= 0 {
		o.SecondaryWait = time.Minute
	}
	if o.MaxWait <= 0 {
		o.MaxWait = 65 * time.Minute
	}
	if o.DownloadStall <= 0 {
		o.DownloadStall = time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.After == nil {
		o.After = time.After
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	base := o.HTTPClient
	if base == nil {
		base = &http.Client{Timeout: 60 * time.Second}
	}
	next := base.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c := &Client{o: o, held: map[string]time.Time{}, waits: map[*time.Time]bool{}}
	hosts := map[string]bool{}
	if pu, err := url.Parse(o.GraphQLURL); err == nil {
		c.gqlHost, hosts[pu.Host] = pu.Host, true
	}
	if pu, err := url.Parse(o.APIURL); err == nil {
		c.apiHost, hosts[pu.Host] = pu.Host, true
	}
	c.hc = &http.Client{
		Transport:     &transport{token: o.Token, hosts: hosts, next: next},
		Timeout:       base.Timeout,
		CheckRedirect: base.CheckRedirect,
		Jar:           base.Jar,
	}
	c.gql = githubv4.NewEnterpriseClient(o.GraphQLURL, c.hc)
	return c
}

// Configured reports whether a token is set.
func (c *Client) Configured() bool { return c.o.Token != "" }

// RateLimit returns the last known rate-limit state; WaitingUntil is the latest end of the waits
// in progress (for the budget, a secondary limit, a retry).
func (c *Client) RateLimit() RateLimit {
	c.mu.Lock()
	defer c.mu.Unlock()
	rl := c.rate
	for end := range c.waits {
		if end.After(rl.WaitingUntil) {
			rl.WaitingUntil = *end
		}
	}
	return rl
}

// Meter accumulates what the queries made under one context cost; a job attaches one
// with WithMeter and records it in job_runs.
type Meter struct {
	Requests  atomic.Int64 // GraphQL requests, retries included
	Points    atomic.Int64
	Retries   atomic.Int64 // of GraphQL requests and tarball downloads
	Downloads atomic.Int64 // tarball requests (REST, not GraphQL points), retries included
}

type meterKey struct{}

// WithMeter returns a context whose GitHub calls are counted in m.
func WithMeter(ctx context.Context, m *Meter) context.Context {
	return context.WithValue(ctx, meterKey{}, m)
}

func meterFrom(ctx context.Context) *Meter {
	if m, ok := ctx.Value(meterKey{}).(*Meter); ok {
		return m
	}
	return &Meter{}
}

// callInfo is what the transport saw of one HTTP exchange: githubv4 hides status,
// headers and the type of GraphQL errors, and the retry decisions need all three.
type callInfo struct {
	status int
	header http.Header
	errs   []gqlError
}

type gqlError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	Path    []any  `json:"path"`
}

type callKey struct{}

// transport adds the token to requests for the configured GitHub hosts only, so a
// redirect to another host (the tarball's codeload URL) never carries it, and records
// each answer's status, headers and GraphQL error types.
type transport struct {
	token string
	hosts map[string]bool
	next  http.RoundTripper
}

// maxGraphQLBody bounds how much of an answer is read to inspect its errors.
const maxGraphQLBody = 64 << 20

func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", "kubestats")
	if t.hosts[r.URL.Host] && t.token != "" {
		r.Header.Set("Authorization", "Bearer "+t.token)
	} else {
		r.Header.Del("Authorization")
	}
	res, err := t.next.RoundTrip(r)
	info, _ := r.Context().Value(callKey{}).(*callInfo)
	if err != nil || info == nil {
		return res, err
	}
	info.status = res.StatusCode
	info.header = res.Header.Clone()
	if res.StatusCode == http.StatusOK {
		body, rerr := io.ReadAll(io.LimitReader(res.Body, maxGraphQLBody))
		res.Body.Close()
		if rerr != nil {
			return nil, rerr
		}
		var env struct {
			Errors []gqlError `json:"errors"`
		}
		if json.Unmarshal(body, &env) == nil {
			info.errs = env.Errors
		}
		res.Body = io.NopCloser(bytes.NewReader(body))
	}
	return res, nil
}

// rateLimitFields is selected in every query; GitHub reports the query's cost in it.
type rateLimitFields struct {
	Cost      int
	Limit     int
	Remaining int
	Used      int
	ResetAt   githubv4.DateTime
}

// query runs one GraphQL query with the budget check, retries and waits. A 200 answer
// whose only errors are NOT_FOUND counts as success: the caller finds the gaps.
func (c *Client) query(ctx context.Context, q any, vars map[string]any, rl *rateLimitFields) (*callInfo, error) {
	if !c.Configured() {
		return nil, ErrNoToken
	}
	m := meterFrom(ctx)
	var lastErr error
	for attempt := 1; attempt <= c.o.MaxAttempts; attempt++ {
		if err := c.waitForBudget(ctx); err != nil {
			return nil, err
		}
		if err := c.waitForHost(ctx, c.gqlHost); err != nil {
			return nil, err
		}
		info := &callInfo{}
		err := c.gql.Query(context.WithValue(ctx, callKey{}, info), q, vars)
		m.Requests.Add(1)
		c.noteHeaders(info.header)
		if ctx.Err() != nil {
			c.observer().GitHubRequest("graphql", "cancelled")
			return nil, ctx.Err()
		}
		wait, hostWide, retry, ferr := c.classify(err, info, attempt)
		if ferr == nil && !retry {
			c.observer().GitHubRequest("graphql", "success")
			if rl != nil && rl.Limit > 0 {
				c.noteRateLimit(*rl)
				m.Points.Add(int64(rl.Cost))
				c.observer().GitHubRateLimit(rl.Cost, rl.Remaining)
			}
			return info, nil
		}
		c.observer().GitHubRequest("graphql", "error")
		if !retry {
			return info, ferr
		}
		lastErr = ferr
		if attempt == c.o.MaxAttempts {
			break
		}
		m.Retries.Add(1)
		c.observer().GitHubRetry(retryReason(info.status))
		c.o.Logger.Warn("github: retrying", "attempt", attempt, "wait_ms", wait.Milliseconds(), "err", ferr)
		if hostWide {
			c.holdHost(c.gqlHost, wait) // the next attempt waits for it, with every other request
			continue
		}
		if err := c.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("githubql: giving up after %d attempts: %w", c.o.MaxAttempts, lastErr)
}

// classify decides what an answer means: success, retry after a wait, or a final error. hostWide
// marks a secondary rate limit: GitHub counts those per token on the host, not per request, so the
// wait holds every request to the host that answered (holdHost), not only this one's retry.
func (c *Client) classify(err error, info *callInfo, attempt int) (wait time.Duration, hostWide, retry bool, ferr error) {
	backoff := min(c.o.Backoff*time.Duration(math.Pow(2, float64(attempt-1))), time.Minute)
	retryAfter, hasRetryAfter := parseRetryAfter(info.header, c.o.Now())
	switch {
	case info.status == 0 && err != nil: // no answer: network error or timeout
		return backoff, false, true, fmt.Errorf("githubql: request failed: %w", err)
	case info.status == http.StatusUnauthorized:
		return 0, false, false, ErrUnauthorized
	case info.status == http.StatusForbidden || info.status == http.StatusTooManyRequests:
		switch {
		case hasRetryAfter:
			return retryAfter, true, true, fmt.Errorf("githubql: secondary rate limit (HTTP %d), retry after %s", info.status, retryAfter)
		case info.header.Get("X-RateLimit-Remaining") == "0":
			// A primary limit is one resource's (GraphQL points, REST core): other requests learn it
			// from their own budget (waitForBudget), and the host's other resource is not held.
			return c.untilReset(info.header), false, true, fmt.Errorf("githubql: rate limit exhausted (HTTP %d)", info.status)
		default:
			return max(c.o.SecondaryWait, backoff), true, true, fmt.Errorf("githubql: secondary rate limit (HTTP %d)", info.status)
		}
	case info.status >= 500:
		if hasRetryAfter {
			backoff = retryAfter
		}
		return backoff, false, true, fmt.Errorf("githubql: GitHub answered HTTP %d", info.status)
	case info.status != http.StatusOK:
		return 0, false, false, fmt.Errorf("githubql: GitHub answered HTTP %d: %w", info.status, err)
	}
	var other []string
	for _, e := range info.errs {
		switch e.Type {
		case "RATE_LIMITED", "RATE_LIMIT": // GitHub has been seen sending either
			return c.untilReset(info.header), false, true, errors.New("githubql: rate limited (RATE_LIMITED)")
		case "NOT_FOUND":
		default:
			other = append(other, strings.TrimSpace(e.Type+" "+e.Message))
		}
	}
	if len(other) > 0 {
		return 0, false, false, fmt.Errorf("githubql: GraphQL errors: %s", strings.Join(other, "; "))
	}
	if err != nil && len(info.errs) == 0 {
		return 0, false, false, fmt.Errorf("githubql: %w", err) // e.g. an answer we could not decode
	}
	return 0, false, false, nil
}

func parseRetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := h.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// untilReset is the wait until the rate limit resets, from the answer's headers or,
// failing that, the last known reset time; a minute when neither is known.
func (c *Client) untilReset(h http.Header) time.Duration {
	now := c.o.Now()
	if v, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil {
		return max(time.Unix(v, 0).Sub(now), 0) + time.Second
	}
	c.mu.Lock()
	reset := c.rate.ResetAt
	c.mu.Unlock()
	if reset.After(now) {
		return reset.Sub(now) + time.Second
	}
	return time.Minute
}

func (c *Client) noteHeaders(h http.Header) {
	if h == nil || h.Get("X-RateLimit-Remaining") == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rate.Known = true
	c.rate.Remaining, _ = strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	if v, err := strconv.Atoi(h.Get("X-RateLimit-Limit")); err == nil {
		c.rate.Limit = v
	}
	if v, err := strconv.Atoi(h.Get("X-RateLimit-Used")); err == nil {
		c.rate.Used = v
	}
	if v, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil {
		c.rate.ResetAt = time.Unix(v, 0).UTC()
	}
}

func (c *Client) noteRateLimit(rl rateLimitFields) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rate.Known, c.rate.Limit, c.rate.Remaining, c.rate.Used = true, rl.Limit, rl.Remaining, rl.Used
	c.rate.ResetAt = rl.ResetAt.UTC()
}

// waitForBudget blocks until the reset when fewer than Reserve points remain.
func (c *Client) waitForBudget(ctx context.Context) error {
	c.mu.Lock()
	rate := c.rate
	c.mu.Unlock()
	now := c.o.Now()
	if !rate.Known || rate.Remaining >= c.o.Reserve || !rate.ResetAt.After(now) {
		return nil
	}
	d := rate.ResetAt.Sub(now) + time.Second
	c.o.Logger.Warn("github: rate limit below reserve, waiting for reset", "remaining", rate.Remaining, "reset_at", rate.ResetAt)
	if err := c.sleep(ctx, d); err != nil {
		return err
	}
	c.mu.Lock()
	// The reset happened: assume a fresh budget until an answer says otherwise.
	if c.rate.ResetAt.Equal(rate.ResetAt) {
		c.rate.Remaining = c.rate.Limit
	}
	c.mu.Unlock()
	return nil
}

// holdHost holds every request to host for d (capped by MaxWait), GraphQL and downloads alike;
// a hold already running longer stands.
func (c *Client) holdHost(host string, d time.Duration) {
	until := c.o.Now().Add(min(d, c.o.MaxWait))
	c.mu.Lock()
	defer c.mu.Unlock()
	if until.After(c.held[host]) {
		c.held[host] = until
	}
}

// heldUntil is when host's hold ends; zero or past when there is none.
func (c *Client) heldUntil(host string) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.held[host]
}

// waitForHost blocks while host is held (a hold may be extended meanwhile), or until ctx ends.
func (c *Client) waitForHost(ctx context.Context, host string) error {
	for {
		d := c.heldUntil(host).Sub(c.o.Now())
		if d <= 0 {
			return nil
		}
		if err := c.sleep(ctx, d); err != nil {
			return err
		}
	}
}

// sleep waits d (capped by MaxWait) or until ctx ends, and shows the wait in RateLimit.
func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	d = min(d, c.o.MaxWait)
	end := c.o.Now().Add(d)
	c.mu.Lock()
	c.waits[&end] = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.waits, &end)
		c.mu.Unlock()
	}()
	select {
	case <-c.o.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
