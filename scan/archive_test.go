package scan

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

const top = "onedr0p-home-ops-0123456"

// ent is one tar entry for the archives built in these tests.
type ent struct {
	name string
	typ  byte // tar.TypeReg when 0
	body string
	link string
}

// tarBytes writes entries as given (no top directory added) and closes the tar.
func tarBytes(t testing.TB, es ...ent) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range es {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		h := &tar.Header{Name: e.name, Typeflag: typ, Linkname: e.link, Mode: 0o644, ModTime: time.Unix(1700000000, 0)}
		if typ == tar.TypeXGlobalHeader {
			h = &tar.Header{Name: e.name, Typeflag: typ, PAXRecords: map[string]string{"comment": strings.Repeat("ab", 20)}}
		}
		if typ == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatalf("tar header %q: %v", e.name, err)
		}
		if _, err := io.WriteString(tw, e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// github lays entries out as GitHub's tarball does: pax global header, top directory, then the entries
// under it (names are relative to the top directory).
func github(es ...ent) []ent {
	out := []ent{{name: "pax_global_header", typ: tar.TypeXGlobalHeader}, {name: top + "/", typ: tar.TypeDir}}
	for _, e := range es {
		e.name = top + "/" + e.name
		out = append(out, e)
	}
	return out
}

func targz(t testing.TB, es ...ent) []byte { return gz(t, tarBytes(t, es...)) }

// read records each file handed to the scanner, then lets the real AddFile read it.
type read struct {
	s     *Scanner
	files []string
	data  map[string]string
}

func (r *read) add(file string, rd io.Reader) error {
	b, err := io.ReadAll(rd)
	if err != nil {
		return err
	}
	r.files = append(r.files, file)
	if r.data == nil {
		r.data = map[string]string{}
	}
	r.data[file] = string(b)
	return r.s.AddFile(file, bytes.NewReader(b))
}

func scanArchive(t testing.TB, ctx context.Context, archive []byte, lim Limits) (*Result, *read, error) {
	t.Helper()
	s := New(Options{Limits: lim})
	rd := &read{s: s}
	res, err := tarGz(ctx, bytes.NewReader(archive), s, rd.add)
	return res, rd, err
}

func skipped(res *Result) map[string]string {
	m := map[string]string{}
	for _, s := range res.Skipped {
		m[s.File] = s.Message
	}
	return m
}

func TestTarGzGitHubLayout(t *testing.T) {
	archive := targz(t, github(
		ent{name: "README.md", body: "# home-ops\n"},
		ent{name: "kubernetes/", typ: tar.TypeDir},
		ent{name: "kubernetes/apps/", typ: tar.TypeDir},
		ent{name: "kubernetes/apps/plex.yaml", body: "kind: HelmRelease\n"},
		ent{name: "kubernetes/flux/config.yml", body: "kind: Kustomization\n"},
		ent{name: "Upper.YAML", body: "a: 1\n"},
		ent{name: "docs/schema.json", body: "{}"},
		ent{name: ".envrc", typ: tar.TypeSymlink, link: "scripts/env.sh"}, // ordinary symlink: not listed
	)...)
	res, rd, err := scanArchive(t, context.Background(), archive, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"kubernetes/apps/plex.yaml", "kubernetes/flux/config.yml", "Upper.YAML"}
	if !slices.Equal(rd.files, want) {
		t.Errorf("got files %q, want %q", rd.files, want)
	}
	if got := rd.data["kubernetes/apps/plex.yaml"]; got != "kind: HelmRelease\n" {
		t.Errorf("got content %q, want the entry's body", got)
	}
	wantBytes := int64(len("kind: HelmRelease\n") + len("kind: Kustomization\n") + len("a: 1\n"))
	if res.Files != 3 || res.Bytes != wantBytes {
		t.Errorf("got %d files, %d bytes; want 3, %d", res.Files, res.Bytes, wantBytes)
	}
	if len(res.Skipped) != 0 {
		t.Errorf("got skipped %+v, want none", res.Skipped)
	}

	// The public entry point gives the same counts.
	res2, err := TarGz(context.Background(), bytes.NewReader(archive), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res2.Files != 3 || res2.Bytes != wantBytes {
		t.Errorf("TarGz: got %d files, %d bytes; want 3, %d", res2.Files, res2.Bytes, wantBytes)
	}
}

func TestTarGzTopDirectoryWithoutDirEntry(t *testing.T) {
	// Some producers omit the directory entries; the first name still gives the top directory.
	archive := targz(t, ent{name: top + "/a.yaml", body: "a: 1\n"}, ent{name: top + "/b/c.yaml", body: "c: 1\n"})
	_, rd, err := scanArchive(t, context.Background(), archive, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a.yaml", "b/c.yaml"}; !slices.Equal(rd.files, want) {
		t.Errorf("got %q, want %q", rd.files, want)
	}
}

func TestTarGzFileTooBig(t *testing.T) {
	archive := targz(t, github(
		ent{name: "small.yaml", body: strings.Repeat("a", 100)},
		ent{name: "big.yaml", body: strings.Repeat("b", 101)},
		ent{name: "big.md", body: strings.Repeat("c", 5000)}, // not a manifest: no line for it
		ent{name: "after.yaml", body: "x: 1\n"},
	)...)
	res, rd, err := scanArchive(t, context.Background(), archive, Limits{MaxFileBytes: 100})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"small.yaml", "after.yaml"}; !slices.Equal(rd.files, want) {
		t.Errorf("got files %q, want %q", rd.files, want)
	}
	if len(res.Skipped) != 1 || res.Skipped[0].File != "big.yaml" ||
		res.Skipped[0].Message != "larger than the 100 bytes file limit" {
		t.Errorf("got skipped %+v, want big.yaml over the 100 bytes limit", res.Skipped)
	}

	res, _, err = scanArchive(t, context.Background(), targz(t, github(ent{name: "x.yaml", body: strings.Repeat("a", 3<<20)})...), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := skipped(res)["x.yaml"]; got != "larger than the 1 MiB file limit" {
		t.Errorf("got %q, want the default 1 MiB limit in the reason", got)
	}
}

func TestTarGzEntryLimit(t *testing.T) {
	var es []ent
	for i := range 8 {
		es = append(es, ent{name: string(rune('a'+i)) + ".md"})
	}
	archive := targz(t, github(es...)...) // 10 entries with the pax header and the top directory
	if _, _, err := scanArchive(t, context.Background(), archive, Limits{MaxEntries: 10}); err != nil {
		t.Fatalf("10 entries with MaxEntries 10: %v", err)
	}
	_, _, err := scanArchive(t, context.Background(), archive, Limits{MaxEntries: 9})
	var le *LimitError
	if !errors.As(err, &le) || !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "more than 9 entries") {
		t.Fatalf("got %v, want a *LimitError about more than 9 entries", err)
	}
}

func TestTarGzArchiveBytesLimit(t *testing.T) {
	raw := tarBytes(t, github(ent{name: "blob.bin", body: strings.Repeat("z", 100<<10)}, ent{name: "a.yaml", body: "a: 1\n"})...)
	archive := gz(t, raw)
	n := int64(len(raw)) // the uncompressed size: the tar with its end blocks
	if _, _, err := scanArchive(t, context.Background(), archive, Limits{MaxArchiveBytes: n}); err != nil {
		t.Fatalf("archive of exactly the limit: %v", err)
	}
	_, rd, err := scanArchive(t, context.Background(), archive, Limits{MaxArchiveBytes: 64 << 10})
	var le *LimitError
	if !errors.As(err, &le) || !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "over the 64 KiB limit") {
		t.Fatalf("got %v, want a *LimitError over the 64 KiB limit", err)
	}
	if len(rd.files) != 0 {
		t.Errorf("got files %q read before the limit, want none", rd.files)
	}
	// Bytes after the end of the tar count too (and are read, so gzip checks its trailer).
	if _, _, err := scanArchive(t, context.Background(), gz(t, append(raw, make([]byte, 4096)...)), Limits{MaxArchiveBytes: n}); !errors.Is(err, ErrLimit) {
		t.Errorf("trailing padding over the limit: got %v, want ErrLimit", err)
	}
}

func TestTarGzHostileEntriesAreSkipped(t *testing.T) {
	archive := targz(t,
		ent{name: "pax_global_header", typ: tar.TypeXGlobalHeader},
		ent{name: "/etc/passwd", body: "root::0:0\n"}, // before the top directory: must not become the root
		ent{name: top + "/", typ: tar.TypeDir},
		ent{name: top + "/ok.yaml", body: "a: 1\n"},
		ent{name: top + "/link.yaml", typ: tar.TypeSymlink, link: "/etc/shadow"},
		ent{name: top + "/current", typ: tar.TypeSymlink, link: "apps/v2.yaml"},
		ent{name: top + "/docs", typ: tar.TypeSymlink, link: "README.md"}, // not listed
		ent{name: top + "/hard.yaml", typ: tar.TypeLink, link: top + "/ok.yaml"},
		ent{name: top + "/hard.md", typ: tar.TypeLink, link: top + "/README.md"},
		ent{name: top + "/tty", typ: tar.TypeChar},
		ent{name: top + "/sda.yaml", typ: tar.TypeBlock},
		ent{name: top + "/pipe", typ: tar.TypeFifo},
		ent{name: top + "/../../etc/cron.yaml", body: "evil: 1\n"},
		ent{name: top + "/a/../../escape.yaml", body: "evil: 1\n"},
		ent{name: top + "/a/../ok.yaml", body: "evil: 1\n"},
		ent{name: top + "/a//b.yaml", body: "evil: 1\n"},
		ent{name: top + "/caf\xe9.yaml", body: "evil: 1\n"},
		ent{name: top + "/new\nline.yaml", body: "evil: 1\n"},
		ent{name: top + "/ok.yaml", body: "dup: 1\n"},
		ent{name: "other-top/x.yaml", body: "evil: 1\n"},
		ent{name: "beside.yaml", body: "evil: 1\n"},
		ent{name: "../up.yaml", body: "evil: 1\n"},
		ent{name: "./dot.yaml", body: "evil: 1\n"},
	)
	res, rd, err := scanArchive(t, context.Background(), archive, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"ok.yaml"}; !slices.Equal(rd.files, want) || rd.data["ok.yaml"] != "a: 1\n" {
		t.Errorf("got files %q (ok.yaml = %q), want only the first ok.yaml", rd.files, rd.data["ok.yaml"])
	}
	want := map[string]string{
		"/etc/passwd":                  "absolute path",
		"link.yaml":                    `symlink to "/etc/shadow"`,
		"current":                      `symlink to "apps/v2.yaml"`,
		"hard.yaml":                    `hard link to "` + top + `/ok.yaml"`,
		"hard.md":                      `hard link to "` + top + `/README.md"`,
		"tty":                          "character device",
		"sda.yaml":                     "block device",
		"pipe":                         "named pipe (FIFO)",
		top + "/../../etc/cron.yaml":   "path escapes the archive root",
		top + "/a/../../escape.yaml":   "path escapes the archive root",
		top + "/a/../ok.yaml":          `path is not canonical (empty, "." or ".." parts)`,
		top + "/a//b.yaml":             `path is not canonical (empty, "." or ".." parts)`,
		top + "/caf\uFFFD.yaml":        "name is not valid UTF-8",
		`"` + top + `/new\nline.yaml"`: "name contains control characters",
		"ok.yaml":                      "duplicate entry: the archive holds this path more than once",
		"other-top/x.yaml":             `outside the archive's top directory "` + top + `/"`,
		"beside.yaml":                  "outside the archive's top directory",
		"../up.yaml":                   "path escapes the archive root",
		"./dot.yaml":                   `path is not canonical (empty, "." or ".." parts)`,
	}
	got := skipped(res)
	for f, msg := range want {
		if got[f] != msg {
			t.Errorf("%q: got reason %q, want %q", f, got[f], msg)
		}
	}
	for f, msg := range got {
		if _, ok := want[f]; !ok {
			t.Errorf("unexpected skip %q: %q", f, msg)
		}
	}
	if len(res.Skipped) != len(want) {
		t.Errorf("got %d skipped, want %d", len(res.Skipped), len(want))
	}
}

// Entries whose names escape the root, or are absolute, are never read and are listed once each,
// under their own names: two different entries never show as the same path (an entry inside the top
// directory is not shortened to a name that collides with one outside it), and a repeated entry, or an
// entry skipped for one reason and repeated, gives one line with the first reason.
func TestTarGzEscapingEntriesAreListedOnce(t *testing.T) {
	evil := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: evil\n"
	hostile := []ent{
		{name: "../evil.yaml", body: evil},
		{name: "/abs.yaml", body: evil},
		{name: "a/../../b.yaml", body: evil},
	}
	var es []ent
	es = append(es, hostile...) // before the top directory: none of them may become the root
	es = append(es, github(
		ent{name: "ok.yaml", body: "a: 1\n"},
		ent{name: "../evil.yaml", body: evil},
		ent{name: "/abs.yaml", body: evil}, // top + "//abs.yaml"
		ent{name: "a/../../b.yaml", body: evil},
		ent{name: "link.yaml", typ: tar.TypeSymlink, link: "ok.yaml"},
		ent{name: "link.yaml", typ: tar.TypeSymlink, link: "ok.yaml"},
		ent{name: "link.yaml", body: evil},
	)...)
	es = append(es, hostile...) // repeated: still one line each
	res, rd, err := scanArchive(t, context.Background(), targz(t, es...), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rd.files, []string{"ok.yaml"}) {
		t.Errorf("got files read %q, want only ok.yaml", rd.files)
	}
	if len(res.Objects) != 0 || len(res.Errors) != 0 {
		t.Errorf("got objects %+v and errors %+v, want none: no hostile entry is read", res.Objects, res.Errors)
	}
	want := []FileError{
		{File: "../evil.yaml", Message: "path escapes the archive root"},
		{File: "/abs.yaml", Message: "absolute path"},
		{File: "a/../../b.yaml", Message: "path escapes the archive root"},
		{File: "link.yaml", Message: `symlink to "ok.yaml"`},
		{File: top + "/../evil.yaml", Message: "path escapes the archive root"},
		{File: top + "//abs.yaml", Message: `path is not canonical (empty, "." or ".." parts)`},
		{File: top + "/a/../../b.yaml", Message: "path escapes the archive root"},
	}
	if !slices.Equal(res.Skipped, want) {
		t.Errorf("got skipped\n%s\nwant\n%s", fileErrors(res.Skipped), fileErrors(want))
	}
}

func fileErrors(fes []FileError) string {
	var b strings.Builder
	for _, fe := range fes {
		b.WriteString("  " + strconv.Quote(fe.File) + ": " + fe.Message + "\n")
	}
	return b.String()
}

func TestTarGzCorruptInput(t *testing.T) {
	raw := tarBytes(t, github(ent{name: "a.yaml", body: strings.Repeat("a: 1\n", 2000)}, ent{name: "b.yaml", body: "b: 1\n"})...)
	full := gz(t, raw)
	// The offset where b.yaml's header starts: a tar cut there holds only whole entries.
	boundary := bytes.Index(raw, []byte(top+"/b.yaml"))
	rnd := rand.New(rand.NewPCG(1, 2))
	garbage := make([]byte, 4096)
	for i := range garbage {
		garbage[i] = byte(rnd.UintN(256))
	}
	cases := []struct {
		name  string
		input []byte
	}{
		{"empty input", nil},
		{"garbage", garbage},
		{"gzip header only", full[:10]},
		{"truncated gzip", full[:len(full)/2]},
		{"gzip without its trailer", full[:len(full)-4]},
		{"truncated tar inside an entry", gz(t, raw[:len(raw)/3])},
		{"truncated tar at an entry boundary", gz(t, raw[:boundary])},
		{"tar without its end blocks", gz(t, raw[:len(raw)-1024])},
		{"gzip of something else", gz(t, []byte(strings.Repeat("not a tar archive\n", 100)))},
		{"tar with no top directory", targz(t, ent{name: "pax_global_header", typ: tar.TypeXGlobalHeader})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := scanArchive(t, context.Background(), c.input, Limits{})
			if !errors.Is(err, ErrCorruptArchive) {
				t.Fatalf("got %v, want ErrCorruptArchive", err)
			}
		})
	}
}

// A read error in the middle of a file is the archive's fault, whether the file reader swallows it
// or returns it.
func TestTarGzBrokenWhileReadingAFile(t *testing.T) {
	raw := tarBytes(t, github(ent{name: "a.yaml", body: noise(100 << 10)})...)
	full := gz(t, raw)
	for _, swallow := range []bool{true, false} {
		var calls int
		_, err := tarGz(context.Background(), bytes.NewReader(full[:len(full)/2]), New(Options{}), func(file string, r io.Reader) error {
			calls++
			_, err := io.Copy(io.Discard, r)
			if swallow { // as a lenient parser might
				return nil
			}
			return err
		})
		if calls != 1 || !errors.Is(err, ErrCorruptArchive) {
			t.Errorf("swallow %v: got %v after %d files, want ErrCorruptArchive after 1", swallow, err, calls)
		}
	}
}

// noise is incompressible text, so a cut in the gzip stream falls inside the file's body.
func noise(n int) string {
	rnd := rand.New(rand.NewPCG(3, 4))
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = letters[rnd.IntN(len(letters))]
	}
	return string(b)
}

type failingReader struct {
	r     io.Reader
	after int
	err   error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, f.err
	}
	p = p[:min(len(p), f.after)]
	n, err := f.r.Read(p)
	f.after -= n
	return n, err
}

func TestTarGzInputErrorKeepsItsCause(t *testing.T) {
	raw := tarBytes(t, github(ent{name: "a.yaml", body: strings.Repeat("k: v\n", 20000)})...)
	full := gz(t, raw)
	errStall := errors.New("download stalled")
	for _, after := range []int{0, 5, len(full) / 2} {
		in := &failingReader{r: bytes.NewReader(full), after: after, err: errStall}
		_, err := TarGz(context.Background(), in, Options{})
		if !errors.Is(err, errStall) || errors.Is(err, ErrCorruptArchive) {
			t.Errorf("failing after %d bytes: got %v, want the reader's error, not ErrCorruptArchive", after, err)
		}
	}
}

func TestTarGzContentErrorAborts(t *testing.T) {
	archive := targz(t, github(ent{name: "a.yaml", body: "a: 1\n"}, ent{name: "b.yaml", body: "b: 1\n"})...)
	errStore := errors.New("store full")
	var seen []string
	_, err := tarGz(context.Background(), bytes.NewReader(archive), New(Options{}), func(file string, r io.Reader) error {
		seen = append(seen, file)
		return errStore
	})
	if !errors.Is(err, errStore) || !strings.Contains(err.Error(), "a.yaml") || len(seen) != 1 {
		t.Fatalf("got %v after %q, want the callback's error naming a.yaml, after one file", err, seen)
	}
}

func TestTarGzContextCancelled(t *testing.T) {
	var es []ent
	for i := range 50 {
		es = append(es, ent{name: string(rune('a'+i%26)) + strings.Repeat("x", i) + ".yaml", body: "a: 1\n"})
	}
	archive := targz(t, github(es...)...)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls int
	_, err := tarGz(ctx, bytes.NewReader(archive), New(Options{}), func(file string, r io.Reader) error {
		calls++
		if calls == 3 {
			cancel()
		}
		_, err := io.Copy(io.Discard, r)
		return err
	})
	if !errors.Is(err, context.Canceled) || calls != 3 {
		t.Fatalf("got %v after %d files, want context.Canceled after 3", err, calls)
	}

	// Cancelled while skipping over one huge entry: stops inside it, not at its end.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	in := &cancelAfter{r: bytes.NewReader(bomb(t, "huge.bin", 1<<30)), n: 64 << 10, cancel: cancel}
	start := time.Now()
	_, err = TarGz(ctx, in, Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s to stop, want prompt", d)
	}
	if in.read > 128<<10 {
		t.Errorf("read %d KiB of the 1 MiB input after cancelling at 64 KiB, want the scan to stop inside the entry", in.read>>10)
	}
}

// cancelAfter cancels once n compressed bytes have been read.
type cancelAfter struct {
	r      io.Reader
	n      int
	read   int
	cancel func()
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += n
	if c.n -= n; c.n <= 0 {
		c.cancel()
	}
	return n, err
}

// bomb is a GitHub-like archive holding one file of size zero bytes, followed by small.yaml:
// gzip members concatenated (one compressed MiB of zeros, repeated), so it costs ~1 KiB per MiB.
func bomb(t testing.TB, name string, size int64) []byte {
	t.Helper()
	if size%(1<<20) != 0 {
		t.Fatal("bomb size must be whole MiB")
	}
	var head bytes.Buffer
	tw := tar.NewWriter(&head)
	for _, h := range []*tar.Header{
		{Name: "pax_global_header", Typeflag: tar.TypeXGlobalHeader, PAXRecords: map[string]string{"comment": "x"}},
		{Name: top + "/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: top + "/" + name, Typeflag: tar.TypeReg, Mode: 0o644, Size: size},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
	}
	// The header is written; the body follows as separate gzip members (tw is abandoned).
	var tail bytes.Buffer
	tw2 := tar.NewWriter(&tail)
	if err := tw2.WriteHeader(&tar.Header{Name: top + "/small.yaml", Typeflag: tar.TypeReg, Mode: 0o644, Size: 5}); err != nil {
		t.Fatal(err)
	}
	io.WriteString(tw2, "a: 1\n")
	tw2.Close()

	mib := gzLevel(t, make([]byte, 1<<20), gzip.BestCompression)
	var out bytes.Buffer
	out.Write(gz(t, head.Bytes()))
	for range size >> 20 {
		out.Write(mib)
	}
	out.Write(gz(t, tail.Bytes()))
	return out.Bytes()
}

func gzLevel(t testing.TB, b []byte, level int) []byte {
	var out bytes.Buffer
	zw, err := gzip.NewWriterLevel(&out, level)
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

// allocated runs f and returns the bytes it allocated on the heap (cumulative, not just live).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestTarGzBomb(t *testing.T) {
	const budget = 1 << 20 // whatever the archive inflates to, a scan allocates less than this
	for _, name := range []string{"bomb.bin", "bomb.yaml"} {
		t.Run(name+" over the archive limit", func(t *testing.T) {
			archive := bomb(t, name, 1<<30)
			t.Logf("1 GiB of zeros compressed to %d KiB", len(archive)>>10)
			var err error
			n := allocated(func() {
				_, err = TarGz(context.Background(), bytes.NewReader(archive), Options{Limits: Limits{MaxArchiveBytes: 64 << 20}})
			})
			if !errors.Is(err, ErrLimit) {
				t.Fatalf("got %v, want ErrLimit", err)
			}
			t.Logf("allocated %d KiB", n>>10)
			if n > budget {
				t.Errorf("allocated %d KiB, want under %d KiB", n>>10, budget>>10)
			}
		})
		t.Run(name+" within the limits", func(t *testing.T) {
			archive := bomb(t, name, 256<<20)
			var res *Result
			var err error
			n := allocated(func() { res, err = TarGz(context.Background(), bytes.NewReader(archive), Options{}) })
			if err != nil {
				t.Fatal(err)
			}
			if res.Files != 1 || res.Bytes != 5 {
				t.Errorf("got %d files, %d bytes; want small.yaml read after the bomb", res.Files, res.Bytes)
			}
			wantSkips := 0
			if name == "bomb.yaml" {
				wantSkips = 1
			}
			if len(res.Skipped) != wantSkips {
				t.Errorf("got skipped %+v, want %d", res.Skipped, wantSkips)
			}
			t.Logf("allocated %d KiB", n>>10)
			if n > budget {
				t.Errorf("allocated %d KiB, want under %d KiB", n>>10, budget>>10)
			}
		})
	}
}

func TestTarGzObjects(t *testing.T) {
	archive := targz(t, github(
		ent{name: "README.md", body: "# not yaml: [\n"},
		ent{name: "apps/web/deploy.yaml", body: "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: media\n"},
		ent{name: "apps/two.yml", body: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: x\n---\n" +
			"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n  namespace: x\n"},
	)...)
	res, err := TarGz(context.Background(), bytes.NewReader(archive), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range res.Objects {
		got = append(got, o.File+" "+o.Kind+" "+o.Namespace+"/"+o.Name)
	}
	slices.Sort(got)
	want := []string{"apps/two.yml ConfigMap x/a", "apps/two.yml ConfigMap x/b", "apps/web/deploy.yaml Deployment media/web"}
	if !slices.Equal(got, want) {
		t.Errorf("got objects %q, want %q", got, want)
	}
	if res.Files != 2 || len(res.Errors) != 0 {
		t.Errorf("got %d files and errors %+v, want 2 files and no errors", res.Files, res.Errors)
	}
}

// scanWithTrackedCallback scans archive with a Content callback that uses an object of its own, and
// returns the Result and a channel closed once that object has been collected.
func scanWithTrackedCallback(t *testing.T, archive []byte) (*Result, <-chan struct{}) {
	t.Helper()
	state := new([4096]byte) // what a caller's callback closes over: in a sync, the hashes it has seen
	collected := make(chan struct{})
	runtime.AddCleanup(state, func(ch chan struct{}) { close(ch) }, collected)
	res, err := TarGz(context.Background(), bytes.NewReader(archive), Options{Content: func(hash string, _ []byte) error {
		state[hash[0]]++
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	return res, collected
}

// TestTarGzResultDoesNotKeepTheScan: a sync holds the Result until its data is stored, which on a big
// repository is the longest phase; the Result must not keep the scan's working state (the options with
// the caller's Content callback and what it closes over, the namespace and fact indexes) alive with it.
func TestTarGzResultDoesNotKeepTheScan(t *testing.T) {
	archive := targz(t, github(
		ent{name: "apps/web/deploy.yaml", body: "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: media\n"},
		ent{name: "apps/web/ks.yaml", body: "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: web\n  namespace: flux-system\nspec:\n  path: ./apps/web\n  targetNamespace: media\n"},
	)...)
	res, collected := scanWithTrackedCallback(t, archive)
	for range 20 {
		runtime.GC()
		select {
		case <-collected:
			if len(res.Objects) != 2 {
				t.Fatalf("got %d objects, want 2", len(res.Objects))
			}
			return
		case <-time.After(50 * time.Millisecond): // cleanups run on their own goroutine after a collection
		}
	}
	t.Fatalf("the Content callback's state is still reachable while the Result (%d objects) is: the Result keeps the Scanner alive", len(res.Objects))
}
