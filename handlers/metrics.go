package handlers

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kubestats/kubestats/githubql"
	"github.com/kubestats/kubestats/jobs"
	"github.com/kubestats/kubestats/store"
)

// Metrics is the process's Prometheus registry. It counts HTTP requests (instrument), job runs
// and syncs (as the jobs' Observer) and GitHub requests (as the client's Observer), and reads the
// database's figures when scraped. Build one per process; every method is safe on a nil *Metrics,
// so a nil value can be handed to the jobs and the client when metrics are off.
type Metrics struct {
	reg *prometheus.Registry

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	jobRuns      *prometheus.CounterVec
	jobDuration  *prometheus.HistogramVec
	syncs        *prometheus.CounterVec
	syncDuration prometheus.Histogram
	scanDuration prometheus.Histogram
	ghRequests   *prometheus.CounterVec
	ghRemaining  prometheus.Gauge
	ghPoints     prometheus.Counter
	ghRetries    *prometheus.CounterVec
}

var (
	_ jobs.Observer     = (*Metrics)(nil)
	_ githubql.Observer = (*Metrics)(nil)
)

// Label values known up front are exported as zeros from the start, so that rate() and
// absent-series alerts work before the first event of a kind.
var (
	jobOutcomes    = []string{"success", "error", "cancelled"}
	githubKinds    = []string{"graphql", "tarball"}
	githubOutcomes = []string{"success", "error", "cancelled"}
	retryReasons   = []string{"rate_limit", "server_error", "network", "stalled"}
	// repoStatuses are RepositoryCounts' keys; each is exported, 0 when no repository has it.
	repoStatuses = []string{"pending", "syncing", "success", "error", "pending_approval", "gone", "blocked", "deleted"}
)

// Buckets in seconds. Jobs run from milliseconds (prune) to hours (a first sync of thousands of
// repositories); one repository's sync from well under a second to its 15-minute budget.
var (
	jobBuckets  = []float64{0.1, 0.5, 1, 5, 15, 30, 60, 300, 900, 1800, 3600, 7200}
	syncBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 180, 900}
)

// NewMetrics builds the registry with every Kubestats family, the Go runtime and process
// collectors, and the database figures read from st at each scrape.
func NewMetrics(st *store.Store) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kubestats_http_requests_total",
			Help: "HTTP requests answered, by route pattern (\"unmatched\" for unknown paths), method and status.",
		}, []string{"route", "method", "status"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kubestats_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, error pages included, by route pattern and method.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method"}),
		jobRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kubestats_job_runs_total",
			Help: "Finished job runs by job and outcome (success, error, cancelled), as recorded in job_runs.",
		}, []string{"job", "outcome"}),
		jobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kubestats_job_duration_seconds",
			Help:    "Duration of finished job runs, by job.",
			Buckets: jobBuckets,
		}, []string{"job"}),
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kubestats_repository_syncs_total",
			Help: "Finished syncs of one repository (by the sync job or a sync button), by outcome (success, error, cancelled).",
		}, []string{"outcome"}),
		syncDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "kubestats_sync_duration_seconds",
			Help:    "Time to sync one repository successfully: download, scan and the database update.",
			Buckets: syncBuckets,
		}),
		scanDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "kubestats_scan_duration_seconds",
			Help:    "Time to download and scan one repository's archive (the archive is scanned as it streams), successful syncs only.",
			Buckets: syncBuckets,
		}),
		ghRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kubestats_github_requests_total",
			Help: "HTTP requests to GitHub, retries included, by kind (graphql, tarball) and outcome (success, error, cancelled).",
		}, []string{"kind", "outcome"}),
		ghRemaining: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kubestats_github_rate_limit_remaining",
			Help: "GraphQL rate-limit points left, as of GitHub's last answer (-1 before the first).",
		}),
		ghPoints: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kubestats_github_points_used_total",
			Help: "GraphQL rate-limit points spent by successful queries.",
		}),
		ghRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kubestats_github_retries_total",
			Help: "Retried GitHub requests by reason (rate_limit, server_error, network, stalled).",
		}, []string{"reason"}),
	}
	m.ghRemaining.Set(-1)
	for _, j := range jobs.Names {
		m.jobDuration.WithLabelValues(j)
		for _, o := range jobOutcomes {
			m.jobRuns.WithLabelValues(j, o)
		}
	}
	for _, o := range jobOutcomes {
		m.syncs.WithLabelValues(o)
	}
	for _, k := range githubKinds {
		for _, o := range githubOutcomes {
			m.ghRequests.WithLabelValues(k, o)
		}
	}
	for _, r := range retryReasons {
		m.ghRetries.WithLabelValues(r)
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.httpRequests, m.httpDuration, m.jobRuns, m.jobDuration, m.syncs, m.syncDuration, m.scanDuration,
		m.ghRequests, m.ghRemaining, m.ghPoints, m.ghRetries,
		newDBCollector(st),
	)
	return m
}

// JobFinished implements jobs.Observer.
func (m *Metrics) JobFinished(job, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.jobRuns.WithLabelValues(job, outcome).Inc()
	m.jobDuration.WithLabelValues(job).Observe(d.Seconds())
}

// SyncFinished implements jobs.Observer. Durations of failed or interrupted syncs say little
// (a 404 is fast, a stall slow), so only successful ones feed the histograms.
func (m *Metrics) SyncFinished(outcome string, total, scan time.Duration) {
	if m == nil {
		return
	}
	m.syncs.WithLabelValues(outcome).Inc()
	if outcome != "success" {
		return
	}
	m.syncDuration.Observe(total.Seconds())
	m.scanDuration.Observe(scan.Seconds())
}

// GitHubRequest implements githubql.Observer.
func (m *Metrics) GitHubRequest(kind, outcome string) {
	if m == nil {
		return
	}
	m.ghRequests.WithLabelValues(kind, outcome).Inc()
}

// GitHubRateLimit implements githubql.Observer.
func (m *Metrics) GitHubRateLimit(cost, remaining int) {
	if m == nil {
		return
	}
	m.ghPoints.Add(float64(max(cost, 0)))
	m.ghRemaining.Set(float64(remaining))
}

// GitHubRetry implements githubql.Observer.
func (m *Metrics) GitHubRetry(reason string) {
	if m == nil {
		return
	}
	m.ghRetries.WithLabelValues(reason).Inc()
}

// dbCollector reads the database's figures when scraped, so they are never stale and cost
// nothing between scrapes.
type dbCollector struct {
	st    *store.Store
	repos *prometheus.Desc
	size  *prometheus.Desc
}

// dbScrapeTimeout bounds the queries of one scrape: a busy database must not hang Prometheus.
const dbScrapeTimeout = 3 * time.Second

func newDBCollector(st *store.Store) *dbCollector {
	return &dbCollector{
		st: st,
		repos: prometheus.NewDesc("kubestats_repositories",
			"Known repositories by status: the sync status, or pending_approval, gone, blocked, deleted.",
			[]string{"status"}, nil),
		size: prometheus.NewDesc("kubestats_db_size_bytes",
			"Size of the SQLite database: its pages plus the write-ahead log.", nil, nil),
	}
}

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.repos
	ch <- c.size
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), dbScrapeTimeout)
	defer cancel()
	if counts, err := c.st.RepositoryCounts(ctx); err != nil {
		ch <- prometheus.NewInvalidMetric(c.repos, err)
	} else {
		for _, s := range repoStatuses {
			ch <- prometheus.MustNewConstMetric(c.repos, prometheus.GaugeValue, float64(counts[s]), s)
			delete(counts, s)
		}
		for s, n := range counts { // a status this list does not know yet
			ch <- prometheus.MustNewConstMetric(c.repos, prometheus.GaugeValue, float64(n), s)
		}
	}
	if size, err := c.st.Size(ctx); err != nil {
		ch <- prometheus.NewInvalidMetric(c.size, err)
	} else {
		ch <- prometheus.MustNewConstMetric(c.size, prometheus.GaugeValue, float64(size))
	}
}

// statusText holds the status label values, so counting a request allocates no string.
var statusText = func() (s [600]string) {
	for i := range s {
		s[i] = strconv.Itoa(i)
	}
	return s
}()

// methodLabel bounds the method label: clients may send any token as a method.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

// instrument records each request's route pattern, method, status and latency. It runs the
// error handler itself when the handler fails, so the status counted is the one sent and the
// time includes the error page (the request logger's own call then finds the answer committed).
// The route is Echo's pattern, never the URL, so the label set stays as small as the route table.
func (h *Handlers) instrument(next echo.HandlerFunc) echo.HandlerFunc {
	m := h.cfg.Metrics
	if m == nil {
		return next
	}
	return func(c echo.Context) error {
		start := time.Now()
		finished := false
		defer func() {
			if !finished { // a panic: Recover, further out, answers 500
				m.observeHTTP(c, nil, http.StatusInternalServerError, start)
			}
		}()
		err := next(c)
		finished = true
		if err != nil {
			c.Error(err)
		}
		m.observeHTTP(c, err, c.Response().Status, start)
		return err
	}
}

func (m *Metrics) observeHTTP(c echo.Context, err error, status int, start time.Time) {
	route := c.Path()
	// The router's own 404 (no route, or no static file) carries a pattern that only matched
	// part of the path, or none.
	if route == "" || errors.Is(err, echo.ErrNotFound) {
		route = "unmatched"
	}
	st := "other"
	if status >= 0 && status < len(statusText) {
		st = statusText[status]
	}
	method := methodLabel(c.Request().Method)
	m.httpRequests.WithLabelValues(route, method, st).Inc()
	m.httpDuration.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
}

// registerMetrics mounts GET /metrics when metrics are on. It is never behind the login:
// Prometheus scrapes without cookies. A configured MetricsToken must come as a bearer token.
func (h *Handlers) registerMetrics(e *echo.Echo) {
	if h.cfg.Metrics == nil {
		return
	}
	serve := promhttp.HandlerFor(h.cfg.Metrics.reg, promhttp.HandlerOpts{
		ErrorLog: promLogger{h.log},
		// A failing database query drops its family from the scrape, not the whole scrape.
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	})
	var mw []echo.MiddlewareFunc
	if h.cfg.MetricsToken != "" {
		mw = append(mw, requireBearer(h.cfg.MetricsToken))
	}
	e.GET("/metrics", echo.WrapHandler(serve), mw...)
}

// requireBearer answers 401 unless the request carries Authorization: Bearer <token>.
// Hashes are compared so the comparison takes the same time whatever the length sent.
func requireBearer(token string) echo.MiddlewareFunc {
	want := sha256.Sum256([]byte(token))
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			scheme, got, _ := strings.Cut(c.Request().Header.Get(echo.HeaderAuthorization), " ")
			sum := sha256.Sum256([]byte(strings.TrimSpace(got)))
			if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="kubestats metrics"`)
				return c.String(http.StatusUnauthorized, "401 unauthorized: send Authorization: Bearer <KUBESTATS_METRICS_TOKEN>\n")
			}
			return next(c)
		}
	}
}

// promLogger hands promhttp's errors (a failed collector, a broken connection) to slog.
type promLogger struct{ log *slog.Logger }

func (l promLogger) Println(v ...any) {
	if l.log != nil {
		l.log.Error("metrics scrape failed", "err", strings.TrimSpace(fmt.Sprintln(v...)))
	}
}
