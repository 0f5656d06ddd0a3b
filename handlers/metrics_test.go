package handlers_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/kubestats/kubestats/githubql"
	"github.com/kubestats/kubestats/githubql/githubtest"
	"github.com/kubestats/kubestats/handlers"
	"github.com/kubestats/kubestats/jobs"
	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/store/storetest"
)

// newMetricsEnv is newEnv wired like main wires metrics: one Metrics observing the HTTP layer,
// the job runner and the GitHub client, which talks to the fake GitHub.
func newMetricsEnv(t *testing.T, edit ...func(*handlers.Config)) (*env, *jobs.Runner) {
	t.Helper()
	s := storetest.Open(t)
	m := handlers.NewMetrics(s)
	cfg := handlers.Config{
		Version:         "test",
		SecretKey:       []byte("0123456789abcdef0123456789abcdef"),
		SessionIdle:     time.Hour,
		SessionLifetime: 24 * time.Hour,
		Static:          os.DirFS("../static"),
		GitHubTokenSet:  true,
		Public:          true,
		Metrics:         m,
	}
	for _, e := range edit {
		e(&cfg)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	fake := githubtest.New(t)
	gh := githubql.New(githubql.Options{Token: fake.Token(), GraphQLURL: fake.GraphQLURL(), APIURL: fake.APIURL(),
		Backoff: time.Millisecond, Observer: m})
	runner := jobs.New(s, gh, jobs.Config{Topics: []string{"k8s-at-home"}, MaxRepoSizeMB: 100, SyncConcurrency: 2,
		Sessions: store.SessionPolicy{Idle: cfg.SessionIdle, Lifetime: cfg.SessionLifetime}, Observer: m}, log)
	t.Cleanup(runner.Close)
	h, err := handlers.New(s, cfg, runner, gh, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(srv.Close)
	return &env{t: t, store: s, h: h, srv: srv, github: fake}, runner
}

// scrape reads /metrics and parses the text format.
func (c *client) scrape(t *testing.T, header ...string) map[string]*dto.MetricFamily {
	t.Helper()
	r := c.get("/metrics", header...)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: got %d, want 200\n%s", r.StatusCode, r.body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(r.body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, r.body)
	}
	return fams
}

// sample finds the series of family name whose labels include want; ok is false when there is none.
func sample(fams map[string]*dto.MetricFamily, name string, want map[string]string) (m *dto.Metric, ok bool) {
	f := fams[name]
	if f == nil {
		return nil, false
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		return m, true
	}
	return nil, false
}

// value is a counter's or gauge's value, or a histogram's count; -1 when the series is missing.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	m, ok := sample(fams, name, want)
	switch {
	case !ok:
		return -1
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return -1
}

func TestMetricsAfterSync(t *testing.T) {
	e, runner := newMetricsEnv(t)
	ctx := context.Background()
	for i, owner := range []string{"owner1", "owner2"} {
		e.github.AddRepos(githubtest.Repo{DatabaseID: int64(100 + i), Owner: owner, Name: "home-ops", Topics: []string{"k8s-at-home"},
			DefaultBranch: "main", HeadOID: fmt.Sprintf("%040x", 0xbeef00+i), DiskUsageKB: 100, Files: syncFiles})
	}
	e.github.FailNext(1, http.StatusBadGateway) // one GraphQL retry
	for _, job := range []string{jobs.JobDiscover, jobs.JobRefresh} {
		if _, err := runner.Run(ctx, job, "test"); err != nil {
			t.Fatalf("%s: %v", job, err)
		}
	}
	e.github.FailNextTarball(1, http.StatusServiceUnavailable) // one download retry
	if c, err := runner.Run(ctx, jobs.JobSync, "test"); err != nil || c["synced"] != 2 {
		t.Fatalf("sync: %v %v, want 2 synced", c, err)
	}

	c := e.client()
	for path, want := range map[string]int{
		"/repositories/owner1/home-ops": http.StatusOK,
		"/repositories/owner2/home-ops": http.StatusOK,
		"/repositories/nobody/nothing":  http.StatusNotFound, // a route, answered by the error handler
		"/no/such/page":                 http.StatusNotFound, // no route
		"/repositories":                 http.StatusOK,
	} {
		if r := c.get(path); r.StatusCode != want {
			t.Fatalf("GET %s: got %d, want %d", path, r.StatusCode, want)
		}
	}
	// Prometheus sends no cookies: a fresh client with no session is served.
	fams := e.client().scrape(t)

	for _, name := range []string{
		"kubestats_http_requests_total", "kubestats_http_request_duration_seconds",
		"kubestats_job_runs_total", "kubestats_job_duration_seconds",
		"kubestats_github_requests_total", "kubestats_github_rate_limit_remaining",
		"kubestats_github_points_used_total", "kubestats_github_retries_total",
		"kubestats_repositories", "kubestats_sync_duration_seconds", "kubestats_scan_duration_seconds",
		"kubestats_db_size_bytes", "kubestats_repository_syncs_total", "go_goroutines", "process_start_time_seconds",
	} {
		f := fams[name]
		if f == nil {
			t.Errorf("family %s missing", name)
			continue
		}
		if strings.HasPrefix(name, "kubestats_") && f.GetHelp() == "" {
			t.Errorf("family %s has no help", name)
		}
	}

	const route = "/repositories/:owner/:name"
	checks := []struct {
		name   string
		labels []string
		want   func(float64) bool
		desc   string
	}{
		{"kubestats_http_requests_total", []string{"route", route, "method", "GET", "status", "200"}, eq(2), "2"},
		{"kubestats_http_requests_total", []string{"route", route, "method", "GET", "status", "404"}, eq(1), "1"},
		{"kubestats_http_requests_total", []string{"route", "unmatched", "method", "GET", "status", "404"}, eq(1), "1"},
		{"kubestats_http_requests_total", []string{"route", "/repositories", "method", "GET", "status", "200"}, eq(1), "1"},
		{"kubestats_http_request_duration_seconds", []string{"route", route, "method", "GET"}, eq(3), "3 observations"},
		{"kubestats_job_runs_total", []string{"job", "sync", "outcome", "success"}, eq(1), "1"},
		{"kubestats_job_runs_total", []string{"job", "discover", "outcome", "success"}, eq(1), "1"},
		{"kubestats_job_runs_total", []string{"job", "sync", "outcome", "error"}, eq(0), "0 (exported before any)"},
		{"kubestats_job_duration_seconds", []string{"job", "sync"}, eq(1), "1 observation"},
		{"kubestats_repository_syncs_total", []string{"outcome", "success"}, eq(2), "2"},
		{"kubestats_sync_duration_seconds", nil, eq(2), "2 observations"},
		{"kubestats_scan_duration_seconds", nil, eq(2), "2 observations"},
		{"kubestats_github_requests_total", []string{"kind", "graphql", "outcome", "success"}, atLeast(2), "≥ 2 (discover, refresh)"},
		{"kubestats_github_requests_total", []string{"kind", "graphql", "outcome", "error"}, eq(1), "1 (the injected 502)"},
		{"kubestats_github_requests_total", []string{"kind", "tarball", "outcome", "success"}, eq(2), "2"},
		{"kubestats_github_requests_total", []string{"kind", "tarball", "outcome", "error"}, eq(1), "1 (the injected 503)"},
		{"kubestats_github_retries_total", []string{"reason", "server_error"}, eq(2), "2"},
		{"kubestats_github_retries_total", []string{"reason", "rate_limit"}, eq(0), "0"},
		{"kubestats_github_points_used_total", nil, atLeast(2), "≥ 2"},
		{"kubestats_db_size_bytes", nil, atLeast(4096), "≥ a page"},
	}
	for _, ck := range checks {
		if got := value(fams, ck.name, ck.labels...); !ck.want(got) {
			t.Errorf("%s%v: got %v, want %s", ck.name, ck.labels, got, ck.desc)
		}
	}

	// The gauges follow their sources: the fake's rate limit and the database's counts.
	_, remaining, _, _ := e.github.RateLimitState()
	if got := value(fams, "kubestats_github_rate_limit_remaining"); got != float64(remaining) {
		t.Errorf("rate limit remaining: got %v, want %d", got, remaining)
	}
	counts, err := e.store.RepositoryCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts["success"] != 2 {
		t.Fatalf("store counts: %v, want 2 synced", counts)
	}
	for _, st := range []string{"success", "pending", "error"} {
		if got := value(fams, "kubestats_repositories", "status", st); got != float64(counts[st]) {
			t.Errorf("repositories{status=%q}: got %v, want %d", st, got, counts[st])
		}
	}

	// Route labels are the route table's patterns, never raw paths.
	patterns := map[string]bool{"unmatched": true}
	for _, r := range e.h.Echo().Routes() {
		patterns[r.Path] = true
	}
	for _, m := range fams["kubestats_http_requests_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "route" && !patterns[l.GetValue()] {
				t.Errorf("route label %q is not a route pattern", l.GetValue())
			}
		}
	}

	// A later scrape sees the request for the previous one.
	if got := value(e.client().scrape(t), "kubestats_http_requests_total", "route", "/metrics", "status", "200"); got < 1 {
		t.Errorf("/metrics requests: got %v, want ≥ 1", got)
	}
}

func eq(w float64) func(float64) bool      { return func(g float64) bool { return g == w } }
func atLeast(w float64) func(float64) bool { return func(g float64) bool { return g >= w } }

func TestMetricsToken(t *testing.T) {
	const token = "metrics-s3cret"
	e, _ := newMetricsEnv(t, func(c *handlers.Config) { c.MetricsToken = token })
	c := e.client()
	for _, tc := range []struct {
		name, header string
		want         int
	}{
		{"no header", "", http.StatusUnauthorized},
		{"wrong token", "Bearer nope", http.StatusUnauthorized},
		{"token as prefix", "Bearer " + token + "x", http.StatusUnauthorized},
		{"wrong scheme", "Basic " + token, http.StatusUnauthorized},
		{"right token", "Bearer " + token, http.StatusOK},
		{"scheme in lower case", "bearer " + token, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h []string
			if tc.header != "" {
				h = []string{"Authorization", tc.header}
			}
			r := c.get("/metrics", h...)
			if r.StatusCode != tc.want {
				t.Fatalf("got %d, want %d\n%s", r.StatusCode, tc.want, r.body)
			}
			if tc.want == http.StatusOK && !strings.Contains(r.body, "kubestats_repositories") {
				t.Fatalf("no metrics in the answer:\n%.500s", r.body)
			}
			if tc.want == http.StatusUnauthorized && (strings.Contains(r.body, "kubestats_") || r.Header.Get("WWW-Authenticate") == "") {
				t.Fatalf("401 leaks metrics or lacks WWW-Authenticate: %v\n%s", r.Header, r.body)
			}
		})
	}
	// A session is no substitute for the token.
	e.withUsers()
	admin := e.client().mustLogin(adminEmail)
	if r := admin.get("/metrics"); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("logged-in without token: got %d, want 401", r.StatusCode)
	}
}

func TestMetricsOff(t *testing.T) {
	e := newEnv(t) // Metrics nil, as in tests and CLI commands
	if r := e.client().get("/metrics"); r.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /metrics without metrics: got %d, want 404", r.StatusCode)
	}
	// And the rest works without them.
	if r := e.client().get("/api/health"); r.StatusCode != http.StatusOK {
		t.Fatalf("health: got %d", r.StatusCode)
	}
}

// BenchmarkInstrument measures what the instrument middleware adds to a request: a bare Echo
// router with one route, without and with the middleware (the difference is the overhead), and
// the app's full middleware chain on a cheap route, metrics off and on, for scale.
func BenchmarkInstrument(b *testing.B) {
	s := storetest.Open(b)
	log := slog.New(slog.DiscardHandler)
	gh := githubql.New(githubql.Options{})
	runner := jobs.New(s, gh, jobs.Config{}, log)
	b.Cleanup(runner.Close)
	newHandlers := func(m *handlers.Metrics) *handlers.Handlers {
		h, err := handlers.New(s, handlers.Config{
			Version: "bench", SecretKey: []byte("0123456789abcdef0123456789abcdef"),
			SessionIdle: time.Hour, SessionLifetime: time.Hour, Static: os.DirFS("../static"), Metrics: m,
		}, runner, gh, log)
		if err != nil {
			b.Fatal(err)
		}
		return h
	}
	bare := func(mw ...echo.MiddlewareFunc) http.Handler {
		e := echo.New()
		e.Use(mw...)
		e.GET("/repositories/:owner/:name", func(c echo.Context) error { return c.NoContent(http.StatusOK) })
		return e
	}
	on := newHandlers(handlers.NewMetrics(s))
	for _, bc := range []struct {
		name, path string
		h          http.Handler
	}{
		{"bare", "/repositories/o/n", bare()},
		{"bare+instrument", "/repositories/o/n", bare(on.Instrument)},
		{"app/metrics-off", "/api/health", newHandlers(nil).Echo()},
		{"app/metrics-on", "/api/health", on.Echo()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			req := httptest.NewRequest(http.MethodGet, bc.path, nil)
			for b.Loop() {
				rec := httptest.NewRecorder()
				bc.h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("got %d", rec.Code)
				}
			}
		})
	}
}
