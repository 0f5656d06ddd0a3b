package handlers_test

import (
	"archive/tar"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/kubestats/kubestats/githubql/githubtest"
)

// A synced archive with hostile entries: the repository page lists each skipped entry once, with its
// reason, and links none whose path is not a path of the repository.
func TestRepositoryPageListsHostileArchiveEntriesOnceWithoutLinks(t *testing.T) {
	e := newEnv(t, withToken).withUsers()
	e.seedRepos(1, nil)
	oid := fmt.Sprintf("%040d", 1)
	top := "owner1-home-ops-" + oid[:7]
	evil := []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: evil\n")
	entries := []githubtest.TarEntry{
		{Name: "pax_global_header", Typeflag: tar.TypeXGlobalHeader, PAXRecords: map[string]string{"comment": oid}},
		{Name: "../evil.yaml", Body: evil},
		{Name: "/abs.yaml", Body: evil},
		{Name: "a/../../b.yaml", Body: evil},
		{Name: top + "/", Typeflag: tar.TypeDir},
		{Name: top + "/ok.yaml", Body: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n")},
		{Name: top + "/../evil.yaml", Body: evil},
		{Name: top + "//abs.yaml", Body: evil},
		{Name: top + "/a/../../b.yaml", Body: evil},
		{Name: top + "/link.yaml", Typeflag: tar.TypeSymlink, Linkname: "ok.yaml"},
		{Name: top + "/link.yaml", Body: evil},
		{Name: "../evil.yaml", Body: evil},
		{Name: "/abs.yaml", Body: evil},
	}
	e.github.AddRepos(githubtest.Repo{DatabaseID: 1, Owner: "owner1", Name: "home-ops", DefaultBranch: "main", HeadOID: oid,
		Tarballs: map[string][]githubtest.TarEntry{oid: entries}})
	const path = "/repositories/owner1/home-ops"
	user := e.client().mustLogin(userEmail)
	user.htmxPost(path + "/sync")
	user.pollSync(t, path)
	if r, _ := e.store.GetRepositoryByName(context.Background(), "owner1", "home-ops"); r.SyncStatus != "success" {
		t.Fatalf("sync: got status %s (%s), want success", r.SyncStatus, r.SyncError)
	}

	rows := map[string][]*goquery.Selection{}
	user.get(path).doc(t).Find(`[data-testid="problem-skipped"]`).Each(func(_ int, s *goquery.Selection) {
		file := strings.TrimSpace(s.Find(`[data-testid="problem-file"]`).Text())
		rows[file] = append(rows[file], s)
	})
	cases := []struct {
		file, reason string
		link         bool
	}{
		{"../evil.yaml", "path escapes the archive root", false},
		{"/abs.yaml", "absolute path", false},
		{"a/../../b.yaml", "path escapes the archive root", false},
		{top + "/../evil.yaml", "path escapes the archive root", false},
		{top + "//abs.yaml", `path is not canonical (empty, "." or ".." parts)`, false},
		{top + "/a/../../b.yaml", "path escapes the archive root", false},
		{"link.yaml", `symlink to "ok.yaml"`, true}, // a file of the repository: linked at the commit
	}
	for _, c := range cases {
		got := rows[c.file]
		if len(got) != 1 {
			t.Errorf("%q: got %d rows, want 1", c.file, len(got))
			continue
		}
		if reason := got[0].Find(`[data-testid="problem-reason"]`).Text(); reason != c.reason {
			t.Errorf("%q: got reason %q, want %q", c.file, reason, c.reason)
		}
		if links := got[0].Find("a").Length(); (links > 0) != c.link {
			t.Errorf("%q: got %d links, want link %v", c.file, links, c.link)
		}
		delete(rows, c.file)
	}
	for file := range rows {
		t.Errorf("unexpected skipped row %q", file)
	}
	if !strings.Contains(user.get(path).body, "owner1/home-ops/blob/"+oid+"/link.yaml") {
		t.Error("the symlink's row does not link the file at the scanned commit")
	}
}
