package scan

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// writeTree creates files (path → content) under a new temporary directory.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestDirWalk(t *testing.T) {
	root := writeTree(t, map[string]string{
		"apps/cm.yaml":            testCM("app"),
		"apps/cm.YML":             testCM("upper"),
		"apps/readme.md":          "# not a manifest",
		"apps/.hidden/cm.yaml":    testCM("hidden"),
		".git/config.yaml":        testCM("in-git"),
		"sub/.git/objects/x.yaml": testCM("nested-git"),
		"big.yaml":                "a: " + strings.Repeat("x", 4096) + "\n",
		"outside/secret.yaml":     testCM("target"),
	})
	if err := os.Symlink(filepath.Join(root, "outside", "secret.yaml"), filepath.Join(root, "apps", "link.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(root, "escape.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "outside"), filepath.Join(root, "linked-dir")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(root, "pipe.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}

	res, err := Dir(context.Background(), root, Options{Limits: Limits{MaxFileBytes: 1024}})
	if err != nil {
		t.Fatal(err)
	}
	equalStrings(t, "objects", objectKeys(res.Objects), []string{
		"apps/.hidden/cm.yaml 0@1 ConfigMap/hidden ",
		"apps/cm.YML 0@1 ConfigMap/upper ",
		"apps/cm.yaml 0@1 ConfigMap/app ",
		"outside/secret.yaml 0@1 ConfigMap/target ",
	})
	equalStrings(t, "skipped", errorsText(res.Skipped), []string{
		"apps/link.yaml:0: symbolic link (not followed)",
		"big.yaml:0: larger than the 1 KiB file limit",
		"escape.yaml:0: symbolic link (not followed)",
		"pipe.yaml:0: not a regular file (named pipe)",
	})
	if res.Files != 4 {
		t.Errorf("got %d files, want 4", res.Files)
	}
}

func TestDirLimitsAndCancel(t *testing.T) {
	files := map[string]string{}
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		files["dir/"+n+".yaml"] = testCM(n + "-cm")
	}
	root := writeTree(t, files)

	_, err := Dir(context.Background(), root, Options{Limits: Limits{MaxEntries: 3}})
	var le *LimitError
	if !errors.As(err, &le) || !errors.Is(err, ErrLimit) {
		t.Errorf("got %v, want a *LimitError", err)
	}
	if _, err := Dir(context.Background(), root, Options{Limits: Limits{MaxEntries: 6}}); err != nil {
		t.Errorf("got %v, want 6 entries (a directory and 5 files) to fit", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Dir(ctx, root, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}

	if _, err := Dir(context.Background(), filepath.Join(root, "missing"), Options{}); err == nil {
		t.Error("got no error for a missing directory")
	}

	boom := errors.New("store failed")
	_, err = Dir(context.Background(), root, Options{Content: func(string, []byte) error { return boom }})
	if !errors.Is(err, boom) {
		t.Errorf("got %v, want the Content error", err)
	}
}

func TestWriteTable(t *testing.T) {
	res, err := Dir(context.Background(), filepath.Join("testdata", "legacy", "repo"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := res.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"10 files (4.0 KiB), 15 documents, 14 objects",
		"OBJECTS BY KIND", "HelmRepository", "CHARTS", "home-assistant", "https://k8s-at-home.com/charts/home-assistant",
		"IMAGES", "docker.io/restic/restic:0.9.6", "DEPRECATED APIS", "extensions/v1beta1", "kubernetes 1.14",
		"ERRORS", "broken/duplicate-keys.yaml:8", "broken/screenshot.yaml:3",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "SKIPPED") {
		t.Errorf("got an empty SKIPPED section:\n%s", out)
	}
	var empty bytes.Buffer
	if err := (&Result{}).WriteTable(&empty); err != nil || strings.Count(empty.String(), "\n") != 1 {
		t.Errorf("got %q, %v, want one summary line for an empty result", empty.String(), err)
	}
}
