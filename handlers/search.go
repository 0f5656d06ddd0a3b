package handlers

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/views"
)

// Search reads the store on every request: repositories through their FTS index, charts and
// images from the totals kept on the write path, so a deleted or blocked repository leaves
// the results at once.
const (
	suggestLimit    = 5  // per section, under the header's box
	searchPageLimit = 10 // per section, on the results page
)

// registerSearch adds the header search: the full results page and htmx suggestions.
func (h *Handlers) registerSearch(e *echo.Echo, read []echo.MiddlewareFunc) {
	sh := &searchHandlers{h: h}
	e.GET("/search", sh.showSearch, read...)
	e.GET("/search/suggest", sh.suggest, read...)
}

// searchHandlers serves search.
type searchHandlers struct {
	h *Handlers
}

// search parses q and runs the search with limit hits per section.
func (sh *searchHandlers) search(c echo.Context, limit int, totals bool) (views.SearchView, error) {
	input := strings.TrimSpace(c.QueryParam("q"))
	q := store.ParseSearch(input)
	v := views.SearchView{Input: input, Query: q, Limit: limit, Results: store.SearchResults{Query: q}}
	if q.Term == "" {
		return v, nil
	}
	u := currentUser(c)
	opts := store.SearchOptions{Limit: limit, IncludeBlocked: u != nil && u.IsSuperuser, Totals: totals}
	res, err := sh.h.store.Search(c.Request().Context(), q, opts)
	if err != nil {
		return v, err
	}
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
