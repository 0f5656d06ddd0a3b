package views

import (
	"fmt"
	"io/fs"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/kubestats/kubestats/store"
)

// RepoList is the repositories page's data.
type RepoList struct {
	Filter    store.RepoFilter
	Page      store.RepoPage
	Languages []store.Facet
	Topics    []store.Facet
	TokenSet  bool
	Results   templ.Component // RepoResults of this page, rendered once per change of the list
}

// query is the filter as URL parameters, leaving out defaults so URLs stay short.
func (v RepoList) query() url.Values {
	f := v.Filter
	q := url.Values{}
	for k, val := range map[string]string{"q": f.Q, "topic": f.Topic, "language": f.Language, "status": f.Status,
		"archived": f.Archived, "fork": f.Fork} {
		if val != "" {
			q.Set(k, val)
		}
	}
	if f.Sort != "" && f.Sort != "stars" {
		q.Set("sort", f.Sort)
	}
	if f.Page > 1 {
		q.Set("page", strconv.Itoa(f.Page))
	}
	return q
}

// URL is the page's URL with some parameters changed ("" removes one).
func (v RepoList) URL(kv ...string) string { return withParams("/repositories", v.query(), kv) }

// Pages is the number of pages.
func (v RepoList) Pages() int { return pages(v.Page.Total, v.Filter.PerPage) }

// Filtered reports whether any filter narrows the list.
func (v RepoList) Filtered() bool {
	f := v.Filter
	return f.Q != "" || f.Topic != "" || f.Language != "" || f.Status != "" || f.Archived != "" || f.Fork != ""
}

func repoPath(r store.Repository) string {
	return "/repositories/" + url.PathEscape(r.Owner) + "/" + url.PathEscape(r.Name)
}

func ago(t *time.Time, now time.Time) string {
	if t == nil {
		return "never"
	}
	d := now.Sub(*t)
	switch {
	case d < 0:
		// Commit times come from the committer's clock, which can be ahead of ours.
		return t.UTC().Format("2006-01-02 15:04")
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	case d < 60*24*time.Hour:
		return fmt.Sprintf("%d days ago", int(d.Hours()/24))
	}
	return t.Format("2006-01-02")
}

// MetricCard is one statistic with its change over 7 and 30 days.
type MetricCard struct {
	Label       string
	Value       int
	Change7     *int // nil when there is no snapshot that old
	Change30    *int
	ChangeLabel string
}

func signed(n *int) string {
	if n == nil {
		return "n/a"
	}
	if *n > 0 {
		return "+" + strconv.Itoa(*n)
	}
	return strconv.Itoa(*n)
}

// ChartData is a columnar series for uPlot: x is unix seconds.
type ChartData struct {
	X        []int64 `json:"x"`
	Stars    []int   `json:"stars"`
	Forks    []int   `json:"forks"`
	Watchers []int   `json:"watchers"`
	Issues   []int   `json:"issues"`
}

// RepoDetail is the repository page's data.
type RepoDetail struct {
	Repo     store.Repository
	Cards    []MetricCard
	History  templ.Component // RepoHistory, rendered once per repository state
	CanAdmin bool
	Now      time.Time
	Sync     SyncPanel
	Scan     templ.Component // RepoScanSections, likewise
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func joinOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	out := s[0]
	for _, x := range s[1:] {
		out += ", " + x
	}
	return out
}

func short(oid string) string {
	if len(oid) > 12 {
		return oid[:12]
	}
	return oid
}

// SyncPanel is the repository page's index status and sync button, also the polled partial.
type SyncPanel struct {
	Repo    store.Repository
	CanSync bool // the button is offered
	// CanRescan offers a superuser the download of a head that is already scanned.
	CanRescan bool
	Polling   bool   // a sync is queued or running: the panel refreshes itself
	Message   string // what the last click did
	Done      bool   // a poll saw the sync end: the lists below are from before it
	CSRF      string // for the no-script form post
	Now       time.Time
}

// RepoPath is the repository page's path; sub-pages append to it.
func (p SyncPanel) RepoPath() string { return repoPath(p.Repo) }

// RepoScan is what the last scan found, shown on the repository page.
type RepoScan struct {
	Charts       []store.ChartUsage
	Images       []store.ImageUsage
	Deprecations []store.DeprecatedUsage
	Problems     []store.ScanProblem
}

// fileURL links a file of the scanned commit on GitHub, at a line when known. A path that is not a
// path inside the repository (absolute, "..", "." or empty parts: a hostile archive entry's name)
// gets no link: the blob URL would point somewhere else or nowhere.
func fileURL(r store.Repository, path string, line int) string {
	if r.URL == "" || r.ScannedOID == "" || !fs.ValidPath(path) || path == "." {
		return ""
	}
	parts := strings.Split(path, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	u := r.URL + "/blob/" + r.ScannedOID + "/" + strings.Join(parts, "/")
	if line > 1 {
		u += "#L" + strconv.Itoa(line)
	}
	return u
}

func commitURL(r store.Repository, oid string) string {
	if r.URL == "" || oid == "" {
		return ""
	}
	return r.URL + "/commit/" + oid
}

// RepoResources is a repository's resources page.
type RepoResources struct {
	Repo       store.Repository
	Filter     store.ResourceFilter
	Page       store.ResourcePage
	Kinds      []store.Facet
	Namespaces []store.Facet
	// Results is RepoResourceResults of this page, rendered once per repository state and filter.
	Results templ.Component
}

// URL is the resources page's URL with some parameters changed ("" removes one).
func (v RepoResources) URL(kv ...string) string {
	q := url.Values{}
	for k, val := range map[string]string{"kind": v.Filter.Kind, "namespace": v.Filter.Namespace} {
		if val != "" {
			q.Set(k, val)
		}
	}
	if v.Filter.Page > 1 {
		q.Set("page", strconv.Itoa(v.Filter.Page))
	}
	return withParams(repoPath(v.Repo)+"/resources", q, kv)
}

// Pages is the number of pages.
func (v RepoResources) Pages() int { return pages(v.Page.Total, v.Filter.PerPage) }

// withParams applies key/value changes to q and returns base?q.
func withParams(base string, q url.Values, kv []string) string {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			q.Del(kv[i])
		} else {
			q.Set(kv[i], kv[i+1])
		}
	}
	if len(q) == 0 {
		return base
	}
	return base + "?" + q.Encode()
}

// topicURL is the repositories list filtered by one topic, the topic encoded as a query value.
func topicURL(topic string) string {
	return withParams("/repositories", url.Values{}, []string{"topic", topic})
}

func pages(total, per int) int {
	if per <= 0 {
		per = 50
	}
	return max(1, (total+per-1)/per)
}

// RepoResource is one resource with its redacted body as YAML.
type RepoResource struct {
	Repo     store.Repository
	Resource store.Resource
	YAML     string
}

// EventChart is a repository's events per day, columnar for uPlot (x in unix seconds).
type EventChart struct {
	X        []int64 `json:"x"`
	Created  []int   `json:"created"`
	Modified []int   `json:"modified"`
	Moved    []int   `json:"moved"`
	Deleted  []int   `json:"deleted"`
}

// RepoEvents is a repository's events page: the daily chart and a page of events.
type RepoEvents struct {
	Repo     store.Repository
	Filter   store.EventFilter
	Page     store.EventPage
	DaysHTML templ.Component // RepoEventDays, rendered once per repository state
	Results  templ.Component // RepoEventResults of this page, rendered once per repository state and filter
}

// URL is the events page's URL with some parameters changed ("" removes one).
func (v RepoEvents) URL(kv ...string) string {
	q := url.Values{}
	if v.Filter.Type != "" {
		q.Set("type", v.Filter.Type)
	}
	if v.Filter.Page > 1 {
		q.Set("page", strconv.Itoa(v.Filter.Page))
	}
	return withParams(repoPath(v.Repo)+"/events", q, kv)
}

// Pages is the number of pages.
func (v RepoEvents) Pages() int { return pages(v.Page.Total, v.Filter.PerPage) }

func qualifiedName(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

func ms(d int64) string {
	if d < 1000 {
		return strconv.FormatInt(d, 10) + " ms"
	}
	return strconv.FormatFloat(float64(d)/1000, 'f', 1, 64) + " s"
}
