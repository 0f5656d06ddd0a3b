package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"

	"github.com/kubestats/kubestats/handlers"
	"github.com/kubestats/kubestats/store"
)

// apiBody is the union of the API's success and error envelopes, as far as these tests read them.
type apiBody struct {
	Data *struct {
		ID          int64  `json:"id"`
		Email       string `json:"email"`
		Name        string `json:"name"`
		IsSuperuser bool   `json:"is_superuser"`
		Auth        string `json:"auth"`
		TokenName   string `json:"token_name"`
	} `json:"data"`
	Auth  string `json:"auth"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func decodeAPI(t *testing.T, r response) apiBody {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/json" && ct != "application/json; charset=UTF-8" {
		t.Fatalf("got Content-Type %q, want JSON\n%s", ct, r.body)
	}
	var b apiBody
	if err := json.Unmarshal([]byte(r.body), &b); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
	return b
}

func mustToken(t *testing.T, s *store.Store, userID int64, name string) (string, store.APIToken) {
	t.Helper()
	token, tok, err := s.CreateToken(context.Background(), userID, name)
	if err != nil {
		t.Fatal(err)
	}
	return token, tok
}

func bearer(token string) []string { return []string{"Authorization", "Bearer " + token} }

func TestAPIMeAuthentication(t *testing.T) {
	ctx := context.Background()
	private := newEnv(t).withUsers()
	public := newEnv(t, func(c *handlers.Config) { c.Public = true }).withUsers()

	userToken, _ := mustToken(t, private.store, private.user.ID, "ci <b>")
	revoked, revokedTok := mustToken(t, private.store, private.user.ID, "old")
	if err := private.store.RevokeToken(ctx, private.user.ID, revokedTok.ID); err != nil {
		t.Fatal(err)
	}
	inactive, err := private.store.CreateUser(ctx, store.NewUser{Email: "gone@example.org", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	inactiveToken, _ := mustToken(t, private.store, inactive.ID, "left")
	if _, err := private.store.UpdateUser(ctx, inactive.ID, store.UserUpdate{Email: inactive.Email, IsActive: false}); err != nil {
		t.Fatal(err)
	}
	publicToken, _ := mustToken(t, public.store, public.admin.ID, "admin script")

	tests := []struct {
		name       string
		env        *env
		login      string // log the client in first
		header     []string
		wantStatus int
		wantCode   string // error code, for errors
		wantAuth   string // "auth" of the answer, for successes
		wantEmail  string
		wantToken  string
		wantWWW    string
	}{
		{name: "anonymous, private site", env: private, wantStatus: 401, wantCode: "unauthorized", wantWWW: "Bearer"},
		{name: "anonymous, public site", env: public, wantStatus: 200, wantAuth: "anonymous"},
		{name: "valid token", env: private, header: bearer(userToken), wantStatus: 200, wantAuth: "token", wantEmail: userEmail, wantToken: "ci <b>"},
		{name: "scheme is case-insensitive", env: private, header: []string{"Authorization", "bearer " + userToken}, wantStatus: 200, wantAuth: "token", wantEmail: userEmail},
		{name: "token on a public site", env: public, header: bearer(publicToken), wantStatus: 200, wantAuth: "token", wantEmail: adminEmail, wantToken: "admin script"},
		{name: "revoked token", env: private, header: bearer(revoked), wantStatus: 401, wantCode: "invalid_token", wantWWW: `Bearer error="invalid_token"`},
		{name: "revoked token, public site still refuses it", env: public, header: bearer(revoked), wantStatus: 401, wantCode: "invalid_token"},
		{name: "unknown token", env: private, header: bearer("ks_" + userToken[3:len(userToken)-1] + "x"), wantStatus: 401, wantCode: "invalid_token"},
		{name: "inactive user's token", env: private, header: bearer(inactiveToken), wantStatus: 401, wantCode: "invalid_token"},
		{name: "basic auth", env: private, header: []string{"Authorization", "Basic dXNlcjpwdw=="}, wantStatus: 401, wantCode: "invalid_token", wantWWW: `Bearer error="invalid_token"`},
		{name: "bearer without token", env: private, header: []string{"Authorization", "Bearer"}, wantStatus: 401, wantCode: "invalid_token"},
		{name: "bearer with two words", env: private, header: []string{"Authorization", "Bearer " + userToken + " x"}, wantStatus: 401, wantCode: "invalid_token"},
		{name: "session cookie", env: private, login: userEmail, wantStatus: 200, wantAuth: "session", wantEmail: userEmail},
		{name: "a bad token is not rescued by the session", env: private, login: userEmail, header: bearer(revoked), wantStatus: 401, wantCode: "invalid_token"},
		{name: "a token wins over the session", env: private, login: adminEmail, header: bearer(userToken), wantStatus: 200, wantAuth: "token", wantEmail: userEmail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.env.client()
			if tt.login != "" {
				c.mustLogin(tt.login)
			}
			r := c.get("/api/v1/me", tt.header...)
			if r.StatusCode != tt.wantStatus {
				t.Fatalf("got %d, want %d\n%s", r.StatusCode, tt.wantStatus, r.body)
			}
			b := decodeAPI(t, r)
			if got := r.Header.Get("WWW-Authenticate"); tt.wantWWW != "" && got != tt.wantWWW {
				t.Errorf("got WWW-Authenticate %q, want %q", got, tt.wantWWW)
			}
			if tt.wantCode != "" {
				if b.Error == nil || b.Error.Code != tt.wantCode || b.Error.Message == "" || b.Data != nil {
					t.Fatalf("got %s, want error %s with a message", r.body, tt.wantCode)
				}
				return
			}
			if b.Error != nil {
				t.Fatalf("got error %s, want success", r.body)
			}
			if tt.wantEmail == "" {
				if b.Data != nil || b.Auth != tt.wantAuth {
					t.Fatalf("got %s, want data null and auth %s", r.body, tt.wantAuth)
				}
				return
			}
			if b.Data == nil || b.Data.Email != tt.wantEmail || b.Data.Auth != tt.wantAuth || b.Data.ID == 0 {
				t.Fatalf("got %s, want %s by %s", r.body, tt.wantEmail, tt.wantAuth)
			}
			if tt.wantToken != "" && b.Data.TokenName != tt.wantToken {
				t.Fatalf("got token_name %q, want %q", b.Data.TokenName, tt.wantToken)
			}
			if b.Data.IsSuperuser != (tt.wantEmail == adminEmail) {
				t.Fatalf("got is_superuser %v for %s", b.Data.IsSuperuser, tt.wantEmail)
			}
		})
	}
}

func TestAPIRateLimit(t *testing.T) {
	e := newEnv(t, func(c *handlers.Config) { c.APIRateLimit = 3; c.Public = true }).withUsers()
	token, _ := mustToken(t, e.store, e.user.ID, "busy")
	other, _ := mustToken(t, e.store, e.user.ID, "other")
	c := e.client()
	for i := range 3 {
		r := c.get("/api/v1/me", bearer(token)...)
		if r.StatusCode != 200 {
			t.Fatalf("request %d: got %d, want 200\n%s", i+1, r.StatusCode, r.body)
		}
		if got, want := r.Header.Get("X-RateLimit-Remaining"), strconv.Itoa(2-i); got != want {
			t.Fatalf("request %d: got X-RateLimit-Remaining %q, want %s", i+1, got, want)
		}
		if got := r.Header.Get("X-RateLimit-Limit"); got != "3" {
			t.Fatalf("got X-RateLimit-Limit %q, want 3", got)
		}
	}
	r := c.get("/api/v1/me", bearer(token)...)
	if r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("4th request: got %d, want 429\n%s", r.StatusCode, r.body)
	}
	// 3 a minute refill one request every 20 s.
	if ra := r.Header.Get("Retry-After"); ra != "20" && ra != "19" {
		t.Fatalf("got Retry-After %q, want 20 seconds", ra)
	}
	if b := decodeAPI(t, r); b.Error == nil || b.Error.Code != "rate_limited" {
		t.Fatalf("got %s, want error rate_limited", r.body)
	}
	// The budget is the user's, not the token's: another token of the same user, or the
	// user's browser session, finds it spent. Another user and anonymous clients have their own.
	if r := c.get("/api/v1/me", bearer(other)...); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("another token of the same user: got %d, want 429", r.StatusCode)
	}
	if r := e.client().mustLogin(userEmail).get("/api/v1/me"); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("the same user's session: got %d, want 429", r.StatusCode)
	}
	adminToken, _ := mustToken(t, e.store, e.admin.ID, "admin")
	if r := c.get("/api/v1/me", bearer(adminToken)...); r.StatusCode != 200 {
		t.Fatalf("another user's token from the same IP: got %d, want its own budget", r.StatusCode)
	}
	if r := c.get("/api/v1/me"); r.StatusCode != 200 {
		t.Fatalf("anonymous: got %d, want 200", r.StatusCode)
	}
	for range 2 {
		c.get("/api/v1/me")
	}
	if r := c.get("/api/v1/me"); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("4th anonymous request: got %d, want 429", r.StatusCode)
	}
	// Junk tokens spend the client IP's budget, which is gone.
	if r := c.get("/api/v1/me", bearer("ks_junk")...); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("junk token from a throttled IP: got %d, want 429", r.StatusCode)
	}
}

// Twenty tokens do not make twenty budgets: every token of a user draws on one.
func TestAPIRateLimitIsPerUser(t *testing.T) {
	e := newEnv(t, func(c *handlers.Config) { c.APIRateLimit = 10 }).withUsers()
	c := e.client()
	ok := 0
	for i := range 20 {
		token, _ := mustToken(t, e.store, e.user.ID, "t"+strconv.Itoa(i))
		if r := c.get("/api/v1/me", bearer(token)...); r.StatusCode == 200 {
			ok++
		}
	}
	if ok != 10 {
		t.Fatalf("20 tokens of one user, one request each: got %d answered, want the user's 10", ok)
	}
}

// probeEnv serves e's handlers with the test-only write and superuser probes mounted.
func probeEnv(t *testing.T, e *env) *env {
	t.Helper()
	ec := e.h.Echo()
	e.h.MountAPIProbes(ec)
	srv := httptest.NewServer(ec)
	t.Cleanup(srv.Close)
	cp := *e
	cp.srv = srv
	return &cp
}

func TestAPIWriteAndSuperuserGuards(t *testing.T) {
	e := probeEnv(t, newEnv(t, func(c *handlers.Config) { c.Public = true }).withUsers())
	userToken, _ := mustToken(t, e.store, e.user.ID, "u")
	adminToken, _ := mustToken(t, e.store, e.admin.ID, "a")

	session := e.client().mustLogin(userEmail)
	csrf := session.csrfToken()
	tests := []struct {
		name       string
		c          *client
		method     string
		path       string
		header     []string
		wantStatus int
		wantCode   string
	}{
		{"write: anonymous on a public site", e.client(), "POST", "/api/v1/test-probe/write", nil, 401, "unauthorized"},
		{"write: token needs no CSRF", e.client(), "POST", "/api/v1/test-probe/write", bearer(userToken), 200, ""},
		{"write: session without CSRF header", session, "POST", "/api/v1/test-probe/write", nil, 403, "csrf"},
		{"write: session with a wrong CSRF header", session, "POST", "/api/v1/test-probe/write", []string{"X-CSRF-Token", csrf + "x"}, 403, "csrf"},
		{"write: session with the CSRF header", session, "POST", "/api/v1/test-probe/write", []string{"X-CSRF-Token", csrf}, 200, ""},
		{"write: CSRF header without the cookie", e.client(), "POST", "/api/v1/test-probe/write", append(bearer(userToken), "X-CSRF-Token", "anything"), 200, ""},
		{"admin: anonymous", e.client(), "GET", "/api/v1/test-probe/admin", nil, 401, "unauthorized"},
		{"admin: plain user's token", e.client(), "GET", "/api/v1/test-probe/admin", bearer(userToken), 403, "forbidden"},
		{"admin: plain user's session", session, "GET", "/api/v1/test-probe/admin", nil, 403, "forbidden"},
		{"admin: superuser's token", e.client(), "GET", "/api/v1/test-probe/admin", bearer(adminToken), 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r response
			if tt.method == "POST" {
				r = tt.c.postRaw(tt.path, url.Values{}, tt.header...)
			} else {
				r = tt.c.get(tt.path, tt.header...)
			}
			if r.StatusCode != tt.wantStatus {
				t.Fatalf("got %d, want %d\n%s", r.StatusCode, tt.wantStatus, r.body)
			}
			b := decodeAPI(t, r)
			if tt.wantCode != "" && (b.Error == nil || b.Error.Code != tt.wantCode) {
				t.Fatalf("got %s, want error %s", r.body, tt.wantCode)
			}
		})
	}
	// A session client whose CSRF cookie is missing is refused even with a header.
	bare := e.client().mustLogin(userEmail)
	tok := bare.csrfToken()
	u, _ := url.Parse(e.srv.URL)
	var keep []*http.Cookie
	for _, ck := range bare.hc.Jar.Cookies(u) {
		if ck.Name != "kubestats_csrf" {
			keep = append(keep, ck)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/api/v1/test-probe/write", nil)
	for _, ck := range keep {
		req.AddCookie(ck)
	}
	req.Header.Set("X-CSRF-Token", tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("session without CSRF cookie: got %d, want 403", res.StatusCode)
	}
}
