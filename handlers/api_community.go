package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/views"
)

func (a *apiHandlers) listCharts(c echo.Context) error {
	ctx := c.Request().Context()
	page, perPage, err := apiPage(c)
	if err != nil {
		return err
	}
	f := store.ChartFilter{Q: c.QueryParam("q")}
	if f.Sort, err = sortParam(c, store.ChartSorts); err != nil {
		return err
	}
	items, total, err := window((page-1)*perPage, perPage, storeMaxPerPage, func(p, pp int) ([]store.ChartSummary, int, error) {
		f.Page, f.PerPage = p, pp
		key := fmt.Sprintf("%+v", f)
		res, err := a.chartLists.get(ctx, key, func(ctx context.Context) (store.ChartListPage, error) {
			return a.h.store.ListCharts(ctx, f, 3)
		})
		return res.Items, res.Total, err
	})
	if err != nil {
		return err
	}
	out := newList[apiChart](page, perPage, total)
	for _, ch := range items {
		out.Data = append(out.Data, apiChart{Name: ch.Chart, Repos: ch.Repos, Releases: ch.Releases, Growth: ch.Growth,
			Newest: ch.Newest, Versions: ch.Versions, Sources: newAPIChartSources(ch.Sources)})
	}
	return c.JSON(http.StatusOK, out)
}

func (a *apiHandlers) showChart(c echo.Context) error {
	ctx := c.Request().Context()
	name, err := url.PathUnescape(c.Param("name"))
	if err != nil {
		return store.ErrNotFound
	}
	page, perPage, err := apiPage(c)
	if err != nil {
		return err
	}
	sort, err := oneOf(c, "sort", store.ChartRepoSorts...)
	if err != nil {
		return err
	}
	o, err := a.charts.get(ctx, name, func(ctx context.Context) (store.ChartOverview, error) {
		return a.h.store.GetChart(ctx, name)
	})
	if err != nil {
		return err
	}
	items, total, err := window((page-1)*perPage, perPage, storeMaxPerPage, func(p, pp int) ([]store.ChartRepo, int, error) {
		f := store.ChartRepoFilter{Sort: sort, Page: p, PerPage: pp}
		key := name + "\x00" + fmt.Sprintf("%+v", f)
		res, err := a.chartRepos.get(ctx, key, func(ctx context.Context) (store.ChartRepoPage, error) {
			return a.h.store.ChartRepos(ctx, name, f, o.VersionList)
		})
		return res.Items, res.Total, err
	})
	if err != nil {
		return err
	}
	out := apiChartDetail{Name: o.Chart, Repos: o.Repos, Releases: o.Releases, Newest: o.Newest, NewestRepos: o.NewestRepos,
		Sources: newAPIChartSources(o.AllSources), Versions: []apiChartVersion{}, Repositories: newList[apiChartRepo](page, perPage, total)}
	for _, v := range o.VersionList {
		out.Versions = append(out.Versions, apiChartVersion{Version: v.Version, Repos: v.Repos, Releases: v.Releases})
	}
	for _, r := range items {
		out.Repositories.Data = append(out.Repositories.Data, apiChartRepo{Owner: r.Repo.Owner, Name: r.Repo.Name,
			FullName: r.Repo.FullName(), URL: r.Repo.URL, Stars: r.Repo.Stars, Version: r.Version, File: r.Path, Kind: r.Kind,
			Release: r.Release, Namespace: r.Namespace, SourceKind: r.SourceKind, SourceURL: r.SourceURL, Releases: r.Releases})
	}
	return c.JSON(http.StatusOK, apiItem[apiChartDetail]{Data: out})
}

func (a *apiHandlers) listImages(c echo.Context) error {
	ctx := c.Request().Context()
	page, perPage, err := apiPage(c)
	if err != nil {
		return err
	}
	f := store.ImageFilter{Q: c.QueryParam("q"), Registry: c.QueryParam("registry")}
	if f.Sort, err = sortParam(c, store.ImageSorts); err != nil {
		return err
	}
	if f.Pinning, err = oneOf(c, "pinning", store.ImagePinnings...); err != nil {
		return err
	}
	// image_stats keeps the totals, so a page is an indexed read; cachedAnswer keeps the
	// finished answer (the page keeps its data in imageLists instead).
	items, total, err := window((page-1)*perPage, perPage, storeMaxPerPage, func(p, pp int) ([]store.ImageSummary, int, error) {
		f.Page, f.PerPage = p, pp
		res, err := a.h.store.ListImages(ctx, f)
		return res.Items, res.Total, err
	})
	if err != nil {
		return err
	}
	out := newList[apiImage](page, perPage, total)
	for _, m := range items {
		out.Data = append(out.Data, newAPIImage(m))
	}
	return c.JSON(http.StatusOK, out)
}

func (a *apiHandlers) showImage(c echo.Context) error {
	ctx := c.Request().Context()
	registry, repository, err := imageParams(c)
	if err != nil {
		return err
	}
	page, perPage, err := apiPage(c)
	if err != nil {
		return err
	}
	sort, err := sortParam(c, store.ImageUsageSorts)
	if err != nil {
		return err
	}
	// "-" selects usages without a tag, as on the image page.
	tag := views.TagFromParam(c.QueryParam("tag"))
	img, err := a.h.store.GetImage(ctx, registry, repository)
	if err != nil {
		return err
	}
	items, total, err := window((page-1)*perPage, perPage, storeMaxPerPage, func(p, pp int) ([]store.ImageUse, int, error) {
		f := store.ImageUsageFilter{Tag: tag, Sort: sort, Page: p, PerPage: pp}
		// The image page's key: both share the cached pages.
		key := cacheKey(registry, repository, f.Tag, f.Sort, f.Page, f.PerPage)
		res, err := a.h.imageUsages.get(ctx, key, func(ctx context.Context) (store.ImageUsePage, error) {
			return a.h.store.ListImageUsages(ctx, registry, repository, f)
		})
		return res.Items, res.Total, err
	})
	if err != nil {
		return err
	}
	tags, err := a.h.imageTags.get(ctx, registry+"\x00"+repository, func(ctx context.Context) ([]store.TagCount, error) {
		return a.h.store.ImageTags(ctx, registry, repository, tagsShown)
	})
	if err != nil {
		return err
	}
	out := apiImageDetail{apiImage: newAPIImage(img), TopTags: []apiImageTag{}, Repositories: newList[apiImageUse](page, perPage, total)}
	for _, t := range tags {
		out.TopTags = append(out.TopTags, apiImageTag{Tag: t.Tag, Repos: t.Repos, Usages: t.Usages, Digest: t.Digest})
	}
	for _, u := range items {
		out.Repositories.Data = append(out.Repositories.Data, apiImageUse{Owner: u.Owner, Name: u.Name, FullName: u.FullName(),
			URL: u.URL, Stars: u.Stars, File: u.Path, Kind: u.Kind, Object: u.ObjectName, Namespace: u.Namespace,
			Source: u.Source, Tag: u.Tag, Digest: u.Digest})
	}
	return c.JSON(http.StatusOK, apiItem[apiImageDetail]{Data: out})
}

func (a *apiHandlers) showEcosystem(c echo.Context) error {
	ctx := c.Request().Context()
	days := views.EcosystemDefaultRange
	if p := c.QueryParam("days"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || !slices.Contains(views.EcosystemRanges, n) {
			return badRequest("days must be one of %v.", views.EcosystemRanges)
		}
		days = n
	}
	series, err := a.h.store.EcosystemDays(ctx, days)
	if err != nil {
		return err
	}
	out := apiEcosystem{Days: days, Series: []apiEcosystemDay{}, Breakdown: map[string][]apiBreakdownRow{}}
	for _, d := range series {
		out.Series = append(out.Series, apiEcosystemDay{Day: d.Day.Format("2006-01-02"), Repos: d.Repos,
			ScannedRepos: d.ScannedRepos, Stars: d.Stars, Forks: d.Forks, Resources: d.Resources, Created: d.Created,
			Modified: d.Modified, Moved: d.Moved, Deleted: d.Deleted})
	}
	for _, dim := range store.EcosystemDimensions {
		out.Breakdown[dim] = []apiBreakdownRow{}
	}
	if len(series) > 0 {
		latest := series[len(series)-1].Day
		s := latest.Format("2006-01-02")
		out.LatestDay = &s
		for _, dim := range store.EcosystemDimensions {
			rows, err := a.h.store.EcosystemBreakdown(ctx, dim, latest, ecosystemBreakdownLimits[dim])
			if err != nil {
				return err
			}
			for _, r := range rows {
				out.Breakdown[dim] = append(out.Breakdown[dim], apiBreakdownRow{Key: r.Key, Repos: r.Repos, Objects: r.Objects})
			}
		}
	}
	return c.JSON(http.StatusOK, apiItem[apiEcosystem]{Data: out})
}

func (a *apiHandlers) listDeprecations(c echo.Context) error {
	ctx := c.Request().Context()
	f := store.DeprecationFilter{Project: c.QueryParam("project"), Status: c.QueryParam("status")}
	if _, _, err := apiPage(c); err != nil {
		return err
	}
	apis, err := a.h.deprecatedAPIs.get(ctx, fmt.Sprintf("%+v", f), func(ctx context.Context) ([]store.DeprecatedAPI, error) {
		return a.h.store.ListDeprecatedAPIs(ctx, f)
	})
	if err != nil {
		return err
	}
	return sliceList(c, apis, func(d store.DeprecatedAPI) apiDeprecatedAPI {
		return apiDeprecatedAPI{APIVersion: d.APIVersion, Kind: d.Kind, Project: d.Project, DeprecatedIn: d.DeprecatedIn,
			RemovedIn: d.RemovedIn, Removed: d.Removed(), Replacement: d.Replacement, Repos: d.Repos, Objects: d.Objects}
	})
}

func (a *apiHandlers) showJobs(c echo.Context) error {
	runs, err := a.h.store.ListJobRuns(c.Request().Context(), "", 30)
	if err != nil {
		return err
	}
	out := apiJobs{Jobs: []apiJobInfo{}, Runs: []apiJobRun{}, GitHubTokenSet: a.h.cfg.GitHubTokenSet}
	for _, in := range a.h.jobs.Infos() {
		out.Jobs = append(out.Jobs, newAPIJobInfo(in))
	}
	for _, r := range runs {
		counts := r.Counts
		if counts == nil {
			counts = map[string]int{}
		}
		out.Runs = append(out.Runs, apiJobRun{ID: r.ID, Job: r.Job, Trigger: r.Trigger, Status: r.Status, Error: r.Error,
			StartedAt: apiTime(r.StartedAt), FinishedAt: apiTimePtr(r.FinishedAt), Counts: counts,
			GraphQLRequests: r.GraphQLRequests, GraphQLPoints: r.GraphQLPoints, Retries: r.Retries})
	}
	rl := a.h.github.RateLimit()
	out.RateLimit = apiRateLimit{Known: rl.Known, Limit: rl.Limit, Remaining: rl.Remaining, Used: rl.Used}
	if !rl.ResetAt.IsZero() {
		out.RateLimit.ResetAt = apiTimePtr(&rl.ResetAt)
	}
	if !rl.WaitingUntil.IsZero() {
		out.RateLimit.WaitingUntil = apiTimePtr(&rl.WaitingUntil)
	}
	return c.JSON(http.StatusOK, apiItem[apiJobs]{Data: out})
}
