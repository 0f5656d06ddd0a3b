package handlers_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kubestats/kubestats/githubql"
	"github.com/kubestats/kubestats/githubql/githubtest"
	"github.com/kubestats/kubestats/handlers"
	"github.com/kubestats/kubestats/jobs"
	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/store/storegen"
	"github.com/kubestats/kubestats/store/storetest"
	"github.com/kubestats/kubestats/views"
)

// TestGenerateLoadDB writes the load-test database (5,000 repos, ~500,000 resources, a year of
// metrics and events) to the path in KUBESTATS_LOAD_GENERATE. KUBESTATS_LOAD_REPOS,
// KUBESTATS_LOAD_RESOURCES, KUBESTATS_LOAD_DAYS and KUBESTATS_LOAD_METRICS_EVERY scale it.
func TestGenerateLoadDB(t *testing.T) {
	path := os.Getenv("KUBESTATS_LOAD_GENERATE")
	if path == "" {
		t.Skip("set KUBESTATS_LOAD_GENERATE to the database file to write")
	}
	if _, err := os.Stat(path); err == nil {
		t.Fatalf("%s exists; remove it first", path)
	}
	opts := storegen.Options{Repos: envInt("KUBESTATS_LOAD_REPOS", 5000), ResourcesPerRepo: envInt("KUBESTATS_LOAD_RESOURCES", 100),
		Days: envInt("KUBESTATS_LOAD_DAYS", 365), MetricsEvery: envInt("KUBESTATS_LOAD_METRICS_EVERY", 1), Seed: 1,
		Now: time.Now().UTC().Truncate(24 * time.Hour)}
	lastLog := time.Now()
	opts.Progress = func(day, days int) {
		if time.Since(lastLog) > 10*time.Second {
			t.Logf("day %d of %d", day, days)
			lastLog = time.Now()
		}
	}
	ctx := context.Background()
	s, clock, err := storegen.Open(ctx, path, storetest.Schema(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, err := storegen.Fill(ctx, s, clock, opts)
	if err != nil {
		t.Fatal(err)
	}
	// The ecosystem pages read what the daily aggregate job writes; fill it as the job would.
	if _, err := s.AggregateMissing(ctx, clock.Now(), false); err != nil {
		t.Fatal(err)
	}
	if err := s.InTx(ctx, func(tx *sql.Tx) error { _, err := tx.ExecContext(ctx, "ANALYZE"); return err }); err != nil {
		t.Fatal(err)
	}
	size, err := s.Size(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s; database %.0f MB", st, float64(size)/1e6)
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// loadConcurrency is the number of simultaneous connections of the performance target.
const loadConcurrency = 32

// loadServer is the load tests' server: a copy of the database in KUBESTATS_LOAD_DB served
// through the real handlers over real HTTP, with a superuser, and (unless KUBESTATS_LOAD_SYNC
// is "off") a sync pass running in the background for as long as the test runs.
type loadServer struct {
	t      *testing.T
	store  *store.Store
	srv    *httptest.Server
	env    *env
	syncs  *syncLoad
	stop   func() // ends the background sync and waits for it
	report strings.Builder
	// Requests per URL for the Go client; wrk, when installed, runs for duration per URL.
	requests int
	duration time.Duration
	wrk      string // wrk's path; "" uses the Go client
	// busiest names the most starred repository and the most used image, the pages people open most.
	repoOwner, repoName        string
	imgRegistry, imgRepository string
}

func startLoad(t *testing.T, cfg handlers.Config) *loadServer {
	t.Helper()
	src := os.Getenv("KUBESTATS_LOAD_DB")
	if src == "" {
		t.Skip("set KUBESTATS_LOAD_DB to a database written by TestGenerateLoadDB")
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	l := &loadServer{t: t, requests: envInt("KUBESTATS_LOAD_REQUESTS", 2000),
		duration: time.Duration(envInt("KUBESTATS_LOAD_SECONDS", 5)) * time.Second}
	// wrk (Debian's package) is the default client: written in C on epoll, it takes far less
	// of the two shared cores than Go's client would, so the figures are the server's.
	if os.Getenv("KUBESTATS_LOAD_CLIENT") != "go" {
		l.wrk, _ = exec.LookPath("wrk")
	}

	// Work on a copy: the login, the sessions and the background sync write to it.
	path := filepath.Join(t.TempDir(), "load.db")
	for _, suffix := range []string{"", "-wal"} {
		if err := storetest.CopyFile(src+suffix, path+suffix); err != nil && !(suffix != "" && errors.Is(err, os.ErrNotExist)) {
			t.Fatal(err)
		}
	}
	p := storetest.FastPasswords
	s, err := store.Open(ctx, store.Options{Path: path, Schema: storetest.Schema(t), PasswordParams: &p})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	l.store = s

	cfg.Version, cfg.SecretKey = "load", []byte("0123456789abcdef0123456789abcdef")
	cfg.SessionIdle, cfg.SessionLifetime, cfg.Static = time.Hour, 24*time.Hour, os.DirFS("../static")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	fake := githubtest.New(t)
	gh := githubql.New(githubql.Options{Token: fake.Token(), GraphQLURL: fake.GraphQLURL(), APIURL: fake.APIURL()})
	runner := jobs.New(s, gh, jobs.Config{Topics: []string{"k8s-at-home"}, SyncConcurrency: 2,
		Sessions: store.SessionPolicy{Idle: cfg.SessionIdle, Lifetime: cfg.SessionLifetime}}, log)
	t.Cleanup(runner.Close)
	h, err := handlers.New(s, cfg, runner, gh, log)
	if err != nil {
		t.Fatal(err)
	}
	l.srv = httptest.NewServer(h.Handler())
	t.Cleanup(l.srv.Close)
	l.env = &env{t: t, store: s, h: h, srv: l.srv, github: fake}
	if l.env.admin, err = s.CreateUser(ctx, store.NewUser{Email: adminEmail, Name: "Admin", Password: password, IsSuperuser: true}); err != nil {
		t.Fatal(err)
	}
	err = s.InTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, "SELECT owner, name FROM repositories ORDER BY stars DESC LIMIT 1").Scan(&l.repoOwner, &l.repoName); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, "SELECT registry, repository FROM image_stats ORDER BY repos DESC LIMIT 1").Scan(&l.imgRegistry, &l.imgRepository)
	})
	if err != nil {
		t.Fatal(err)
	}

	// A database generated before the ecosystem views existed has no aggregate yet: run the
	// job once, or the ecosystem pages would be measured empty.
	if days, err := s.EcosystemDays(ctx, 1); err != nil {
		t.Fatal(err)
	} else if len(days) == 0 {
		start := time.Now()
		if _, err := runner.Aggregate(ctx); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&l.report, "the aggregate job filled the ecosystem first, in %s\n", time.Since(start).Round(time.Millisecond))
	}

	var wg sync.WaitGroup
	if os.Getenv("KUBESTATS_LOAD_SYNC") != "off" {
		l.syncs = backgroundSync(ctx, t, s, fake, runner, l.repoOwner)
		wg.Add(1)
		go func() { defer wg.Done(); l.syncs.run(ctx) }()
	}
	l.stop = func() { cancel(); wg.Wait() }
	t.Cleanup(l.stop)
	client := "Go's net/http client"
	if l.wrk != "" {
		client = "wrk, " + l.duration.String() + " per URL"
	}
	fmt.Fprintf(&l.report, "%d concurrent connections from %s\n%-64s %9s %6s %8s %8s %8s %8s\n",
		loadConcurrency, client, "url", "requests", "errors", "p50", "p99", "max", "req/s")
	return l
}

// run loads every URL in turn with header on each request. It fails the test on any error.
func (l *loadServer) run(urls []string, header http.Header) {
	hc := &http.Client{
		Transport:     &headerTransport{header: header, base: &http.Transport{MaxIdleConns: 2 * loadConcurrency, MaxIdleConnsPerHost: 2 * loadConcurrency}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}
	defer hc.CloseIdleConnections()
	for _, u := range urls {
		if only := os.Getenv("KUBESTATS_LOAD_ONLY"); only != "" && !regexp.MustCompile(only).MatchString(u) {
			continue
		}
		if status, err := fetch(hc, l.srv.URL+u); err != nil || status != http.StatusOK {
			l.t.Errorf("%s: first request: status %d, %v", u, status, err)
			continue
		}
		var r loadResult
		if l.wrk != "" {
			r = l.runWrk(u, header)
		} else {
			r = hammer(hc, l.srv.URL+u, l.requests)
		}
		fmt.Fprintf(&l.report, "%-64s %9d %6d %8s %8s %8s %8.0f\n", u, r.requests, r.errors, ms(r.p50), ms(r.p99), ms(r.max),
			float64(r.requests)/r.wall.Seconds())
		if r.errors > 0 {
			l.t.Errorf("%s: %d of %d requests failed, first: %s", u, r.errors, r.requests, r.firstErr)
		}
	}
}

// finish stops the background sync and prints the report.
func (l *loadServer) finish() {
	l.stop()
	if l.syncs != nil {
		fmt.Fprintf(&l.report, "background sync: %d repositories synced, %d failed during the run\n", l.syncs.synced.Load(), l.syncs.failed.Load())
		if n := l.syncs.failed.Load(); n > 0 {
			l.t.Errorf("background sync: %d failures", n)
		}
	} else {
		fmt.Fprintf(&l.report, "no background sync (KUBESTATS_LOAD_SYNC=off)\n")
	}
	// The server, its caches and the fake GitHub share this process (wrk does not).
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(&l.report, "Go heap in use %d MB, obtained from the OS %d MB, %d collections\n",
		ms.HeapInuse>>20, ms.Sys>>20, ms.NumGC)
	l.t.Log("\n" + l.report.String())
}

// TestLoad sends 32 concurrent connections at every page, logged in as a superuser, while a
// sync pass runs in the background, and prints p50/p99/max latency and throughput per page.
// It fails on any error. See loadServer for the settings.
func TestLoad(t *testing.T) {
	l := startLoad(t, handlers.Config{})
	login := l.env.client().mustLogin(adminEmail)
	u, _ := url.Parse(l.srv.URL)
	var cookies []string
	for _, c := range login.hc.Jar.Cookies(u) {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	repo := "/repositories/" + l.repoOwner + "/" + l.repoName
	l.run([]string{
		"/",
		"/repositories",
		"/repositories?q=home",
		"/repositories?sort=pushed&page=20",
		repo,
		repo + "/resources",
		repo + "/resources?kind=HelmRelease",
		repo + "/events",
		"/charts",
		"/charts/app-template",
		"/images",
		views.ImagePath(l.imgRegistry, l.imgRepository),
		"/deprecations",
		"/resources",
		"/resources?namespace=flux-system",
		"/resources/kustomize.toolkit.fluxcd.io/Kustomization",
		"/resources/helm.toolkit.fluxcd.io/HelmRelease?name=cert-manager",
		"/search?q=home",
		"/search/suggest?q=son",
		"/ecosystem",
		"/ecosystem?days=365",
	}, http.Header{"Cookie": {strings.Join(cookies, "; ")}})
	l.finish()
}

// headerTransport adds fixed headers (a session cookie, a bearer token) to every request.
type headerTransport struct {
	header http.Header
	base   http.RoundTripper
}

func (a *headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range a.header {
		r.Header[k] = v
	}
	return a.base.RoundTrip(r)
}

// syncLoadLatency is the fake GitHub's answer time during the load tests (see backgroundSync);
// KUBESTATS_LOAD_GITHUB_LATENCY (a Go duration, "0s" for none) changes it.
const syncLoadLatency = 150 * time.Millisecond

// syncLoad keeps a sync pass going over a few repositories for as long as the load runs.
type syncLoad struct {
	s      *store.Store
	runner *jobs.Runner
	ids    []int64
	synced atomic.Int64
	failed atomic.Int64
	t      *testing.T
}

// backgroundSync serves eight repositories from the fake GitHub, each a real home-ops tree at
// the head the database knows, so that every pass downloads, scans and applies them again.
//
// Each answer of the fake waits syncLoadLatency, as GitHub's take time: the API's redirect
// and the archive host each answer in a few hundred milliseconds or more. Without it the
// in-process fake answers at once and the pass becomes a busy loop re-syncing some 15
// repositories a second, which no pass against GitHub reaches; with it, two workers still
// apply several scans a second for the whole run.
func backgroundSync(ctx context.Context, t *testing.T, s *store.Store, fake *githubtest.Server, runner *jobs.Runner, skipOwner string) *syncLoad {
	t.Helper()
	latency := syncLoadLatency
	if d, err := time.ParseDuration(os.Getenv("KUBESTATS_LOAD_GITHUB_LATENCY")); err == nil {
		latency = d
	}
	fake.SetDelay(latency)
	l := &syncLoad{s: s, runner: runner, t: t}
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, "SELECT id, database_id, owner, name, head_oid FROM repositories WHERE owner <> ? ORDER BY id LIMIT 8", skipOwner)
		if err != nil {
			return err
		}
		defer rows.Close()
		for i := 0; rows.Next(); i++ {
			var id, dbID int64
			var owner, name, head string
			if err := rows.Scan(&id, &dbID, &owner, &name, &head); err != nil {
				return err
			}
			fake.AddRepos(githubtest.Repo{DatabaseID: dbID, Owner: owner, Name: name, DefaultBranch: "main", HeadOID: head,
				Files: githubtest.GitOpsTree(i, 30)})
			l.ids = append(l.ids, id)
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func (l *syncLoad) run(ctx context.Context) {
	for ctx.Err() == nil {
		for _, id := range l.ids {
			if err := l.s.RequestSync(ctx, id, true); err != nil && ctx.Err() == nil && !errors.Is(err, store.ErrConflict) {
				l.t.Errorf("background sync: request: %v", err)
				return
			}
		}
		counts, err := l.runner.Sync(ctx)
		l.synced.Add(int64(counts["synced"]))
		if ctx.Err() == nil {
			l.failed.Add(int64(counts["failed"]))
			if err != nil {
				l.t.Errorf("background sync: %v", err)
				return
			}
		}
	}
}

type loadResult struct {
	requests      int
	errors        int
	firstErr      string
	wall          time.Duration
	p50, p99, max time.Duration
}

// hammer sends n GETs to u from loadConcurrency workers and records every latency.
func hammer(hc *http.Client, u string, n int) loadResult {
	var (
		next atomic.Int64
		mu   sync.Mutex
		res  = loadResult{requests: n}
		lat  []time.Duration
		wg   sync.WaitGroup
	)
	start := time.Now()
	for range loadConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for next.Add(1) <= int64(n) {
				t0 := time.Now()
				status, err := fetch(hc, u)
				mine = append(mine, time.Since(t0))
				if err == nil && status != http.StatusOK {
					err = fmt.Errorf("status %d", status)
				}
				if err != nil {
					mu.Lock()
					if res.errors == 0 {
						res.firstErr = err.Error()
					}
					res.errors++
					mu.Unlock()
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.wall = time.Since(start)
	slices.Sort(lat)
	pct := func(p int) time.Duration { return lat[min(len(lat)-1, len(lat)*p/100)] }
	res.p50, res.p99, res.max = pct(50), pct(99), lat[len(lat)-1]
	return res
}

// runWrk loads u with wrk for l.duration from one thread and loadConcurrency connections.
// wrk counts 3xx answers as successes; the first request checked for 200 already.
func (l *loadServer) runWrk(u string, header http.Header) loadResult {
	args := []string{"-t1", "-c" + strconv.Itoa(loadConcurrency), "-d" + strconv.Itoa(int(l.duration.Seconds())) + "s", "--latency"}
	for k, vs := range header {
		for _, v := range vs {
			args = append(args, "-H", k+": "+v)
		}
	}
	out, err := exec.Command(l.wrk, append(args, l.srv.URL+u)...).CombinedOutput()
	if err != nil {
		l.t.Fatalf("wrk %s: %v\n%s", u, err, out)
	}
	r, err := parseWrk(string(out))
	if err != nil {
		l.t.Fatalf("wrk %s: %v\n%s", u, err, out)
	}
	return r
}

// parseWrk reads the figures out of wrk --latency's report.
func parseWrk(out string) (loadResult, error) {
	var r loadResult
	dur := func(s string) (time.Duration, error) {
		// wrk prints "us" where Go expects "µs".
		return time.ParseDuration(strings.Replace(s, "us", "µs", 1))
	}
	var err error
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 4 && f[0] == "Latency":
			r.max, err = dur(f[3])
		case len(f) == 2 && f[0] == "50%":
			r.p50, err = dur(f[1])
		case len(f) == 2 && f[0] == "99%":
			r.p99, err = dur(f[1])
		case len(f) >= 4 && f[1] == "requests" && f[2] == "in":
			if r.requests, err = strconv.Atoi(f[0]); err == nil {
				r.wall, err = dur(strings.TrimSuffix(f[3], ","))
			}
		case strings.HasPrefix(line, "  Non-2xx or 3xx responses:"):
			r.errors += atoiLast(f)
			r.firstErr = "non-2xx or 3xx answers"
		case strings.HasPrefix(line, "  Socket errors:"):
			// "Socket errors: connect 0, read 0, write 0, timeout 0"
			for i := 3; i < len(f); i += 2 {
				if n, _ := strconv.Atoi(strings.TrimSuffix(f[i], ",")); n > 0 {
					r.errors += n
					r.firstErr = "socket errors: " + strings.Join(f[2:], " ")
				}
			}
		}
		if err != nil {
			return r, fmt.Errorf("parse %q: %w", line, err)
		}
	}
	if r.requests == 0 || r.p99 == 0 {
		return r, errors.New("no requests or no latency distribution in wrk's report")
	}
	return r, nil
}

func atoiLast(f []string) int {
	n, _ := strconv.Atoi(f[len(f)-1])
	return n
}

func fetch(hc *http.Client, u string) (int, error) {
	res, err := hc.Get(u)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if _, err := io.Copy(io.Discard, res.Body); err != nil {
		return 0, err
	}
	return res.StatusCode, nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }

// TestParseWrk pins the reading of wrk's report, which the load figures depend on.
func TestParseWrk(t *testing.T) {
	out := `Running 5s test @ http://127.0.0.1:34567/
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    13.89ms   11.79ms 116.95ms   80.63%
    Req/Sec     2.59k   171.43     2.90k    72.00%
  Latency Distribution
     50%  950.00us
     75%   15.51ms
     90%   27.30ms
     99%    1.20s
  12906 requests in 5.00s, 508.35MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:   2581.15
Transfer/sec:    101.62MB
`
	r, err := parseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	want := loadResult{requests: 12906, errors: 7, wall: 5 * time.Second, p50: 950 * time.Microsecond, p99: 1200 * time.Millisecond,
		max: 116950 * time.Microsecond, firstErr: "non-2xx or 3xx answers"}
	if r != want {
		t.Errorf("got %+v\nwant %+v", r, want)
	}
	if _, err := parseWrk("unable to connect to 127.0.0.1:1 Connection refused\n"); err == nil {
		t.Error("a report without figures parsed")
	}
}
