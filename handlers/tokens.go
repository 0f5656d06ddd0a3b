package handlers

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/views"
)

// registerTokens mounts the account page's token actions and GET /api/v1/me.
func (h *Handlers) registerTokens(e *echo.Echo, user []echo.MiddlewareFunc) {
	e.POST("/account/tokens", h.createToken, user...)
	e.POST("/account/tokens/:id/revoke", h.revokeToken, user...)
	h.apiGroup(e).GET("/me", h.showMe, h.apiRead)
}

// tokensView fills the account page's token section with the user's tokens. A failed
// load is logged and shown in the section rather than failing the whole account page.
func (h *Handlers) tokensView(c echo.Context, tv views.TokensView) views.TokensView {
	u := currentUser(c)
	tokens, err := h.store.ListTokens(c.Request().Context(), u.ID)
	if err != nil {
		h.log.Error("list tokens", "user", u.ID, "err", err)
		tv.Unavailable = true
		return tv
	}
	tv.Tokens = tokens
	return tv
}

// createToken shows the new token in its own response, the only time it exists in clear:
// no redirect, so it never sits in a cookie or a URL.
func (h *Handlers) createToken(c echo.Context) error {
	u := currentUser(c)
	f := views.AccountForms{Name: u.Name, Email: u.Email}
	name := c.FormValue("name")
	token, t, err := h.store.CreateToken(c.Request().Context(), u.ID, name)
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		field := "token_name"
		if ve.Field != "name" {
			field = "" // about the account (the token limit), not the name: shown above the form
		}
		tv := h.tokensView(c, views.TokensView{Name: name, Errors: views.FormErrors{field: ve.Msg}})
		return render(c, http.StatusUnprocessableEntity, views.AccountPage(h.layout(c, "Account", "account"), f, tv))
	}
	if err != nil {
		return err
	}
	h.log.Info("api token created", "user", u.ID, "token", t.ID)
	tv := h.tokensView(c, views.TokensView{New: token, NewName: t.Name})
	return render(c, http.StatusCreated, views.AccountPage(h.layout(c, "Account", "account"), f, tv))
}

func (h *Handlers) revokeToken(c echo.Context) error {
	u := currentUser(c)
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	if err := h.store.RevokeToken(c.Request().Context(), u.ID, id); err != nil {
		return err
	}
	h.log.Info("api token revoked", "user", u.ID, "token", id)
	h.addFlash(c, "success", "Token revoked.")
	return c.Redirect(http.StatusSeeOther, "/account#tokens")
}

// apiMe is GET /api/v1/me: who the request is, so a script can check its token cheaply.
type apiMe struct {
	ID          int64  `json:"id"`
	Email       string `json:"email"`
	Name        string `json:"name"`
	IsSuperuser bool   `json:"is_superuser"`
	Auth        string `json:"auth"`
	TokenName   string `json:"token_name,omitempty"`
}

func (h *Handlers) showMe(c echo.Context) error {
	u := currentUser(c)
	if u == nil {
		// Only a public site lets anonymous requests this far (apiRead).
		return c.JSON(http.StatusOK, map[string]any{"data": nil, "auth": apiAuthAnonymous})
	}
	me := apiMe{ID: u.ID, Email: u.Email, Name: u.Name, IsSuperuser: u.IsSuperuser, Auth: apiAuthKind(c)}
	if t := apiToken(c); t != nil {
		me.TokenName = t.Name
	}
	return c.JSON(http.StatusOK, map[string]apiMe{"data": me})
}
