package githubtest

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// authTransport adds the token the way the client does: on every request it sends, redirects included.
type authTransport struct{ token string }

func (a authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+a.token)
	return http.DefaultTransport.RoundTrip(r)
}

// A header set by the caller (not by a transport) is what Go drops on a cross-host redirect.
func getWithHeader(t *testing.T, client *http.Client, u, token string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

type tarEntry struct {
	hdr  *tar.Header
	body string
}

func readTarGz(t *testing.T, r io.Reader) []tarEntry {
	t.Helper()
	zr, err := gzip.NewReader(r)
	if err != nil {
		t.Fatalf("gzip: %v", err)
	}
	tr := tar.NewReader(zr)
	var out []tarEntry
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("tar: %v", err)
		}
		b, err := io.ReadAll(io.LimitReader(tr, 1<<20))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tarEntry{h, string(b)})
	}
}

func TestTarballRedirectsToAnotherHostWithoutCredentials(t *testing.T) {
	s := New(t)
	sha := "0123456789abcdef0123456789abcdef01234567"
	s.AddRepos(Repo{Owner: "onedr0p", Name: "home-ops", DefaultBranch: "main", HeadOID: sha, Files: map[string]string{
		"README.md": "# home-ops\n",
		"kubernetes/apps/media/plex/app/helmrelease.yaml": "kind: HelmRelease\n",
		"kubernetes/flux/config.yaml":                     "kind: Kustomization\n",
	}})

	// First hop, not followed: 302 to another host name.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp := getWithHeader(t, noFollow, s.APIURL()+"repos/onedr0p/home-ops/tarball/"+sha, s.Token())
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("got %d, want 302", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	api, _ := url.Parse(s.APIURL())
	if loc.Hostname() == api.Hostname() || loc.Hostname() != "localhost" {
		t.Errorf("got redirect to host %q (API is %q), want localhost", loc.Hostname(), api.Hostname())
	}

	// Followed, as the client will: Go drops Authorization on the cross-host hop.
	resp = getWithHeader(t, http.DefaultClient, s.APIURL()+"repos/onedr0p/home-ops/tarball/"+sha, s.Token())
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/x-gzip" {
		t.Fatalf("got %d %q, want 200 application/x-gzip", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	entries := readTarGz(t, resp.Body)
	if st := s.Stats(); st.Tarball != 2 || st.Codeload != 1 || st.CodeloadWithAuth != 0 {
		t.Errorf("got stats %+v, want 2 tarball, 1 codeload, 0 with auth", st)
	}
	for _, r := range s.Requests() {
		if r.Kind == KindCodeload && r.Header.Get("Authorization") != "" {
			t.Errorf("codeload request carried Authorization %q", r.Header.Get("Authorization"))
		}
	}

	if len(entries) == 0 || entries[0].hdr.Typeflag != tar.TypeXGlobalHeader || entries[0].hdr.Name != "pax_global_header" ||
		entries[0].hdr.PAXRecords["comment"] != sha {
		t.Fatalf("first entry: got %+v, want pax_global_header with comment %s", entries[0].hdr, sha)
	}
	var names []string
	for _, e := range entries[1:] {
		names = append(names, e.hdr.Name)
	}
	want := []string{
		"onedr0p-home-ops-0123456/",
		"onedr0p-home-ops-0123456/README.md",
		"onedr0p-home-ops-0123456/kubernetes/",
		"onedr0p-home-ops-0123456/kubernetes/apps/",
		"onedr0p-home-ops-0123456/kubernetes/apps/media/",
		"onedr0p-home-ops-0123456/kubernetes/apps/media/plex/",
		"onedr0p-home-ops-0123456/kubernetes/apps/media/plex/app/",
		"onedr0p-home-ops-0123456/kubernetes/apps/media/plex/app/helmrelease.yaml",
		"onedr0p-home-ops-0123456/kubernetes/flux/",
		"onedr0p-home-ops-0123456/kubernetes/flux/config.yaml",
	}
	if !slices.Equal(names, want) {
		t.Errorf("got entries\n%s\nwant\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
	for _, e := range entries[1:] {
		if strings.HasSuffix(e.hdr.Name, "helmrelease.yaml") && (e.body != "kind: HelmRelease\n" || e.hdr.Typeflag != tar.TypeReg) {
			t.Errorf("helmrelease.yaml: got %q type %c", e.body, e.hdr.Typeflag)
		}
	}

	// A transport that re-adds the header on every hop would leak it, and the server notices.
	leaky := &http.Client{Transport: authTransport{s.Token()}}
	resp = getWithHeader(t, leaky, s.APIURL()+"repos/onedr0p/home-ops/tarball/main", s.Token())
	io.Copy(io.Discard, resp.Body)
	if st := s.Stats(); st.CodeloadWithAuth != 1 {
		t.Errorf("got CodeloadWithAuth %d after a leaking client, want 1", st.CodeloadWithAuth)
	}
}

func TestTarballRefsAndNotFound(t *testing.T) {
	s := New(t)
	sha := strings.Repeat("9f", 20)
	s.AddRepos(
		Repo{Owner: "o", Name: "n", DefaultBranch: "main", HeadOID: sha, Files: map[string]string{"a": "1"}},
		Repo{Owner: "o", Name: "empty"},
	)
	cases := []struct {
		path string
		want int
	}{
		{"repos/o/n/tarball/main", 200},
		{"repos/o/n/tarball/refs/heads/main", 200},
		{"repos/o/n/tarball", 200},
		{"repos/O/N/tarball/" + sha[:7], 200},
		{"api/v3/repos/o/n/tarball/" + sha, 200},
		{"repos/o/n/tarball/other", 404},
		{"repos/o/n/tarball/" + strings.Repeat("0", 40), 404},
		{"repos/o/missing/tarball/main", 404},
		{"repos/o/empty/tarball/main", 404},
	}
	for _, c := range cases {
		resp := getWithHeader(t, http.DefaultClient, s.APIURL()+c.path, s.Token())
		if resp.StatusCode != c.want {
			t.Errorf("%s: got %d, want %d", c.path, resp.StatusCode, c.want)
			continue
		}
		if c.want == 404 {
			var body map[string]string
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body["message"] != "Not Found" {
				t.Errorf("%s: got body %v (%v), want message Not Found", c.path, body, err)
			}
		}
	}

	s.FailNextTarball(1, http.StatusBadGateway)
	if resp := getWithHeader(t, http.DefaultClient, s.APIURL()+"repos/o/n/tarball/main", s.Token()); resp.StatusCode != 502 {
		t.Errorf("FailNextTarball: got %d, want 502", resp.StatusCode)
	}
	s.FailNextCodeload(1, http.StatusServiceUnavailable)
	if resp := getWithHeader(t, http.DefaultClient, s.APIURL()+"repos/o/n/tarball/main", s.Token()); resp.StatusCode != 503 {
		t.Errorf("FailNextCodeload: got %d, want 503", resp.StatusCode)
	}
}

func TestExplicitTarballEntriesAreWrittenVerbatim(t *testing.T) {
	s := New(t)
	s.AddRepos(Repo{Owner: "o", Name: "n", DefaultBranch: "main", Tarballs: map[string][]TarEntry{
		"evil": {
			{Name: "o-n-1234567/", Typeflag: tar.TypeDir},
			{Name: "o-n-1234567/../../etc/passwd", Body: []byte("root::0:0::/:/bin/sh\n")},
			{Name: "o-n-1234567/link", Typeflag: tar.TypeSymlink, Linkname: "/etc/shadow"},
			{Name: "o-n-1234567/dev", Typeflag: tar.TypeChar},
			{Name: "o-n-1234567/huge.yaml", Size: 8 << 20, Body: []byte("a: b\n")},
		},
	}})
	resp := getWithHeader(t, http.DefaultClient, s.APIURL()+"repos/o/n/tarball/evil", s.Token())
	if resp.StatusCode != 200 {
		t.Fatalf("got %d, want 200", resp.StatusCode)
	}
	entries := readTarGz(t, resp.Body)
	if len(entries) != 5 {
		t.Fatalf("got %d entries, want 5", len(entries))
	}
	if e := entries[1]; e.hdr.Name != "o-n-1234567/../../etc/passwd" || e.body != "root::0:0::/:/bin/sh\n" {
		t.Errorf("got %q %q, want the traversal entry as given", e.hdr.Name, e.body)
	}
	if e := entries[2]; e.hdr.Typeflag != tar.TypeSymlink || e.hdr.Linkname != "/etc/shadow" {
		t.Errorf("got %+v, want a symlink to /etc/shadow", e.hdr)
	}
	if e := entries[3]; e.hdr.Typeflag != tar.TypeChar {
		t.Errorf("got type %c, want a character device", e.hdr.Typeflag)
	}
	if e := entries[4]; e.hdr.Size != 8<<20 || !strings.HasPrefix(e.body, "a: b\n\x00") {
		t.Errorf("got size %d, want %d padded with zeros", e.hdr.Size, 8<<20)
	}
}
