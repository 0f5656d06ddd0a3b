package githubtest

import (
	"cmp"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Repo is one repository the fake serves through search, nodes, repository and the tarball endpoint.
type Repo struct {
	ID          string // node id like "R_kgDOABCDEF"; generated from DatabaseID when empty
	DatabaseID  int64  // generated when 0; GitHub's Int is 32-bit, keep it below 2^31
	Owner       string // owner login
	Name        string
	OwnerIsOrg  bool // owner is an Organization rather than a User
	Description string
	HomepageURL string
	Language    string // primary language name; "" means none
	LicenseSPDX string // e.g. "MIT", "NOASSERTION" for GitHub's "Other"; "" and no LicenseName means no license
	LicenseName string // defaults to GitHub's name for known SPDX ids
	Topics      []string

	DefaultBranch   string    // "" means an empty repo: defaultBranchRef is null and there is no tarball
	HeadOID         string    // full 40-hex sha of the default branch head; generated when empty
	HeadCommittedAt time.Time // defaults to PushedAt, else CreatedAt

	IsArchived, IsFork, IsPrivate              bool
	IsDisabled, IsLocked, IsMirror, IsTemplate bool

	CreatedAt time.Time // defaults to the server clock when added
	PushedAt  time.Time // zero means null
	UpdatedAt time.Time // defaults to the later of CreatedAt and PushedAt

	DiskUsageKB                        int
	Stars, Forks, Watchers, OpenIssues int

	Files    map[string]string     // path → content of the tree at HeadOID, served as the tarball
	Tarballs map[string][]TarEntry // ref → exact archive entries, written verbatim (for hostile archives)
	// Generate, when set, writes the tree at HeadOID instead of Files, streamed into the answer as it
	// is generated, for archives too big to hold in memory (see ArchiveWriter, GenerateManifests).
	// It runs once per download; an error cuts the stream like a broken download.
	Generate func(w *ArchiveWriter) error
}

// TarEntry is one entry of an explicit tarball, written as given: no prefix directory, no pax header.
type TarEntry struct {
	Name       string
	Typeflag   byte // tar.TypeReg when 0
	Linkname   string
	Body       []byte
	Mode       int64             // 0o644 when 0
	Size       int64             // when larger than len(Body), the body is padded with zeros (huge files cost no memory)
	PAXRecords map[string]string // e.g. {"comment": sha} on a tar.TypeXGlobalHeader entry
}

// NameWithOwner returns "owner/name".
func (r Repo) NameWithOwner() string { return r.Owner + "/" + r.Name }

func (r Repo) clone() Repo {
	r.Topics = slices.Clone(r.Topics)
	r.Files = maps.Clone(r.Files)
	if r.Tarballs != nil {
		tb := make(map[string][]TarEntry, len(r.Tarballs))
		for k, v := range r.Tarballs {
			es := slices.Clone(v)
			for i := range es {
				es[i].Body = slices.Clone(es[i].Body)
				es[i].PAXRecords = maps.Clone(es[i].PAXRecords)
			}
			tb[k] = es
		}
		r.Tarballs = tb
	}
	return r
}

// normalize fills the defaults documented on Repo.
func (r *Repo) normalize(now time.Time) {
	if r.ID == "" {
		r.ID = msgpackID("R_", r.DatabaseID)
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = now
	}
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = r.CreatedAt
		if r.PushedAt.After(r.UpdatedAt) {
			r.UpdatedAt = r.PushedAt
		}
	}
	if r.DefaultBranch != "" {
		if r.HeadOID == "" {
			sum := sha1.Sum([]byte(r.ID + "\x00" + r.DefaultBranch))
			r.HeadOID = hex.EncodeToString(sum[:])
		}
		if r.HeadCommittedAt.IsZero() {
			r.HeadCommittedAt = r.PushedAt
			if r.HeadCommittedAt.IsZero() {
				r.HeadCommittedAt = r.CreatedAt
			}
		}
	}
	if r.LicenseName == "" && r.LicenseSPDX != "" {
		r.LicenseName = licenseNames[r.LicenseSPDX]
		if r.LicenseName == "" {
			r.LicenseName = r.LicenseSPDX
		}
	}
}

// msgpackID builds a new-style GitHub node id: prefix + base64url(msgpack [0, id]), e.g. "R_kgDO…".
func msgpackID(prefix string, id int64) string {
	return prefix + base64.RawURLEncoding.EncodeToString(appendMsgpackInt([]byte{0x92, 0x00}, id))
}

// msgpackID2 builds a node id for msgpack [0, id, s], as GitHub does for commits and refs.
func msgpackID2(prefix string, id int64, s string) string {
	b := appendMsgpackInt([]byte{0x93, 0x00}, id)
	s = s[:min(len(s), 255)]
	b = append(append(b, 0xd9, byte(len(s))), s...)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

func appendMsgpackInt(b []byte, id int64) []byte {
	if id >= 0 && id <= 0xffffffff {
		return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(id))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xd3), uint64(id))
}

// legacyID builds an old-style node id such as base64("05:Topickubernetes"),
// still used by GitHub for topics, languages and licenses.
func legacyID(typ, key string) string {
	width := 2
	if len(typ) >= 10 {
		width = 3
	}
	return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "%0*d:%s%s", width, len(typ), typ, key))
}

// licenseNames maps SPDX ids to the names GitHub shows for them.
var licenseNames = map[string]string{
	"Apache-2.0":   "Apache License 2.0",
	"MIT":          "MIT License",
	"GPL-2.0":      "GNU General Public License v2.0",
	"GPL-3.0":      "GNU General Public License v3.0",
	"AGPL-3.0":     "GNU Affero General Public License v3.0",
	"LGPL-3.0":     "GNU Lesser General Public License v3.0",
	"BSD-2-Clause": "BSD 2-Clause \"Simplified\" License",
	"BSD-3-Clause": "BSD 3-Clause \"New\" or \"Revised\" License",
	"MPL-2.0":      "Mozilla Public License 2.0",
	"Unlicense":    "The Unlicense",
	"WTFPL":        "Do What The F*ck You Want To Public License",
	"0BSD":         "BSD Zero Clause License",
	"ISC":          "ISC License",
	"NOASSERTION":  "Other",
}

// AddRepos adds repositories, filling defaults (see Repo). A repo whose ID or owner/name is taken,
// or that lacks Owner or Name, fails the test and is skipped.
func (s *Server) AddRepos(rs ...Repo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for _, r := range rs {
		if r.Owner == "" || r.Name == "" {
			s.t.Errorf("githubtest: AddRepos: repo %q has no owner or name", r.NameWithOwner())
			continue
		}
		r = r.clone()
		if r.DatabaseID == 0 {
			s.nextDBID++
			r.DatabaseID = s.nextDBID
		}
		r.normalize(now)
		if _, dup := s.repos[r.ID]; dup {
			s.t.Errorf("githubtest: AddRepos: id %s (%s) already present", r.ID, r.NameWithOwner())
			continue
		}
		if old, ok := s.byNameLocked(r.Owner, r.Name); ok {
			s.t.Errorf("githubtest: AddRepos: %s already present as %s", r.NameWithOwner(), old.ID)
			continue
		}
		s.repos[r.ID] = &r
		s.names[nameKey(r.Owner, r.Name)] = r.ID
	}
}

// UpdateRepo changes a stored repo through f (the ID cannot change); an unknown id fails the test.
func (s *Server) UpdateRepo(id string, f func(*Repo)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.repos[id]
	if !ok {
		s.t.Errorf("githubtest: UpdateRepo: no repo %s", id)
		return
	}
	r := old.clone() // in-flight requests may still read old
	f(&r)
	if r.ID != id {
		s.t.Errorf("githubtest: UpdateRepo: id of %s changed to %s; remove and add instead", id, r.ID)
		r.ID = id
	}
	r.normalize(s.now())
	if other, ok := s.byNameLocked(r.Owner, r.Name); ok && other.ID != id {
		s.t.Errorf("githubtest: UpdateRepo: %s is taken by %s", r.NameWithOwner(), other.ID)
		return
	}
	delete(s.names, nameKey(old.Owner, old.Name))
	s.names[nameKey(r.Owner, r.Name)] = id
	s.repos[id] = &r
}

// RemoveRepo deletes a repo: it leaves search, and nodes answers NOT_FOUND for its id.
func (s *Server) RemoveRepo(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.repos[id]; ok {
		delete(s.names, nameKey(r.Owner, r.Name))
		delete(s.repos, id)
	}
}

// Repo returns a copy of the stored repo.
func (s *Server) Repo(id string) (Repo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.repos[id]
	if !ok {
		return Repo{}, false
	}
	return r.clone(), true
}

// Repos returns copies of all stored repos, oldest first.
func (s *Server) Repos() []Repo {
	s.mu.Lock()
	rs := make([]Repo, 0, len(s.repos))
	for _, r := range s.repos {
		rs = append(rs, r.clone())
	}
	s.mu.Unlock()
	slices.SortFunc(rs, func(a, b Repo) int { return byCreated(&a, &b) })
	return rs
}

// lookup returns the stored repo (shared with in-flight requests: never mutate it).
func (s *Server) lookup(id string) (*Repo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.repos[id]
	return r, ok
}

// byName finds a repo case-insensitively, as GitHub does.
func (s *Server) byName(owner, name string) (*Repo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byNameLocked(owner, name)
}

func (s *Server) byNameLocked(owner, name string) (*Repo, bool) {
	r, ok := s.repos[s.names[nameKey(owner, name)]]
	return r, ok
}

func nameKey(owner, name string) string { return strings.ToLower(owner + "/" + name) }

func byCreated(a, b *Repo) int {
	if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
		return c
	}
	if a.DatabaseID != b.DatabaseID {
		return cmp.Compare(a.DatabaseID, b.DatabaseID)
	}
	return strings.Compare(a.ID, b.ID)
}
