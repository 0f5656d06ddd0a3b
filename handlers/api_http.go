package handlers

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/kubestats/kubestats/views"
)

// openAPIDoc is the API's OpenAPI 3 document; a test checks every route's answers against it.
//
//go:embed openapi.json
var openAPIDoc []byte

func (a *apiHandlers) openAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPIDoc)
}

// etagWriter holds a response back so that its ETag can be computed over the whole body.
type etagWriter struct {
	http.ResponseWriter
	code int
	buf  bytes.Buffer
}

func (w *etagWriter) WriteHeader(code int)        { w.code = code }
func (w *etagWriter) Write(b []byte) (int, error) { return w.buf.Write(b) }

// apiETag gives every successful GET a strong ETag (a hash of the body as the handler wrote
// it, before any compression) and answers a matching If-None-Match with 304 and no body.
// Responses are small JSON documents, so holding one in memory costs little.
func apiETag(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		res := c.Response()
		orig := res.Writer
		w := &etagWriter{ResponseWriter: orig, code: http.StatusOK}
		res.Writer = w
		err := next(c)
		res.Writer = orig
		if !res.Committed {
			return err // nothing written: the error handler answers
		}
		if w.code == http.StatusOK {
			sum := sha256.Sum256(w.buf.Bytes())
			tag := `"` + base64.RawURLEncoding.EncodeToString(sum[:24]) + `"`
			res.Header().Set("ETag", tag)
			if etagMatch(c.Request().Header.Get("If-None-Match"), tag) {
				res.Header().Del(echo.HeaderContentType)
				res.Header().Del(echo.HeaderContentLength)
				res.Status = http.StatusNotModified
				orig.WriteHeader(http.StatusNotModified)
				return err
			}
		}
		orig.WriteHeader(w.code)
		if _, werr := orig.Write(w.buf.Bytes()); werr != nil && err == nil {
			err = werr
		}
		return err
	}
}

// etagMatch implements If-None-Match's weak comparison: a list of tags, W/ prefixes ignored, or *.
func etagMatch(header, tag string) bool {
	if header == "" {
		return false
	}
	for t := range strings.SplitSeq(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == tag {
			return true
		}
	}
	return false
}

// showAPIPage renders the API page from the OpenAPI document itself, so the two cannot disagree.
func (a *apiHandlers) showAPIPage(c echo.Context) error {
	v, err := apiDocView(openAPIDoc, c.Scheme()+"://"+c.Request().Host, a.h.cfg.Public)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.APIPage(a.h.layout(c, "API", ""), v))
}

// openAPIFile is the part of an OpenAPI document the API page shows.
type openAPIFile struct {
	Info struct {
		Title       string `json:"title"`
		Version     string `json:"version"`
		Description string `json:"description"`
	} `json:"info"`
	Paths map[string]map[string]struct {
		Summary     string `json:"summary"`
		Description string `json:"description"`
		Tags        []string
		Security    *[]map[string][]string `json:"security"`
		XAuth       string                 `json:"x-kubestats-auth"`
		Parameters  []openAPIParam         `json:"parameters"`
	} `json:"paths"`
	Components struct {
		Parameters map[string]openAPIParam `json:"parameters"`
	} `json:"components"`
}

type openAPIParam struct {
	Ref         string `json:"$ref"`
	Name        string `json:"name"`
	In          string `json:"in"`
	Description string `json:"description"`
	Required    bool   `json:"required"`
}

// apiDocView turns the document into the page's list of routes, in path order.
func apiDocView(doc []byte, base string, public bool) (views.APIDoc, error) {
	var f openAPIFile
	if err := json.Unmarshal(doc, &f); err != nil {
		return views.APIDoc{}, fmt.Errorf("api page: openapi.json: %w", err)
	}
	v := views.APIDoc{Title: f.Info.Title, Version: f.Info.Version, Description: f.Info.Description, Base: base, Public: public}
	paths := slices.Sorted(func(yield func(string) bool) {
		for p := range f.Paths {
			if !yield(p) {
				return
			}
		}
	})
	for _, p := range paths {
		for _, m := range []string{"get", "post"} {
			op, ok := f.Paths[p][m]
			if !ok {
				continue
			}
			r := views.APIRoute{Method: strings.ToUpper(m), Path: p, Summary: op.Summary, Description: op.Description, Auth: op.XAuth}
			for _, prm := range op.Parameters {
				if name, ok := strings.CutPrefix(prm.Ref, "#/components/parameters/"); ok {
					prm = f.Components.Parameters[name]
				}
				r.Params = append(r.Params, views.APIParam{Name: prm.Name, In: prm.In, Description: prm.Description, Required: prm.Required})
			}
			r.Curl = apiCurl(base, r)
			v.Routes = append(v.Routes, r)
		}
	}
	return v, nil
}

// apiCurl is an example call: path parameters stay as placeholders for the reader to fill in.
func apiCurl(base string, r views.APIRoute) string {
	var b strings.Builder
	b.WriteString("curl ")
	if r.Method != http.MethodGet {
		b.WriteString("-X " + r.Method + " ")
	}
	if r.Auth != "none" {
		b.WriteString(`-H "Authorization: Bearer $KUBESTATS_TOKEN" `)
	}
	b.WriteString("'" + base + r.Path + "'")
	return b.String()
}

// apiAnswer is a finished API answer as the cache of the list routes keeps it.
type apiAnswer struct {
	ctype string
	body  []byte
	gz    []byte // nil below the gzip threshold
	etag  string
}

// Answers are kept by size class. Pages of up to 100 items are a few KB to 100 KB and many
// are kept; pages of more items (per_page up to 500) reach a few MB and only a few are kept,
// so that odd query strings cannot fill the memory. Answers above a class's bound are served
// but not kept.
const (
	apiAnswerMaxCached    = 128 << 10
	apiAnswers            = 512
	apiBigAnswerMaxCached = 4 << 20
	apiBigAnswers         = 8
	apiBigPerPage         = 100 // per_page above this goes to the big class
	apiGzipMin            = 1024
)

var errAnswerTooBig = errors.New("api answer too big to cache")

// cachedAnswer serves a read route from a cache of finished answers keyed by URL: JSON
// encoding, hashing and gzip happen once per change of the data rather than per request,
// which is most of a cached list's cost. After the store's data changes (the version) an
// answer is reloaded by the first request a second or more after its load, while the others
// get it as it was: a stream of syncs costs one reload a second, and no request but that one
// waits for it. An entry is kept a minute at most; the data caches it is built from keep
// theirs longer or shorter (a chart's two minutes, a repository's pages until its next scan),
// so a minute bounds how long this layer adds to theirs. A repository action clears them. Only for routes whose answer depends on the
// URL and on nothing about who asks but whether they are a superuser: superusers' answers
// (deleted repositories are listed to them alone) are kept apart from everyone else's.
func (a *apiHandlers) cachedAnswer(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		res := c.Response()
		key := c.Request().URL.RequestURI()
		if u := currentUser(c); u != nil && u.IsSuperuser {
			key = "superuser\x00" + key
		}
		cache, limit := a.h.answers, apiAnswerMaxCached
		if n, _ := strconv.Atoi(c.QueryParam("per_page")); n > apiBigPerPage {
			cache, limit = a.h.bigAnswers, apiBigAnswerMaxCached
		}
		req := c.Request()
		ans, err := cache.get(req.Context(), key, func(ctx context.Context) (apiAnswer, error) {
			orig := res.Writer
			w := &etagWriter{ResponseWriter: orig, code: http.StatusOK}
			res.Writer = w
			// The answer is stamped with the current version: the data caches it reads must
			// not answer from an outdated entry (see fresh).
			c.SetRequest(req.WithContext(fresh(ctx)))
			err := next(c)
			c.SetRequest(req)
			res.Writer = orig
			if err != nil || !res.Committed || w.code != http.StatusOK {
				if err == nil {
					err = fmt.Errorf("api answer: status %d", w.code)
				}
				res.Committed = false
				return apiAnswer{}, err
			}
			// Nothing reached the client yet: the answer is written below, like a cached one.
			res.Committed = false
			return newAPIAnswer(res.Header().Get(echo.HeaderContentType), w.buf.Bytes(), limit)
		})
		if err != nil && !errors.Is(err, errAnswerTooBig) {
			return err
		}
		return writeAnswer(c, ans)
	}
}

// newAPIAnswer finishes an answer; errAnswerTooBig (with the answer) when body exceeds limit.
func newAPIAnswer(ctype string, body []byte, limit int) (apiAnswer, error) {
	sum := sha256.Sum256(body)
	ans := apiAnswer{ctype: ctype, body: bytes.Clone(body), etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:24]) + `"`}
	if len(body) >= apiGzipMin {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestSpeed)
		_, _ = zw.Write(body)
		if err := zw.Close(); err != nil {
			return apiAnswer{}, err
		}
		ans.gz = b.Bytes()
	}
	if len(body) > limit {
		return ans, errAnswerTooBig
	}
	return ans, nil
}

// writeAnswer sends an answer: 304 when If-None-Match matches, gzipped when accepted.
func writeAnswer(c echo.Context, ans apiAnswer) error {
	hd := c.Response().Header()
	hd.Add(echo.HeaderVary, echo.HeaderAcceptEncoding)
	hd.Set("ETag", ans.etag)
	if etagMatch(c.Request().Header.Get("If-None-Match"), ans.etag) {
		return c.NoContent(http.StatusNotModified)
	}
	body := ans.body
	if ans.gz != nil && strings.Contains(c.Request().Header.Get(echo.HeaderAcceptEncoding), "gzip") {
		hd.Set(echo.HeaderContentEncoding, "gzip")
		body = ans.gz
	}
	return c.Blob(http.StatusOK, ans.ctype, body)
}
