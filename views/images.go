package views

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/a-h/templ"

	"github.com/kubestats/kubestats/store"
)

// ImageList is the images page's data.
type ImageList struct {
	Filter     store.ImageFilter
	Page       store.ImagePage
	Registries []store.Facet
	Scanned    int             // live repositories with a scan, to explain an empty page
	Results    templ.Component // ImageResults of this page, rendered once per change of the data
}

// URL is the images page's URL with some parameters changed ("" removes one).
func (v ImageList) URL(kv ...string) string {
	f := v.Filter
	q := url.Values{}
	for k, val := range map[string]string{"q": f.Q, "registry": f.Registry, "pinning": f.Pinning} {
		if val != "" {
			q.Set(k, val)
		}
	}
	if f.Sort != "" && f.Sort != "repos" {
		q.Set("sort", f.Sort)
	}
	if f.Page > 1 {
		q.Set("page", strconv.Itoa(f.Page))
	}
	return withParams("/images", q, kv)
}

// Pages is the number of pages.
func (v ImageList) Pages() int { return pages(v.Page.Total, v.Filter.PerPage) }

// Filtered reports whether any filter narrows the list.
func (v ImageList) Filtered() bool {
	return v.Filter.Q != "" || v.Filter.Registry != "" || v.Filter.Pinning != ""
}

// ImagePath is the image page's path: /images/<registry>/<repository segments>.
func ImagePath(registry, repository string) string {
	parts := append([]string{registry}, strings.Split(repository, "/")...)
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return "/images/" + strings.Join(parts, "/")
}

func imagePath(m store.ImageSummary) string { return ImagePath(m.Registry, m.Repository) }

// pinPercent is part of whole as a whole percentage ("0%" when whole is 0).
func pinPercent(part, whole int) string {
	if whole <= 0 {
		return "0%"
	}
	return strconv.Itoa((part*100+whole/2)/whole) + "%"
}

// ImageDetail is one image's page.
type ImageDetail struct {
	Image   store.ImageSummary
	Tags    []store.TagCount
	MaxTags int // how many tags the distribution shows at most
	Filter  store.ImageUsageFilter
	Usages  store.ImageUsePage
	// TagsHTML and Results are ImageTags and ImageUsageResults of this page, rendered once
	// per change of the data.
	TagsHTML, Results templ.Component
}

// URL is the image page's URL with some parameters changed ("" removes one). The tag
// parameter is "-" for "no tag written", since "" removes it.
func (v ImageDetail) URL(kv ...string) string {
	q := url.Values{}
	if v.Filter.Tag != nil {
		q.Set("tag", imageTagParam(*v.Filter.Tag))
	}
	if v.Filter.Sort != "" && v.Filter.Sort != "stars" {
		q.Set("sort", v.Filter.Sort)
	}
	if v.Filter.Page > 1 {
		q.Set("page", strconv.Itoa(v.Filter.Page))
	}
	return withParams(imagePath(v.Image), q, kv)
}

// imageTagParam is how a tag travels in the URL: "-" stands for "no tag written".
func imageTagParam(tag string) string {
	if tag == "" {
		return "-"
	}
	return tag
}

// TagFromParam reverses imageTagParam; nil (from "") means no tag filter.
func TagFromParam(p string) *string {
	if p == "" {
		return nil
	}
	if p == "-" {
		p = ""
	}
	return &p
}

// Pages is the number of usage pages.
func (v ImageDetail) Pages() int { return pages(v.Usages.Total, v.Filter.PerPage) }

// maxTagRepos is the longest bar of the tag distribution.
func (v ImageDetail) maxTagRepos() int {
	m := 1
	for _, t := range v.Tags {
		m = max(m, t.Repos)
	}
	return m
}

func imageTagLabel(tag string) string {
	if tag == "" {
		return "(no tag: latest)"
	}
	return tag
}

func imageDigestShort(d string) string {
	algo, hex, ok := strings.Cut(d, ":")
	if !ok {
		return short(d)
	}
	if len(hex) > 12 {
		hex = hex[:12]
	}
	return algo + ":" + hex
}

// imageUseRepo is the part of a repository fileLink needs.
func imageUseRepo(u store.ImageUse) store.Repository {
	return store.Repository{Owner: u.Owner, Name: u.Name, URL: u.URL, ScannedOID: u.ScannedOID}
}
