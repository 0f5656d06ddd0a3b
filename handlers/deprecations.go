package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/views"
)

// registerDeprecations mounts the deprecations views; read guards them (login unless the site is public).
func (h *Handlers) registerDeprecations(e *echo.Echo, read []echo.MiddlewareFunc) {
	e.GET("/deprecations", h.listDeprecations, read...)
}

// listDeprecations shows every deprecated API in use, or with api and kind set, the
// repositories that use that one.
func (h *Handlers) listDeprecations(c echo.Context) error {
	ctx := c.Request().Context()
	page := queryPage(c)
	v := views.DeprecationList{
		Filter:     store.DeprecationFilter{Project: c.QueryParam("project"), Status: c.QueryParam("status")},
		APIVersion: c.QueryParam("api"), Kind: c.QueryParam("kind"), Page: page, PerPage: 50,
	}
	var err error
	if v.Drill() {
		api, err := h.store.GetDeprecatedAPI(ctx, v.APIVersion, v.Kind)
		switch {
		case errors.Is(err, store.ErrNotFound):
			// Fixed since the link was made: the page says so rather than a bare 404.
		case err != nil:
			return err
		default:
			v.API = &api
			if v.Repos, err = h.store.ListDeprecatedAPIRepos(ctx, v.APIVersion, v.Kind, v.Page, v.PerPage); err != nil {
				return err
			}
		}
	} else {
		v.APIs, err = h.deprecatedAPIs.get(ctx, fmt.Sprintf("%+v", v.Filter), func(ctx context.Context) ([]store.DeprecatedAPI, error) {
			return h.store.ListDeprecatedAPIs(ctx, v.Filter)
		})
		if err != nil {
			return err
		}
		if len(v.APIs) == 0 && !v.Filtered() {
			if v.Scanned, err = h.store.ScannedRepositoryCount(ctx); err != nil {
				return err
			}
		}
	}
	if c.Request().Header.Get("HX-Request") == "true" && c.Request().Header.Get("HX-Target") == "dep-results" {
		return render(c, http.StatusOK, views.DeprecationResults(v))
	}
	return render(c, http.StatusOK, views.DeprecationsPage(h.layout(c, "Deprecations", "deprecations"), v))
}
