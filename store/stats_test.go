package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/kubestats/kubestats/scan"
	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/store/storetest"
)

// statsRows dumps both totals tables in a stable order.
func statsRows(t *testing.T, s *store.Store) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		`SELECT registry, repository, repos, usages, tags, tag_only, digest, latest FROM image_stats ORDER BY 1, 2`,
		`SELECT api_group, kind, repos, objects, 0, 0, 0, 0 FROM kind_stats ORDER BY 1, 2`,
	} {
		rows, err := s.Writer().Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var a, c string
			var n [6]int
			if err := rows.Scan(&a, &c, &n[0], &n[1], &n[2], &n[3], &n[4], &n[5]); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(&b, a, c, n)
		}
		rows.Close()
	}
	return b.String()
}

// TestStatsMatchRebuild drives random scans and repository actions and checks after each
// step that the incrementally kept totals equal a rebuild from scratch, and that they are
// not trivially empty.
func TestStatsMatchRebuild(t *testing.T) {
	s := storetest.Open(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	var repos []store.Repository
	for i := 1; i <= 5; i++ {
		repos = append(repos, newSyncRepo(t, s, i))
	}
	images := []scan.Image{
		img("a.yaml", "docker.io", "library/nginx", "1.27", ""),
		img("a.yaml", "docker.io", "library/nginx", "", "sha256:aaa"),
		img("b.yaml", "ghcr.io", "home-operations/sonarr", "4.0", ""),
		img("c.yaml", "ghcr.io", "home-operations/radarr", "", ""),
		img("d.yaml", "quay.io", "x/y", "1", "sha256:bbb"),
	}
	kinds := [][3]string{{"apps/v1", "Deployment", ""}, {"v1", "ConfigMap", ""}, {"helm.toolkit.fluxcd.io/v2", "HelmRelease", ""}, {"v1", "Namespace", ""}}
	at := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	actions := []store.RepoAction{store.ActionBlock, store.ActionUnblock, store.ActionDelete, store.ActionRestore}
	for step := range 60 {
		r := repos[rng.IntN(len(repos))]
		if rng.IntN(3) == 0 {
			a := actions[rng.IntN(len(actions))]
			if err := s.ApplyRepoAction(ctx, r.ID, a); err != nil {
				t.Fatal(err)
			}
		} else if _, err := s.BeginSync(ctx, r.ID); err == nil {
			res := &scan.Result{Files: 1}
			for _, im := range images {
				if rng.IntN(2) == 0 {
					res.Images = append(res.Images, im)
				}
			}
			for i, k := range kinds {
				for n := range rng.IntN(3) {
					res.Objects = append(res.Objects, obj(fmt.Sprintf("f%d.yaml", i), k[0], k[1], "default", fmt.Sprintf("o%d", n), fmt.Sprintf(`{"n":%d}`, step)))
				}
			}
			if _, err := s.ApplyScan(ctx, r.ID, store.ScanCommit{OID: fmt.Sprintf("%040x", step), CommittedAt: &at, Result: res}); err != nil {
				t.Fatal(err)
			}
		}
		kept := statsRows(t, s)
		if err := s.RebuildStats(ctx); err != nil {
			t.Fatal(err)
		}
		if rebuilt := statsRows(t, s); kept != rebuilt {
			t.Fatalf("step %d: kept totals differ from a rebuild:\nkept:\n%s\nrebuilt:\n%s", step, kept, rebuilt)
		}
	}
	if statsRows(t, s) == "" {
		t.Fatal("no totals at all: the test exercised nothing")
	}
}
