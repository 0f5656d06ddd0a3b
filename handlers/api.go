package handlers

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/kubestats/kubestats/store"
)

// API paging: the envelope's page is 1-based; per_page defaults to 50 and may not exceed 500.
const (
	apiPerPage    = 50
	apiMaxPerPage = 500
	// storeMaxPerPage is the largest page most store list methods return; larger API pages
	// are read as several store pages (see window).
	storeMaxPerPage = 200
)

// apiHandlers serves the JSON API with the caches the API needs beyond the Handlers' own.
type apiHandlers struct {
	h *Handlers
	// The charts page keeps its caches to itself; the API keeps the same kind with the same
	// lifetime, over the same store methods.
	chartLists *ttlCache[store.ChartListPage]
	charts     *ttlCache[store.ChartOverview]
	chartRepos *ttlCache[store.ChartRepoPage]
}

// registerAPI mounts the JSON API under /api/v1 and its human-readable page at /api.
func (h *Handlers) registerAPI(e *echo.Echo) {
	a := &apiHandlers{
		h:          h,
		chartLists: newTTLCache[store.ChartListPage](chartsTTL, chartsCacheItems, h.cfg.Now),
		charts:     newTTLCache[store.ChartOverview](chartsTTL, chartsCacheItems, h.cfg.Now),
		chartRepos: newTTLCache[store.ChartRepoPage](chartsTTL, chartsCacheItems, h.cfg.Now),
	}
	// Every GET answers with an ETag over the uncompressed body and is gzipped from 1 KiB on.
	// gzip is outside etag so that etag hashes (and answers 304 on) what the handler wrote.
	// The fastest level: at the default one, compressing took half of a list request's CPU,
	// and JSON shrinks almost as well at level 1.
	gz := middleware.GzipWithConfig(middleware.GzipConfig{MinLength: 1024, Level: gzip.BestSpeed})
	read := []echo.MiddlewareFunc{h.apiRead, gz, apiETag}
	// The cross-repository views answer the same to everyone: their finished answers are cached.
	shared := []echo.MiddlewareFunc{h.apiRead, a.cachedAnswer}
	g := h.apiGroup(e)
	g.GET("/openapi.json", a.openAPI, a.cachedAnswer)
	g.GET("/repositories", a.listRepositories, shared...)
	g.GET("/repositories/:owner/:name", a.showRepository, read...)
	// A repository's lists answer the same to everyone who may see the repository (a deleted
	// one only superusers, whose answers cachedAnswer keeps apart); its detail carries the
	// live sync state, so it is built for each request.
	g.GET("/repositories/:owner/:name/metrics", a.listRepoMetrics, shared...)
	g.GET("/repositories/:owner/:name/resources", a.listRepoResources, shared...)
	g.GET("/repositories/:owner/:name/events", a.listRepoEvents, shared...)
	g.GET("/repositories/:owner/:name/charts", a.listRepoCharts, shared...)
	g.GET("/repositories/:owner/:name/images", a.listRepoImages, shared...)
	g.GET("/repositories/:owner/:name/errors", a.listRepoErrors, shared...)
	g.GET("/repositories/:owner/:name/deprecations", a.listRepoDeprecations, shared...)
	g.POST("/repositories/:owner/:name/sync", a.syncRepository, h.apiWrite)
	g.GET("/charts", a.listCharts, shared...)
	g.GET("/charts/:name", a.showChart, shared...)
	g.GET("/images", a.listImages, shared...)
	g.GET("/images/:registry/*", a.showImage, shared...)
	g.GET("/ecosystem", a.showEcosystem, shared...)
	g.GET("/deprecations", a.listDeprecations, shared...)
	g.GET("/jobs", a.showJobs, h.apiSuperuser, gz, apiETag)

	var guard []echo.MiddlewareFunc
	if !h.cfg.Public {
		guard = append(guard, h.requireLogin)
	}
	e.GET("/api", a.showAPIPage, guard...)
}

// badRequest is the API's answer to a parameter it cannot use.
func badRequest(format string, args ...any) error {
	return newAPIError(http.StatusBadRequest, "bad_request", fmt.Sprintf(format, args...))
}

// apiPage reads ?page= (checkQuery has validated it) and ?per_page=: absent means the first
// page of 50; a size that is not from 1 to 500 is an error rather than silently replaced.
func apiPage(c echo.Context) (page, perPage int, err error) {
	page, perPage = queryPage(c), apiPerPage
	if s := c.QueryParam("per_page"); s != "" {
		if perPage, err = strconv.Atoi(s); err != nil || perPage < 1 || perPage > apiMaxPerPage {
			return 0, 0, badRequest("per_page must be a whole number from 1 to %d.", apiMaxPerPage)
		}
	}
	return page, perPage, nil
}

// window reads items [off, off+n) through a store list method that returns pages of at most
// max items, with the total. API pages up to max are one store page; larger ones are read as
// consecutive store pages of max items and cut to the window.
func window[T any](off, n, max int, fetch func(page, perPage int) ([]T, int, error)) ([]T, int, error) {
	if n <= max {
		return fetch(off/n+1, n)
	}
	var out []T
	total := 0
	first, last := off/max, (off+n-1)/max
	for p := first; p <= last; p++ {
		items, t, err := fetch(p+1, max)
		if err != nil {
			return nil, 0, err
		}
		if p == first {
			total = t
		}
		out = append(out, items...)
		if len(items) < max {
			break
		}
	}
	skip := off - first*max
	if skip >= len(out) {
		return nil, total, nil
	}
	return out[skip:min(skip+n, len(out))], total, nil
}

// sliceList pages a list the store returns whole.
func sliceList[S, T any](c echo.Context, all []S, conv func(S) T) error {
	page, perPage, err := apiPage(c)
	if err != nil {
		return err
	}
	out := apiList[T]{Data: []T{}, Count: len(all), Page: page, PerPage: perPage}
	if off := (page - 1) * perPage; off < len(all) {
		for _, s := range all[off:min(off+perPage, len(all))] {
			out.Data = append(out.Data, conv(s))
		}
	}
	return c.JSON(http.StatusOK, out)
}

func newList[T any](page, perPage, total int) apiList[T] {
	return apiList[T]{Data: []T{}, Count: total, Page: page, PerPage: perPage}
}

// oneOf accepts a parameter only when empty or among the allowed values.
func oneOf(c echo.Context, name string, allowed ...string) (string, error) {
	v := c.QueryParam(name)
	if v == "" {
		return v, nil
	}
	if slices.Contains(allowed, v) {
		return v, nil
	}
	return "", badRequest("%s must be one of %v.", name, allowed)
}

// sortParam accepts a sort key of a store's sort table.
func sortParam(c echo.Context, sorts map[string]string) (string, error) {
	return oneOf(c, "sort", slices.Sorted(maps.Keys(sorts))...)
}

// apiSince reads ?since= as RFC 3339 or a UTC day; absent means def.
func apiSince(c echo.Context, def time.Time) (time.Time, error) {
	s := c.QueryParam("since")
	if s == "" {
		return def, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, badRequest("since must be an RFC 3339 time or a YYYY-MM-DD day.")
}

// repoPage is what the repository page reads besides the repository row, through the page's
// own cache: metrics of the last year, the snapshots 7 and 30 days ago and the scan's lists.
func (a *apiHandlers) repoPage(c echo.Context, r store.Repository) (repoPageData, error) {
	return a.h.repoPages.get(c.Request().Context(), repoStateKey(r), func(ctx context.Context) (repoPageData, error) {
		return a.h.loadRepoPage(ctx, r, time.Now().UTC())
	})
}

func (a *apiHandlers) listRepositories(c echo.Context) error {
	ctx := c.Request().Context()
	page, perPage, err := apiPage(c)
	if err != nil {
		return err
	}
	f := store.RepoFilter{
		Q: c.QueryParam("q"), Topic: c.QueryParam("topic"), Language: c.QueryParam("language"),
		Status: c.QueryParam("status"),
	}
	if f.Sort, err = sortParam(c, store.RepoSorts); err != nil {
		return err
	}
	if f.Archived, err = oneOf(c, "archived", "yes", "no"); err != nil {
		return err
	}
	if f.Fork, err = oneOf(c, "fork", "yes", "no"); err != nil {
		return err
	}
	if f.Status, err = oneOf(c, "status", store.RepoStatuses...); err != nil {
		return err
	}
	if err := canListStatus(currentUser(c), f.Status); err != nil {
		return newAPIError(http.StatusForbidden, "forbidden", "Only superusers can list deleted repositories.")
	}
	items, total, err := window((page-1)*perPage, perPage, storeMaxPerPage, func(p, pp int) ([]store.Repository, int, error) {
		f.Page, f.PerPage = p, pp
		// The same cache and key as the repositories page: an API page of 50 shares its entries.
		key := fmt.Sprintf("%+v", f)
		res, err := a.h.repoLists.get(ctx, key, func(ctx context.Context) (store.RepoPage, error) {
			return a.h.store.ListRepositories(ctx, f)
		})
		return res.Items, res.Total, err
	})
	if err != nil {
		return err
	}
	out := newList[apiRepository](page, perPage, total)
	for _, r := range items {
		out.Data = append(out.Data, newAPIRepository(r))
	}
	return c.JSON(http.StatusOK, out)
}

func (a *apiHandlers) showRepository(c echo.Context) error {
	r, err := a.h.visibleRepository(c)
	if err != nil {
		return err
	}
	out := apiRepositoryDetail{
		apiRepository: newAPIRepository(r), DiscoveryTopics: r.DiscoveryTopics, LastSeenAt: apiTime(r.LastSeenAt),
		RefreshedAt: apiTimePtr(r.RefreshedAt), GoneAt: apiTimePtr(r.GoneAt),
		Sync: apiSync{Status: r.SyncStatus, Error: r.SyncError, Attempts: r.SyncAttempts, NextSyncAt: apiTimePtr(r.NextSyncAt),
			StartedAt: apiTimePtr(r.SyncStartedAt), Queued: a.h.jobs.SyncQueued(r.ID)},
		Scan: apiScan{OID: r.ScannedOID, At: apiTimePtr(r.ScannedAt), CommittedAt: apiTimePtr(r.ScannedCommittedAt),
			Files: r.ScanFiles, Documents: r.ScanDocuments, Bytes: r.ScanBytes, DurationMS: r.ScanDurationMS},
	}
	if out.DiscoveryTopics == nil {
		out.DiscoveryTopics = []string{}
	}
	cur := apiMetricValues{Stars: r.Stars, Forks: r.Forks, Watchers: r.Watchers, OpenIssues: r.OpenIssues}
	out.Metrics.apiMetricValues = cur
	data, err := a.repoPage(c, r)
	if err != nil {
		return err
	}
	// The page's metric cards: the change since the last snapshot at or before 7 and 30 days ago.
	for i, dst := range []**apiMetricValues{&out.Metrics.Change7d, &out.Metrics.Change30d} {
		if m := data.past[i]; m != nil {
			*dst = &apiMetricValues{Stars: cur.Stars - m.Stars, Forks: cur.Forks - m.Forks,
				Watchers: cur.Watchers - m.Watchers, OpenIssues: cur.OpenIssues - m.OpenIssues}
		}
	}
	return c.JSON(http.StatusOK, apiItem[apiRepositoryDetail]{Data: out})
}

func (a *apiHandlers) listRepoMetrics(c echo.Context) error {
	r, err := a.h.visibleRepository(c)
	if err != nil {
		return err
	}
	var metrics []store.Metric
	if c.QueryParam("since") == "" {
		// A year: the series the repository page draws, from its cache.
		data, err := a.repoPage(c, r)
		if err != nil {
			return err
		}
		metrics = data.metrics
	} else {
		since, err := apiSince(c, time.Time{})
		if err != nil {
			return err
		}
		if metrics, err = a.h.store.RepositoryMetrics(c.Request().Context(), r.ID, since); err != nil {
			return err
		}
	}
	return sliceList(c, metrics, func(m store.Metric) apiMetric {
		return apiMetric{RecordedAt: apiTime(m.At), Stars: m.Stars, Forks: m.Forks, Watchers: m.Watchers,
			OpenIssues: m.OpenIssues, DiskUsageKB: m.DiskUsageKB}
	})
}

func (a *apiHandlers) listRepoResources(c echo.Context) error {
	ctx := c.Request().Context()
	r, err := a.h.visibleRepository(c)
	if err != nil {
		return err
	}
	page, perPage, err := apiPage(c)
	if err != nil {
		return err
	}
	content, err := oneOf(c, "content", "0", "1")
	if err != nil {
		return err
	}
	// The store pages resources up to 500 at a time: one call per API page, cached like the page's.
	f := store.ResourceFilter{Kind: c.QueryParam("kind"), Namespace: c.QueryParam("namespace"), Page: page, PerPage: perPage}
	res, err := a.h.repoResources.get(ctx, fmt.Sprintf("%s|%+v", repoStateKey(r), f), func(ctx context.Context) (store.ResourcePage, error) {
		return a.h.store.ListResources(ctx, r.ID, f)
	})
	if err != nil {
		return err
	}
	out := newList[apiResource](page, perPage, res.Total)
	for _, x := range res.Items {
		item := apiResource{ID: x.ID, File: x.Path, Doc: x.Doc, Line: x.Line, APIVersion: x.APIVersion, Kind: x.Kind,
			Namespace: x.Namespace, Name: x.Name, ContentHash: x.ContentHash}
		if content == "1" {
			// The redacted object, exactly as the resource page shows it (there as YAML).
			if _, item.Content, err = a.h.store.ResourceContent(ctx, r.ID, x.ID); err != nil {
				return err
			}
		}
		out.Data = append(out.Data, item)
	}
	return c.JSON(http.StatusOK, out)
}

func (a *apiHandlers) listRepoEvents(c echo.Context) error {
	ctx := c.Request().Context()
	r, err := a.h.visibleRepository(c)
	if err != nil {
		return err
	}
	page, perPage, err := apiPage(c)
	if err != nil {
		return err
	}
	typ, err := oneOf(c, "type", store.EventTypes...)
	if err != nil {
		return err
	}
	conv := func(e store.Event) apiEvent {
		return apiEvent{Type: e.Type, APIVersion: e.APIVersion, Kind: e.Kind, Namespace: e.Namespace, Name: e.Name,
			File: e.Path, OldFile: e.OldPath, OldAPIVersion: e.OldAPIVersion, ContentHash: e.ContentHash,
			CommitOID: e.CommitOID, CommittedAt: apiTimePtr(e.CommittedAt), DetectedAt: apiTime(e.DetectedAt)}
	}
	f := store.EventFilter{Type: typ, Page: page, PerPage: perPage}
	var res store.EventPage
	if c.QueryParam("since") == "" {
		// The events page's cache and key: a page of 50 shares its entries.
		res, err = a.h.repoEvents.get(ctx, cacheKey(repoStateKey(r), f.Type, f.Page, f.PerPage), func(ctx context.Context) (store.EventPage, error) {
			return a.h.store.ListEvents(ctx, r.ID, f)
		})
	} else if f.Since, err = apiSince(c, time.Time{}); err == nil {
		res, err = a.h.store.ListEvents(ctx, r.ID, f)
	}
	if err != nil {
		return err
	}
	out := newList[apiEvent](page, perPage, res.Total)
	for _, e := range res.Items {
		out.Data = append(out.Data, conv(e))
	}
	return c.JSON(http.StatusOK, out)
}

func (a *apiHandlers) listRepoCharts(c echo.Context) error {
	r, err := a.h.visibleRepository(c)
	if err != nil {
		return err
	}
	data, err := a.repoPage(c, r)
	if err != nil {
		return err
	}
	return sliceList(c, data.scan.Charts, func(u store.ChartUsage) apiRepoChart {
		vf := u.ValuesFrom
		if vf == nil {
			vf = []string{}
		}
		return apiRepoChart{File: u.Path, Tool: u.Tool, Kind: u.Kind, Release: u.ReleaseName, Namespace: u.Namespace,
			Chart: u.Chart, Version: u.Version, SourceKind: u.SourceKind, SourceName: u.SourceName,
			SourceNamespace: u.SourceNamespace, SourceURL: u.SourceURL, ChartURL: u.ChartURL, Ambiguous: u.Ambiguous,
			ValuesFrom: vf}
	})
}

func (a *apiHandlers) listRepoImages(c echo.Context) error {
	r, err := a.h.visibleRepository(c)
	if err != nil {
		return err
	}
	data, err := a.repoPage(c, r)
	if err != nil {
		return err
	}
	return sliceList(c, data.scan.Images, func(m store.ImageUsage) apiRepoImage {
		return apiRepoImage{File: m.Path, Kind: m.Kind, Object: m.ObjectName, Namespace: m.Namespace, Source: m.Source,
			Image: m.Image, Registry: m.Registry, Repository: m.Repository, Tag: m.Tag, Digest: m.Digest}
	})
}

func (a *apiHandlers) listRepoErrors(c echo.Context) error {
	r, err := a.h.visibleRepository(c)
	if err != nil {
		return err
	}
	data, err := a.repoPage(c, r)
	if err != nil {
		return err
	}
	return sliceList(c, data.scan.Problems, func(p store.ScanProblem) apiScanError {
		return apiScanError{Kind: p.Kind, File: p.Path, Line: p.Line, Message: p.Message}
	})
}

func (a *apiHandlers) listRepoDeprecations(c echo.Context) error {
	r, err := a.h.visibleRepository(c)
	if err != nil {
		return err
	}
	data, err := a.repoPage(c, r)
	if err != nil {
		return err
	}
	return sliceList(c, data.scan.Deprecations, func(d store.DeprecatedUsage) apiRepoDeprecation {
		return apiRepoDeprecation{File: d.Path, APIVersion: d.APIVersion, Kind: d.Kind, Namespace: d.Namespace,
			Name: d.Name, Project: d.Project, DeprecatedIn: d.DeprecatedIn, RemovedIn: d.RemovedIn, Replacement: d.Replacement}
	})
}

// syncRepository queues a sync like the page's sync button, answering in status codes:
// 202 queued, 409 already queued or running or already scanned (up_to_date), 422 nothing to
// sync, 403 an admin's business (including ?rescan=true, a superuser's forced download).
func (a *apiHandlers) syncRepository(c echo.Context) error {
	r, err := a.h.visibleRepository(c)
	if err != nil {
		return err
	}
	u := currentUser(c)
	if u == nil {
		return newAPIError(http.StatusUnauthorized, "unauthorized", "Send a token or log in to queue a sync.")
	}
	if !canSync(u, r) {
		return newAPIError(http.StatusForbidden, "forbidden", r.FullName()+": "+notSyncable(r))
	}
	rescan := c.QueryParam("rescan") == "true"
	if rescan && !u.IsSuperuser {
		return newAPIError(http.StatusForbidden, "forbidden", "Only a superuser may rescan an unchanged commit.")
	}
	switch err := a.h.jobs.QueueSync(c.Request().Context(), r.ID, rescan); {
	case errors.Is(err, store.ErrUpToDate):
		return newAPIError(http.StatusConflict, "up_to_date", r.FullName()+": "+upToDateMessage(r))
	case errors.Is(err, store.ErrConflict):
		return newAPIError(http.StatusConflict, "already_syncing", r.FullName()+": a sync is already queued or running.")
	case errors.Is(err, store.ErrNotSyncable):
		return newAPIError(http.StatusUnprocessableEntity, "not_syncable", r.FullName()+": "+notSyncable(r))
	case err != nil:
		return err
	}
	a.h.log.Info("sync queued by api", "repo", r.FullName(), "by", u.ID)
	status := apiV1 + "/repositories/" + r.Owner + "/" + r.Name
	c.Response().Header().Set(echo.HeaderLocation, status)
	return c.JSON(http.StatusAccepted, apiItem[apiSyncQueued]{Data: apiSyncQueued{StatusURL: status}})
}
