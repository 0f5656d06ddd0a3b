package githubtest

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestGeneratedTarballStreams(t *testing.T) {
	s := New(t)
	sha := strings.Repeat("ab", 20)
	const huge = 32 << 20
	s.AddRepos(Repo{Owner: "o", Name: "n", DefaultBranch: "main", HeadOID: sha,
		Files: map[string]string{"ignored.yaml": "Generate wins\n"},
		Generate: func(w *ArchiveWriter) error {
			if err := w.WriteFile("b/c/d.yaml", []byte("kind: A\n")); err != nil {
				return err
			}
			if err := w.WriteFile("b/e.yaml", []byte("kind: B\n")); err != nil {
				return err
			}
			return w.WriteFileFrom("z/huge.bin", huge, strings.NewReader("head"))
		}})

	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	resp := getWithHeader(t, http.DefaultClient, s.APIURL()+"repos/o/n/tarball/"+sha, s.Token())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("got %d, want 200", resp.StatusCode)
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var names []string
	var hugeSize, hugeRead int64
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if h.Typeflag == tar.TypeXGlobalHeader && h.PAXRecords["comment"] != sha {
			t.Errorf("got pax comment %q, want %s", h.PAXRecords["comment"], sha)
		}
		if strings.HasSuffix(h.Name, "huge.bin") {
			hugeSize = h.Size
			head := make([]byte, 5)
			io.ReadFull(tr, head)
			if string(head) != "head\x00" {
				t.Errorf("got huge.bin starting %q, want the reader's bytes then zeros", head)
			}
			n, _ := io.Copy(io.Discard, tr)
			hugeRead = n + 5
		}
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)

	want := []string{"pax_global_header", "o-n-abababa/", "o-n-abababa/b/", "o-n-abababa/b/c/", "o-n-abababa/b/c/d.yaml",
		"o-n-abababa/b/e.yaml", "o-n-abababa/z/", "o-n-abababa/z/huge.bin"}
	if !slices.Equal(names, want) {
		t.Errorf("got entries\n%s\nwant\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
	if hugeSize != huge || hugeRead != huge {
		t.Errorf("huge.bin: got size %d, read %d; want %d", hugeSize, hugeRead, huge)
	}
	// Server and client together: far less than the 32 MiB served.
	grew := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %d KiB", grew>>10)
	if grew > 8<<20 {
		t.Errorf("allocated %d MiB serving a 32 MiB archive, want it streamed", grew>>20)
	}
}

func TestGenerateManifests(t *testing.T) {
	s := New(t)
	s.AddRepos(Repo{Owner: "o", Name: "n", DefaultBranch: "main", Generate: GenerateManifests(250, 4096)})
	resp := getWithHeader(t, http.DefaultClient, s.APIURL()+"repos/o/n/tarball/main", s.Token())
	var files int
	var total int
	for _, e := range readTarGz(t, resp.Body) {
		if e.hdr.Typeflag != tar.TypeReg {
			continue
		}
		files++
		total += len(e.body)
		if strings.Contains(e.hdr.Name, "/apps/") && (len(e.body) < 4096 || !strings.Contains(e.body, "kind: HelmRelease")) {
			t.Errorf("%s: got %d bytes, want a HelmRelease of at least 4096", e.hdr.Name, len(e.body))
		}
	}
	if files != 251 || total < 250*4096 || total > 250*4096*11/10 {
		t.Errorf("got %d files, %d bytes; want 251 and about %d", files, total, 250*4096)
	}

	// Deterministic: a second download is identical.
	again := getWithHeader(t, http.DefaultClient, s.APIURL()+"repos/o/n/tarball/main", s.Token())
	var files2 int
	for _, e := range readTarGz(t, again.Body) {
		if e.hdr.Typeflag == tar.TypeReg {
			files2++
		}
	}
	if files2 != files {
		t.Errorf("second download: got %d files, want %d", files2, files)
	}
}
