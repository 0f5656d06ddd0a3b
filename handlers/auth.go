package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/views"
)

func (h *Handlers) showLogin(c echo.Context) error {
	if currentUser(c) != nil {
		return c.Redirect(http.StatusSeeOther, safeNext(c.QueryParam("next")))
	}
	return h.renderLogin(c, http.StatusOK, views.LoginForm{Next: c.QueryParam("next")})
}

func (h *Handlers) renderLogin(c echo.Context, status int, f views.LoginForm) error {
	counts, err := h.store.CountUsers(c.Request().Context())
	if err != nil {
		return err
	}
	f.NoUsers = counts.Total == 0
	f.Next = safeNext(f.Next)
	return render(c, status, views.LoginPage(h.layout(c, "Log in", "login"), f))
}

// throttleLoginByIP limits login attempts per client address, successful or not: each
// attempt costs an argon2id computation, so this also caps the hashing load one client causes.
func (h *Handlers) throttleLoginByIP(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if ok, wait := h.loginByIP.take(c.RealIP()); !ok {
			h.log.Warn("login throttled", "ip", c.RealIP(), "by", "ip")
			return &throttledError{retryAfter: wait}
		}
		return next(c)
	}
}

func (h *Handlers) login(c echo.Context) error {
	email := strings.TrimSpace(c.FormValue("email"))
	password := c.FormValue("password")
	form := views.LoginForm{Email: email, Next: c.FormValue("next")}
	account := strings.ToLower(email)
	if ok, wait := h.loginByEmail.check(account); !ok {
		h.log.Warn("login throttled", "ip", c.RealIP(), "by", "account")
		return &throttledError{retryAfter: wait}
	}
	u, err := h.store.Authenticate(c.Request().Context(), email, password)
	if errors.Is(err, store.ErrInvalidCredentials) {
		h.loginByEmail.take(account)
		h.log.Info("login failed", "ip", c.RealIP())
		form.Error = "Wrong email or password."
		return h.renderLogin(c, http.StatusUnauthorized, form)
	}
	if err != nil {
		return err
	}
	if err := h.startSession(c, u); err != nil {
		return err
	}
	h.log.Info("login", "user_id", u.ID, "ip", c.RealIP())
	return c.Redirect(http.StatusSeeOther, safeNext(form.Next))
}

func (h *Handlers) logout(c echo.Context) error {
	if token, ok := c.Get(ctxToken).(string); ok {
		if err := h.store.DeleteSession(c.Request().Context(), token); err != nil {
			return err
		}
	}
	h.clearSessionCookie(c)
	if err := h.rotateCSRF(c); err != nil {
		return err
	}
	h.addFlash(c, "info", "You have been logged out.")
	return c.Redirect(http.StatusSeeOther, "/login")
}
