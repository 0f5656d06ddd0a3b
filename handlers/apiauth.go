package handlers

import (
	"crypto/subtle"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/kubestats/kubestats/store"
)

// How an API request authenticated, kept in the echo context under ctxAPIAuth so handlers
// (and the access log) can tell a script from a browser.
const (
	apiAuthToken     = "token"
	apiAuthSession   = "session"
	apiAuthAnonymous = "anonymous"

	ctxAPIAuth  = "kubestats.api_auth"  // one of the apiAuth* values
	ctxAPIToken = "kubestats.api_token" // *store.APIToken, for token requests only

	// defaultAPIRateLimit is requests per minute per user (all their tokens and sessions
	// together) or per anonymous client IP.
	defaultAPIRateLimit = 600
	// csrfCookie is the double-submit cookie of Echo's CSRF middleware (see h.csrf).
	csrfCookie = "kubestats_csrf"
)

// apiAuthKind is how the request authenticated: apiAuthToken, apiAuthSession or apiAuthAnonymous.
func apiAuthKind(c echo.Context) string {
	if k, ok := c.Get(ctxAPIAuth).(string); ok {
		return k
	}
	return apiAuthAnonymous
}

// apiToken is the token a request authenticated with, or nil.
func apiToken(c echo.Context) *store.APIToken {
	t, _ := c.Get(ctxAPIToken).(*store.APIToken)
	return t
}

// apiLimiter is the API's request budget per user, or per client IP for anonymous
// requests and failed authentications: a token bucket refilling at the
// configured rate per minute, with a burst of a tenth of it (at least 10) so a script may
// fire a few requests at once but not sustain more than the rate.
type apiLimiter struct {
	t     *throttle
	limit int
}

func newAPILimiter(cfg Config) *apiLimiter {
	limit := cfg.APIRateLimit
	if limit <= 0 {
		limit = defaultAPIRateLimit
	}
	burst := min(limit, max(10, limit/10))
	return &apiLimiter{t: newThrottle(time.Minute/time.Duration(limit), burst, cfg.Now), limit: limit}
}

// spend is throttle.take that also reports the whole tokens left, for X-RateLimit-Remaining.
func (t *throttle) spend(key string) (ok bool, left int, wait time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	b := t.bucket(key, now)
	if b.AllowN(now, 1) {
		return true, int(math.Floor(b.TokensAt(now))), 0
	}
	return false, 0, t.wait(b, now)
}

// allow spends one request of key's budget, setting the rate-limit headers; over the
// budget it returns the 429 to send.
func (l *apiLimiter) allow(c echo.Context, key string) error {
	ok, left, wait := l.t.spend(key)
	hd := c.Response().Header()
	hd.Set("X-RateLimit-Limit", strconv.Itoa(l.limit))
	hd.Set("X-RateLimit-Remaining", strconv.Itoa(max(left, 0)))
	if ok {
		return nil
	}
	secs := max(int(math.Ceil(wait.Seconds())), 1)
	hd.Set("Retry-After", strconv.Itoa(secs))
	return newAPIError(http.StatusTooManyRequests, "rate_limited",
		"Too many requests: the limit is "+strconv.Itoa(l.limit)+" a minute. Retry in "+strconv.Itoa(secs)+" s.")
}

// bearerToken extracts the token of an "Authorization: Bearer <token>" header. The scheme
// is case-insensitive (RFC 9110); the token itself may not contain spaces.
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || strings.ContainsAny(token, " \t") {
		return "", false
	}
	return token, true
}

func invalidToken(c echo.Context, msg string) error {
	c.Response().Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	return newAPIError(http.StatusUnauthorized, "invalid_token", msg)
}

func unauthorized(c echo.Context) error {
	c.Response().Header().Set("WWW-Authenticate", "Bearer")
	return newAPIError(http.StatusUnauthorized, "unauthorized", "Authentication required: send Authorization: Bearer <token>.")
}

// apiAuth authenticates an API request by bearer token or, without an Authorization
// header, by the browser's session cookie (the global session middleware skips /api/), and
// charges it to one budget in the limiter every /api/v1 group shares: the user's, whichever
// token or session they came with (so more tokens never mean more requests), else the
// client IP's.
func (h *Handlers) apiAuth(next echo.HandlerFunc) echo.HandlerFunc {
	l := h.apiLimit
	return func(c echo.Context) error {
		ipKey := "ip:" + c.RealIP()
		if header := c.Request().Header.Get(echo.HeaderAuthorization); header != "" {
			token, ok := bearerToken(header)
			if !ok {
				// Failed attempts spend the client IP's budget, which bounds the work junk can cause.
				if err := l.allow(c, ipKey); err != nil {
					return err
				}
				return invalidToken(c, "The Authorization header must be: Bearer <token>.")
			}
			u, t, err := h.store.TokenUser(c.Request().Context(), token)
			if errors.Is(err, store.ErrNotFound) {
				if err := l.allow(c, ipKey); err != nil {
					return err
				}
				return invalidToken(c, "The token is unknown or revoked.")
			}
			if err != nil {
				return err
			}
			c.Set(ctxUser, &u)
			c.Set(ctxAPIToken, &t)
			c.Set(ctxAPIAuth, apiAuthToken)
			if err := l.allow(c, userBudget(u.ID)); err != nil {
				return err
			}
			return next(c)
		}
		if err := h.resolveSession(c); err != nil {
			return err
		}
		key := ipKey
		if u := currentUser(c); u != nil {
			c.Set(ctxAPIAuth, apiAuthSession)
			key = userBudget(u.ID)
		} else {
			c.Set(ctxAPIAuth, apiAuthAnonymous)
		}
		if err := l.allow(c, key); err != nil {
			return err
		}
		return next(c)
	}
}

// userBudget is the limiter key of a user's requests, by token or session alike.
func userBudget(id int64) string { return "user:" + strconv.FormatInt(id, 10) }

// apiRead lets a request read the API: any authenticated user, or anyone on a public site.
func (h *Handlers) apiRead(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if currentUser(c) == nil && !h.cfg.Public {
			return unauthorized(c)
		}
		return next(c)
	}
}

// apiWrite lets an authenticated user change state: token requests as they are, session
// requests only with the CSRF token in X-CSRF-Token. A browser attaches the session cookie
// to cross-site requests by itself; only a page of ours can read the token to send it.
func (h *Handlers) apiWrite(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if currentUser(c) == nil {
			return unauthorized(c)
		}
		if apiAuthKind(c) == apiAuthToken {
			return next(c)
		}
		sent := c.Request().Header.Get("X-CSRF-Token")
		ck, err := c.Cookie(csrfCookie)
		if err != nil || ck.Value == "" || sent == "" || subtle.ConstantTimeCompare([]byte(sent), []byte(ck.Value)) != 1 {
			return newAPIError(http.StatusForbidden, "csrf",
				"Requests authenticated by the session cookie must send the page's CSRF token as X-CSRF-Token; scripts should use a token.")
		}
		return next(c)
	}
}

// apiSuperuser lets superusers only: anonymous requests get 401 (authenticate), others 403.
func (h *Handlers) apiSuperuser(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u := currentUser(c)
		if u == nil {
			return unauthorized(c)
		}
		if !u.IsSuperuser {
			return newAPIError(http.StatusForbidden, "forbidden", "Only superusers may do this.")
		}
		return next(c)
	}
}

// apiGroup is the /api/v1 group every API route is mounted on: authentication and the rate
// limit run first.
func (h *Handlers) apiGroup(e *echo.Echo) *echo.Group {
	return e.Group(apiV1, h.apiAuth)
}
