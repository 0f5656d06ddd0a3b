package handlers

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/views"
)

func (h *Handlers) listRepositories(c echo.Context) error {
	ctx := c.Request().Context()
	page := queryPage(c)
	f := store.RepoFilter{
		Q: c.QueryParam("q"), Topic: c.QueryParam("topic"), Language: c.QueryParam("language"),
		Status: c.QueryParam("status"), Archived: c.QueryParam("archived"), Fork: c.QueryParam("fork"),
		Sort: c.QueryParam("sort"), Page: page, PerPage: 50,
	}
	if _, ok := store.RepoSorts[f.Sort]; !ok {
		f.Sort = ""
	}
	if err := canListStatus(currentUser(c), f.Status); err != nil {
		return err
	}
	key := fmt.Sprintf("%+v", f)
	v := views.RepoList{Filter: f, TokenSet: h.cfg.GitHubTokenSet}
	results, err := cachedResults(ctx, h.repoListResults, h.repoLists, key, func(ctx context.Context) (store.RepoPage, error) {
		return h.store.ListRepositories(ctx, f)
	}, func(_ context.Context, res store.RepoPage) (templ.Component, error) {
		// A value of its own: the load may run in the background while this request goes on.
		return views.RepoResults(views.RepoList{Filter: f, Page: res, TokenSet: h.cfg.GitHubTokenSet}), nil
	})
	if err != nil {
		return err
	}
	v.Results = results
	// htmx swaps only the results; the filter form stays as the user is typing in it.
	if c.Request().Header.Get("HX-Request") == "true" && c.Request().Header.Get("HX-Target") == "repo-results" {
		return render(c, http.StatusOK, results)
	}
	facets, err := h.repoFacets.get(ctx, "", func(ctx context.Context) (repoFacets, error) {
		languages, topics, err := h.store.RepositoryFacets(ctx, 100)
		return repoFacets{languages, topics}, err
	})
	if err != nil {
		return err
	}
	v.Languages, v.Topics = facets.languages, facets.topics
	return render(c, http.StatusOK, views.RepositoriesPage(h.layout(c, "Repositories", "repositories"), v))
}

func (h *Handlers) showRepository(c echo.Context) error {
	ctx := c.Request().Context()
	r, err := h.visibleRepository(c)
	if err != nil {
		return err
	}
	u := currentUser(c)
	now := time.Now().UTC()
	data, err := h.repoPages.get(ctx, repoStateKey(r), func(ctx context.Context) (repoPageData, error) {
		return h.loadRepoPage(ctx, r, now)
	})
	if err != nil {
		return err
	}
	past := data.past
	v := views.RepoDetail{Repo: r, CanAdmin: u != nil && u.IsSuperuser, Now: now, Sync: h.syncPanel(c, r),
		History: data.history, Scan: data.scanHTML}
	card := func(label string, cur int, get func(store.Metric) int) views.MetricCard {
		mc := views.MetricCard{Label: label, Value: cur}
		for i, p := range past {
			if p == nil {
				continue
			}
			d := cur - get(*p)
			if i == 0 {
				mc.Change7 = &d
			} else {
				mc.Change30 = &d
			}
		}
		return mc
	}
	v.Cards = []views.MetricCard{
		card("stars", r.Stars, func(m store.Metric) int { return m.Stars }),
		card("forks", r.Forks, func(m store.Metric) int { return m.Forks }),
		card("watchers", r.Watchers, func(m store.Metric) int { return m.Watchers }),
		card("open issues", r.OpenIssues, func(m store.Metric) int { return m.OpenIssues }),
	}
	l := h.layout(c, r.FullName(), "repositories")
	l.Charts = data.charted
	return render(c, http.StatusOK, views.RepositoryPage(l, v))
}

// repositoryAction applies a superuser's block, unblock, approve, delete or restore.
func (h *Handlers) repositoryAction(c echo.Context) error {
	ctx := c.Request().Context()
	r, err := h.store.GetRepositoryByName(ctx, c.Param("owner"), c.Param("name"))
	if err != nil {
		return err
	}
	action := store.RepoAction(c.Param("action"))
	if err := h.store.ApplyRepoAction(ctx, r.ID, action); err != nil {
		return err
	}
	// The lists follow syncs a moment late (serveStale); an admin's own change shows at once.
	h.repoLists.clear()
	h.repoListResults.clear()
	h.answers.clear()
	h.bigAnswers.clear()
	h.log.Info("repository action", "repo", r.FullName(), "action", string(action), "by", currentUser(c).ID)
	h.addFlash(c, "success", r.FullName()+": "+string(action)+" done.")
	return c.Redirect(http.StatusSeeOther, "/repositories/"+r.Owner+"/"+r.Name)
}

// repoPageData is what a repository page reads besides the repository row: it changes only
// when the repository is scanned or refreshed, so it is cached under repoStateKey.
type repoPageData struct {
	metrics []store.Metric   // a year of snapshots, oldest first (the API lists them)
	past    [2]*store.Metric // the snapshots 7 and 30 days ago, when there are any
	scan    views.RepoScan
	// The page's history (chart and table) and scan sections, rendered: they are most of
	// the page and depend on nothing else.
	history, scanHTML templ.Component
	charted           bool
}

// repoStateKey names a repository's state for caches of its own pages: every scan and every
// refresh gives a new key, while other repositories' syncs leave it alone.
func repoStateKey(r store.Repository) string {
	stamp := func(t *time.Time) int64 {
		if t == nil {
			return 0
		}
		return t.UnixNano()
	}
	// The URL too: file links are made of it, and discovery may follow a rename.
	return fmt.Sprintf("%d|%s|%s|%d|%d", r.ID, r.URL, r.ScannedOID, stamp(r.ScannedAt), stamp(r.RefreshedAt))
}

func (h *Handlers) loadRepoPage(ctx context.Context, r store.Repository, now time.Time) (repoPageData, error) {
	var d repoPageData
	var err error
	id := r.ID
	if d.metrics, err = h.store.RepositoryMetrics(ctx, id, now.AddDate(-1, 0, 0)); err != nil {
		return d, err
	}
	var chart views.ChartData
	var recent []store.Metric // the newest 100, newest first, for the table beside the chart
	for _, m := range d.metrics {
		chart.X = append(chart.X, m.At.Unix())
		chart.Stars = append(chart.Stars, m.Stars)
		chart.Forks = append(chart.Forks, m.Forks)
		chart.Watchers = append(chart.Watchers, m.Watchers)
		chart.Issues = append(chart.Issues, m.OpenIssues)
	}
	for i := len(d.metrics) - 1; i >= 0 && len(recent) < 100; i-- {
		recent = append(recent, d.metrics[i])
	}
	d.charted = len(chart.X) > 1
	if d.history, err = fragment(ctx, views.RepoHistory(chart, recent)); err != nil {
		return d, err
	}
	if d.scan.Charts, err = h.store.RepoCharts(ctx, id); err != nil {
		return d, err
	}
	if d.scan.Images, err = h.store.RepoImages(ctx, id); err != nil {
		return d, err
	}
	if d.scan.Deprecations, err = h.store.RepoDeprecations(ctx, id); err != nil {
		return d, err
	}
	if d.scan.Problems, err = h.store.RepoScanProblems(ctx, id); err != nil {
		return d, err
	}
	if d.scanHTML, err = fragment(ctx, views.RepoScanSections(r, d.scan)); err != nil {
		return d, err
	}
	for i, days := range []int{7, 30} {
		if m, err := h.store.MetricAt(ctx, id, now.AddDate(0, 0, -days)); err == nil {
			d.past[i] = &m
		}
	}
	return d, nil
}

// canListStatus keeps tombstoned repositories an admin's business: their pages answer 404 to
// everyone else (visibleRepository), so listing them by status must not reveal them either.
func canListStatus(u *store.User, status string) error {
	if status == store.RepoDeleted && (u == nil || !u.IsSuperuser) {
		return echo.NewHTTPError(http.StatusForbidden, "Only superusers can list deleted repositories.")
	}
	return nil
}
