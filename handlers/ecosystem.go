package handlers

import (
	"context"
	"net/http"
	"slices"
	"strconv"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/views"
)

// How many keys of each breakdown the page shows (the store keeps at most 100 a day).
var ecosystemBreakdownLimits = map[string]int{
	store.DimensionLanguage: 30, store.DimensionTopic: 50, store.DimensionKind: 100,
}

// registerEcosystem mounts the ecosystem trends page; read guards it (login unless public).
func (h *Handlers) registerEcosystem(e *echo.Echo, read []echo.MiddlewareFunc) {
	e.GET("/ecosystem", h.showEcosystem, read...)
}

// ecosystemPage is the ecosystem page of one range as its cache keeps it: the body inside
// the layout and the part htmx swaps, rendered.
type ecosystemPage struct {
	charted       bool
	body, results templ.Component
}

// showEcosystem reads only the aggregate tables (a few hundred rows at most), and keeps the
// rendered page for each range until the aggregate job writes again.
func (h *Handlers) showEcosystem(c echo.Context) error {
	ctx := c.Request().Context()
	days := views.EcosystemDefaultRange
	if p := c.QueryParam("days"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || !slices.Contains(views.EcosystemRanges, n) {
			return &store.ValidationError{Field: "days", Msg: "Choose a range of 7, 30, 90 or 365 days."}
		}
		days = n
	}
	u := currentUser(c)
	superuser := u != nil && u.IsSuperuser // the empty page tells superusers where to run the job
	page, err := h.ecosystemPages.get(ctx, cacheKey(days, superuser), func(ctx context.Context) (ecosystemPage, error) {
		return h.loadEcosystemPage(ctx, days, superuser)
	})
	if err != nil {
		return err
	}
	if c.Request().Header.Get("HX-Request") == "true" && c.Request().Header.Get("HX-Target") == "eco-results" {
		return render(c, http.StatusOK, page.results)
	}
	l := h.layout(c, "Ecosystem", "ecosystem")
	l.Charts = page.charted
	return renderPage(c, http.StatusOK, l, page.body)
}

func (h *Handlers) loadEcosystemPage(ctx context.Context, days int, superuser bool) (ecosystemPage, error) {
	series, err := h.store.EcosystemDays(ctx, days)
	if err != nil {
		return ecosystemPage{}, err
	}
	v := views.NewEcosystem(days, series)
	if !v.Empty() {
		latest := v.Latest().Day
		for dim, dst := range map[string]*[]store.EcosystemBreakdownRow{
			store.DimensionLanguage: &v.Languages, store.DimensionTopic: &v.Topics, store.DimensionKind: &v.Kinds,
		} {
			if *dst, err = h.store.EcosystemBreakdown(ctx, dim, latest, ecosystemBreakdownLimits[dim]); err != nil {
				return ecosystemPage{}, err
			}
		}
	}
	p := ecosystemPage{charted: v.Charted()}
	if p.body, err = fragment(ctx, views.EcosystemBody(v, superuser)); err != nil {
		return p, err
	}
	p.results, err = fragment(ctx, views.EcosystemResults(v))
	return p, err
}
