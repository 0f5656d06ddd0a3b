package scan

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite scan/testdata/*/expected.json from the current output")

// plaintextSecret marks every literal secret in the fixtures ("hunter2-…"): none may survive redaction.
const plaintextSecret = "hunter2"

// TestGolden scans each testdata/<case>/repo with Dir and compares the indented JSON Result with
// testdata/<case>/expected.json. `go test ./scan -run Golden -update` rewrites the expected files;
// read the diff before committing it.
func TestGolden(t *testing.T) {
	repos, err := filepath.Glob(filepath.Join("testdata", "*", "repo"))
	if err != nil {
		t.Fatal(err)
	}
	if len(repos) == 0 {
		t.Fatal("no golden cases under testdata/*/repo")
	}
	for _, repo := range repos {
		dir := filepath.Dir(repo)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			res, err := Dir(context.Background(), repo, Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range res.Objects {
				if bytes.Contains(o.Content, []byte(plaintextSecret)) {
					t.Errorf("%s %s/%s: a plaintext secret survived redaction: %s", o.File, o.Kind, o.Name, o.Content)
				}
			}
			for _, c := range res.Charts {
				if bytes.Contains(c.Values, []byte(plaintextSecret)) {
					t.Errorf("%s %s: a plaintext secret survived in the chart values: %s", c.File, c.Name, c.Values)
				}
			}
			got, err := json.MarshalIndent(res, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join(dir, "expected.json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run `go test ./scan -run Golden -update` to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("result differs from %s (rerun with -update and review the diff):\n%s", golden, firstDiff(string(want), string(got)))
			}
		})
	}
}

// firstDiff shows the first lines where want and got differ, with a little context.
func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			from := max(0, i-3)
			var b strings.Builder
			for j := from; j < i; j++ {
				b.WriteString("  " + wl[j] + "\n")
			}
			b.WriteString("- " + w + "\n+ " + g + "\n")
			return "line " + strconv.Itoa(i+1) + ":\n" + b.String()
		}
	}
	return "(no line differs)"
}
