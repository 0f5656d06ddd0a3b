package views

import (
	"net/url"
	"strconv"

	"github.com/kubestats/kubestats/store"
)

// DeprecationList is the deprecations page: every deprecated API in use, or, when API is
// set, the repositories that use that one.
type DeprecationList struct {
	Filter  store.DeprecationFilter
	APIs    []store.DeprecatedAPI
	Scanned int // live repositories with a scan, to explain an empty page

	// Drill-down into one API.
	APIVersion string
	Kind       string
	API        *store.DeprecatedAPI // nil when nothing uses it (any more)
	Repos      store.DeprecatedRepoPage
	Page       int
	PerPage    int
}

// Drill reports whether the page shows one API's repositories.
func (v DeprecationList) Drill() bool { return v.APIVersion != "" || v.Kind != "" }

// URL is the page's URL with some parameters changed ("" removes one).
func (v DeprecationList) URL(kv ...string) string {
	q := url.Values{}
	for k, val := range map[string]string{"project": v.Filter.Project, "status": v.Filter.Status, "api": v.APIVersion, "kind": v.Kind} {
		if val != "" {
			q.Set(k, val)
		}
	}
	if v.Page > 1 {
		q.Set("page", strconv.Itoa(v.Page))
	}
	return withParams("/deprecations", q, kv)
}

// APIURL drills into one API, keeping the list's filters for the way back.
func (v DeprecationList) APIURL(d store.DeprecatedAPI) string {
	return v.URL("api", d.APIVersion, "kind", d.Kind, "page", "")
}

// Pages is the number of repository pages in the drill-down.
func (v DeprecationList) Pages() int { return pages(v.Repos.Total, v.PerPage) }

// Filtered reports whether a filter narrows the list.
func (v DeprecationList) Filtered() bool { return v.Filter.Project != "" || v.Filter.Status != "" }

func depStatus(d store.DeprecatedAPI) string {
	if d.Removed() {
		return "removed in " + d.RemovedIn
	}
	return "deprecated"
}

func depBadge(d store.DeprecatedAPI) string {
	if d.Removed() {
		return "badge badge-warn"
	}
	return "badge badge-muted"
}

// depRepo is the part of a repository that links need.
func depRepo(r store.DeprecatedRepo) store.Repository {
	return store.Repository{Owner: r.Owner, Name: r.Name, URL: r.URL, ScannedOID: r.ScannedOID}
}
