package handlers

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/views"
)

// contentSecurityPolicy allows nothing but the app's own files: no inline script or
// style, no eval (htmx is configured without it), no framing, forms only to us.
// data: images are Pico CSS's built-in icons.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Handler is what the HTTP server serves: the router, answering HEAD wherever GET works.
func (h *Handlers) Handler() http.Handler { return headAsGet(h.Echo()) }

// Echo builds the router: one table of every route, grouped by who may call it.
func (h *Handlers) Echo() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	if h.cfg.TrustProxy {
		e.IPExtractor = echo.ExtractIPFromXFFHeader()
		e.SchemeExtractor = echo.ExtractSchemeFromHeaders()
	} else {
		// Directly exposed: forwarding headers are client-controlled, never trusted.
		e.IPExtractor = echo.ExtractIPDirect()
		e.SchemeExtractor = echo.ExtractSchemeDirect()
	}
	e.HTTPErrorHandler = h.handleError

	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			h.log.Error("panic", "path", c.Path(), "err", err, "stack", string(stack))
			return err
		},
	}))
	e.Use(middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogURI: true, LogMethod: true, LogLatency: true, LogRemoteIP: true, LogError: true,
		HandleError: true, // run the error handler first so the logged status is the one sent
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			level := slog.LevelInfo
			switch {
			case errors.Is(v.Error, store.ErrBusy):
				level = slog.LevelWarn // overload refused on purpose (the password hasher is busy): not a failure
			case v.Status >= 500:
				level = slog.LevelError
			}
			attrs := []slog.Attr{
				slog.String("method", requestMethod(c)), slog.String("uri", v.URI), slog.Int("status", v.Status),
				slog.Int64("duration_ms", v.Latency.Milliseconds()), slog.String("ip", v.RemoteIP),
			}
			if v.Error != nil && (v.Status >= 500 || v.Status == http.StatusRequestTimeout) {
				attrs = append(attrs, slog.String("err", v.Error.Error()))
			}
			h.log.LogAttrs(c.Request().Context(), level, "request", attrs...)
			return nil
		},
	}))
	e.Use(middleware.SecureWithConfig(middleware.SecureConfig{
		XSSProtection: "0", ContentTypeNosniff: "nosniff", XFrameOptions: "DENY",
		HSTSMaxAge: 31536000, ContentSecurityPolicy: contentSecurityPolicy, ReferrerPolicy: "same-origin",
	}))
	e.Use(extraHeaders)
	e.Use(h.instrument)
	e.Use(middleware.BodyLimit("1M"))
	e.Use(checkQuery)

	// Static files and health probes carry no session and need no CSRF cookie.
	e.Use(skipFor(h.csrf(), "/static/", "/api/", "/metrics"))
	e.Use(skipFor(h.loadSession, "/static/", "/api/", "/metrics"))
	e.Use(skipFor(noStore, "/static/"))

	static := e.Group("/static", cacheForever)
	static.StaticFS("/", h.cfg.Static)

	e.GET("/api/health", h.health)
	e.GET("/api/health/db", h.healthDB)
	h.registerMetrics(e)
	h.registerAPI(e)
	h.registerExport(e)

	e.GET("/login", h.showLogin)
	e.POST("/login", h.login, h.throttleLoginByIP)
	e.POST("/logout", h.logout)

	// Per-route guards rather than prefix groups: a group on "" would catch every
	// unknown path too and answer "log in" where "not found" is the truth.
	user := []echo.MiddlewareFunc{h.requireLogin}
	// read guards the read-only views: login, unless the site is public.
	read := user
	if h.cfg.Public {
		read = nil
	}
	e.GET("/", h.showDashboard, read...)
	e.GET("/repositories", h.listRepositories, read...)
	e.GET("/repositories/:owner/:name", h.showRepository, read...)
	e.GET("/repositories/:owner/:name/sync", h.showSyncPanel, read...)
	e.POST("/repositories/:owner/:name/sync", h.syncRepository, user...)
	e.GET("/repositories/:owner/:name/resources", h.listRepoResources, read...)
	e.GET("/repositories/:owner/:name/resources/:id", h.showRepoResource, read...)
	e.GET("/repositories/:owner/:name/events", h.listRepoEvents, read...)
	h.registerCharts(e, read)
	h.registerImages(e, read)
	h.registerDeprecations(e, read)
	h.registerKinds(e, read)
	h.registerEcosystem(e, read)
	h.registerSearch(e, read)
	e.GET("/account", h.showAccount, user...)
	e.POST("/account", h.updateAccount, user...)
	e.POST("/account/password", h.changePassword, user...)
	h.registerTokens(e, user)

	admin := []echo.MiddlewareFunc{h.requireLogin, h.requireSuperuser}
	e.GET("/jobs", h.showJobs, admin...)
	e.GET("/jobs/runs", h.listJobRuns, admin...)
	e.POST("/jobs/:name/run", h.runJob, admin...)
	e.POST("/repositories/:owner/:name/:action", h.repositoryAction, admin...)
	e.GET("/users", h.listUsers, admin...)
	e.GET("/users/new", h.newUser, admin...)
	e.POST("/users/new", h.createUser, admin...)
	e.GET("/users/:id", h.showUser, admin...)
	e.POST("/users/:id", h.updateUser, admin...)
	return e
}

// skipFor applies m except to paths under the given prefixes.
func skipFor(m echo.MiddlewareFunc, prefixes ...string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		wrapped := m(next)
		return func(c echo.Context) error {
			for _, p := range prefixes {
				if strings.HasPrefix(c.Request().URL.Path, p) {
					return next(c)
				}
			}
			return wrapped(c)
		}
	}
}

// extraHeaders adds the isolation headers that Echo's Secure middleware does not set.
func extraHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		hd := c.Response().Header()
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		hd.Set("Cross-Origin-Resource-Policy", "same-origin")
		hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
		return next(c)
	}
}

// noStore keeps pages with private data out of shared and browser caches.
func noStore(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "no-store")
		return next(c)
	}
}

// cacheForever marks static files immutable: vendored files carry their version in
// the name and the app's own files are linked with a content fingerprint. Only a file that
// is there: a 404 remembered for a year would outlive the next release's file.
func cacheForever(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		res := c.Response()
		res.Before(func() {
			if res.Status < 400 {
				res.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
			} else {
				res.Header().Set("Cache-Control", "no-store")
			}
		})
		return next(c)
	}
}

// csrf is Echo's CSRF middleware with its cookie marked Secure on https requests.
// Echo checks Sec-Fetch-Site first and falls back to the double-submit token that
// forms send as _csrf and htmx as X-CSRF-Token (from <body hx-headers>).
func (h *Handlers) csrf() echo.MiddlewareFunc {
	plain := middleware.CSRFWithConfig(csrfConfig(false))
	secure := middleware.CSRFWithConfig(csrfConfig(true))
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		p, s := plain(next), secure(next)
		return func(c echo.Context) error {
			if c.Scheme() == "https" {
				return s(c)
			}
			return p(c)
		}
	}
}

// csrfConfig is the CSRF middleware's configuration; rotateCSRF writes the same cookie.
func csrfConfig(secure bool) middleware.CSRFConfig {
	return middleware.CSRFConfig{
		TokenLookup:    "header:X-CSRF-Token,form:_csrf",
		ContextKey:     "csrf",
		CookieName:     csrfCookie,
		CookiePath:     "/",
		CookieHTTPOnly: true,
		CookieSameSite: http.SameSiteLaxMode,
		CookieMaxAge:   int((24 * time.Hour).Seconds()),
		CookieSecure:   secure,
	}
}

// throttledError answers 429 with the wait before the next try.
type throttledError struct{ retryAfter time.Duration }

func (e *throttledError) Error() string { return "too many login attempts" }

// busyRetryAfter is the Retry-After sent when the password hasher is saturated
// (store.ErrBusy): a burst of logins drains in a few seconds.
const busyRetryAfter = 5

// handleError is the single place that turns errors into responses: JSON for the API,
// a small partial for htmx requests, a full page otherwise.
func (h *Handlers) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, msg := http.StatusInternalServerError, "Something went wrong on our side. The error was logged."
	var he *echo.HTTPError
	var te *throttledError
	var ve *store.ValidationError
	var ae *APIError
	switch {
	case clientGone(c, err):
		// The client stopped sending or left: its timeout, not our failure. Nobody reads
		// the answer, so it is only a status for the request log.
		_ = c.NoContent(http.StatusRequestTimeout)
		return
	case errors.As(err, &ae):
		status, msg = ae.Status, ae.Message
	case errors.As(err, &te):
		secs := int(te.retryAfter.Round(time.Second).Seconds())
		secs = max(secs, 1)
		c.Response().Header().Set("Retry-After", itoa(secs))
		status, msg = http.StatusTooManyRequests, "Too many login attempts. Wait "+itoa(secs)+" seconds and try again."
	case errors.Is(err, store.ErrBusy):
		// Overload, not a fault: no error log of its own, and the client is told when to retry.
		c.Response().Header().Set("Retry-After", itoa(busyRetryAfter))
		status, msg = http.StatusServiceUnavailable, "The server is busy checking other passwords. Wait a few seconds and try again."
	case errors.Is(err, store.ErrNotFound):
		status, msg = http.StatusNotFound, "There is nothing here."
	case errors.As(err, &ve):
		status, msg = http.StatusBadRequest, ve.Msg
	case errors.As(err, &he):
		status = he.Code
		switch {
		case isCSRFError(he):
			msg = "The form expired or did not come from this site. Reload the page and try again."
		case status == http.StatusForbidden:
			msg = "You do not have permission to see this page."
		case status == http.StatusNotFound:
			msg = "There is nothing here."
		case status < 500:
			msg = http.StatusText(status)
			if m, ok := he.Message.(string); ok && m != "" {
				msg = m
			}
		}
	}
	if status >= 500 && !errors.Is(err, store.ErrBusy) {
		h.log.Error("request failed", "method", c.Request().Method, "uri", c.Request().RequestURI, "err", err)
	}
	if isAPIv1(c.Request().URL.Path) {
		code := apiErrorCode(status)
		if ae != nil {
			code = ae.Code
		}
		_ = c.JSON(status, map[string]*APIError{"error": {Code: code, Message: msg}})
		return
	}
	if strings.HasPrefix(c.Request().URL.Path, "/api/") {
		_ = c.JSON(status, map[string]string{"status": "error", "error": msg})
		return
	}
	if c.Request().Header.Get("HX-Request") == "true" {
		_ = render(c, status, views.ErrorPartial(status, msg))
		return
	}
	title := http.StatusText(status)
	if rerr := render(c, status, views.ErrorPage(h.layout(c, title, ""), status, msg)); rerr != nil {
		h.log.Error("render error page", "err", rerr)
		_ = c.String(status, msg)
	}
}

// clientGone: err is the end of the request's own context (net/http cancels it when the
// connection fails, a body read timing out included) or a timeout reading the body.
func clientGone(c echo.Context, err error) bool {
	if c.Request().Context().Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isCSRFError(he *echo.HTTPError) bool {
	m, _ := he.Message.(string)
	return strings.Contains(strings.ToLower(m), "csrf") || strings.Contains(strings.ToLower(m), "cross-site")
}
