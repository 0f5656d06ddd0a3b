package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/views"
)

// registerImages mounts the images views; read guards them (login unless the site is public).
func (h *Handlers) registerImages(e *echo.Echo, read []echo.MiddlewareFunc) {
	e.GET("/images", h.listImages, read...)
	// Image repositories have slashes (library/nginx): the wildcard keeps them all.
	e.GET("/images/:registry/*", h.showImage, read...)
}

// tagsShown bounds the tag distribution on the image page.
const tagsShown = 30

func (h *Handlers) listImages(c echo.Context) error {
	ctx := c.Request().Context()
	page := queryPage(c)
	f := store.ImageFilter{
		Q: c.QueryParam("q"), Registry: c.QueryParam("registry"), Pinning: c.QueryParam("pinning"),
		Sort: c.QueryParam("sort"), Page: page, PerPage: 50,
	}
	if _, ok := store.ImageSorts[f.Sort]; !ok {
		f.Sort = ""
	}
	v := views.ImageList{Filter: f}
	key := cacheKey(f.Q, f.Registry, f.Pinning, f.Sort, f.Page, f.PerPage)
	var err error
	v.Results, err = cachedResults(ctx, h.imageListResults, h.imageLists, key, func(ctx context.Context) (store.ImagePage, error) {
		return h.store.ListImages(ctx, f)
	}, func(ctx context.Context, res store.ImagePage) (templ.Component, error) {
		// A value of its own: the load may run in the background while this request goes on.
		pv := views.ImageList{Filter: f, Page: res}
		if res.Total == 0 && !pv.Filtered() {
			n, err := h.store.ScannedRepositoryCount(ctx)
			if err != nil {
				return nil, err
			}
			pv.Scanned = n
		}
		return views.ImageResults(pv), nil
	})
	if err != nil {
		return err
	}
	// htmx swaps only the results; the filter form stays as the user is typing in it.
	if c.Request().Header.Get("HX-Request") == "true" && c.Request().Header.Get("HX-Target") == "image-results" {
		return render(c, http.StatusOK, v.Results)
	}
	v.Registries, err = h.imageRegistries.get(ctx, "", func(ctx context.Context) ([]store.Facet, error) {
		return h.store.ImageRegistries(ctx, 50)
	})
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.ImagesPage(h.layout(c, "Images", "images"), v))
}

// imageParams rebuilds registry and repository from the path. Echo leaves parameters
// escaped when the request path needed escaping (RawPath set), so unescape them then.
func imageParams(c echo.Context) (string, string, error) {
	registry, repository := c.Param("registry"), strings.Trim(c.Param("*"), "/")
	if c.Request().URL.RawPath != "" {
		var err1, err2 error
		registry, err1 = url.PathUnescape(registry)
		repository, err2 = url.PathUnescape(repository)
		if err1 != nil || err2 != nil {
			return "", "", fmt.Errorf("image path %q: %w", c.Request().URL.RawPath, store.ErrNotFound)
		}
	}
	if registry == "" || repository == "" {
		return "", "", fmt.Errorf("image path %q: %w", c.Request().URL.Path, store.ErrNotFound)
	}
	return registry, repository, nil
}

// imagePage is an image page's tag table and usage table for one filter, rendered.
type imagePage struct{ tags, results templ.Component }

func (h *Handlers) showImage(c echo.Context) error {
	ctx := c.Request().Context()
	registry, repository, err := imageParams(c)
	if err != nil {
		return err
	}
	img, err := h.store.GetImage(ctx, registry, repository)
	if err != nil {
		return err
	}
	page := queryPage(c)
	f := store.ImageUsageFilter{
		Tag: views.TagFromParam(c.QueryParam("tag")), Sort: c.QueryParam("sort"), Page: page, PerPage: 50,
	}
	if _, ok := store.ImageUsageSorts[f.Sort]; !ok {
		f.Sort = ""
	}
	v := views.ImageDetail{Image: img, Filter: f, MaxTags: tagsShown}
	key := cacheKey(registry, repository, f.Tag, f.Sort, f.Page, f.PerPage)
	parts, err := h.imagePages.get(ctx, key, func(ctx context.Context) (imagePage, error) {
		ctx = fresh(ctx) // stamped with the current version: built from current data
		// A value of its own: the load may run in the background while this request goes on.
		pv := views.ImageDetail{Image: img, Filter: f, MaxTags: tagsShown}
		var err error
		pv.Usages, err = h.imageUsages.get(ctx, key, func(ctx context.Context) (store.ImageUsePage, error) {
			return h.store.ListImageUsages(ctx, registry, repository, f)
		})
		if err != nil {
			return imagePage{}, err
		}
		pv.Tags, err = h.imageTags.get(ctx, registry+"\x00"+repository, func(ctx context.Context) ([]store.TagCount, error) {
			return h.store.ImageTags(ctx, registry, repository, tagsShown)
		})
		if err != nil {
			return imagePage{}, err
		}
		var p imagePage
		if p.tags, err = fragment(ctx, views.ImageTags(pv)); err != nil {
			return p, err
		}
		p.results, err = fragment(ctx, views.ImageUsageResults(pv))
		return p, err
	})
	if err != nil {
		return err
	}
	v.TagsHTML, v.Results = parts.tags, parts.results
	if c.Request().Header.Get("HX-Request") == "true" && c.Request().Header.Get("HX-Target") == "usage-results" {
		return render(c, http.StatusOK, v.Results)
	}
	return render(c, http.StatusOK, views.ImagePage(h.layout(c, img.Name(), "images"), v))
}
