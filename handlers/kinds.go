package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/views"
)

// Every Resources view groups thousands of objects (tens of thousands for Kustomization or
// HelmRelease) yet changes only when a sync lands: each is cached per filter until the store's
// data changes, and reloaded in the background when it does.
const (
	kindsTTL        = 2 * time.Minute
	kindsCacheItems = 512
)

// registerKinds mounts the cross-repository Resources views; read guards them (login unless
// the site is public).
func (h *Handlers) registerKinds(e *echo.Echo, read []echo.MiddlewareFunc) {
	kh := &kindHandlers{
		h:             h,
		lists:         newTTLCache[store.KindPage](kindsTTL, kindsCacheItems, h.cfg.Now).withVersion(h.store.Version).serveStale(),
		names:         newTTLCache[store.KindNamePage](kindsTTL, kindsCacheItems, h.cfg.Now).withVersion(h.store.Version).serveStale(),
		objects:       newTTLCache[store.KindObjectPage](kindsTTL, kindsCacheItems, h.cfg.Now).withVersion(h.store.Version).serveStale(),
		objectResults: newTTLCache[templ.Component](kindsTTL, kindsCacheItems, h.cfg.Now).withVersion(h.store.Version).serveStale(),
		listResults:   newTTLCache[templ.Component](kindsTTL, kindsCacheItems, h.cfg.Now).withVersion(h.store.Version).serveStale(),
		nameResults:   newTTLCache[templ.Component](kindsTTL, kindsCacheItems, h.cfg.Now).withVersion(h.store.Version).serveStale(),
	}
	e.GET("/resources", kh.listKinds, read...)
	// The core group is "core" in the path; one object name is selected by ?name=.
	e.GET("/resources/:group/:kind", kh.showKind, read...)
}

// kindHandlers serves the Resources views with their caches.
type kindHandlers struct {
	h       *Handlers
	lists   *ttlCache[store.KindPage]
	names   *ttlCache[store.KindNamePage]
	objects *ttlCache[store.KindObjectPage]
	// listResults, nameResults and objectResults keep those pages' tables, rendered, on the
	// same terms.
	listResults, nameResults, objectResults *ttlCache[templ.Component]
}

// kindSwap reports whether htmx asks for just the target element.
func kindSwap(c echo.Context, target string) bool {
	return c.Request().Header.Get("HX-Request") == "true" && c.Request().Header.Get("HX-Target") == target
}

func (kh *kindHandlers) listKinds(c echo.Context) error {
	ctx := c.Request().Context()
	page := queryPage(c)
	f := store.KindFilter{
		Group: views.GroupFromParam(c.QueryParam("group")), Kind: c.QueryParam("kind"),
		Namespace: views.NamespaceFromParam(c.QueryParam("namespace")), Name: c.QueryParam("name"), Repo: c.QueryParam("repo"),
		Sort: c.QueryParam("sort"), Page: page, PerPage: 50,
	}
	if _, ok := store.KindSorts[f.Sort]; !ok {
		f.Sort = ""
	}
	key := cacheKey(f.Group, f.Kind, f.Namespace, f.Name, f.Repo, f.Sort, f.Page, f.PerPage)
	v := views.KindList{Filter: f}
	var err error
	v.Results, err = cachedResults(ctx, kh.listResults, kh.lists, key, func(ctx context.Context) (store.KindPage, error) {
		return kh.h.store.ListKinds(ctx, f)
	}, func(ctx context.Context, res store.KindPage) (templ.Component, error) {
		// A value of its own: the load may run in the background while this request goes on.
		pv := views.KindList{Filter: f, Page: res}
		if res.Total == 0 && !pv.Filtered() {
			n, err := kh.h.store.ScannedRepositoryCount(ctx)
			if err != nil {
				return nil, err
			}
			pv.Scanned = n
		}
		return views.KindResults(pv), nil
	})
	if err != nil {
		return err
	}
	// htmx swaps only the results; the filter form stays as the user is typing in it.
	if kindSwap(c, "kind-results") {
		return render(c, http.StatusOK, v.Results)
	}
	if v.Groups, err = kh.h.store.KindGroups(ctx, 200); err != nil {
		return err
	}
	return render(c, http.StatusOK, views.KindsPage(kh.h.layout(c, "Resources", "resources"), v))
}

// kindParams reads group and kind from the path. Echo leaves parameters escaped when the
// request path needed escaping (RawPath set), so unescape them then.
func kindParams(c echo.Context) (string, string, error) {
	group, kind := c.Param("group"), c.Param("kind")
	if c.Request().URL.RawPath != "" {
		var err1, err2 error
		group, err1 = url.PathUnescape(group)
		kind, err2 = url.PathUnescape(kind)
		if err1 != nil || err2 != nil {
			return "", "", fmt.Errorf("kind path %q: %w", c.Request().URL.RawPath, store.ErrNotFound)
		}
	}
	g := views.GroupFromParam(group)
	if g == nil || kind == "" {
		return "", "", fmt.Errorf("kind path %q: %w", c.Request().URL.Path, store.ErrNotFound)
	}
	return *g, kind, nil
}

func (kh *kindHandlers) showKind(c echo.Context) error {
	ctx := c.Request().Context()
	group, kind, err := kindParams(c)
	if err != nil {
		return err
	}
	k, err := kh.h.store.GetKind(ctx, group, kind)
	if err != nil {
		return err
	}
	page := queryPage(c)
	ns := views.NamespaceFromParam(c.QueryParam("namespace"))
	if names, ok := c.QueryParams()["name"]; ok {
		return kh.showKindName(c, k, names[0], ns, page)
	}
	f := store.KindNameFilter{Q: c.QueryParam("q"), Namespace: ns, Sort: c.QueryParam("sort"), Page: page, PerPage: 50}
	if _, ok := store.KindNameSorts[f.Sort]; !ok {
		f.Sort = ""
	}
	v := views.KindDetail{Kind: k, Filter: f}
	load := func(ctx context.Context) (store.KindNamePage, error) {
		return kh.h.store.ListKindNames(ctx, group, kind, f)
	}
	key := cacheKey(group, kind, f.Q, f.Namespace, f.Sort, f.Page, f.PerPage)
	v.Results, err = cachedResults(ctx, kh.nameResults, kh.names, key, load, func(_ context.Context, names store.KindNamePage) (templ.Component, error) {
		return views.KindNameResults(views.KindDetail{Kind: k, Filter: f, Names: names}), nil
	})
	if err != nil {
		return err
	}
	if kindSwap(c, "name-results") {
		return render(c, http.StatusOK, v.Results)
	}
	return render(c, http.StatusOK, views.KindPage(kh.h.layout(c, k.Kind, "resources"), v))
}

// showKindName is the kind page drilled down to one name: the objects that carry it.
func (kh *kindHandlers) showKindName(c echo.Context, k store.KindSummary, name string, ns *string, page int) error {
	ctx := c.Request().Context()
	f := store.KindObjectFilter{Namespace: ns, Sort: c.QueryParam("sort"), Page: page, PerPage: 50}
	if _, ok := store.KindObjectSorts[f.Sort]; !ok {
		f.Sort = ""
	}
	key := cacheKey(k.Group, k.Kind, name, f.Namespace, f.Sort, f.Page, f.PerPage)
	v := views.KindObjects{Kind: k, Name: name, Filter: f}
	var err error
	v.Results, err = cachedResults(ctx, kh.objectResults, kh.objects, key, func(ctx context.Context) (store.KindObjectPage, error) {
		return kh.h.store.ListKindObjects(ctx, k.Group, k.Kind, name, f)
	}, func(_ context.Context, objs store.KindObjectPage) (templ.Component, error) {
		return views.KindObjectResults(views.KindObjects{Kind: k, Name: name, Filter: f, Objects: objs}), nil
	})
	if err != nil {
		return err
	}
	if kindSwap(c, "object-results") {
		return render(c, http.StatusOK, v.Results)
	}
	return render(c, http.StatusOK, views.KindNamePage(kh.h.layout(c, k.Kind+" "+name, "resources"), v))
}
