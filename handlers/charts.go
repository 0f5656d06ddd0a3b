package handlers

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/views"
)

// Chart figures aggregate every repository's scan (a popular chart's values alone are
// thousands of JSON documents to walk), yet change only when a sync lands. They are cached
// for a short while so that page views cost a map lookup; a sync shows up within chartsTTL.
const (
	chartsTTL        = 2 * time.Minute
	chartsCacheItems = 512
)

// registerCharts mounts the charts views; read guards them (login unless the site is public).
func (h *Handlers) registerCharts(e *echo.Echo, read []echo.MiddlewareFunc) {
	ch := &chartHandlers{
		h:      h,
		lists:  newTTLCache[templ.Component](chartsTTL, chartsCacheItems, h.cfg.Now),
		charts: newTTLCache[views.ChartDetail](chartsTTL, chartsCacheItems, h.cfg.Now),
		repos:  newTTLCache[chartRepos](chartsTTL, chartsCacheItems, h.cfg.Now),
	}
	e.GET("/charts", ch.listCharts, read...)
	e.GET("/charts/:name", ch.showChart, read...)
}

// chartHandlers serves the charts views with their caches; it lives as long as the router.
type chartHandlers struct {
	h      *Handlers
	lists  *ttlCache[templ.Component]   // the list pages, rendered
	charts *ttlCache[views.ChartDetail] // everything but the page of repositories
	repos  *ttlCache[chartRepos]
}

// chartRepos is one page of a chart's repositories, with its rendered table.
type chartRepos struct {
	page store.ChartRepoPage
	html templ.Component
}

func (ch *chartHandlers) listCharts(c echo.Context) error {
	ctx := c.Request().Context()
	page := queryPage(c)
	f := store.ChartFilter{Q: c.QueryParam("q"), Sort: c.QueryParam("sort"), Page: page, PerPage: 50}
	if _, ok := store.ChartSorts[f.Sort]; !ok {
		f.Sort = ""
	}
	key := f.Q + "\x00" + f.Sort + "\x00" + strconv.Itoa(f.Page)
	v := views.ChartsList{Filter: f}
	var err error
	// The page needs the list only rendered: one cache, one lifetime.
	v.Results, err = ch.lists.get(ctx, key, func(ctx context.Context) (templ.Component, error) {
		res, err := ch.h.store.ListCharts(ctx, f, 3)
		if err != nil {
			return nil, err
		}
		return fragment(ctx, views.ChartsResults(views.ChartsList{Filter: f, Page: res}))
	})
	if err != nil {
		return err
	}
	// htmx swaps only the results; the search box keeps what the user is typing.
	if c.Request().Header.Get("HX-Request") == "true" && c.Request().Header.Get("HX-Target") == "chart-results" {
		return render(c, http.StatusOK, v.Results)
	}
	return render(c, http.StatusOK, views.ChartsPage(ch.h.layout(c, "Helm charts", "charts"), v))
}

func (ch *chartHandlers) showChart(c echo.Context) error {
	ctx := c.Request().Context()
	name, err := url.PathUnescape(c.Param("name"))
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	v, err := ch.charts.get(ctx, name, func(ctx context.Context) (views.ChartDetail, error) {
		return ch.chartDetail(ctx, name)
	})
	if err != nil {
		return err
	}
	page := queryPage(c)
	v.Filter = store.ChartRepoFilter{Sort: c.QueryParam("sort"), Page: page, PerPage: 50}
	if !slices.Contains(store.ChartRepoSorts, v.Filter.Sort) {
		v.Filter.Sort = ""
	}
	key := name + "\x00" + v.Filter.Sort + "\x00" + strconv.Itoa(v.Filter.Page)
	repos, err := ch.repos.get(ctx, key, func(ctx context.Context) (chartRepos, error) {
		page, err := ch.h.store.ChartRepos(ctx, name, v.Filter, v.Overview.VersionList)
		if err != nil {
			return chartRepos{}, err
		}
		pv := v
		pv.Repos = page
		html, err := fragment(ctx, views.ChartReposView(pv))
		return chartRepos{page, html}, err
	})
	if err != nil {
		return err
	}
	v.Repos, v.ReposHTML = repos.page, repos.html
	if c.Request().Header.Get("HX-Request") == "true" && c.Request().Header.Get("HX-Target") == "chart-repos" {
		return render(c, http.StatusOK, v.ReposHTML)
	}
	l := ch.h.layout(c, name+" · Helm charts", "charts")
	l.Charts = len(v.Adoption.X) > 1
	return render(c, http.StatusOK, views.ChartPage(l, v))
}

// chartDetail gathers a chart's figures that do not depend on the request.
func (ch *chartHandlers) chartDetail(ctx context.Context, name string) (views.ChartDetail, error) {
	s := ch.h.store
	var v views.ChartDetail
	var err error
	if v.Overview, err = s.GetChart(ctx, name); err != nil {
		return v, err
	}
	if v.Months, v.Unknown, err = s.ChartAdoption(ctx, name); err != nil {
		return v, err
	}
	for _, m := range v.Months {
		v.Adoption.X = append(v.Adoption.X, m.Month.Unix())
		v.Adoption.Repos = append(v.Adoption.Repos, m.Total)
	}
	if v.Keys, err = s.ChartValuesKeys(ctx, name, 50); err != nil {
		return v, err
	}
	v.Example = views.ChartValuesExample(v.Keys, 25)
	if v.Also, err = s.ChartsAlsoUsed(ctx, name, 15); err != nil {
		return v, err
	}
	if v.Head, err = fragment(ctx, views.ChartHead(v)); err != nil {
		return v, err
	}
	v.Tail, err = fragment(ctx, views.ChartTail(v))
	return v, err
}
