package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"
	"sigs.k8s.io/yaml"

	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/views"
)

// visibleRepository loads the repository named in the path; a tombstoned one exists only for superusers.
func (h *Handlers) visibleRepository(c echo.Context) (store.Repository, error) {
	r, err := h.store.GetRepositoryByName(c.Request().Context(), c.Param("owner"), c.Param("name"))
	if err != nil {
		return r, err
	}
	if u := currentUser(c); r.DeletedAt != nil && (u == nil || !u.IsSuperuser) {
		return r, echo.NewHTTPError(http.StatusNotFound)
	}
	return r, nil
}

// canSync: any logged-in user may sync a repository; one an admin blocked, tombstoned or has
// not approved yet is an admin's business.
func canSync(u *store.User, r store.Repository) bool {
	if u == nil {
		return false
	}
	switch r.Status() {
	case store.RepoBlocked, store.RepoDeleted, store.RepoPendingApproval:
		return u.IsSuperuser
	}
	return true
}

// canRescan: downloading a head that is already scanned is a superuser's explicit action,
// because every download spends the instance's GitHub budget.
func canRescan(u *store.User, r store.Repository) bool {
	return u != nil && u.IsSuperuser && upToDate(r)
}

// upToDate: the head is scanned, successfully; a plain sync would download it again.
func upToDate(r store.Repository) bool {
	return r.Status() == "success" && r.HeadOID != "" && r.ScannedOID == r.HeadOID
}

// upToDateMessage is what a sync request of an up-to-date repository is told.
func upToDateMessage(r store.Repository) string {
	return "Commit " + r.HeadOID[:min(len(r.HeadOID), 7)] + " is already scanned: there is nothing new to download. " +
		"A new commit is synced once the next refresh sees it."
}

func (h *Handlers) syncPanel(c echo.Context, r store.Repository) views.SyncPanel {
	u := currentUser(c)
	return views.SyncPanel{
		Repo: r, CanSync: canSync(u, r), CanRescan: canRescan(u, r), Now: time.Now().UTC(), CSRF: csrfToken(c),
		Polling: r.SyncStatus == "syncing" || h.jobs.SyncQueued(r.ID),
	}
}

// showSyncPanel answers the panel's polling; the answer that finds the sync over stops it.
func (h *Handlers) showSyncPanel(c echo.Context) error {
	r, err := h.visibleRepository(c)
	if err != nil {
		return err
	}
	if c.Request().Header.Get("HX-Request") != "true" {
		return c.Redirect(http.StatusSeeOther, "/repositories/"+r.Owner+"/"+r.Name)
	}
	p := h.syncPanel(c, r)
	p.Done = !p.Polling
	return render(c, http.StatusOK, views.SyncPanelView(p))
}

// syncRepository queues a sync of one repository now (the sync button).
func (h *Handlers) syncRepository(c echo.Context) error {
	ctx := c.Request().Context()
	r, err := h.visibleRepository(c)
	if err != nil {
		return err
	}
	u := currentUser(c)
	rescan := c.FormValue("rescan") == "1"
	if !canSync(u, r) || (rescan && !u.IsSuperuser) {
		return echo.NewHTTPError(http.StatusForbidden)
	}
	var msg string
	switch err := h.jobs.QueueSync(ctx, r.ID, rescan); {
	case errors.Is(err, store.ErrUpToDate):
		msg = upToDateMessage(r)
	case errors.Is(err, store.ErrConflict):
		msg = "A sync of this repository is already queued or running: this click started nothing."
	case errors.Is(err, store.ErrNotSyncable):
		msg = notSyncable(r)
	case err != nil:
		return err
	default:
		h.log.Info("sync queued by hand", "repo", r.FullName(), "by", u.ID)
	}
	if r, err = h.store.GetRepository(ctx, r.ID); err != nil {
		return err
	}
	if c.Request().Header.Get("HX-Request") == "true" {
		p := h.syncPanel(c, r)
		p.Message = msg
		return render(c, http.StatusOK, views.SyncPanelView(p))
	}
	if msg == "" {
		h.addFlash(c, "success", r.FullName()+": sync queued. This page shows its status.")
	} else {
		h.addFlash(c, "info", r.FullName()+": "+msg)
	}
	return c.Redirect(http.StatusSeeOther, "/repositories/"+r.Owner+"/"+r.Name)
}

func notSyncable(r store.Repository) string {
	switch r.Status() {
	case store.RepoBlocked:
		return "It is blocked: unblock it to sync."
	case store.RepoDeleted:
		return "It is deleted: restore it to sync."
	case store.RepoPendingApproval:
		return "It is larger than the size limit: approve the download to sync."
	case store.RepoGone:
		return "GitHub no longer has it: there is nothing to download."
	}
	if r.HeadOID == "" {
		return "It has no commits: there is nothing to download."
	}
	return "It cannot be synced now."
}

func (h *Handlers) listRepoResources(c echo.Context) error {
	ctx := c.Request().Context()
	r, err := h.visibleRepository(c)
	if err != nil {
		return err
	}
	page := queryPage(c)
	f := store.ResourceFilter{Kind: c.QueryParam("kind"), Namespace: c.QueryParam("namespace"), Page: page, PerPage: 100}
	key := fmt.Sprintf("%s|%+v", repoStateKey(r), f)
	// The data through the API's cache of the same pages.
	results, err := cachedResults(ctx, h.repoResourceResults, h.repoResources, key, func(ctx context.Context) (store.ResourcePage, error) {
		return h.store.ListResources(ctx, r.ID, f)
	}, func(_ context.Context, res store.ResourcePage) (templ.Component, error) {
		return views.RepoResourceResults(views.RepoResources{Repo: r, Filter: f, Page: res}), nil
	})
	if err != nil {
		return err
	}
	if c.Request().Header.Get("HX-Request") == "true" && c.Request().Header.Get("HX-Target") == "resource-results" {
		return render(c, http.StatusOK, results)
	}
	v := views.RepoResources{Repo: r, Filter: f, Results: results}
	facets, err := h.repoResourceFacets.get(ctx, repoStateKey(r), func(ctx context.Context) (resourceFacets, error) {
		kinds, namespaces, err := h.store.ResourceFacets(ctx, r.ID)
		return resourceFacets{kinds, namespaces}, err
	})
	if err != nil {
		return err
	}
	v.Kinds, v.Namespaces = facets.kinds, facets.namespaces
	return render(c, http.StatusOK, views.RepoResourcesPage(h.layout(c, r.FullName()+" resources", "repositories"), v))
}

func (h *Handlers) showRepoResource(c echo.Context) error {
	r, err := h.visibleRepository(c)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	res, content, err := h.store.ResourceContent(c.Request().Context(), r.ID, id)
	if err != nil {
		return err
	}
	// The body is canonical JSON; YAML is what people wrote and read.
	y, err := yaml.JSONToYAML(content)
	if err != nil {
		y = content
	}
	v := views.RepoResource{Repo: r, Resource: res, YAML: string(y)}
	return render(c, http.StatusOK, views.RepoResourcePage(h.layout(c, res.Kind+" "+res.Name, "repositories"), v))
}

func (h *Handlers) listRepoEvents(c echo.Context) error {
	ctx := c.Request().Context()
	r, err := h.visibleRepository(c)
	if err != nil {
		return err
	}
	page := queryPage(c)
	f := store.EventFilter{Type: c.QueryParam("type"), Page: page, PerPage: 50}
	key := cacheKey(repoStateKey(r), f.Type, f.Page, f.PerPage)
	// The data through the API's cache of the same pages.
	results, err := cachedResults(ctx, h.repoEventResults, h.repoEvents, key, func(ctx context.Context) (store.EventPage, error) {
		return h.store.ListEvents(ctx, r.ID, f)
	}, func(_ context.Context, res store.EventPage) (templ.Component, error) {
		return views.RepoEventResults(views.RepoEvents{Repo: r, Filter: f, Page: res}), nil
	})
	if err != nil {
		return err
	}
	if c.Request().Header.Get("HX-Request") == "true" && c.Request().Header.Get("HX-Target") == "event-results" {
		return render(c, http.StatusOK, results)
	}
	v := views.RepoEvents{Repo: r, Filter: f, Results: results}
	now := time.Now().UTC()
	days, err := h.repoEventDays.get(ctx, repoStateKey(r), func(ctx context.Context) (eventDays, error) {
		days, err := h.store.EventDays(ctx, r.ID, now.AddDate(-1, 0, 0))
		if err != nil {
			return eventDays{}, err
		}
		html, err := fragment(ctx, views.RepoEventDays(days, eventChart(days)))
		return eventDays{html: html, charted: len(days) > 1}, err
	})
	if err != nil {
		return err
	}
	v.DaysHTML = days.html
	l := h.layout(c, r.FullName()+" events", "repositories")
	l.Charts = days.charted
	return render(c, http.StatusOK, views.RepoEventsPage(l, v))
}

// eventChart spreads the days with events over every day between the first and the last,
// so that quiet days read as zero rather than as a line drawn across them.
func eventChart(days []store.EventDay) views.EventChart {
	var ch views.EventChart
	if len(days) == 0 {
		return ch
	}
	i := 0
	for d := days[0].Day; !d.After(days[len(days)-1].Day); d = d.AddDate(0, 0, 1) {
		var e store.EventDay
		if i < len(days) && days[i].Day.Equal(d) {
			e = days[i]
			i++
		}
		ch.X = append(ch.X, d.Unix())
		ch.Created = append(ch.Created, e.Created)
		ch.Modified = append(ch.Modified, e.Modified)
		ch.Moved = append(ch.Moved, e.Moved)
		ch.Deleted = append(ch.Deleted, e.Deleted)
	}
	return ch
}
