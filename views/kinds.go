package views

import (
	"net/url"
	"strconv"

	"github.com/a-h/templ"

	"github.com/kubestats/kubestats/store"
)

// coreGroup names the core API group ("" in the data) in URLs and menus.
const coreGroup = "core"

// GroupParam is how an API group travels in URLs: the core group is "core".
func GroupParam(g string) string {
	if g == "" {
		return coreGroup
	}
	return g
}

// GroupFromParam reverses GroupParam for the group filter; nil (from "") means any group.
func GroupFromParam(p string) *string {
	if p == "" {
		return nil
	}
	if p == coreGroup {
		p = ""
	}
	return &p
}

// groupLabel is the API group as shown.
func groupLabel(g string) string { return GroupParam(g) }

// NamespaceParam is how a namespace filter travels in URLs: "-" stands for "no namespace"
// (cluster-scoped or not written), which no real namespace can be.
func NamespaceParam(ns *string) string {
	switch {
	case ns == nil:
		return ""
	case *ns == "":
		return "-"
	}
	return *ns
}

// NamespaceFromParam reverses NamespaceParam; nil (from "") means any namespace.
func NamespaceFromParam(p string) *string {
	if p == "" {
		return nil
	}
	if p == "-" {
		p = ""
	}
	return &p
}

// KindPath is a kind's page: /resources/<group, "core" for the core group>/<kind>.
func KindPath(group, kind string) string {
	return "/resources/" + url.PathEscape(GroupParam(group)) + "/" + url.PathEscape(kind)
}

// KindList is the resources page's data: kinds with their use.
type KindList struct {
	Filter  store.KindFilter
	Page    store.KindPage
	Groups  []store.Facet
	Scanned int             // live repositories with a scan, to explain an empty page
	Results templ.Component // KindResults of this page, rendered once per change of the data
}

func (v KindList) query() url.Values {
	f := v.Filter
	q := url.Values{}
	if f.Group != nil {
		q.Set("group", GroupParam(*f.Group))
	}
	for k, val := range map[string]string{"kind": f.Kind, "namespace": NamespaceParam(f.Namespace), "name": f.Name, "repo": f.Repo} {
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
	return q
}

// URL is the resources page's URL with some parameters changed ("" removes one).
func (v KindList) URL(kv ...string) string { return withParams("/resources", v.query(), kv) }

// Pages is the number of pages.
func (v KindList) Pages() int { return pages(v.Page.Total, v.Filter.PerPage) }

// Filtered reports whether any filter narrows the list.
func (v KindList) Filtered() bool {
	return v.Filter.Group != nil || v.Filter.Kind != "" || v.Filter.ObjectFiltered()
}

// KindURL links a kind of the list to its page, keeping the namespace and name filters.
func (v KindList) KindURL(k store.KindSummary) string {
	q := url.Values{}
	if v.Filter.Namespace != nil {
		q.Set("namespace", NamespaceParam(v.Filter.Namespace))
	}
	if v.Filter.Name != "" {
		q.Set("q", v.Filter.Name)
	}
	return withParams(KindPath(k.Group, k.Kind), q, nil)
}

func (v KindList) groupSelected(value string) bool {
	return v.Filter.Group != nil && *v.Filter.Group == value
}

// KindDetail is a kind's page: its totals and the names its objects carry.
type KindDetail struct {
	Kind    store.KindSummary
	Filter  store.KindNameFilter
	Names   store.KindNamePage
	Results templ.Component // KindNameResults of this page, rendered once per change of the data
}

// URL is the kind page's URL with some parameters changed ("" removes one).
func (v KindDetail) URL(kv ...string) string {
	q := url.Values{}
	if v.Filter.Q != "" {
		q.Set("q", v.Filter.Q)
	}
	if v.Filter.Namespace != nil {
		q.Set("namespace", NamespaceParam(v.Filter.Namespace))
	}
	if v.Filter.Sort != "" && v.Filter.Sort != "repos" {
		q.Set("sort", v.Filter.Sort)
	}
	if v.Filter.Page > 1 {
		q.Set("page", strconv.Itoa(v.Filter.Page))
	}
	return withParams(KindPath(v.Kind.Group, v.Kind.Kind), q, kv)
}

// Pages is the number of name pages.
func (v KindDetail) Pages() int { return pages(v.Names.Total, v.Filter.PerPage) }

// Filtered reports whether a filter narrows the names.
func (v KindDetail) Filtered() bool { return v.Filter.Q != "" || v.Filter.Namespace != nil }

// NameURL is the drill-down into one name, keeping the namespace filter.
func (v KindDetail) NameURL(name string) string {
	return KindNameURL(v.Kind.Group, v.Kind.Kind, name, v.Filter.Namespace)
}

// KindNameURL is the page of the objects of one kind and name. The name travels as a query
// parameter: names are free text from manifests ("/", "%", ":" and even "" occur), which a
// query string carries unambiguously; presence of the parameter selects the drill-down.
func KindNameURL(group, kind, name string, ns *string) string {
	q := url.Values{}
	if ns != nil {
		q.Set("namespace", NamespaceParam(ns))
	}
	q.Set("name", name)
	return KindPath(group, kind) + "?" + q.Encode()
}

// KindObjects is the drill-down of a kind page into one name: where it is defined.
type KindObjects struct {
	Kind    store.KindSummary
	Name    string
	Filter  store.KindObjectFilter
	Objects store.KindObjectPage
	Results templ.Component // KindObjectResults of this page, rendered once per change of the data
}

// URL is the drill-down's URL with some parameters changed ("" removes one; the name stays).
func (v KindObjects) URL(kv ...string) string {
	q := url.Values{}
	if v.Filter.Namespace != nil {
		q.Set("namespace", NamespaceParam(v.Filter.Namespace))
	}
	if v.Filter.Sort != "" && v.Filter.Sort != "stars" {
		q.Set("sort", v.Filter.Sort)
	}
	if v.Filter.Page > 1 {
		q.Set("page", strconv.Itoa(v.Filter.Page))
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			q.Del(kv[i])
		} else {
			q.Set(kv[i], kv[i+1])
		}
	}
	q.Set("name", v.Name) // set last so that even an empty name keeps the drill-down
	return KindPath(v.Kind.Group, v.Kind.Kind) + "?" + q.Encode()
}

// Pages is the number of object pages.
func (v KindObjects) Pages() int { return pages(v.Objects.Total, v.Filter.PerPage) }

// kindObjectRepo is the part of a repository fileLink and repoPath need.
func kindObjectRepo(o store.KindObject) store.Repository {
	return store.Repository{ID: o.RepoID, Owner: o.Owner, Name: o.Name, URL: o.URL, ScannedOID: o.ScannedOID}
}

// kindResourcePath is the object's page within its repository.
func kindResourcePath(o store.KindObject) string {
	return repoPath(kindObjectRepo(o)) + "/resources/" + strconv.FormatInt(o.ResourceID, 10)
}

// nameLabel shows a name, saying so when the manifest had none.
func nameLabel(n string) string {
	if n == "" {
		return "(no name)"
	}
	return n
}
