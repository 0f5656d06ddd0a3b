package handlers

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/views"
)

// Search results are kept until the store's version moves (every scan, refresh, discovery or
// repository action), so a deleted or blocked repository leaves them with the next request.
// Charts and images come from the totals kept on the write path; the repositories' FTS walk
// (4–8 ms for a common word on 5,000 repositories) is what the entries save on keystrokes.
const (
	searchCacheItems = 1024
	suggestLimit     = 5  // per section, under the header's box
	searchPageLimit  = 10 // per section, on the results page
)

// registerSearch adds the header search: the full results page and htmx suggestions.
func (h *Handlers) registerSearch(e *echo.Echo, read []echo.MiddlewareFunc) {
	sh := &searchHandlers{h: h,
		cache: newTTLCache[store.SearchResults](time.Hour, searchCacheItems, h.cfg.Now).withVersion(h.store.Version)}
	e.GET("/search", sh.showSearch, read...)
	e.GET("/search/suggest", sh.suggest, read...)
}

// searchHandlers serves search with its cache; it lives as long as the router.
type searchHandlers struct {
	h     *Handlers
	cache *ttlCache[store.SearchResults]
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
	// Both searches ignore ASCII case, so "Cert" and "cert" share an entry; superusers'
	// results (blocked repositories too) are kept apart.
	key := cacheKey(q.Scope, strings.ToLower(q.Term), limit, opts.IncludeBlocked, totals)
	res, err := sh.cache.get(c.Request().Context(), key, func(ctx context.Context) (store.SearchResults, error) {
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
