package views

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/kubestats/kubestats/store"
)

// EcosystemRanges are the day ranges the ecosystem page offers.
var EcosystemRanges = []int{7, 30, 90, 365}

// EcosystemDefaultRange is the range shown without ?days=.
const EcosystemDefaultRange = 30

// Ecosystem is the /ecosystem page's data.
type Ecosystem struct {
	Days       int                  // the range asked for
	Series     []store.EcosystemDay // oldest first; empty before the aggregate first ran
	Languages  []store.EcosystemBreakdownRow
	Topics     []store.EcosystemBreakdownRow
	Kinds      []store.EcosystemBreakdownRow
	ReposChart EcoReposData
	Resources  EcoResourcesData
	Stars      EcoStarsData
	Events     EcoEventsData
}

// Chart data, columnar for static/charts.js: x in unix seconds, then one array per series;
// the JSON names are the legend labels.
type (
	EcoReposData struct {
		X       []int64 `json:"x"`
		Repos   []int64 `json:"Repositories"`
		Scanned []int64 `json:"Scanned"`
	}
	EcoResourcesData struct {
		X       []int64 `json:"x"`
		Objects []int64 `json:"Objects"`
	}
	EcoStarsData struct {
		X     []int64 `json:"x"`
		Stars []int64 `json:"stars"`
		Forks []int64 `json:"forks"`
	}
	EcoEventsData struct {
		X        []int64 `json:"x"`
		Created  []int64 `json:"created"`
		Modified []int64 `json:"modified"`
		Moved    []int64 `json:"moved"`
		Deleted  []int64 `json:"deleted"`
	}
)

// NewEcosystem fills the chart series from the days.
func NewEcosystem(days int, series []store.EcosystemDay) Ecosystem {
	v := Ecosystem{Days: days, Series: series}
	for _, d := range series {
		x := d.Day.Unix()
		v.ReposChart.X = append(v.ReposChart.X, x)
		v.ReposChart.Repos = append(v.ReposChart.Repos, d.Repos)
		v.ReposChart.Scanned = append(v.ReposChart.Scanned, d.ScannedRepos)
		v.Resources.X = append(v.Resources.X, x)
		v.Resources.Objects = append(v.Resources.Objects, d.Resources)
		v.Stars.X = append(v.Stars.X, x)
		v.Stars.Stars = append(v.Stars.Stars, d.Stars)
		v.Stars.Forks = append(v.Stars.Forks, d.Forks)
		v.Events.X = append(v.Events.X, x)
		v.Events.Created = append(v.Events.Created, d.Created)
		v.Events.Modified = append(v.Events.Modified, d.Modified)
		v.Events.Moved = append(v.Events.Moved, d.Moved)
		v.Events.Deleted = append(v.Events.Deleted, d.Deleted)
	}
	return v
}

// Empty reports that no day has been aggregated yet.
func (v Ecosystem) Empty() bool { return len(v.Series) == 0 }

// Latest is the newest aggregated day.
func (v Ecosystem) Latest() store.EcosystemDay {
	if len(v.Series) == 0 {
		return store.EcosystemDay{}
	}
	return v.Series[len(v.Series)-1]
}

// First is the oldest day of the range.
func (v Ecosystem) First() store.EcosystemDay {
	if len(v.Series) == 0 {
		return store.EcosystemDay{}
	}
	return v.Series[0]
}

// Charted reports whether there are enough days for a line.
func (v Ecosystem) Charted() bool { return len(v.Series) > 1 }

// RangeURL is the page for another range.
func (v Ecosystem) RangeURL(days int) string {
	if days == EcosystemDefaultRange {
		return "/ecosystem"
	}
	return "/ecosystem?days=" + strconv.Itoa(days)
}

// EventsInRange sums the events of every day shown.
func (v Ecosystem) EventsInRange() (created, modified, moved, deleted int64) {
	for _, d := range v.Series {
		created += d.Created
		modified += d.Modified
		moved += d.Moved
		deleted += d.Deleted
	}
	return
}

// Newest first, for the tables: the latest day is what people look for.
func (v Ecosystem) newestFirst() []store.EcosystemDay {
	out := make([]store.EcosystemDay, len(v.Series))
	for i, d := range v.Series {
		out[len(out)-1-i] = d
	}
	return out
}

func ecoDay(d store.EcosystemDay) string { return d.Day.Format("2006-01-02") }

// ecoNum writes a count with thousands separators.
func ecoNum(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// ecoChange is the change over the range, signed.
func ecoChange(now, then int64) string {
	d := now - then
	if d > 0 {
		return "+" + ecoNum(d)
	}
	if d == 0 {
		return "±0"
	}
	return ecoNum(d)
}

// ecoPercent is part of whole in whole percent, for the bars' text.
func ecoPercent(part, whole int64) string {
	if whole <= 0 {
		return "0"
	}
	return strconv.FormatInt((part*100+whole/2)/whole, 10)
}

// ecoKindPath links a breakdown key ("group/Kind" or "Kind") to the kind's page.
func ecoKindPath(key string) string {
	// API groups are DNS names: the first slash ends the group, whatever a kind holds.
	group, kind, ok := strings.Cut(key, "/")
	if !ok {
		group, kind = "", key
	}
	return KindPath(group, kind)
}

func ecoRepoFilter(param, value string) string {
	return "/repositories?" + url.Values{param: {value}}.Encode()
}
