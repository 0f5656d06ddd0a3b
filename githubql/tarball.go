package githubql

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Errors of Tarball callers can match.
var (
	// ErrNotFound: the repository or the commit is gone (HTTP 404 or 410), or blocked (451).
	ErrNotFound = errors.New("githubql: not found")
	// ErrStalled: no bytes arrived for Options.DownloadStall, before the answer or inside the body.
	ErrStalled = errors.New("githubql: download stalled")
)

// errRedirect marks a redirect the download refuses; it is not retried.
var errRedirect = errors.New("githubql: refused redirect")

// heldHostError stops a download at a redirect to a host that is held (a secondary limit there):
// the download waits for the hold outside the attempt, then asks the API again for a fresh link.
type heldHostError struct{ host string }

func (e *heldHostError) Error() string {
	return "githubql: " + e.host + " is held for a secondary rate limit"
}

// Tarball starts downloading the gzip tar of owner/name at ref (a full commit oid) from
// {APIURL}/repos/{owner}/{name}/tarball/{ref}, following GitHub's redirect to its archive host.
// The token goes to the configured API host only, never to the host the redirect leads to.
//
// Answers before the body (5xx, secondary rate limits, network errors, a silent server) are retried
// as queries are; once the body is returned nothing is retried: the caller reads it as it arrives and
// must Close it. Reads fail with ErrStalled when the server goes silent for Options.DownloadStall,
// and with ctx's error once ctx ends.
func (c *Client) Tarball(ctx context.Context, owner, name, ref string) (io.ReadCloser, error) {
	if !c.Configured() {
		return nil, ErrNoToken
	}
	what := owner + "/" + name + "@" + ref
	if owner == "" || name == "" || ref == "" {
		return nil, fmt.Errorf("tarball %q: githubql: owner, name and ref are required", what)
	}
	u := c.o.APIURL + "/repos/" + url.PathEscape(owner) + "/" + url.PathEscape(name) + "/tarball/" + url.PathEscape(ref)
	m := meterFrom(ctx)
	var lastErr error
	for attempt := 1; attempt <= c.o.MaxAttempts; attempt++ {
		// Held hosts are waited for here, before the attempt's stall guard starts: the API host
		// now, the archive host when a redirect leads to it (heldHostError).
		if err := c.waitForHost(ctx, c.apiHost); err != nil {
			return nil, fmt.Errorf("tarball %s: %w", what, err)
		}
		m.Downloads.Add(1)
		body, wait, held, retry, err := c.tarballAttempt(ctx, u, attempt)
		if err == nil {
			c.observer().GitHubRequest("tarball", "success")
			return body, nil
		}
		if ctx.Err() != nil {
			c.observer().GitHubRequest("tarball", "cancelled")
			return nil, fmt.Errorf("tarball %s: %w", what, ctx.Err())
		}
		c.observer().GitHubRequest("tarball", "error")
		if !retry {
			return nil, fmt.Errorf("tarball %s: %w", what, err)
		}
		lastErr = err
		if attempt == c.o.MaxAttempts {
			break
		}
		m.Retries.Add(1)
		c.observer().GitHubRetry(downloadRetryReason(err))
		if held != "" {
			// A secondary limit of the host that answered (API or archive host), or a redirect to a
			// host already held: every request to that host waits, this retry with them.
			c.holdHost(held, wait)
			wait = max(c.heldUntil(held).Sub(c.o.Now()), 0)
		}
		c.o.Logger.Warn("github: retrying tarball", "repo", owner+"/"+name, "attempt", attempt, "wait_ms", wait.Milliseconds(), "err", err)
		var werr error
		if held != "" {
			werr = c.waitForHost(ctx, held)
		} else {
			werr = c.sleep(ctx, wait)
		}
		if werr != nil {
			return nil, fmt.Errorf("tarball %s: %w", what, werr)
		}
	}
	return nil, fmt.Errorf("tarball %s: githubql: giving up after %d attempts: %w", what, c.o.MaxAttempts, lastErr)
}

// tarballAttempt makes one request (with its redirect). On success the body is the caller's. held
// names the host whose secondary limit the failure was (the retry's wait holds every request to it).
func (c *Client) tarballAttempt(ctx context.Context, u string, attempt int) (body io.ReadCloser, wait time.Duration, held string, retry bool, err error) {
	actx, cancel := context.WithCancelCause(ctx)
	req, err := http.NewRequestWithContext(actx, http.MethodGet, u, nil)
	if err != nil {
		cancel(nil)
		return nil, 0, "", false, fmt.Errorf("githubql: %w", err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")

	// No http.Client timeout (it would cut long downloads): a timer bounds the wait for the answer.
	headers := time.AfterFunc(c.o.DownloadStall, func() { cancel(ErrStalled) })
	res, err := c.downloadClient().Do(req)
	if fired := !headers.Stop(); fired || ctx.Err() != nil {
		if res != nil {
			res.Body.Close()
		}
		cancel(nil)
		if ctx.Err() != nil {
			return nil, 0, "", false, ctx.Err()
		}
		return nil, c.backoff(attempt), "", true, fmt.Errorf("%w: no answer within %s", ErrStalled, c.o.DownloadStall)
	}
	if err != nil {
		cancel(nil)
		var he *heldHostError
		switch {
		case errors.Is(err, errRedirect):
			return nil, 0, "", false, err
		case errors.As(err, &he):
			return nil, 0, he.host, true, he
		}
		wait, _, retry, err := c.classify(err, &callInfo{}, attempt) // no answer: network error
		return nil, wait, "", retry, err
	}
	if res.StatusCode == http.StatusOK {
		d := &download{ctx: ctx, actx: actx, cancel: cancel, body: res.Body, stall: c.o.DownloadStall}
		d.timer = time.AfterFunc(time.Hour, d.fire)
		d.timer.Stop()
		return d, 0, "", false, nil
	}
	msg := errorMessage(res)
	res.Body.Close()
	cancel(nil)
	host := res.Request.URL.Host
	wait, hostWide, retry, err := c.classifyDownload(res.StatusCode, res.Header, msg, host, attempt)
	if hostWide {
		held = host
	}
	return nil, wait, held, retry, err
}

// downloadClient is the client's HTTP client without its overall timeout, with a redirect policy
// that never downgrades to plain HTTP. The auth transport adds the token per request for the
// configured hosts only, so the archive host's request never carries it.
func (c *Client) downloadClient() *http.Client {
	return &http.Client{
		Transport: c.hc.Transport,
		Jar:       c.hc.Jar,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 10 {
				return fmt.Errorf("%w: more than 10 redirects", errRedirect)
			}
			if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
				return fmt.Errorf("%w: from https to %s", errRedirect, req.URL.Redacted())
			}
			req.Header.Del("Authorization") // defence in depth: the transport adds it per hop, API host only
			if c.heldUntil(req.URL.Host).After(c.o.Now()) {
				return &heldHostError{host: req.URL.Host} // not while the stall guard runs, nor on a link that may expire
			}
			if next := c.hc.CheckRedirect; next != nil {
				return next(req, via)
			}
			return nil
		},
	}
}

// classifyDownload decides what a non-200 answer to a tarball request means (hostWide: see classify).
func (c *Client) classifyDownload(status int, h http.Header, msg, host string, attempt int) (wait time.Duration, hostWide, retry bool, err error) {
	detail := fmt.Sprintf("HTTP %d from %s", status, host)
	if msg != "" {
		detail += ": " + msg
	}
	switch {
	case status == http.StatusNotFound || status == http.StatusGone:
		return 0, false, false, fmt.Errorf("%w: repository or commit (%s)", ErrNotFound, detail)
	case status == http.StatusUnavailableForLegalReasons:
		return 0, false, false, fmt.Errorf("%w: repository blocked (%s)", ErrNotFound, detail)
	case status == http.StatusUnauthorized:
		return 0, false, false, ErrUnauthorized
	case status == http.StatusForbidden && !rateLimited(h, msg):
		return 0, false, false, fmt.Errorf("githubql: GitHub refused the download (%s)", detail)
	case status == http.StatusForbidden || status == http.StatusTooManyRequests || status >= 500:
		wait, hostWide, retry, err := c.classify(nil, &callInfo{status: status, header: h}, attempt)
		return wait, hostWide, retry, &statusError{status: status, err: err}
	}
	return 0, false, false, fmt.Errorf("githubql: GitHub answered %s", detail)
}

// statusError keeps a failed download attempt's HTTP status, to tell retry reasons apart.
type statusError struct {
	status int
	err    error
}

func (e *statusError) Error() string { return e.err.Error() }
func (e *statusError) Unwrap() error { return e.err }

// downloadRetryReason names why a download attempt is retried (see retryReason).
func downloadRetryReason(err error) string {
	var se *statusError
	var he *heldHostError
	switch {
	case errors.Is(err, ErrStalled):
		return "stalled"
	case errors.As(err, &he):
		return "rate_limit"
	case errors.As(err, &se):
		return retryReason(se.status)
	}
	return retryReason(0) // no answer
}

// rateLimited tells GitHub's 403 for a rate limit from a 403 for a permission.
func rateLimited(h http.Header, msg string) bool {
	return h.Get("Retry-After") != "" || h.Get("X-RateLimit-Remaining") == "0" ||
		strings.Contains(strings.ToLower(msg), "rate limit")
}

func (c *Client) backoff(attempt int) time.Duration {
	return min(c.o.Backoff<<(attempt-1), time.Minute)
}

// errorMessage returns the message of an error answer: GitHub's JSON "message", or short plain text.
func errorMessage(res *http.Response) string {
	b, _ := io.ReadAll(io.LimitReader(res.Body, 8<<10))
	ct, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	switch {
	case ct == "application/json" || strings.HasSuffix(ct, "+json"):
		var v struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(b, &v) == nil {
			return clipText(v.Message)
		}
	case ct == "text/plain":
		return clipText(strings.TrimSpace(string(b)))
	}
	return "" // e.g. GitHub's HTML error page
}

func clipText(s string) string {
	if r := []rune(s); len(r) > 200 {
		return string(r[:200]) + "…"
	}
	return s
}

// download is a tarball body being read. A timer runs while a Read waits: if it fires, the request
// is cancelled with ErrStalled. Time the caller spends between reads does not count.
type download struct {
	ctx    context.Context // the caller's
	actx   context.Context // the request's: cancelled with ErrStalled by the timer
	cancel context.CancelCauseFunc
	body   io.ReadCloser
	stall  time.Duration
	timer  *time.Timer

	mu      sync.Mutex
	reading bool
	since   time.Time
	closed  bool
}

func (d *download) Read(p []byte) (int, error) {
	d.mu.Lock()
	d.reading, d.since = true, time.Now()
	d.mu.Unlock()
	d.timer.Reset(d.stall)
	n, err := d.body.Read(p)
	d.timer.Stop()
	d.mu.Lock()
	d.reading = false
	d.mu.Unlock()
	if err != nil && err != io.EOF {
		switch {
		case d.ctx.Err() != nil:
			err = fmt.Errorf("githubql: tarball download: %w", d.ctx.Err())
		case errors.Is(context.Cause(d.actx), ErrStalled):
			err = fmt.Errorf("%w: no data for %s", ErrStalled, d.stall)
		default:
			err = fmt.Errorf("githubql: tarball download: %w", err)
		}
	}
	return n, err
}

// fire runs when the timer expires; a late run for a Read that has since returned does nothing.
func (d *download) fire() {
	d.mu.Lock()
	stalled := d.reading && time.Since(d.since) >= d.stall
	d.mu.Unlock()
	if stalled {
		d.cancel(ErrStalled)
	}
}

func (d *download) Close() error {
	d.mu.Lock()
	closed := d.closed
	d.closed = true
	d.mu.Unlock()
	if closed {
		return nil
	}
	d.timer.Stop()
	err := d.body.Close()
	d.cancel(nil)
	return err
}
