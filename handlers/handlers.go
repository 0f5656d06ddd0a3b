// Package handlers owns Kubestats' HTTP surface: the Echo router, middleware and page handlers.
package handlers

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/a-h/templ"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"github.com/kubestats/kubestats/githubql"
	"github.com/kubestats/kubestats/jobs"
	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/views"
)

// Config is what the HTTP layer needs from the process configuration.
type Config struct {
	Version         string
	SecretKey       []byte        // signs and encrypts cookies; at least 32 bytes
	SessionIdle     time.Duration // a session ends after this long without a request
	SessionLifetime time.Duration // and at the latest this long after login
	// TrustProxy takes the client IP from X-Forwarded-For and the scheme from
	// X-Forwarded-Proto, when those come from a loopback or private address.
	TrustProxy     bool
	GitHubTokenSet bool
	// Public lets anonymous visitors read every read-only view; actions and admin stay behind login.
	Public    bool
	Topics    []string
	Static    fs.FS // the embedded static/ directory
	Now       func() time.Time
	StartedAt time.Time
	// API: requests per minute per user, all their tokens and sessions together (per client IP
	// for anonymous reads); 0 means the default.
	APIRateLimit int
	// ExportPath is where the dataset export is written and served from.
	ExportPath string
	// MetricsToken, when set, must be sent as a bearer token to read /metrics.
	MetricsToken string
	// Metrics receives the HTTP figures and serves /metrics; nil serves none.
	Metrics *Metrics
}

// JobRunner is what the handlers need of the job runner.
type JobRunner interface {
	RunAsync(job, trigger string) error
	Infos() []jobs.Info
	QueueSync(ctx context.Context, repoID int64, rescan bool) error
	SyncQueued(repoID int64) bool
}

// RateLimiter reports the GitHub client's rate-limit state.
type RateLimiter interface {
	RateLimit() githubql.RateLimit
}

// Handlers serves every route. Build it with New, mount it with Echo.
type Handlers struct {
	jobs         JobRunner
	github       RateLimiter
	store        *store.Store
	cfg          Config
	log          *slog.Logger
	cookies      *sessions.CookieStore
	loginByIP    *throttle
	loginByEmail *throttle
	assetVersion string
	policy       store.SessionPolicy
	apiLimit     *apiLimiter   // the API's per-client budget, shared by every /api/v1 group
	backups      chan struct{} // holds a token while a backup download is written and sent
	// repoFacets caches the repositories page's filter menus: counting topics means reading every
	// repository's topics, and the menus need not change with every sync.
	repoFacets *ttlCache[repoFacets]
	// community caches the dashboard's figures. After a change the next view reloads them in
	// the background; a minute bounds how long changes made by another process (a CLI run) take.
	community *ttlCache[dashboardFigures]
	operator  *ttlCache[operatorFigures]
	// repoLists caches pages of the repositories list by filter: searching and counting
	// thousands of repositories is the list's whole cost (6–17 ms). After a sync the old
	// page is served while one background load replaces it; a repository action clears it.
	repoLists *ttlCache[store.RepoPage]
	// repoListResults keeps those pages' tables, rendered. Their "pushed … ago" column ages,
	// so an entry lasts listRenderTTL at most.
	repoListResults *ttlCache[templ.Component]
	// imageTags and imageUsages cache an image page's aggregates: a popular image has
	// thousands of usages to group and sort.
	imageLists *ttlCache[store.ImagePage]
	// imageListResults keeps those pages' tables, rendered, on the same terms.
	imageListResults *ttlCache[templ.Component]
	imageRegistries  *ttlCache[[]store.Facet]
	imageTags        *ttlCache[[]store.TagCount]
	imageUsages      *ttlCache[store.ImageUsePage]
	// imagePages keeps an image page's tag and usage tables, rendered, on the same terms.
	imagePages *ttlCache[imagePage]
	// repoPages caches a repository page's metrics and scan sections under the repository's
	// state (see repoStateKey), so it is exact without following the store's version.
	repoPages *ttlCache[repoPageData]
	// repoResources and repoEventDays cache a repository's resource pages and its year of
	// daily event counts the same way.
	repoResources      *ttlCache[store.ResourcePage]
	repoResourceFacets *ttlCache[resourceFacets]
	// repoResourceResults keeps the resources table of each such page, rendered.
	repoResourceResults *ttlCache[templ.Component]
	// repoEventResults keeps the events table of each page of a repository's events, rendered.
	repoEventResults *ttlCache[templ.Component]
	repoEventDays    *ttlCache[eventDays]
	repoEvents       *ttlCache[store.EventPage]
	// ecosystemPages keeps the ecosystem page's body, rendered, for each range: only the
	// aggregate job changes it, and a year of days is a few hundred table rows.
	ecosystemPages *ttlCache[ecosystemPage]
	// answers and bigAnswers keep the API's finished answers of the routes that answer the
	// same to everyone (see cachedAnswer).
	answers, bigAnswers *ttlCache[apiAnswer]
	// deprecatedAPIs caches the deprecations overview, a GROUP BY over every deprecated usage.
	deprecatedAPIs *ttlCache[[]store.DeprecatedAPI]
}

// listRenderTTL bounds how long a rendered list with relative times ("3 min ago") is kept.
const listRenderTTL = 30 * time.Second

// repoStateTTL is how long the caches keyed on repoStateKey keep an entry. The key changes with
// every scan and refresh, whichever process made them, so the time only bounds how long an
// unvisited repository's pages stay in memory, and how often a busy one is loaded afresh.
const repoStateTTL = 10 * time.Minute

// repoStateEntries bounds each of those caches: a repository's page with its rendered parts is
// 50–100 KB, so a crawler walking every repository keeps them to some tens of MB.
const repoStateEntries = 256

type repoFacets struct{ languages, topics []store.Facet }

// eventDays is a repository's year of daily event counts, rendered as chart and table.
type eventDays struct {
	html    templ.Component
	charted bool
}

type resourceFacets struct{ kinds, namespaces []store.Facet }

// Login throttling: a burst of 5 attempts, then one every 12 s (5 a minute), per client
// IP and, counting only failures, per account, so guessing is slow from one address and
// spreading guesses over many addresses still cannot hammer one account.
const (
	loginBurst = 5
	loginEvery = 12 * time.Second
)

// New checks the configuration and prepares the handlers.
func New(s *store.Store, cfg Config, runner JobRunner, gh RateLimiter, log *slog.Logger) (*Handlers, error) {
	if len(cfg.SecretKey) < 32 {
		return nil, errors.New("handlers: secret key must have at least 32 bytes")
	}
	if cfg.SessionIdle <= 0 || cfg.SessionLifetime <= 0 {
		return nil, errors.New("handlers: session idle timeout and lifetime must be positive")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.StartedAt.IsZero() {
		cfg.StartedAt = cfg.Now()
	}
	av, err := hashFS(cfg.Static)
	if err != nil {
		return nil, fmt.Errorf("handlers: static files: %w", err)
	}
	// Separate keys per purpose, derived from the one secret, so rotating the secret
	// rotates them all and neither key can be used in the other's place.
	cs := sessions.NewCookieStore(deriveKey(cfg.SecretKey, "cookie-auth"), deriveKey(cfg.SecretKey, "cookie-enc"))
	cs.Options = &sessions.Options{Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode}
	return &Handlers{
		jobs:                runner,
		github:              gh,
		store:               s,
		cfg:                 cfg,
		log:                 log,
		cookies:             cs,
		loginByIP:           newThrottle(loginEvery, loginBurst, cfg.Now),
		loginByEmail:        newThrottle(loginEvery, loginBurst, cfg.Now),
		repoFacets:          newTTLCache[repoFacets](time.Minute, 1, cfg.Now).withVersion(s.Version).serveStale(),
		community:           newTTLCache[dashboardFigures](time.Minute, 1, cfg.Now).withVersion(s.Version).serveStale(),
		operator:            newTTLCache[operatorFigures](operatorTTL, 1, cfg.Now),
		repoListResults:     newTTLCache[templ.Component](listRenderTTL, 256, cfg.Now).withVersion(s.Version).serveStale(),
		repoLists:           newTTLCache[store.RepoPage](time.Minute, 256, cfg.Now).withVersion(s.Version).serveStale(),
		imageListResults:    newTTLCache[templ.Component](time.Minute, 256, cfg.Now).withVersion(s.Version),
		imageLists:          newTTLCache[store.ImagePage](time.Minute, 256, cfg.Now).withVersion(s.Version),
		imageRegistries:     newTTLCache[[]store.Facet](time.Minute, 1, cfg.Now).withVersion(s.Version),
		imageTags:           newTTLCache[[]store.TagCount](time.Minute, 256, cfg.Now).withVersion(s.Version).serveStale(),
		imageUsages:         newTTLCache[store.ImageUsePage](time.Minute, 256, cfg.Now).withVersion(s.Version).serveStale(),
		imagePages:          newTTLCache[imagePage](time.Minute, 256, cfg.Now).withVersion(s.Version).serveStale(),
		repoPages:           newTTLCache[repoPageData](repoStateTTL, repoStateEntries, cfg.Now),
		repoResources:       newTTLCache[store.ResourcePage](repoStateTTL, repoStateEntries, cfg.Now),
		repoEvents:          newTTLCache[store.EventPage](repoStateTTL, repoStateEntries, cfg.Now),
		repoResourceFacets:  newTTLCache[resourceFacets](repoStateTTL, repoStateEntries, cfg.Now),
		repoResourceResults: newTTLCache[templ.Component](repoStateTTL, repoStateEntries, cfg.Now),
		repoEventDays:       newTTLCache[eventDays](repoStateTTL, repoStateEntries, cfg.Now),
		repoEventResults:    newTTLCache[templ.Component](repoStateTTL, repoStateEntries, cfg.Now),
		ecosystemPages:      newTTLCache[ecosystemPage](time.Minute, 16, cfg.Now).withVersion(s.EcosystemVersion).serveStale(),
		answers:             newTTLCache[apiAnswer](time.Minute, apiAnswers, cfg.Now).withVersion(s.Version).reloadInRequest(),
		bigAnswers:          newTTLCache[apiAnswer](time.Minute, apiBigAnswers, cfg.Now).withVersion(s.Version).reloadInRequest(),
		deprecatedAPIs:      newTTLCache[[]store.DeprecatedAPI](time.Minute, 16, cfg.Now).withVersion(s.Version).serveStale(),
		assetVersion:        av,
		policy:              store.SessionPolicy{Idle: cfg.SessionIdle, Lifetime: cfg.SessionLifetime},
		apiLimit:            newAPILimiter(cfg),
		backups:             make(chan struct{}, 1),
	}, nil
}

func deriveKey(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// hashFS fingerprints the static files once at start-up; pages link unversioned files
// with ?v=<fingerprint> so that every static file can be cached as immutable.
func hashFS(fsys fs.FS) (string, error) {
	h := sha256.New()
	err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(b))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12], err
}

// render writes a component after rendering it to a buffer, so a failing template
// produces a clean error page instead of half a page with status 200.
func render(c echo.Context, status int, t templ.Component) error {
	return renderCtx(c, c.Request().Context(), status, t)
}

// renderPage renders the layout around a body rendered before, usually a cached fragment.
func renderPage(c echo.Context, status int, l views.Layout, body templ.Component) error {
	return renderCtx(c, templ.WithChildren(c.Request().Context(), body), status, views.Page(l))
}

// fragment renders t once into HTML for a cache to keep, so that every later page embeds it
// rather than rendering the same rows again. templ escaped everything in it, so it is
// embedded as is.
func fragment(ctx context.Context, t templ.Component) (templ.Component, error) {
	var b strings.Builder
	if err := t.Render(ctx, &b); err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	return templ.Raw(b.String()), nil
}

func renderCtx(c echo.Context, ctx context.Context, status int, t templ.Component) error {
	buf := renderBufs.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= maxPooledRender {
			buf.Reset()
			renderBufs.Put(buf)
		}
	}()
	if err := t.Render(ctx, buf); err != nil {
		return fmt.Errorf("render: %w", err)
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// renderBufs reuses page buffers: growing a fresh buffer to a page's 50–150 KB cost more CPU
// (copying, zeroing, returning memory to the OS) than some pages' queries. It holds no
// state between requests, only memory; buffers above maxPooledRender are left to the GC so
// one huge page does not pin its size in every pooled buffer.
var renderBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledRender = 1 << 20

// layout builds the data every full page needs.
func (h *Handlers) layout(c echo.Context, title, active string) views.Layout {
	l := views.Layout{
		Title:        title,
		Active:       active,
		User:         currentUser(c),
		Version:      h.cfg.Version,
		AssetVersion: h.assetVersion,
		Flashes:      h.popFlashes(c),
		Public:       h.cfg.Public,
	}
	l.CSRF = csrfToken(c)
	return l
}

// csrfToken is the request's CSRF token, set by Echo's middleware.
func csrfToken(c echo.Context) string {
	tok, _ := c.Get("csrf").(string)
	return tok
}
