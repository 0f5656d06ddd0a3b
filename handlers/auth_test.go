package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kubestats/kubestats/handlers"
	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/store/storetest"
)

// A login that cannot start hashing within the store's HashWait gets a readable 503 with
// Retry-After, and the refusal does not count as a failed attempt on the account.
func TestLoginRefusedWhileHasherBusy(t *testing.T) {
	var armed atomic.Pointer[chan struct{}]
	entered := make(chan struct{}, 1)
	s := storetest.Open(t, func(o *store.Options) {
		o.HashConcurrency = 1
		o.HashWait = time.Millisecond
		o.PasswordHook = func(string) {
			if ch := armed.Swap(nil); ch != nil {
				entered <- struct{}{}
				<-*ch
			}
		}
	})
	e := newEnvOn(t, s).withUsers()
	srv := e.h.Echo()
	attempt := func(ip, email, pw string, header ...string) *httptest.ResponseRecorder {
		// The deadline only keeps a regression (queueing without bound) from hanging the test.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/login", strings.NewReader(url.Values{"email": {email}, "password": {pw}}.Encode()))
		req.RemoteAddr = ip + ":4000"
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		return rec
	}

	// One login holds the only hashing slot until release.
	release := make(chan struct{})
	armed.Store(&release)
	held := make(chan int, 1)
	go func() { held <- attempt("198.51.100.1", adminEmail, password).Code }()
	<-entered

	// More refusals than the account's burst of failures: none may count against it.
	for i := 2; i <= 8; i++ {
		rec := attempt(fmt.Sprintf("198.51.100.%d", i), userEmail, "wrong password")
		if rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("attempt %d while busy: got %d, want 503\n%.400s", i, rec.Code, rec.Body.String())
		}
		if ra := rec.Header().Get("Retry-After"); ra == "" || ra == "0" {
			t.Fatalf("attempt %d: got Retry-After %q, want a positive number of seconds", i, ra)
		}
		if body := rec.Body.String(); !strings.Contains(body, `data-testid="error-page"`) || !strings.Contains(body, "busy") {
			t.Fatalf("attempt %d: want the error page saying the server is busy\n%.600s", i, body)
		}
	}
	rec := attempt("198.51.100.20", userEmail, password, "HX-Request", "true")
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), `data-testid="error-partial"`) {
		t.Fatalf("htmx login while busy: got %d, want 503 with the error partial\n%.400s", rec.Code, rec.Body.String())
	}

	// Overload refused on purpose is an operator's warning, not an error.
	if logs := e.logs.String(); strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, "level=WARN") {
		t.Errorf("busy refusals: want warnings and no errors in the log\n%s", logs)
	}

	close(release)
	if code := <-held; code != http.StatusSeeOther {
		t.Fatalf("the login holding the slot: got %d, want 303", code)
	}
	if rec := attempt("198.51.100.21", userEmail, "wrong password"); rec.Code != http.StatusUnauthorized {
		t.Fatalf("first real failure after the busy refusals: got %d, want 401 (refusals must not count)", rec.Code)
	}
	if rec := attempt("198.51.100.22", userEmail, password); rec.Code != http.StatusSeeOther {
		t.Fatalf("login once the slot is free: got %d, want 303", rec.Code)
	}
}

// csrfSetCookies returns the kubestats_csrf values a response sets, in order.
func csrfSetCookies(r response) []string {
	var out []string
	for _, ck := range r.Cookies() {
		if ck.Name == "kubestats_csrf" {
			out = append(out, ck.Value)
		}
	}
	return out
}

// A CSRF cookie planted before login (cookie tossing from a sibling host, a shared
// browser) must not survive the login: the response replaces it, pages then carry the new
// token, and the planted one no longer passes. Logout rotates it again.
func TestLoginAndLogoutRotateCSRFToken(t *testing.T) {
	e := newEnv(t).withUsers()
	c := e.client()
	const planted = "planted0by0the0attacker0000000000"
	c.hc.Jar.SetCookies(mustURL(e.srv.URL), []*http.Cookie{{Name: "kubestats_csrf", Value: planted, Path: "/"}})

	r := c.login(userEmail, password) // submits the planted token, which matches its cookie
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: got %d, want 303\n%.400s", r.StatusCode, r.body)
	}
	set := csrfSetCookies(r)
	if len(set) != 1 || set[0] == planted || len(set[0]) < 32 {
		t.Fatalf("login set kubestats_csrf to %q, want exactly one new random value instead of the planted one", set)
	}
	fresh := set[0]
	if ck := c.cookie("kubestats_csrf"); ck == nil || ck.Value != fresh {
		t.Fatalf("browser's CSRF cookie after login: got %v, want %q", ck, fresh)
	}
	page := c.get(r.Header.Get("Location"))
	if page.StatusCode != http.StatusOK || !strings.Contains(page.body, fresh) || strings.Contains(page.body, planted) {
		t.Fatalf("page after login: got %d; want it to carry the new token and not the planted one", page.StatusCode)
	}

	// A forged form with the planted token fails; the page's own token works.
	forged := url.Values{"name": {"Forged"}, "email": {userEmail}, "_csrf": {planted}}
	if r := c.postRaw("/account", forged); r.StatusCode != http.StatusForbidden && r.StatusCode != http.StatusBadRequest {
		t.Fatalf("POST with the planted token after login: got %d, want 400 or 403", r.StatusCode)
	}
	if u, _ := e.store.GetUser(context.Background(), e.user.ID); u.Name == "Forged" {
		t.Fatal("the planted token changed the profile")
	}
	if r := c.post("/account", url.Values{"name": {"Own"}, "email": {userEmail}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST with the page's token: got %d, want 303", r.StatusCode)
	}

	r = c.post("/logout", nil)
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: got %d, want 303", r.StatusCode)
	}
	if set := csrfSetCookies(r); len(set) != 1 || set[0] == fresh || set[0] == planted {
		t.Fatalf("logout set kubestats_csrf to %q, want exactly one new value", set)
	}
	if r := c.postRaw("/login", url.Values{"email": {userEmail}, "password": {password}, "_csrf": {fresh}}); r.StatusCode != http.StatusForbidden && r.StatusCode != http.StatusBadRequest {
		t.Fatalf("POST with the logged-in token after logout: got %d, want 400 or 403", r.StatusCode)
	}
}

// Behind a trusted TLS proxy the rotated CSRF cookie is Secure, like the middleware's own.
func TestRotatedCSRFCookieIsSecureOverHTTPS(t *testing.T) {
	e := newEnv(t, func(c *handlers.Config) { c.TrustProxy = true }).withUsers()
	post := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(url.Values{"email": {userEmail}, "password": {password}}.Encode()))
	post.RemoteAddr = "10.0.0.2:1234"
	post.Header.Set("X-Forwarded-Proto", "https")
	post.Header.Set("Sec-Fetch-Site", "same-origin")
	post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	e.h.Echo().ServeHTTP(rec, post)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("https login: got %d, want 303", rec.Code)
	}
	var csrf []*http.Cookie
	for _, ck := range rec.Result().Cookies() {
		if ck.Name == "kubestats_csrf" {
			csrf = append(csrf, ck)
		}
	}
	if len(csrf) != 1 || !csrf[0].Secure || !csrf[0].HttpOnly || csrf[0].SameSite != http.SameSiteLaxMode || csrf[0].Path != "/" {
		t.Fatalf("over https: got CSRF cookies %+v, want one Secure HttpOnly Lax cookie on /", csrf)
	}
}
