package views

import (
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/kubestats/kubestats/store"
)

// RepoList is the repositories page's data.
type RepoList struct {
	Filter    store.RepoFilter
	Page      store.RepoPage
	Languages []store.Facet
	Topics    []store.Facet
	TokenSet  bool
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
func (v RepoList) URL(kv ...string) string {
	q := v.query()
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			q.Del(kv[i])
		} else {
			q.Set(kv[i], kv[i+1])
		}
	}
	if len(q) == 0 {
		return "/repositories"
	}
	return "/repositories?" + q.Encode()
}

// Pages is the number of pages.
func (v RepoList) Pages() int {
	per := v.Filter.PerPage
	if per <= 0 {
		per = 50
	}
	return max(1, (v.Page.Total+per-1)/per)
}

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
	Chart    ChartData
	Metrics  []store.Metric // newest first, for the table that mirrors the chart
	CanAdmin bool
	Now      time.Time
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
