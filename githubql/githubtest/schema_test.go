package githubtest

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// githubSchemaPath is GitHub's full public schema, kept read-only beside the client.
const githubSchemaPath = "../testdata/github-schema.graphql"

func TestSchemaIsSubsetOfGitHub(t *testing.T) {
	gh := loadGitHubSchema(t)
	sub := parseSubset(t, schemaSDL)
	if diffs := schemaDiffs(sub, gh); len(diffs) > 0 {
		t.Errorf("schema.graphql differs from GitHub's schema in %d places:\n%s", len(diffs), strings.Join(diffs, "\n"))
	}
}

// The check must catch each kind of drift, or a passing TestSchemaIsSubsetOfGitHub means nothing.
func TestSchemaDiffsCatchesDrift(t *testing.T) {
	gh := loadGitHubSchema(t)
	cases := []struct {
		name, old, new, want string
	}{
		{"nullability", "repositoryCount: Int!", "repositoryCount: Int", "SearchResultItemConnection.repositoryCount: type Int, GitHub has Int!"},
		{"list wrapper", "nodes(ids: [ID!]!): [Node]!", "nodes(ids: [ID!]!): [Node!]!", "Query.nodes: type [Node!]!, GitHub has [Node]!"},
		{"unknown field", "  diskUsage: Int\n", "  diskUsage: Int\n  diskUsageKB: Int\n", "Repository.diskUsageKB: no such field"},
		{"argument type", "query: String!, type: SearchType!", "query: String, type: SearchType!", "Query.search(query:): type String, GitHub has String!"},
		{"unknown argument", "repositoryTopics(after: String,", "repositoryTopics(sort: String, after: String,", "Repository.repositoryTopics(sort:): no such argument"},
		{"missing required argument", "search(after: String, before: String, first: Int, last: Int, query: String!, type: SearchType!)", "search(after: String, before: String, first: Int, last: Int, query: String!)", "Query.search(type:): required by GitHub, missing"},
		{"enum value", "  REPOSITORY\n  USER\n", "  REPOSITORY\n  REPOS\n  USER\n", "SearchType.REPOS: no such enum value"},
		{"union member", "union SearchResultItem = Organization | Repository | User", "union SearchResultItem = Organization | Repository | User | Language", "SearchResultItem: member Language not in GitHub's union"},
		{"interface", "type Language implements Node {", "type Language implements Node & RepositoryOwner {\n  avatarUrl(size: Int): URI!\n  login: String!\n  resourcePath: URI!\n  url: URI!", "Language: implements RepositoryOwner, GitHub does not"},
		{"kind", "type RateLimit {", "interface RateLimit {", "RateLimit: kind INTERFACE, GitHub has OBJECT"},
		{"default value", "rateLimit(dryRun: Boolean = false)", "rateLimit(dryRun: Boolean = true)", "Query.rateLimit(dryRun:): default true, GitHub has false"},
		{"unknown type", "scalar URI\n", "scalar URI\nscalar Cursor\n", "Cursor: no such type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(schemaSDL, tc.old) {
				t.Fatalf("schema.graphql no longer contains %q; update this case", tc.old)
			}
			sub := parseSubset(t, strings.Replace(schemaSDL, tc.old, tc.new, 1))
			diffs := schemaDiffs(sub, gh)
			for _, d := range diffs {
				if d == tc.want {
					return
				}
			}
			t.Errorf("got diffs %q, want one to be %q", diffs, tc.want)
		})
	}
}

func loadGitHubSchema(t *testing.T) *ast.SchemaDocument {
	t.Helper()
	b, err := os.ReadFile(githubSchemaPath)
	if err != nil {
		t.Fatal(err)
	}
	// GitHub's schema does not pass gqlparser's validation (it defines
	// EnterpriseOwnerInfo.repositoryDeployKeySetting twice), so parse it without validating.
	doc, err := parser.ParseSchema(&ast.Source{Name: "github-schema.graphql", Input: string(b)})
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func parseSubset(t *testing.T, sdl string) *ast.SchemaDocument {
	t.Helper()
	// The subset itself must be a valid schema.
	if _, err := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphql", Input: sdl}); err != nil {
		t.Fatalf("schema.graphql is not a valid schema: %v", err)
	}
	doc, err := parser.ParseSchema(&ast.Source{Name: "schema.graphql", Input: sdl})
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// schemaDiffs lists every way sub is not a faithful subset of gh.
func schemaDiffs(sub, gh *ast.SchemaDocument) []string {
	realTypes := map[string]*ast.Definition{}
	for _, d := range gh.Definitions {
		if _, dup := realTypes[d.Name]; !dup {
			realTypes[d.Name] = d
		}
	}
	var diffs []string
	add := func(format string, args ...any) { diffs = append(diffs, fmt.Sprintf(format, args...)) }

	for _, sd := range sub.Schema {
		for _, op := range sd.OperationTypes {
			// GitHub's schema has no schema block: the default root names apply.
			want := map[ast.Operation]string{ast.Query: "Query", ast.Mutation: "Mutation", ast.Subscription: "Subscription"}[op.Operation]
			if op.Type != want {
				add("schema: %s root is %s, GitHub uses %s", op.Operation, op.Type, want)
			}
		}
	}

	for _, sd := range sub.Definitions {
		rd := realTypes[sd.Name]
		if rd == nil {
			add("%s: no such type", sd.Name)
			continue
		}
		if sd.Kind != rd.Kind {
			add("%s: kind %s, GitHub has %s", sd.Name, sd.Kind, rd.Kind)
			continue
		}
		for _, iface := range sd.Interfaces {
			if !slices.Contains(rd.Interfaces, iface) {
				add("%s: implements %s, GitHub does not", sd.Name, iface)
			}
		}
		for _, member := range sd.Types {
			if !slices.Contains(rd.Types, member) {
				add("%s: member %s not in GitHub's union", sd.Name, member)
			}
		}
		for _, ev := range sd.EnumValues {
			if rd.EnumValues.ForName(ev.Name) == nil {
				add("%s.%s: no such enum value", sd.Name, ev.Name)
			}
		}
		for _, sf := range sd.Fields {
			rf := rd.Fields.ForName(sf.Name)
			if rf == nil {
				add("%s.%s: no such field", sd.Name, sf.Name)
				continue
			}
			// Input objects keep their defaults on the field itself.
			diffs = append(diffs, valueDiffs(sd.Name+"."+sf.Name, sf.Type, rf.Type, sf.DefaultValue, rf.DefaultValue)...)
			for _, sa := range sf.Arguments {
				ra := rf.Arguments.ForName(sa.Name)
				if ra == nil {
					add("%s.%s(%s:): no such argument", sd.Name, sf.Name, sa.Name)
					continue
				}
				diffs = append(diffs, valueDiffs(fmt.Sprintf("%s.%s(%s:)", sd.Name, sf.Name, sa.Name), sa.Type, ra.Type, sa.DefaultValue, ra.DefaultValue)...)
			}
			// A query valid against the subset must also be valid against GitHub.
			for _, ra := range rf.Arguments {
				if ra.Type.NonNull && ra.DefaultValue == nil && sf.Arguments.ForName(ra.Name) == nil {
					add("%s.%s(%s:): required by GitHub, missing", sd.Name, sf.Name, ra.Name)
				}
			}
		}
		// Inputs: a field GitHub requires must be there too.
		if sd.Kind == ast.InputObject {
			for _, rf := range rd.Fields {
				if rf.Type.NonNull && rf.DefaultValue == nil && sd.Fields.ForName(rf.Name) == nil {
					add("%s.%s: required by GitHub, missing", sd.Name, rf.Name)
				}
			}
		}
	}
	sort.Strings(diffs)
	return diffs
}

func valueDiffs(where string, st, rt *ast.Type, sdef, rdef *ast.Value) []string {
	var diffs []string
	if st.String() != rt.String() {
		diffs = append(diffs, fmt.Sprintf("%s: type %s, GitHub has %s", where, st, rt))
	}
	switch {
	case sdef == nil && rdef != nil:
		diffs = append(diffs, fmt.Sprintf("%s: no default, GitHub has %s", where, rdef))
	case sdef != nil && rdef == nil:
		diffs = append(diffs, fmt.Sprintf("%s: default %s, GitHub has none", where, sdef))
	case sdef != nil && sdef.String() != rdef.String():
		diffs = append(diffs, fmt.Sprintf("%s: default %s, GitHub has %s", where, sdef, rdef))
	}
	return diffs
}
