package githubtest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
	"time"
)

// ArchiveWriter is what a Repo.Generate function writes its tree to. Each file goes straight into
// the gzip tar answer, laid out like the Files-based archives (pax global header, the
// owner-name-<sha7>/ top directory, every parent directory before its first file), so an archive of
// any size costs the server no memory. Write files in path order for a layout exactly like
// `git archive`; any order works.
type ArchiveWriter struct {
	ctx    context.Context
	tw     *tar.Writer
	zw     *gzip.Writer
	rc     *http.ResponseController
	prefix string
	mtime  time.Time
	dirs   map[string]bool
	zeros  []byte
}

// Context is done when the client goes away or the test ends; a generator that blocks (to
// simulate a stalled download) should select on it.
func (w *ArchiveWriter) Context() context.Context { return w.ctx }

// WriteFile adds a regular file; name is relative to the repository root.
func (w *ArchiveWriter) WriteFile(name string, content []byte) error {
	return w.WriteFileFrom(name, int64(len(content)), bytes.NewReader(content))
}

// WriteFileFrom adds a regular file of size bytes read from r; when r is nil or ends early the
// rest is zeros (a huge file for free).
func (w *ArchiveWriter) WriteFileFrom(name string, size int64, r io.Reader) error {
	name = strings.TrimPrefix(path.Clean("/"+name), "/")
	if name == "" {
		return fmt.Errorf("githubtest: ArchiveWriter: empty file name")
	}
	if err := w.parents(name); err != nil {
		return err
	}
	hdr := &tar.Header{
		Typeflag: tar.TypeReg, Name: w.prefix + "/" + name, Size: size, Mode: 0o664, ModTime: w.mtime,
		Uname: "root", Gname: "root",
	}
	if err := w.tw.WriteHeader(hdr); err != nil {
		return err
	}
	var n int64
	if r != nil {
		var err error
		if n, err = io.CopyN(w.tw, r, size); err != nil && err != io.EOF {
			return err
		}
	}
	for left := size - n; left > 0; {
		if w.zeros == nil {
			w.zeros = make([]byte, 32<<10)
		}
		k := min(left, int64(len(w.zeros)))
		if _, err := w.tw.Write(w.zeros[:k]); err != nil {
			return err
		}
		left -= k
	}
	return nil
}

// parents writes the directory entries of name that were not written yet, outermost first.
func (w *ArchiveWriter) parents(name string) error {
	var missing []string
	for d := path.Dir(name); d != "." && !w.dirs[d]; d = path.Dir(d) {
		w.dirs[d] = true
		missing = append(missing, d)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		hdr := &tar.Header{Typeflag: tar.TypeDir, Name: w.prefix + "/" + missing[i] + "/", Mode: 0o775, ModTime: w.mtime,
			Uname: "root", Gname: "root"}
		if err := w.tw.WriteHeader(hdr); err != nil {
			return err
		}
	}
	return nil
}

// Flush sends everything written so far to the client (call it between files), e.g. before a
// generator blocks to simulate a stall in the middle of the body.
func (w *ArchiveWriter) Flush() error {
	if err := w.tw.Flush(); err != nil {
		return err
	}
	if err := w.zw.Flush(); err != nil {
		return err
	}
	return w.rc.Flush()
}

// serveGenerated streams a Repo.Generate archive. Headers are sent: a failure cuts the stream.
func (s *Server) serveGenerated(w http.ResponseWriter, r *http.Request, rec *recorder, repo *Repo, prefix, sha string) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() {
		select {
		case <-s.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	zw := gzip.NewWriter(rec)
	tw := tar.NewWriter(zw)
	for _, e := range gitArchiveEntries(prefix, sha, nil) { // pax global header and the top directory
		if err := writeEntry(tw, e, repo.HeadCommittedAt); err != nil {
			panic(http.ErrAbortHandler)
		}
	}
	aw := &ArchiveWriter{ctx: ctx, tw: tw, zw: zw, rc: http.NewResponseController(w), prefix: prefix,
		mtime: repo.HeadCommittedAt, dirs: map[string]bool{}}
	if err := aw.Flush(); err != nil { // the answer starts now, however slow the generator
		panic(http.ErrAbortHandler)
	}
	if err := repo.Generate(aw); err != nil {
		panic(http.ErrAbortHandler)
	}
	if tw.Close() != nil || zw.Close() != nil {
		panic(http.ErrAbortHandler)
	}
}

// GenerateManifests returns a Repo.Generate function for a GitOps-like tree of files manifests
// of about fileBytes each, deterministic, one file in memory at a time: a HelmRepository, then per app
// a Flux HelmRelease of bjw-s app-template (chart version and image vary) followed by a ConfigMap
// padded to size. GenerateManifests(3200, 64<<10) serves about 200 MB of YAML.
func GenerateManifests(files, fileBytes int) func(*ArchiveWriter) error {
	return func(w *ArchiveWriter) error {
		repo := []byte(`---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: bjw-s
  namespace: flux-system
spec:
  interval: 1h
  url: https://bjw-s-labs.github.io/helm-charts/
`)
		if err := w.WriteFile("kubernetes/flux/repositories/bjw-s.yaml", repo); err != nil {
			return err
		}
		var b bytes.Buffer
		for i := range files {
			b.Reset()
			ns := fmt.Sprintf("ns-%03d", i/100)
			app := fmt.Sprintf("app-%05d", i)
			fmt.Fprintf(&b, `---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: %[2]s
  namespace: %[1]s
spec:
  interval: 30m
  chart:
    spec:
      chart: app-template
      version: 3.%[3]d.0
      sourceRef:
        kind: HelmRepository
        name: bjw-s
        namespace: flux-system
  values:
    controllers:
      %[2]s:
        containers:
          app:
            image:
              repository: ghcr.io/example/%[2]s
              tag: 1.%[3]d.%[4]d
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: %[2]s-config
  namespace: %[1]s
data:
`, ns, app, i%7, i%13)
			for k := 0; b.Len() < fileBytes; k++ {
				fmt.Fprintf(&b, "  SETTING_%05d: \"value %05d of %s\"\n", k, k, app)
			}
			if err := w.WriteFile("kubernetes/apps/"+ns+"/"+app+"/app/helmrelease.yaml", b.Bytes()); err != nil {
				return err
			}
		}
		return nil
	}
}
