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
