package handlers

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/views"
)

// Cookie names. The session cookie holds only the opaque session token (signed and
// encrypted by gorilla/sessions); everything else about the session is in the database.
const (
	sessionCookie = "kubestats_session"
	flashCookie   = "kubestats_flash"
	tokenKey      = "token"

	ctxUser  = "kubestats.user"
	ctxToken = "kubestats.token"
)

func itoa(n int) string { return strconv.Itoa(n) }

func currentUser(c echo.Context) *store.User {
	u, _ := c.Get(ctxUser).(*store.User)
	return u
}

// cookieSession returns a gorilla session whose cookie is Secure exactly when the
// request came over https (directly, or via a trusted proxy).
func (h *Handlers) cookieSession(c echo.Context, name string) *sessions.Session {
	// A cookie that fails to decode (old key, tampering) yields a fresh session.
	sess, _ := h.cookies.Get(c.Request(), name)
	sess.Options.Secure = c.Scheme() == "https"
	return sess
}

// loadSession resolves the session cookie to a user. A dead session clears the cookie.
func (h *Handlers) loadSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := h.resolveSession(c); err != nil {
			return err
		}
		return next(c)
	}
}

// resolveSession is loadSession's work, shared with the API's authentication.
func (h *Handlers) resolveSession(c echo.Context) error {
	sess := h.cookieSession(c, sessionCookie)
	token, _ := sess.Values[tokenKey].(string)
	if token == "" {
		return nil
	}
	u, _, err := h.store.SessionUser(c.Request().Context(), token, h.policy)
	switch {
	case errors.Is(err, store.ErrNotFound):
		h.clearSessionCookie(c)
	case err != nil:
		return err
	default:
		c.Set(ctxUser, &u)
		c.Set(ctxToken, token)
	}
	return nil
}

// startSession logs the user in with a brand-new token (never reusing one the browser
// brought, which prevents session fixation) and ends the session it replaces.
func (h *Handlers) startSession(c echo.Context, u store.User) error {
	ctx := c.Request().Context()
	if old, ok := c.Get(ctxToken).(string); ok {
		if err := h.store.DeleteSession(ctx, old); err != nil {
			return err
		}
	}
	token, err := h.store.CreateSession(ctx, u.ID, h.policy, c.RealIP(), c.Request().UserAgent())
	if err != nil {
		return err
	}
	sess := h.cookieSession(c, sessionCookie)
	sess.Values = map[any]any{tokenKey: token}
	sess.Options.MaxAge = int(h.cfg.SessionLifetime.Seconds())
	if err := sess.Save(c.Request(), c.Response()); err != nil {
		return err
	}
	c.Set(ctxUser, &u)
	c.Set(ctxToken, token)
	return h.rotateCSRF(c)
}

// rotateCSRF gives the browser a new CSRF token in this response. Echo's middleware keeps
// whatever kubestats_csrf cookie the browser sends, so without this a token planted before
// login (or read before logout) would stay valid for the next session.
func (h *Handlers) rotateCSRF(c echo.Context) error {
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return fmt.Errorf("csrf token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(buf)
	conf := csrfConfig(c.Scheme() == "https")
	// The middleware already set the old value on this response; leave exactly one.
	hd := c.Response().Header()
	var kept []string
	for _, v := range hd.Values(echo.HeaderSetCookie) {
		if ck, err := http.ParseSetCookie(v); err != nil || ck.Name != conf.CookieName {
			kept = append(kept, v)
		}
	}
	hd.Del(echo.HeaderSetCookie)
	for _, v := range kept {
		hd.Add(echo.HeaderSetCookie, v)
	}
	c.SetCookie(&http.Cookie{
		Name: conf.CookieName, Value: token, Path: conf.CookiePath, MaxAge: conf.CookieMaxAge,
		Secure: conf.CookieSecure, HttpOnly: conf.CookieHTTPOnly, SameSite: conf.CookieSameSite,
	})
	c.Set(conf.ContextKey, token) // anything this response renders carries the new token
	return nil
}

func (h *Handlers) clearSessionCookie(c echo.Context) {
	sess := h.cookieSession(c, sessionCookie)
	sess.Values = map[any]any{}
	sess.Options.MaxAge = -1
	_ = sess.Save(c.Request(), c.Response())
}

// requireLogin sends anonymous visitors to the login page, remembering where they were going.
func (h *Handlers) requireLogin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if currentUser(c) != nil {
			return next(c)
		}
		target := "/login"
		if r := c.Request(); r.Method == http.MethodGet && r.URL.Path != "/" {
			target += "?next=" + url.QueryEscape(r.URL.RequestURI())
		}
		if c.Request().Header.Get("HX-Request") == "true" {
			// htmx would swap a redirected login page into a fragment; make it navigate.
			c.Response().Header().Set("HX-Redirect", target)
			return c.NoContent(http.StatusUnauthorized)
		}
		return c.Redirect(http.StatusSeeOther, target)
	}
}

func (h *Handlers) requireSuperuser(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if u := currentUser(c); u == nil || !u.IsSuperuser {
			return echo.NewHTTPError(http.StatusForbidden)
		}
		return next(c)
	}
}

// safeNext accepts only local paths as a post-login destination (no open redirect).
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || strings.HasPrefix(u.Path, "/login") {
		return "/"
	}
	return next
}

// addFlash queues a message for the next page the browser shows.
func (h *Handlers) addFlash(c echo.Context, kind, msg string) {
	sess := h.cookieSession(c, flashCookie)
	sess.Options.MaxAge = 300
	sess.AddFlash(kind + "\x00" + msg)
	if err := sess.Save(c.Request(), c.Response()); err != nil {
		h.log.Warn("save flash", "err", err)
	}
}

func (h *Handlers) popFlashes(c echo.Context) []views.Flash {
	if _, err := c.Cookie(flashCookie); err != nil {
		return nil
	}
	sess := h.cookieSession(c, flashCookie)
	raw := sess.Flashes()
	sess.Options.MaxAge = -1
	_ = sess.Save(c.Request(), c.Response())
	out := make([]views.Flash, 0, len(raw))
	for _, r := range raw {
		s, _ := r.(string)
		kind, msg, ok := strings.Cut(s, "\x00")
		if !ok {
			continue
		}
		out = append(out, views.Flash{Kind: kind, Msg: msg})
	}
	return out
}
