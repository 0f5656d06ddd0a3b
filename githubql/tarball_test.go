package githubql

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubestats/kubestats/githubql/githubtest"
)

const headOID = "0123456789abcdef0123456789abcdef01234567"

func newTarballClient(t *testing.T, gh *githubtest.Server, o Options) *Client {
	t.Helper()
	if o.Token == "" {
		o.Token = gh.Token()
	}
	o.GraphQLURL, o.APIURL = gh.GraphQLURL(), gh.APIURL()
	if o.Backoff == 0 {
		o.Backoff = time.Millisecond
	}
	if o.SecondaryWait == 0 {
		o.SecondaryWait = time.Millisecond
	}
	return New(o)
}

func homeOps() githubtest.Repo {
	return githubtest.Repo{Owner: "onedr0p", Name: "home-ops", DefaultBranch: "main", HeadOID: headOID, Files: map[string]string{
		"README.md":                             "# home-ops\n",
		"kubernetes/apps/plex/helmrelease.yaml": "kind: HelmRelease\n",
	}}
}

// untar reads a whole gzip tar: entry names and the pax global header's comment.
func untar(t *testing.T, r io.Reader) (names []string, comment string) {
	t.Helper()
	zr, err := gzip.NewReader(r)
	if err != nil {
		t.Fatalf("gzip: %v", err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names, comment
		}
		if err != nil {
			t.Fatalf("tar: %v", err)
		}
		if h.Typeflag == tar.TypeXGlobalHeader {
			comment = h.PAXRecords["comment"]
			continue
		}
		names = append(names, h.Name)
	}
}

func TestTarballDownloadsTheCommitWithoutLeakingTheToken(t *testing.T) {
	gh := githubtest.New(t, githubtest.WithRepos(homeOps()))
	c := newTarballClient(t, gh, Options{})
	m := &Meter{}
	body, err := c.Tarball(WithMeter(context.Background(), m), "onedr0p", "home-ops", headOID)
	if err != nil {
		t.Fatal(err)
	}
	names, comment := untar(t, body)
	if err := body.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	want := "onedr0p-home-ops-0123456/kubernetes/apps/plex/helmrelease.yaml"
	if comment != headOID || !strings.Contains(strings.Join(names, "\n"), want) {
		t.Errorf("got comment %q and entries %q, want %s and %s", comment, names, headOID, want)
	}

	if st := gh.Stats(); st.Tarball != 1 || st.Codeload != 1 || st.CodeloadWithAuth != 0 {
		t.Errorf("got stats %+v, want 1 tarball, 1 codeload, 0 codeload with auth", st)
	}
	for _, r := range gh.Requests() {
		switch r.Kind {
		case githubtest.KindTarball:
			if r.Path != "/repos/onedr0p/home-ops/tarball/"+headOID || r.Header.Get("Authorization") != "Bearer "+gh.Token() ||
				r.Header.Get("Accept") != "application/vnd.github+json" || r.Header.Get("User-Agent") != "kubestats" {
				t.Errorf("API request: got %s with headers %v, want the commit's path, the token, the GitHub media type and our User-Agent", r.Path, r.Header)
			}
		case githubtest.KindCodeload:
			if a := r.Header.Get("Authorization"); a != "" {
				t.Errorf("codeload request carried Authorization %q", a)
			}
		}
	}
	if m.Downloads.Load() != 1 || m.Requests.Load() != 0 || m.Retries.Load() != 0 {
		t.Errorf("got meter downloads %d, requests %d, retries %d; want 1, 0, 0", m.Downloads.Load(), m.Requests.Load(), m.Retries.Load())
	}
}

// The fake's archive host has another host name; here it has the same one (127.0.0.1) on another port,
// where Go's redirect rules would forward a header the caller set. The token must stay on the API port.
func TestTarballTokenStaysOffARedirectToTheSameHostName(t *testing.T) {
	var mu sync.Mutex
	var apiAuth, loadAuth []string
	load := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		loadAuth = append(loadAuth, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Write(tinyArchive(t))
	}))
	defer load.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		apiAuth = append(apiAuth, r.Header.Get("Authorization"))
		mu.Unlock()
		http.Redirect(w, r, load.URL+"/o/n/legacy.tar.gz/"+headOID, http.StatusFound)
	}))
	defer api.Close()
	if !strings.HasPrefix(api.URL, "http://127.0.0.1:") || !strings.HasPrefix(load.URL, "http://127.0.0.1:") {
		t.Fatalf("want both servers on 127.0.0.1, got %s and %s", api.URL, load.URL)
	}

	c := New(Options{Token: "secret", APIURL: api.URL, GraphQLURL: api.URL + "/graphql"})
	body, err := c.Tarball(context.Background(), "o", "n", headOID)
	if err != nil {
		t.Fatal(err)
	}
	untar(t, body)
	body.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(apiAuth) != 1 || apiAuth[0] != "Bearer secret" || len(loadAuth) != 1 || loadAuth[0] != "" {
		t.Errorf("got Authorization %q on the API, %q on the archive host; want the token on the API only", apiAuth, loadAuth)
	}
}

func tinyArchive(t *testing.T) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: "o-n-0123456/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
		t.Error(err)
	}
	tw.Close()
	zw.Close()
	return b.Bytes()
}

func TestTarballRefusesARedirectToPlainHTTP(t *testing.T) {
	var loads int
	load := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { loads++ }))
	defer load.Close()
	var apiCalls int
	api := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apiCalls++
		http.Redirect(w, r, load.URL+"/archive", http.StatusFound)
	}))
	defer api.Close()
	c := New(Options{Token: "secret", APIURL: api.URL, GraphQLURL: api.URL + "/graphql", HTTPClient: api.Client(), Backoff: time.Millisecond})
	_, err := c.Tarball(context.Background(), "o", "n", headOID)
	if !errors.Is(err, errRedirect) || loads != 0 || apiCalls != 1 {
		t.Fatalf("got %v after %d API calls, %d archive calls; want a refused redirect, not retried, not followed", err, apiCalls, loads)
	}
}

func TestTarballNotFound(t *testing.T) {
	gh := githubtest.New(t, githubtest.WithRepos(homeOps(), githubtest.Repo{Owner: "o", Name: "empty"}))
	c := newTarballClient(t, gh, Options{})
	cases := []struct{ owner, name, ref string }{
		{"onedr0p", "gone", headOID},
		{"onedr0p", "home-ops", strings.Repeat("0", 40)},
		{"o", "empty", headOID},
	}
	for _, k := range cases {
		gh.ResetStats()
		_, err := c.Tarball(context.Background(), k.owner, k.name, k.ref)
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("%s/%s@%s: got %v, want ErrNotFound", k.owner, k.name, k.ref, err)
		}
		if st := gh.Stats(); st.Tarball != 1 {
			t.Errorf("%s/%s@%s: got %d requests, want 1 (a 404 is final)", k.owner, k.name, k.ref, st.Tarball)
		}
	}

	// The archive host's 404 (an expired or bad link) means the same.
	gh.FailNextCodeload(1, http.StatusNotFound)
	if _, err := c.Tarball(context.Background(), "onedr0p", "home-ops", headOID); !errors.Is(err, ErrNotFound) {
		t.Errorf("codeload 404: got %v, want ErrNotFound", err)
	}
}

func TestTarballRetriesBeforeTheBody(t *testing.T) {
	gh := githubtest.New(t, githubtest.WithRepos(homeOps()))
	c := newTarballClient(t, gh, Options{MaxAttempts: 4})
	download := func() (*Meter, error) {
		m := &Meter{}
		body, err := c.Tarball(WithMeter(context.Background(), m), "onedr0p", "home-ops", headOID)
		if err == nil {
			untar(t, body)
			body.Close()
		}
		return m, err
	}

	cases := []struct {
		name                   string
		fault                  func()
		wantTarball, wantLoads int
	}{
		{"API 5xx", func() { gh.FailNextTarball(2, http.StatusBadGateway) }, 3, 1},
		{"API 429", func() { gh.FailNextTarball(1, http.StatusTooManyRequests) }, 2, 1},
		{"codeload 5xx", func() { gh.FailNextCodeload(1, http.StatusServiceUnavailable) }, 2, 2},
	}
	for _, k := range cases {
		gh.ResetStats()
		k.fault()
		m, err := download()
		if err != nil {
			t.Errorf("%s: %v", k.name, err)
			continue
		}
		if st := gh.Stats(); st.Tarball != k.wantTarball || st.Codeload != k.wantLoads || st.CodeloadWithAuth != 0 {
			t.Errorf("%s: got stats %+v, want %d tarball, %d codeload requests, none with auth", k.name, st, k.wantTarball, k.wantLoads)
		}
		if m.Downloads.Load() != int64(k.wantTarball) || m.Retries.Load() != int64(k.wantTarball-1) {
			t.Errorf("%s: got meter downloads %d retries %d, want %d and %d", k.name, m.Downloads.Load(), m.Retries.Load(), k.wantTarball, k.wantTarball-1)
		}
	}

	gh.ResetStats()
	gh.FailNextTarball(4, http.StatusInternalServerError)
	if _, err := download(); err == nil || !strings.Contains(err.Error(), "giving up after 4 attempts") {
		t.Errorf("5xx on every attempt: got %v, want giving up after 4 attempts", err)
	}
	if st := gh.Stats(); st.Tarball != 4 {
		t.Errorf("got %d requests, want 4", st.Tarball)
	}

	// A 403 without a rate-limit sign is a refusal, not a limit: final.
	gh.ResetStats()
	gh.FailNextTarball(1, http.StatusForbidden)
	if _, err := download(); err == nil || !strings.Contains(err.Error(), "refused the download (HTTP 403") {
		t.Errorf("403: got %v, want a refusal", err)
	}
	if st := gh.Stats(); st.Tarball != 1 {
		t.Errorf("403: got %d requests, want 1", st.Tarball)
	}

	bad := newTarballClient(t, gh, Options{Token: "wrong"})
	gh.ResetStats()
	if _, err := bad.Tarball(context.Background(), "onedr0p", "home-ops", headOID); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("bad token: got %v, want ErrUnauthorized", err)
	}
	if st := gh.Stats(); st.Tarball != 1 || st.Unauthorized != 1 {
		t.Errorf("bad token: got stats %+v, want one unauthorized request", st)
	}

	if _, err := New(Options{APIURL: gh.APIURL()}).Tarball(context.Background(), "onedr0p", "home-ops", headOID); !errors.Is(err, ErrNoToken) {
		t.Errorf("no token: got %v, want ErrNoToken", err)
	}
}

// GitHub's secondary limit on REST: 403 with a message and Retry-After. Waited for, then retried.
func TestTarballSecondaryLimit(t *testing.T) {
	var mu sync.Mutex
	var calls []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls = append(calls, time.Now())
		n := len(calls)
		mu.Unlock()
		switch {
		case n == 1:
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}`)
		case r.URL.Path == "/repos/o/n/tarball/"+headOID:
			http.Redirect(w, r, "/archive", http.StatusFound)
		default:
			w.Write(tinyArchive(t))
		}
	}))
	defer srv.Close()
	c := New(Options{Token: "t", APIURL: srv.URL, GraphQLURL: srv.URL + "/graphql", Backoff: time.Millisecond, SecondaryWait: time.Hour})
	body, err := c.Tarball(context.Background(), "o", "n", headOID)
	if err != nil {
		t.Fatal(err)
	}
	body.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 3 || calls[1].Sub(calls[0]) < time.Second {
		t.Fatalf("got %d calls, second after %s; want 3, the retry after Retry-After (1 s)", len(calls), calls[1].Sub(calls[0]))
	}
}

// stallingRepo serves a generated archive that sends a first file, then nothing until the client leaves.
func stallingRepo() githubtest.Repo {
	r := homeOps()
	r.Generate = func(w *githubtest.ArchiveWriter) error {
		if err := w.WriteFileFrom("first.bin", 256<<10, nil); err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return err
		}
		<-w.Context().Done()
		return w.Context().Err()
	}
	return r
}

func TestTarballCancelMidBody(t *testing.T) {
	gh := githubtest.New(t, githubtest.WithRepos(stallingRepo()))
	c := newTarballClient(t, gh, Options{DownloadStall: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	body, err := c.Tarball(ctx, "onedr0p", "home-ops", headOID)
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	if _, err := io.ReadFull(body, make([]byte, 10)); err != nil { // the flushed file is a few hundred bytes of gzip
		t.Fatalf("first bytes: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, body)
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("read still blocked 5 s after cancel")
	}
}

func TestTarballStallGuard(t *testing.T) {
	gh := githubtest.New(t, githubtest.WithRepos(stallingRepo()))
	const stall = 200 * time.Millisecond
	c := newTarballClient(t, gh, Options{DownloadStall: stall, MaxAttempts: 2})

	// Silent in the middle of the body: the read fails, nothing is retried.
	body, err := c.Tarball(context.Background(), "onedr0p", "home-ops", headOID)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = io.Copy(io.Discard, body)
	body.Close()
	if !errors.Is(err, ErrStalled) {
		t.Fatalf("got %v, want ErrStalled", err)
	}
	if d := time.Since(start); d < stall || d > 5*time.Second {
		t.Errorf("stalled after %s, want about %s", d, stall)
	}
	if st := gh.Stats(); st.Tarball != 1 {
		t.Errorf("got %d tarball requests, want 1: a body handed out is never retried", st.Tarball)
	}

	// Silent before answering: each attempt gives up after the stall time, then the download fails.
	gh.SetDelay(time.Minute)
	m := &Meter{}
	start = time.Now()
	_, err = c.Tarball(WithMeter(context.Background(), m), "onedr0p", "home-ops", headOID)
	if !errors.Is(err, ErrStalled) || m.Downloads.Load() != 2 {
		t.Errorf("got %v after %d attempts, want ErrStalled after 2", err, m.Downloads.Load())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s, want about 2 × %s", d, stall)
	}
	gh.SetDelay(0)
}

// Time the caller spends between reads (scanning a file) is not a stall.
func TestTarballSlowReaderIsNotAStall(t *testing.T) {
	const size = 128 << 10 // small: sent at once, so only the caller's pause can look like a stall
	r := homeOps()
	r.Generate = func(w *githubtest.ArchiveWriter) error {
		return w.WriteFileFrom("noise.bin", size, rand.NewChaCha8([32]byte{1})) // incompressible
	}
	gh := githubtest.New(t, githubtest.WithRepos(r))
	const stall = 500 * time.Millisecond
	c := newTarballClient(t, gh, Options{DownloadStall: stall})
	body, err := c.Tarball(context.Background(), "onedr0p", "home-ops", headOID)
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	zr, err := gzip.NewReader(body)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(zr, make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * stall)
	n, err := io.Copy(io.Discard, zr)
	if err != nil || n+4096 < size {
		t.Fatalf("got %d more bytes and %v after a pause, want the rest of the archive", n, err)
	}
}
