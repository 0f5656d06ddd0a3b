package handlers

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/views"
)

func (h *Handlers) listRepositories(c echo.Context) error {
	ctx := c.Request().Context()
	page, _ := strconv.Atoi(c.QueryParam("page"))
	f := store.RepoFilter{
		Q: c.QueryParam("q"), Topic: c.QueryParam("topic"), Language: c.QueryParam("language"),
		Status: c.QueryParam("status"), Archived: c.QueryParam("archived"), Fork: c.QueryParam("fork"),
		Sort: c.QueryParam("sort"), Page: max(page, 1), PerPage: 50,
	}
	if _, ok := store.RepoSorts[f.Sort]; !ok {
		f.Sort = ""
	}
	res, err := h.repoLists.get(ctx, fmt.Sprintf("%+v", f), func(ctx context.Context) (store.RepoPage, error) {
		return h.store.ListRepositories(ctx, f)
	})
	if err != nil {
		return err
	}
	v := views.RepoList{Filter: f, Page: res, TokenSet: h.cfg.GitHubTokenSet}
	// htmx swaps only the results; the filter form stays as the user is typing in it.
	if c.Request().Header.Get("HX-Request") == "true" && c.Request().Header.Get("HX-Target") == "repo-results" {
		return render(c, http.StatusOK, views.RepoResults(v))
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
	metrics, err := h.store.RepositoryMetrics(ctx, r.ID, now.AddDate(-1, 0, 0))
	if err != nil {
		return err
	}
	v := views.RepoDetail{Repo: r, CanAdmin: u != nil && u.IsSuperuser, Now: now, Sync: h.syncPanel(c, r)}
	if v.Scan.Charts, err = h.store.RepoCharts(ctx, r.ID); err != nil {
		return err
	}
	if v.Scan.Images, err = h.store.RepoImages(ctx, r.ID); err != nil {
		return err
	}
	if v.Scan.Deprecations, err = h.store.RepoDeprecations(ctx, r.ID); err != nil {
		return err
	}
	if v.Scan.Problems, err = h.store.RepoScanProblems(ctx, r.ID); err != nil {
		return err
	}
	for _, m := range metrics {
		v.Chart.X = append(v.Chart.X, m.At.Unix())
		v.Chart.Stars = append(v.Chart.Stars, m.Stars)
		v.Chart.Forks = append(v.Chart.Forks, m.Forks)
		v.Chart.Watchers = append(v.Chart.Watchers, m.Watchers)
		v.Chart.Issues = append(v.Chart.Issues, m.OpenIssues)
	}
	for i := len(metrics) - 1; i >= 0 && len(v.Metrics) < 100; i-- {
		v.Metrics = append(v.Metrics, metrics[i])
	}
	var past [2]*store.Metric
	for i, days := range []int{7, 30} {
		if m, err := h.store.MetricAt(ctx, r.ID, now.AddDate(0, 0, -days)); err == nil {
			past[i] = &m
		}
	}
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
	l.Charts = len(v.Chart.X) > 1
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
	h.log.Info("repository action", "repo", r.FullName(), "action", string(action), "by", currentUser(c).ID)
	h.addFlash(c, "success", r.FullName()+": "+string(action)+" done.")
	return c.Redirect(http.StatusSeeOther, "/repositories/"+r.Owner+"/"+r.Name)
}
