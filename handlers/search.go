package handlers

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/views"
)

// Search results are cached briefly, and so is the chart ranking they filter: counting the
// repositories of every chart reads every chart usage, which no keystroke should pay. A sync
// shows up in search within two searchTTLs.
const (
	searchTTL        = time.Minute
	searchCacheItems = 1024
	suggestLimit     = 5  // per section, under the header's box
	searchPageLimit  = 10 // per section, on the results page
)

// registerSearch adds the header search: the full results page and htmx suggestions.
func (h *Handlers) registerSearch(e *echo.Echo, read []echo.MiddlewareFunc) {
	sh := &searchHandlers{
		h:      h,
		cache:  newTTLCache[store.SearchResults](searchTTL, searchCacheItems, h.cfg.Now),
		charts: newTTLCache[[]store.ChartHit](searchTTL, 1, h.cfg.Now),
	}
	e.GET("/search", sh.showSearch, read...)
	e.GET("/search/suggest", sh.suggest, read...)
}

// searchHandlers serves search with its cache; it lives as long as the router.
type searchHandlers struct {
	h      *Handlers
	cache  *ttlCache[store.SearchResults]
	charts *ttlCache[[]store.ChartHit] // store.ChartRanking
}

// search parses q and runs (or recalls) the search with limit hits per section.
func (sh *searchHandlers) search(c echo.Context, limit int, totals bool) (views.SearchView, error) {
	input := strings.TrimSpace(c.QueryParam("q"))
	q := store.ParseSearch(input)
	v := views.SearchView{Input: input, Query: q, Limit: limit, Results: store.SearchResults{Query: q}}
	if q.Term == "" {
		return v, nil
	}
	u := currentUser(c)
	opts := store.SearchOptions{Limit: limit, IncludeBlocked: u != nil && u.IsSuperuser, Totals: totals}
	// Both searches ignore ASCII case, so "Cert" and "cert" share an entry.
	key := strings.Join([]string{q.Scope, strings.ToLower(q.Term), strconv.Itoa(limit),
		strconv.FormatBool(opts.IncludeBlocked), strconv.FormatBool(totals)}, "\x00")
	res, err := sh.cache.get(c.Request().Context(), key, func(ctx context.Context) (store.SearchResults, error) {
		if q.In(store.ScopeCharts) {
			ranking, err := sh.charts.get(ctx, "", sh.h.store.ChartRanking)
			if err != nil {
				return store.SearchResults{}, err
			}
			opts.Charts = ranking
			if opts.Charts == nil {
				opts.Charts = []store.ChartHit{} // nothing is deployed: do not ask again
			}
		}
		return sh.h.store.Search(ctx, q, opts)
	})
	if err != nil {
		return v, err
	}
	res.Query = q // the cached entry may come from another spelling
	v.Results = res
	return v, nil
}

// suggest answers the header box's htmx request with a few links per section.
func (sh *searchHandlers) suggest(c echo.Context) error {
	v, err := sh.search(c, suggestLimit, false)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.SearchSuggestions(v))
}

// showSearch is the full results page; htmx from its own form swaps only the results.
func (sh *searchHandlers) showSearch(c echo.Context) error {
	v, err := sh.search(c, searchPageLimit, true)
	if err != nil {
		return err
	}
	if c.Request().Header.Get("HX-Request") == "true" && c.Request().Header.Get("HX-Target") == "search-results" {
		return render(c, http.StatusOK, views.SearchResultsView(v))
	}
	title := "Search"
	if v.Input != "" {
		title = v.Input + " · Search"
	}
	return render(c, http.StatusOK, views.SearchPage(sh.h.layout(c, title, "search"), v))
}
