package handlers

import (
	"net/http"
	"slices"
	"strconv"

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

// showEcosystem reads only the aggregate tables (a few hundred rows at most): the job does
// the heavy work, so the page needs no cache.
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
	series, err := h.store.EcosystemDays(ctx, days)
	if err != nil {
		return err
	}
	v := views.NewEcosystem(days, series)
	if c.Request().Header.Get("HX-Request") == "true" && c.Request().Header.Get("HX-Target") == "eco-results" {
		return render(c, http.StatusOK, views.EcosystemResults(v))
	}
	if !v.Empty() {
		latest := v.Latest().Day
		for dim, dst := range map[string]*[]store.EcosystemBreakdownRow{
			store.DimensionLanguage: &v.Languages, store.DimensionTopic: &v.Topics, store.DimensionKind: &v.Kinds,
		} {
			if *dst, err = h.store.EcosystemBreakdown(ctx, dim, latest, ecosystemBreakdownLimits[dim]); err != nil {
				return err
			}
		}
	}
	l := h.layout(c, "Ecosystem", "ecosystem")
	l.Charts = v.Charted()
	return render(c, http.StatusOK, views.EcosystemPage(l, v))
}
