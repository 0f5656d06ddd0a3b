package githubtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"time"

	gqlerrors "github.com/graph-gophers/graphql-go/errors"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

type gqlRequest struct {
	Query         string         `json:"query"`
	Variables     map[string]any `json:"variables"`
	OperationName string         `json:"operationName"`
}

// ghError is one entry of "errors" as GitHub writes it: a top-level "type" besides the spec's keys.
type ghError struct {
	Type       string         `json:"type,omitempty"`
	Code       string         `json:"code,omitempty"`
	Path       []any          `json:"path,omitempty"`
	Extensions map[string]any `json:"extensions,omitempty"`
	Locations  []ghLocation   `json:"locations,omitempty"`
	Message    string         `json:"message"`
}

type ghLocation struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

type ghResponse struct {
	Data   json.RawMessage `json:"data,omitempty"`
	Errors []ghError       `json:"errors,omitempty"`
}

// reqState carries one request's rate-limit snapshot and collects errors that the resolvers report
// at paths graph-gophers does not know (an element of nodes).
type reqState struct {
	rl        rateLimit
	cost      int
	nodeCount int

	mu     sync.Mutex
	fields []*rootField
	errs   []ghError
}

type stateKey struct{}

func stateFrom(ctx context.Context) *reqState {
	if st, ok := ctx.Value(stateKey{}).(*reqState); ok {
		return st
	}
	return &reqState{}
}

// rootField is a top-level field of the operation, to give errors the response key and location.
type rootField struct {
	name, key string
	loc       ghLocation
	ids       []string // node/nodes arguments
	used      bool
}

// claim finds the top-level field a resolver is serving: the first unclaimed one of that name whose
// ids match (aliases let one query ask for nodes twice).
func (st *reqState) claim(name string, ids []string) (string, *ghLocation) {
	st.mu.Lock()
	defer st.mu.Unlock()
	var fallback *rootField
	for _, f := range st.fields {
		if f.name != name || f.used {
			continue
		}
		if fallback == nil {
			fallback = f
		}
		if ids == nil || equalStrings(f.ids, ids) {
			f.used = true
			return f.key, &f.loc
		}
	}
	if fallback != nil {
		fallback.used = true
		return fallback.key, &fallback.loc
	}
	return name, nil
}

// locationOf finds where a top-level response key is in the document.
func (st *reqState) locationOf(key any) []ghLocation {
	for _, f := range st.fields {
		if f.key == key {
			return []ghLocation{f.loc}
		}
	}
	return nil
}

func (st *reqState) addError(e apiError, loc *ghLocation) {
	ge := ghError{Type: e.Type, Path: e.Path, Message: e.Message}
	if loc != nil {
		ge.Locations = []ghLocation{*loc}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.errs = append(st.errs, ge)
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (s *Server) serveGraphQL(w http.ResponseWriter, r *http.Request) {
	rec := s.begin(w, r, KindGraphQL)
	defer s.end(rec)
	if r.Context().Err() != nil {
		return // the client gave up during the delay
	}

	var req gqlRequest
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	meta := inspectQuery(req.Query, req.OperationName, req.Variables)
	rec.req.Query, rec.req.Variables = req.Query, maps.Clone(req.Variables) // Exec adds defaults to the original
	switch {
	case meta.search:
		rec.req.Kind = KindSearch
	case meta.nodes:
		rec.req.Kind = KindNodes
	}
	s.mu.Lock()
	s.stats.GraphQL++
	if meta.search {
		s.stats.Search++
	}
	if meta.nodes {
		s.stats.Nodes++
	}
	s.mu.Unlock()

	if !s.authorized(rec, r, graphqlDocURL) {
		return
	}
	if s.injectGraphQLFault(rec) {
		return
	}
	if err != nil {
		writeJSON(rec, http.StatusBadRequest, map[string]string{"message": "Problems parsing JSON", "documentation_url": graphqlDocURL})
		return
	}

	if errs := s.schema.ValidateWithVariables(req.Query, req.Variables); len(errs) > 0 {
		s.mu.Lock()
		s.rolloverLocked(s.now())
		snap := s.rl
		s.mu.Unlock()
		out := ghResponse{}
		for _, e := range errs {
			out.Errors = append(out.Errors, convertError(e))
		}
		rec.errType = "VALIDATION"
		setRateHeaders(rec, snap)
		writeJSON(rec, http.StatusOK, out)
		return
	}

	const cost = 1
	s.mu.Lock()
	s.rolloverLocked(s.now())
	limited := s.rl.remaining < cost
	if limited {
		s.stats.RateLimited++
	} else {
		s.rl.remaining -= cost
		s.rl.used += cost
	}
	snap := s.rl
	s.mu.Unlock()
	setRateHeaders(rec, snap)
	if limited {
		rec.errType = "RATE_LIMITED"
		writeJSON(rec, http.StatusOK, ghResponse{Errors: []ghError{{Type: "RATE_LIMITED", Code: "graphql_rate_limit",
			Message: "API rate limit already exceeded for user ID 1."}}})
		return
	}

	st := &reqState{rl: snap, cost: cost, nodeCount: meta.nodeCount, fields: meta.fields}
	resp := s.schema.Exec(context.WithValue(r.Context(), stateKey{}, st), req.Query, req.OperationName, req.Variables)
	out := ghResponse{Data: resp.Data}
	preExec := false
	seen := map[string]bool{}
	for _, e := range resp.Errors {
		ge := convertError(e)
		if len(ge.Locations) == 0 && len(ge.Path) == 1 {
			ge.Locations = st.locationOf(ge.Path[0])
		}
		if ae, ok := e.ResolverError.(*apiError); ok && ae.preExec {
			// GitHub rejects these before running the query: once, and with no data.
			preExec = true
			if seen[ge.Type+ge.Message] {
				continue
			}
			seen[ge.Type+ge.Message] = true
		}
		out.Errors = append(out.Errors, ge)
	}
	if preExec {
		out.Data = json.RawMessage("null")
	} else {
		st.mu.Lock()
		out.Errors = append(out.Errors, st.errs...)
		st.mu.Unlock()
	}
	if len(out.Errors) > 0 {
		rec.errType = out.Errors[0].Type
	}
	writeJSON(rec, http.StatusOK, out)
}

var undefinedField = regexp.MustCompile(`^Cannot query field "([^"]+)" on type "([^"]+)"\.`)

// convertError turns a graph-gophers error into GitHub's shape.
func convertError(e *gqlerrors.QueryError) ghError {
	ge := ghError{Message: e.Message, Path: e.Path, Extensions: e.Extensions}
	for _, l := range e.Locations {
		ge.Locations = append(ge.Locations, ghLocation{l.Line, l.Column})
	}
	if ae, ok := e.ResolverError.(*apiError); ok {
		ge.Type, ge.Message = ae.Type, ae.Message
	}
	if m := undefinedField.FindStringSubmatch(e.Message); m != nil {
		ge.Message = fmt.Sprintf("Field '%s' doesn't exist on type '%s'", m[1], m[2])
		ge.Extensions = map[string]any{"code": "undefinedField", "typeName": m[2], "fieldName": m[1]}
	}
	return ge
}

func setRateHeaders(w http.ResponseWriter, rl rateLimit) {
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(rl.limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(rl.remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(rl.resetAt.Unix(), 10))
	h.Set("X-RateLimit-Used", strconv.Itoa(rl.used))
	h.Set("X-RateLimit-Resource", "graphql")
}

// unicornPage is the body GitHub's front end sends with 5xx answers.
const unicornPage = `<!DOCTYPE html>
<html>
  <head>
    <meta http-equiv="Content-Type" content="text/html; charset=utf-8">
    <title>Unicorn! &middot; GitHub</title>
  </head>
  <body>
    <div class="container">
      <h1>No server is currently available to service your request.</h1>
      <p>Sorry about that. Please try refreshing and contact us if the problem persists.</p>
    </div>
  </body>
</html>
`

func writeUnicorn(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, unicornPage)
}

// injectGraphQLFault answers the request with a pending fault, if any.
func (s *Server) injectGraphQLFault(w *recorder) bool {
	s.mu.Lock()
	now := s.now()
	f := &s.faults
	status := 0
	kind, retryAfter := s.limitLocked(now, &f.secondaryNext, &f.penaltyUntil)
	switch {
	case kind != "":
	case f.failNext > 0:
		f.failNext--
		kind, status = "status", f.failNextStatus
	case f.failEvery > 0:
		f.everyCount++
		if f.everyCount%f.failEvery == 0 {
			kind, status = "status", f.failEveryStatus
		}
	}
	if kind == "" && f.randP > 0 && f.rnd.Float64() < f.randP {
		kind, status = "status", http.StatusBadGateway
	}
	if kind != "" {
		s.stats.Injected++
	}
	s.rolloverLocked(now)
	snap := s.rl
	s.mu.Unlock()

	w.req.Injected = kind
	switch kind {
	case "":
		return false
	case "status":
		writeUnicorn(w, status)
	default:
		setRateHeaders(w, snap)
		retryAfterHeader(w, retryAfter)
		w.errType = "SECONDARY_RATE_LIMIT"
		writeJSON(w, http.StatusForbidden, map[string]string{
			"message":           "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 0000:1111:2222:3333:44444444.",
			"documentation_url": "https://docs.github.com/graphql/overview/rate-limits-and-node-limits-for-the-graphql-api#secondary-rate-limits",
		})
	}
	return true
}

// limitLocked decides whether a request meets a secondary rate limit: the running penalty of its
// host (until), or the next limit queued for its endpoint, which starts a penalty of retryAfter
// (rounded up to whole seconds, as Retry-After says). kind is "penalty", "secondary" or "".
func (s *Server) limitLocked(now time.Time, queue *[]time.Duration, until *time.Time) (kind string, retryAfter time.Duration) {
	switch {
	case now.Before(*until):
		s.stats.EarlyRetries++
		return "penalty", until.Sub(now)
	case len(*queue) > 0:
		retryAfter = (*queue)[0]
		*queue = (*queue)[1:]
		if retryAfter > 0 {
			retryAfter = time.Duration(math.Ceil(retryAfter.Seconds())) * time.Second
			*until = now.Add(retryAfter)
		}
		return "secondary", retryAfter
	}
	return "", 0
}

// retryAfterHeader sets Retry-After in whole seconds, rounded up; none for d <= 0.
func retryAfterHeader(w http.ResponseWriter, d time.Duration) {
	if d > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(d.Seconds()))))
	}
}

// queryMeta is what the server needs to know about a document besides executing it.
type queryMeta struct {
	search, nodes bool
	fields        []*rootField
	nodeCount     int
}

// inspectQuery reads the operation's top-level fields and estimates GitHub's nodeCount; a document
// that does not parse gives zero values (validation reports the error).
func inspectQuery(query, opName string, vars map[string]any) queryMeta {
	var m queryMeta
	doc, err := parser.ParseQuery(&ast.Source{Input: query})
	if err != nil {
		return m
	}
	var op *ast.OperationDefinition
	for _, o := range doc.Operations {
		if opName == "" || o.Name == opName {
			op = o
			break
		}
	}
	if op == nil {
		return m
	}
	value := func(v *ast.Value) any {
		if v == nil {
			return nil
		}
		if v.Kind == ast.Variable {
			if x, ok := vars[v.Raw]; ok {
				return x
			}
			if d := op.VariableDefinitions.ForName(v.Raw); d != nil && d.DefaultValue != nil {
				x, _ := d.DefaultValue.Value(vars)
				return x
			}
			return nil
		}
		x, _ := v.Value(vars)
		return x
	}
	var visit func(set ast.SelectionSet, top bool, mult int, depth int)
	visit = func(set ast.SelectionSet, top bool, mult int, depth int) {
		if depth > 50 {
			return
		}
		for _, sel := range set {
			switch sel := sel.(type) {
			case *ast.Field:
				n := 0
				for _, a := range []string{"first", "last"} {
					if arg := sel.Arguments.ForName(a); arg != nil {
						n = max(n, toInt(value(arg.Value)))
					}
				}
				if top {
					rf := &rootField{name: sel.Name, key: sel.Alias}
					if sel.Position != nil {
						rf.loc = ghLocation{sel.Position.Line, sel.Position.Column}
					}
					switch sel.Name {
					case "search":
						m.search = true
					case "nodes", "node":
						m.nodes = true
						arg := "ids"
						if sel.Name == "node" {
							arg = "id"
						}
						if a := sel.Arguments.ForName(arg); a != nil {
							rf.ids = toStrings(value(a.Value))
						}
						n = len(rf.ids)
					}
					m.fields = append(m.fields, rf)
				}
				if n > 0 && (sel.Name != "node") {
					m.nodeCount += mult * n
					visit(sel.SelectionSet, false, mult*n, depth+1)
				} else {
					visit(sel.SelectionSet, false, mult, depth+1)
				}
			case *ast.InlineFragment:
				visit(sel.SelectionSet, top, mult, depth+1)
			case *ast.FragmentSpread:
				if fd := doc.Fragments.ForName(sel.Name); fd != nil {
					visit(fd.SelectionSet, top, mult, depth+1)
				}
			}
		}
	}
	visit(op.SelectionSet, true, 1, 0)
	return m
}

func toInt(v any) int {
	switch v := v.(type) {
	case int64:
		return int(v)
	case float64:
		return int(v)
	case json.Number:
		n, _ := v.Int64()
		return int(n)
	}
	return 0
}

func toStrings(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			s, _ := x.(string)
			out = append(out, s)
		}
		return out
	}
	return nil
}
