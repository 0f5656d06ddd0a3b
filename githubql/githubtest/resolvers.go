package githubtest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	graphql "github.com/graph-gophers/graphql-go"
)

// apiError is an error GitHub reports with a top-level "type".
type apiError struct {
	Type    string
	Message string
	Path    []any
	preExec bool // GitHub checks it before executing: the answer's data is null
}

func (e *apiError) Error() string { return e.Message }

// Scalars as GitHub serialises them.

type dateTime struct{ time.Time }

func (dateTime) ImplementsGraphQLType(name string) bool { return name == "DateTime" }

func (t *dateTime) UnmarshalGraphQL(input any) error {
	s, ok := input.(string)
	if !ok {
		return fmt.Errorf("wrong type for DateTime: %T", input)
	}
	var err error
	t.Time, err = time.Parse(time.RFC3339, s)
	return err
}

func (t dateTime) MarshalJSON() ([]byte, error) {
	return json.Marshal(t.UTC().Truncate(time.Second).Format(time.RFC3339))
}

func optTime(t time.Time) *dateTime {
	if t.IsZero() {
		return nil
	}
	return &dateTime{t}
}

type uri string

func (uri) ImplementsGraphQLType(name string) bool { return name == "URI" }

func (u *uri) UnmarshalGraphQL(input any) error {
	s, ok := input.(string)
	if !ok {
		return fmt.Errorf("wrong type for URI: %T", input)
	}
	*u = uri(s)
	return nil
}

func (u uri) MarshalJSON() ([]byte, error) { return json.Marshal(string(u)) }

type gitObjectID string

func (gitObjectID) ImplementsGraphQLType(name string) bool { return name == "GitObjectID" }

func (o *gitObjectID) UnmarshalGraphQL(input any) error {
	s, ok := input.(string)
	if !ok {
		return fmt.Errorf("wrong type for GitObjectID: %T", input)
	}
	*o = gitObjectID(s)
	return nil
}

func (o gitObjectID) MarshalJSON() ([]byte, error) { return json.Marshal(string(o)) }

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Query root.

type queryResolver struct{ s *Server }

type connArgs struct {
	After, Before *string
	First, Last   *int32
}

type searchArgs struct {
	connArgs
	Query string
	Type  string
}

func (q *queryResolver) Search(ctx context.Context, args searchArgs) (*searchConnRes, error) {
	needBounds := graphql.HasSelectedField(ctx, "nodes") || graphql.HasSelectedField(ctx, "edges")
	// GitHub accepts 0 on other connections; for search the fake insists on 1..100.
	for _, a := range []struct {
		name string
		v    *int32
	}{{"first", args.First}, {"last", args.Last}} {
		if a.v != nil && *a.v < 1 {
			return nil, &apiError{Type: "INVALID_PAGINATION", preExec: true,
				Message: fmt.Sprintf("`%s` on the `search` connection must be between 1 and 100, got %d.", a.name, *a.v)}
		}
	}
	var rs []*Repo
	if args.Type == "REPOSITORY" {
		rs = q.s.search(args.Query)
	}
	p, err := paginate("search", min(len(rs), searchCap), args.connArgs, needBounds)
	if err != nil {
		return nil, err
	}
	return &searchConnRes{repos: rs, p: p}, nil
}

func (q *queryResolver) Nodes(ctx context.Context, args struct{ IDs []graphql.ID }) ([]*nodeRes, error) {
	if len(args.IDs) > 100 {
		return nil, &apiError{Type: "ARGUMENT_LIMIT", preExec: true,
			Message: fmt.Sprintf("You may not provide more than 100 node ids; you provided %d.", len(args.IDs))}
	}
	st := stateFrom(ctx)
	ids := make([]string, len(args.IDs))
	for i, id := range args.IDs {
		ids[i] = string(id)
	}
	key, loc := st.claim("nodes", ids)
	out := make([]*nodeRes, len(ids))
	for i, id := range ids {
		if r, ok := q.s.lookup(id); ok {
			out[i] = &nodeRes{&repoRes{r}}
			continue
		}
		st.addError(apiError{Type: "NOT_FOUND", Path: []any{key, i},
			Message: fmt.Sprintf("Could not resolve to a node with the global id of '%s'.", id)}, loc)
	}
	return out, nil
}

func (q *queryResolver) Node(ctx context.Context, args struct{ ID graphql.ID }) *nodeRes {
	if r, ok := q.s.lookup(string(args.ID)); ok {
		return &nodeRes{&repoRes{r}}
	}
	st := stateFrom(ctx)
	key, loc := st.claim("node", []string{string(args.ID)})
	st.addError(apiError{Type: "NOT_FOUND", Path: []any{key},
		Message: fmt.Sprintf("Could not resolve to a node with the global id of '%s'.", args.ID)}, loc)
	return nil
}

func (q *queryResolver) Repository(ctx context.Context, args struct {
	FollowRenames bool
	Name, Owner   string
}) *repoRes {
	if r, ok := q.s.byName(args.Owner, args.Name); ok {
		return &repoRes{r}
	}
	st := stateFrom(ctx)
	key, loc := st.claim("repository", nil)
	st.addError(apiError{Type: "NOT_FOUND", Path: []any{key},
		Message: fmt.Sprintf("Could not resolve to a Repository with the name '%s/%s'.", args.Owner, args.Name)}, loc)
	return nil
}

func (q *queryResolver) RateLimit(ctx context.Context, args struct{ DryRun bool }) *rateLimitRes {
	st := stateFrom(ctx)
	return &rateLimitRes{st.rl, st.cost, st.nodeCount}
}

type rateLimitRes struct {
	rl              rateLimit
	cost, nodeCount int
}

func (r *rateLimitRes) Cost() int32       { return int32(r.cost) }
func (r *rateLimitRes) Limit() int32      { return int32(r.rl.limit) }
func (r *rateLimitRes) NodeCount() int32  { return int32(r.nodeCount) }
func (r *rateLimitRes) Remaining() int32  { return int32(r.rl.remaining) }
func (r *rateLimitRes) ResetAt() dateTime { return dateTime{r.rl.resetAt} }
func (r *rateLimitRes) Used() int32       { return int32(r.rl.used) }

// Search connection.

type searchConnRes struct {
	repos []*Repo
	p     page
}

func (r *searchConnRes) RepositoryCount() int32 { return int32(len(r.repos)) }
func (r *searchConnRes) CodeCount() int32       { return 0 }
func (r *searchConnRes) DiscussionCount() int32 { return 0 }
func (r *searchConnRes) IssueCount() int32      { return 0 }
func (r *searchConnRes) UserCount() int32       { return 0 }
func (r *searchConnRes) WikiCount() int32       { return 0 }

func (r *searchConnRes) Nodes() *[]*searchItemRes {
	out := make([]*searchItemRes, 0, r.p.hi-r.p.lo)
	for _, repo := range r.repos[r.p.lo:r.p.hi] {
		out = append(out, &searchItemRes{&repoRes{repo}})
	}
	return &out
}

func (r *searchConnRes) Edges() *[]*searchEdgeRes {
	out := make([]*searchEdgeRes, 0, r.p.hi-r.p.lo)
	for i, repo := range r.repos[r.p.lo:r.p.hi] {
		out = append(out, &searchEdgeRes{encodeCursor(r.p.lo + i + 1), &searchItemRes{&repoRes{repo}}})
	}
	return &out
}

func (r *searchConnRes) PageInfo() *pageInfoRes { return newPageInfo(r.p) }

type searchEdgeRes struct {
	cursor string
	node   *searchItemRes
}

func (e *searchEdgeRes) Cursor() string       { return e.cursor }
func (e *searchEdgeRes) Node() *searchItemRes { return e.node }

type searchItemRes struct{ v node }

func (i *searchItemRes) ToRepository() (*repoRes, bool)      { r, ok := i.v.(*repoRes); return r, ok }
func (i *searchItemRes) ToUser() (*accountRes, bool)         { return asAccount(i.v, false) }
func (i *searchItemRes) ToOrganization() (*accountRes, bool) { return asAccount(i.v, true) }

type pageInfoRes struct{ p page }

func newPageInfo(p page) *pageInfoRes { return &pageInfoRes{p} }

func (p *pageInfoRes) HasNextPage() bool     { return p.p.hasNext }
func (p *pageInfoRes) HasPreviousPage() bool { return p.p.hasPrev }

func (p *pageInfoRes) StartCursor() *string {
	if p.p.hi <= p.p.lo {
		return nil
	}
	c := encodeCursor(p.p.lo + 1)
	return &c
}

func (p *pageInfoRes) EndCursor() *string {
	if p.p.hi <= p.p.lo {
		return nil
	}
	c := encodeCursor(p.p.hi)
	return &c
}

// Node interface and its implementations.

type node interface{ ID() graphql.ID }

type nodeRes struct{ v node }

func (n *nodeRes) ID() graphql.ID                      { return n.v.ID() }
func (n *nodeRes) ToRepository() (*repoRes, bool)      { r, ok := n.v.(*repoRes); return r, ok }
func (n *nodeRes) ToUser() (*accountRes, bool)         { return asAccount(n.v, false) }
func (n *nodeRes) ToOrganization() (*accountRes, bool) { return asAccount(n.v, true) }
func (n *nodeRes) ToLanguage() (*languageRes, bool)    { r, ok := n.v.(*languageRes); return r, ok }
func (n *nodeRes) ToLicense() (*licenseRes, bool)      { r, ok := n.v.(*licenseRes); return r, ok }
func (n *nodeRes) ToRepositoryTopic() (*repoTopicRes, bool) {
	r, ok := n.v.(*repoTopicRes)
	return r, ok
}
func (n *nodeRes) ToTopic() (*topicRes, bool)   { r, ok := n.v.(*topicRes); return r, ok }
func (n *nodeRes) ToRef() (*refRes, bool)       { r, ok := n.v.(*refRes); return r, ok }
func (n *nodeRes) ToCommit() (*commitRes, bool) { r, ok := n.v.(*commitRes); return r, ok }

type repoRes struct{ r *Repo }

func (x *repoRes) ID() graphql.ID { return graphql.ID(x.r.ID) }

func (x *repoRes) DatabaseID() *int32 {
	if x.r.DatabaseID <= 0 || x.r.DatabaseID > 1<<31-1 {
		return nil // GitHub's Int is 32-bit
	}
	n := int32(x.r.DatabaseID)
	return &n
}

func (x *repoRes) Name() string          { return x.r.Name }
func (x *repoRes) NameWithOwner() string { return x.r.NameWithOwner() }
func (x *repoRes) Owner() *ownerRes {
	return &ownerRes{&accountRes{login: x.r.Owner, org: x.r.OwnerIsOrg}}
}
func (x *repoRes) Description() *string { return optString(x.r.Description) }
func (x *repoRes) URL() uri             { return uri("https://github.com/" + x.r.NameWithOwner()) }
func (x *repoRes) ResourcePath() uri    { return uri("/" + x.r.NameWithOwner()) }

func (x *repoRes) HomepageURL() *uri {
	if x.r.HomepageURL == "" {
		return nil
	}
	u := uri(x.r.HomepageURL)
	return &u
}

func (x *repoRes) PrimaryLanguage() *languageRes {
	if x.r.Language == "" {
		return nil
	}
	return &languageRes{x.r.Language}
}

func (x *repoRes) LicenseInfo() *licenseRes {
	if x.r.LicenseSPDX == "" && x.r.LicenseName == "" {
		return nil
	}
	return &licenseRes{spdx: x.r.LicenseSPDX, name: x.r.LicenseName}
}

func (x *repoRes) DefaultBranchRef() *refRes {
	if x.r.DefaultBranch == "" {
		return nil
	}
	return &refRes{x.r}
}

func (x *repoRes) Ref(args struct{ QualifiedName string }) *refRes {
	name := strings.TrimPrefix(args.QualifiedName, "refs/heads/")
	if x.r.DefaultBranch == "" || name != x.r.DefaultBranch {
		return nil
	}
	return &refRes{x.r}
}

func (x *repoRes) RepositoryTopics(ctx context.Context, args connArgs) (*topicConnRes, error) {
	needBounds := graphql.HasSelectedField(ctx, "nodes") || graphql.HasSelectedField(ctx, "edges")
	p, err := paginate("repositoryTopics", len(x.r.Topics), args, needBounds)
	if err != nil {
		return nil, err
	}
	return &topicConnRes{x.r, p}, nil
}

func (x *repoRes) Watchers(args connArgs) (*countConnRes, error) {
	return countConn("watchers", x.r.Watchers, args)
}

func (x *repoRes) Issues(args struct {
	connArgs
	Labels *[]string
	States *[]string
}) (*countConnRes, error) {
	n := x.r.OpenIssues // closed issues are not modelled: states: CLOSED counts 0
	if args.States != nil && !slices.Contains(*args.States, "OPEN") {
		n = 0
	}
	if args.Labels != nil && len(*args.Labels) > 0 {
		n = 0 // labels are not modelled
	}
	return countConn("issues", n, args.connArgs)
}

func (x *repoRes) IsArchived() bool    { return x.r.IsArchived }
func (x *repoRes) IsDisabled() bool    { return x.r.IsDisabled }
func (x *repoRes) IsEmpty() bool       { return x.r.DefaultBranch == "" }
func (x *repoRes) IsFork() bool        { return x.r.IsFork }
func (x *repoRes) IsLocked() bool      { return x.r.IsLocked }
func (x *repoRes) IsMirror() bool      { return x.r.IsMirror }
func (x *repoRes) IsPrivate() bool     { return x.r.IsPrivate }
func (x *repoRes) IsTemplate() bool    { return x.r.IsTemplate }
func (x *repoRes) CreatedAt() dateTime { return dateTime{x.r.CreatedAt} }
func (x *repoRes) UpdatedAt() dateTime { return dateTime{x.r.UpdatedAt} }
func (x *repoRes) PushedAt() *dateTime { return optTime(x.r.PushedAt) }

func (x *repoRes) ArchivedAt() *dateTime {
	if !x.r.IsArchived {
		return nil
	}
	return &dateTime{x.r.UpdatedAt}
}

func (x *repoRes) DiskUsage() *int32 {
	if x.r.DefaultBranch == "" && x.r.DiskUsageKB == 0 {
		return nil
	}
	n := int32(x.r.DiskUsageKB)
	return &n
}

func (x *repoRes) StargazerCount() int32 { return int32(x.r.Stars) }
func (x *repoRes) ForkCount() int32      { return int32(x.r.Forks) }

func (x *repoRes) Visibility() string {
	if x.r.IsPrivate {
		return "PRIVATE"
	}
	return "PUBLIC"
}

// countConnRes is a connection whose items are not modelled, only counted.
type countConnRes struct {
	total int
	p     page
}

func countConn(conn string, total int, args connArgs) (*countConnRes, error) {
	p, err := paginate(conn, total, args, false)
	if err != nil {
		return nil, err
	}
	return &countConnRes{total, p}, nil
}

func (c *countConnRes) TotalCount() int32 { return int32(c.total) }
func (c *countConnRes) PageInfo() *pageInfoRes {
	return &pageInfoRes{page{hasNext: c.p.hasNext, hasPrev: c.p.hasPrev}}
}

type topicConnRes struct {
	r *Repo
	p page
}

func (c *topicConnRes) TotalCount() int32      { return int32(len(c.r.Topics)) }
func (c *topicConnRes) PageInfo() *pageInfoRes { return newPageInfo(c.p) }

func (c *topicConnRes) Nodes() *[]*repoTopicRes {
	out := make([]*repoTopicRes, 0, c.p.hi-c.p.lo)
	for _, t := range c.r.Topics[c.p.lo:c.p.hi] {
		out = append(out, &repoTopicRes{c.r, t})
	}
	return &out
}

func (c *topicConnRes) Edges() *[]*topicEdgeRes {
	out := make([]*topicEdgeRes, 0, c.p.hi-c.p.lo)
	for i, t := range c.r.Topics[c.p.lo:c.p.hi] {
		out = append(out, &topicEdgeRes{encodeCursor(c.p.lo + i + 1), &repoTopicRes{c.r, t}})
	}
	return &out
}

type topicEdgeRes struct {
	cursor string
	node   *repoTopicRes
}

func (e *topicEdgeRes) Cursor() string      { return e.cursor }
func (e *topicEdgeRes) Node() *repoTopicRes { return e.node }

type repoTopicRes struct {
	r     *Repo
	topic string
}

func (t *repoTopicRes) ID() graphql.ID {
	return graphql.ID(legacyID("RepositoryTopic", fmt.Sprintf("%d:%s", t.r.DatabaseID, t.topic)))
}
func (t *repoTopicRes) Topic() *topicRes  { return &topicRes{t.topic} }
func (t *repoTopicRes) URL() uri          { return uri("https://github.com/topics/" + t.topic) }
func (t *repoTopicRes) ResourcePath() uri { return uri("/topics/" + t.topic) }

type topicRes struct{ name string }

func (t *topicRes) ID() graphql.ID { return graphql.ID(legacyID("Topic", t.name)) }
func (t *topicRes) Name() string   { return t.name }

type languageRes struct{ name string }

func (l *languageRes) ID() graphql.ID { return graphql.ID(legacyID("Language", l.name)) }
func (l *languageRes) Name() string   { return l.name }
func (l *languageRes) Color() *string { return optString(languageColors[l.name]) }

var languageColors = map[string]string{
	"Go": "#00ADD8", "Shell": "#89e051", "Python": "#3572A5", "HCL": "#844FBA", "Nix": "#7e7eff",
	"Jinja": "#a52a22", "Smarty": "#f0c040", "Dockerfile": "#384d54", "Makefile": "#427819",
	"JavaScript": "#f1e05a", "TypeScript": "#3178c6", "Just": "#384d54", "Lua": "#000080", "Jsonnet": "#0064bd",
}

type licenseRes struct{ spdx, name string }

func (l *licenseRes) ID() graphql.ID { return graphql.ID(legacyID("License", l.Key())) }

func (l *licenseRes) Key() string {
	if l.spdx == "" || l.spdx == "NOASSERTION" {
		return "other"
	}
	return strings.ToLower(l.spdx)
}

func (l *licenseRes) Name() string      { return l.name }
func (l *licenseRes) Nickname() *string { return nil }

func (l *licenseRes) SpdxID() *string { return optString(l.spdx) }

func (l *licenseRes) URL() *uri {
	if l.Key() == "other" {
		return nil
	}
	u := uri("http://choosealicense.com/licenses/" + l.Key() + "/")
	return &u
}

// accountRes serves both User and Organization.
type accountRes struct {
	login string
	org   bool
}

func asAccount(v node, org bool) (*accountRes, bool) {
	a, ok := v.(*accountRes)
	if !ok || a.org != org {
		return nil, false
	}
	return a, true
}

func (a *accountRes) ID() graphql.ID {
	prefix := "U_"
	if a.org {
		prefix = "O_"
	}
	var h int64
	for _, c := range strings.ToLower(a.login) {
		h = (h*31 + int64(c)) % 200_000_000
	}
	return graphql.ID(msgpackID(prefix, h+1))
}

func (a *accountRes) Login() string     { return a.login }
func (a *accountRes) URL() uri          { return uri("https://github.com/" + a.login) }
func (a *accountRes) ResourcePath() uri { return uri("/" + a.login) }

func (a *accountRes) AvatarURL(args struct{ Size *int32 }) uri {
	u := "https://avatars.githubusercontent.com/" + a.login + "?v=4"
	if args.Size != nil {
		u += fmt.Sprintf("&s=%d", *args.Size)
	}
	return uri(u)
}

type ownerRes struct{ a *accountRes }

func (o *ownerRes) ID() graphql.ID                           { return o.a.ID() }
func (o *ownerRes) Login() string                            { return o.a.Login() }
func (o *ownerRes) URL() uri                                 { return o.a.URL() }
func (o *ownerRes) ResourcePath() uri                        { return o.a.ResourcePath() }
func (o *ownerRes) AvatarURL(args struct{ Size *int32 }) uri { return o.a.AvatarURL(args) }
func (o *ownerRes) ToUser() (*accountRes, bool)              { return asAccount(o.a, false) }
func (o *ownerRes) ToOrganization() (*accountRes, bool)      { return asAccount(o.a, true) }

type refRes struct{ r *Repo }

func (x *refRes) ID() graphql.ID {
	return graphql.ID(msgpackID2("REF_", x.r.DatabaseID, "refs/heads/"+x.r.DefaultBranch))
}
func (x *refRes) Name() string          { return x.r.DefaultBranch }
func (x *refRes) Prefix() string        { return "refs/heads/" }
func (x *refRes) Repository() *repoRes  { return &repoRes{x.r} }
func (x *refRes) Target() *gitObjectRes { return &gitObjectRes{&commitRes{x.r}} }

type gitObjectRes struct{ c *commitRes }

func (g *gitObjectRes) ID() graphql.ID               { return g.c.ID() }
func (g *gitObjectRes) Oid() gitObjectID             { return g.c.Oid() }
func (g *gitObjectRes) AbbreviatedOid() string       { return g.c.AbbreviatedOid() }
func (g *gitObjectRes) CommitURL() uri               { return g.c.CommitURL() }
func (g *gitObjectRes) CommitResourcePath() uri      { return g.c.CommitResourcePath() }
func (g *gitObjectRes) Repository() *repoRes         { return g.c.Repository() }
func (g *gitObjectRes) ToCommit() (*commitRes, bool) { return g.c, true }

type commitRes struct{ r *Repo }

func (c *commitRes) ID() graphql.ID          { return graphql.ID(msgpackID2("C_", c.r.DatabaseID, c.r.HeadOID)) }
func (c *commitRes) Oid() gitObjectID        { return gitObjectID(c.r.HeadOID) }
func (c *commitRes) AbbreviatedOid() string  { return c.r.HeadOID[:min(7, len(c.r.HeadOID))] }
func (c *commitRes) CommittedDate() dateTime { return dateTime{c.r.HeadCommittedAt} }
func (c *commitRes) Message() string         { return "Update " + c.r.Name }
func (c *commitRes) CommitResourcePath() uri {
	return uri("/" + c.r.NameWithOwner() + "/commit/" + c.r.HeadOID)
}
func (c *commitRes) CommitURL() uri       { return "https://github.com" + c.CommitResourcePath() }
func (c *commitRes) ResourcePath() uri    { return c.CommitResourcePath() }
func (c *commitRes) URL() uri             { return c.CommitURL() }
func (c *commitRes) Repository() *repoRes { return &repoRes{c.r} }
