package githubtest

import (
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"time"
)

// searchCap is how many results GitHub lets one search query reach, whatever repositoryCount says.
const searchCap = 1000

// repoQuery is a parsed repository search string.
type repoQuery struct {
	topics     []string // all must match
	fork       string   // "", "true", "only", "false"
	archived   string   // "", "true", "false"
	visibility string   // "", "public", "private"
	owners     []string // user:/org:, any may match
	fullNames  []string // repo:owner/name, any may match
	languages  []string // any may match
	created    []timeRange
	pushed     []timeRange
	updated    []timeRange
	stars      []intRange
	forks      []intRange
	words      []string
	sort       string
	impossible bool // a known qualifier had a value GitHub would not match anything with
}

// timeRange is [from, to); zero ends are open.
type timeRange struct{ from, to time.Time }

func (r timeRange) has(t time.Time) bool {
	return (r.from.IsZero() || !t.Before(r.from)) && (r.to.IsZero() || t.Before(r.to))
}

// intRange is [lo, hi] with open ends as -1.
type intRange struct{ lo, hi int }

func (r intRange) has(n int) bool { return (r.lo < 0 || n >= r.lo) && (r.hi < 0 || n <= r.hi) }

// parseRepoQuery reads GitHub search syntax: space-separated words and qualifiers; unknown qualifiers
// are ignored.
func parseRepoQuery(q string) repoQuery {
	var rq repoQuery
	for _, tok := range tokenize(q) {
		key, val, ok := strings.Cut(tok, ":")
		if !ok || val == "" || key == "" {
			rq.words = append(rq.words, strings.ToLower(tok))
			continue
		}
		val = strings.Trim(val, `"`)
		switch strings.ToLower(key) {
		case "topic":
			rq.topics = append(rq.topics, strings.ToLower(val))
		case "fork":
			switch v := strings.ToLower(val); v {
			case "true", "only", "false":
				rq.fork = v
			default:
				rq.impossible = true
			}
		case "archived":
			switch v := strings.ToLower(val); v {
			case "true", "false":
				rq.archived = v
			default:
				rq.impossible = true
			}
		case "is":
			switch v := strings.ToLower(val); v {
			case "public", "private":
				rq.visibility = v
			case "internal":
				rq.impossible = true // no internal repos here
			}
		case "user", "org", "owner":
			rq.owners = append(rq.owners, strings.ToLower(val))
		case "repo":
			rq.fullNames = append(rq.fullNames, strings.ToLower(val))
		case "language":
			rq.languages = append(rq.languages, strings.ToLower(val))
		case "created", "pushed", "updated":
			r, ok := parseTimeRange(val)
			if !ok {
				rq.impossible = true
				continue
			}
			switch strings.ToLower(key) {
			case "created":
				rq.created = append(rq.created, r)
			case "pushed":
				rq.pushed = append(rq.pushed, r)
			default:
				rq.updated = append(rq.updated, r)
			}
		case "stars", "forks":
			r, ok := parseIntRange(val)
			if !ok {
				rq.impossible = true
				continue
			}
			if strings.EqualFold(key, "stars") {
				rq.stars = append(rq.stars, r)
			} else {
				rq.forks = append(rq.forks, r)
			}
		case "sort":
			rq.sort = strings.ToLower(val)
		}
	}
	return rq
}

// tokenize splits on spaces, keeping double-quoted parts together.
func tokenize(q string) []string {
	var toks []string
	var b strings.Builder
	quoted := false
	for _, c := range q {
		switch {
		case c == '"':
			quoted = !quoted
			b.WriteRune(c)
		case (c == ' ' || c == '\t' || c == '\n') && !quoted:
			if b.Len() > 0 {
				toks = append(toks, b.String())
				b.Reset()
			}
		default:
			b.WriteRune(c)
		}
	}
	if b.Len() > 0 {
		toks = append(toks, b.String())
	}
	return toks
}

// parseTimeRange reads "A..B", ">=A", "<=A", ">A", "<A" or "A", where A is a date (YYYY-MM-DD, whole
// day in UTC) or a date-time (second precision), and "*" is an open end.
func parseTimeRange(v string) (timeRange, bool) {
	if a, b, ok := strings.Cut(v, ".."); ok {
		var r timeRange
		if a != "*" {
			from, _, ok := parseInstant(a)
			if !ok {
				return r, false
			}
			r.from = from
		}
		if b != "*" {
			_, to, ok := parseInstant(b)
			if !ok {
				return r, false
			}
			r.to = to
		}
		return r, true
	}
	for _, op := range []string{">=", "<=", ">", "<"} {
		rest, ok := strings.CutPrefix(v, op)
		if !ok {
			continue
		}
		start, end, ok := parseInstant(rest)
		if !ok {
			return timeRange{}, false
		}
		switch op {
		case ">=":
			return timeRange{from: start}, true
		case ">":
			return timeRange{from: end}, true
		case "<=":
			return timeRange{to: end}, true
		default:
			return timeRange{to: start}, true
		}
	}
	start, end, ok := parseInstant(v)
	return timeRange{from: start, to: end}, ok
}

// parseInstant returns the span a date or date-time covers: [start, end).
func parseInstant(s string) (start, end time.Time, ok bool) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, t.AddDate(0, 0, 1), true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04Z07:00", "2006-01-02T15:04"} {
		if t, err := time.Parse(layout, s); err == nil {
			t = t.UTC().Truncate(time.Second)
			step := time.Second
			if !strings.Contains(layout, "05") {
				step = time.Minute
			}
			return t, t.Add(step), true
		}
	}
	return time.Time{}, time.Time{}, false
}

// parseIntRange reads "N", ">N", ">=N", "<N", "<=N", "A..B" with "*" as an open end.
func parseIntRange(v string) (intRange, bool) {
	num := func(s string) (int, bool) {
		if s == "*" {
			return -1, true
		}
		n, err := strconv.Atoi(s)
		return n, err == nil && n >= 0
	}
	if a, b, ok := strings.Cut(v, ".."); ok {
		lo, ok1 := num(a)
		hi, ok2 := num(b)
		return intRange{lo, hi}, ok1 && ok2
	}
	for _, op := range []string{">=", "<=", ">", "<"} {
		rest, ok := strings.CutPrefix(v, op)
		if !ok {
			continue
		}
		n, ok := num(rest)
		if !ok || n < 0 {
			return intRange{}, false
		}
		switch op {
		case ">=":
			return intRange{n, -1}, true
		case ">":
			return intRange{n + 1, -1}, true
		case "<=":
			return intRange{-1, n}, true
		default:
			if n == 0 {
				return intRange{}, false
			}
			return intRange{-1, n - 1}, true
		}
	}
	n, ok := num(v)
	return intRange{n, n}, ok && n >= 0
}

func (q repoQuery) matches(r *Repo) bool {
	if q.impossible {
		return false
	}
	switch q.fork {
	case "", "false":
		if r.IsFork {
			return false
		}
	case "only":
		if !r.IsFork {
			return false
		}
	}
	if q.archived != "" && r.IsArchived != (q.archived == "true") {
		return false
	}
	if q.visibility != "" && r.IsPrivate != (q.visibility == "private") {
		return false
	}
	for _, t := range q.topics {
		if !slices.ContainsFunc(r.Topics, func(rt string) bool { return strings.EqualFold(rt, t) }) {
			return false
		}
	}
	if len(q.owners) > 0 && !slices.Contains(q.owners, strings.ToLower(r.Owner)) {
		return false
	}
	if len(q.fullNames) > 0 && !slices.Contains(q.fullNames, strings.ToLower(r.NameWithOwner())) {
		return false
	}
	if len(q.languages) > 0 && !slices.Contains(q.languages, strings.ToLower(r.Language)) {
		return false
	}
	for _, tr := range q.created {
		if !tr.has(r.CreatedAt) {
			return false
		}
	}
	for _, tr := range q.pushed {
		if r.PushedAt.IsZero() || !tr.has(r.PushedAt) {
			return false
		}
	}
	for _, tr := range q.updated {
		if !tr.has(r.UpdatedAt) {
			return false
		}
	}
	for _, ir := range q.stars {
		if !ir.has(r.Stars) {
			return false
		}
	}
	for _, ir := range q.forks {
		if !ir.has(r.Forks) {
			return false
		}
	}
	for _, w := range q.words {
		if !strings.Contains(strings.ToLower(r.Name), w) && !strings.Contains(strings.ToLower(r.Description), w) &&
			!slices.ContainsFunc(r.Topics, func(t string) bool { return strings.EqualFold(t, w) }) {
			return false
		}
	}
	return true
}

// order sorts results: GitHub's default is "best match"; the fake uses creation time, which is stable.
func (q repoQuery) order(rs []*Repo) {
	var key func(*Repo) int
	desc := false
	switch q.sort {
	case "stars", "stars-desc":
		key, desc = func(r *Repo) int { return r.Stars }, true
	case "stars-asc":
		key = func(r *Repo) int { return r.Stars }
	case "forks", "forks-desc":
		key, desc = func(r *Repo) int { return r.Forks }, true
	case "forks-asc":
		key = func(r *Repo) int { return r.Forks }
	}
	slices.SortStableFunc(rs, func(a, b *Repo) int {
		if key != nil {
			if c := key(a) - key(b); c != 0 {
				if desc {
					return -c
				}
				return c
			}
			return byCreated(a, b)
		}
		switch q.sort {
		case "created-desc", "created":
			return -byCreated(a, b)
		case "updated", "updated-desc":
			if c := b.UpdatedAt.Compare(a.UpdatedAt); c != 0 {
				return c
			}
		case "updated-asc":
			if c := a.UpdatedAt.Compare(b.UpdatedAt); c != 0 {
				return c
			}
		}
		return byCreated(a, b)
	})
}

// search returns the matching repos in order.
func (s *Server) search(query string) []*Repo {
	q := parseRepoQuery(query)
	s.mu.Lock()
	var rs []*Repo
	for _, r := range s.repos {
		if q.matches(r) {
			rs = append(rs, r)
		}
	}
	s.mu.Unlock()
	q.order(rs)
	return rs
}

// Cursors are GitHub's search cursors: base64("cursor:N"), N the 1-based position of the item.
func encodeCursor(pos int) string {
	return base64.StdEncoding.EncodeToString([]byte("cursor:" + strconv.Itoa(pos)))
}

func decodeCursor(c string) (int, bool) {
	b, err := base64.StdEncoding.DecodeString(c)
	if err != nil {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimPrefix(string(b), "cursor:"))
	if err != nil || !strings.HasPrefix(string(b), "cursor:") || n < 0 {
		return 0, false
	}
	return n, true
}

// page is the slice [lo, hi) of a connection of total items.
type page struct {
	lo, hi           int
	hasNext, hasPrev bool
}

// paginate applies first/last/after/before to total items, checking them as GitHub does.
func paginate(conn string, total int, a connArgs, needBounds bool) (page, error) {
	if err := checkBounds(conn, a.First, a.Last, needBounds); err != nil {
		return page{}, err
	}
	lo, hi := 0, total
	if a.After != nil {
		n, ok := decodeCursor(*a.After)
		if !ok {
			return page{}, invalidCursor(*a.After)
		}
		lo = min(n, total)
	}
	if a.Before != nil {
		n, ok := decodeCursor(*a.Before)
		if !ok {
			return page{}, invalidCursor(*a.Before)
		}
		hi = max(lo, min(n-1, total))
	}
	bound := hi
	if a.First != nil {
		hi = min(hi, lo+int(*a.First))
	}
	if a.Last != nil {
		lo = max(lo, hi-int(*a.Last))
	}
	return page{lo: lo, hi: hi, hasNext: hi < bound, hasPrev: lo > 0}, nil
}

func checkBounds(conn string, first, last *int32, needBounds bool) error {
	for _, arg := range []struct {
		name string
		v    *int32
	}{{"first", first}, {"last", last}} {
		if arg.v == nil {
			continue
		}
		if *arg.v > 100 {
			return &apiError{Type: "EXCESSIVE_PAGINATION", preExec: true,
				Message: "Requesting " + strconv.Itoa(int(*arg.v)) + " records on the `" + conn + "` connection exceeds the `" + arg.name + "` limit of 100 records."}
		}
		if *arg.v < 0 {
			return &apiError{Type: "INVALID_PAGINATION", preExec: true,
				Message: "`" + arg.name + "` on the `" + conn + "` connection cannot be less than zero."}
		}
	}
	if needBounds && first == nil && last == nil {
		return &apiError{Type: "MISSING_PAGINATION_BOUNDARIES", preExec: true,
			Message: "You must provide a `first` or `last` value to properly paginate the `" + conn + "` connection."}
	}
	return nil
}

func invalidCursor(c string) error {
	return &apiError{Type: "INVALID_CURSOR_ARGUMENTS", preExec: true, Message: "`" + c + "` does not appear to be a valid cursor."}
}
