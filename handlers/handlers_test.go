package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/kubestats/kubestats/handlers"
	"github.com/kubestats/kubestats/store"
)

func TestScenarios(t *testing.T) {
	e := newEnv(t).withUsers()
	clients := map[string]*client{
		"anon":  e.client(),
		"user":  e.client().mustLogin(userEmail),
		"admin": e.client().mustLogin(adminEmail),
	}
	tests := []struct {
		name, as, path  string
		header          []string
		wantStatus      int
		wantLocation    string
		wantTestID      []string // elements that must be on the page, by data-testid
		wantContains    []string
		wantNotContains []string
	}{
		{name: "anon dashboard goes to login", as: "anon", path: "/", wantStatus: 303, wantLocation: "/login"},
		{name: "anon users page remembers target", as: "anon", path: "/users?x=1", wantStatus: 303, wantLocation: "/login?next=%2Fusers%3Fx%3D1"},
		{name: "anon account", as: "anon", path: "/account", wantStatus: 303, wantLocation: "/login?next=%2Faccount"},
		{name: "anon htmx request is told to navigate", as: "anon", path: "/account", header: []string{"HX-Request", "true"}, wantStatus: 401},
		{name: "anon login page", as: "anon", path: "/login", wantStatus: 200, wantTestID: []string{"login-submit"}, wantNotContains: []string{"data-testid=\"no-users\""}},
		{name: "anon health", as: "anon", path: "/api/health", wantStatus: 200, wantContains: []string{`"status":"ok"`, `"version":"test"`}},
		{name: "anon health db", as: "anon", path: "/api/health/db", wantStatus: 200, wantContains: []string{fmt.Sprintf(`"schema_version":%d`, store.LatestVersion())}},
		{name: "anon unknown page", as: "anon", path: "/nope", wantStatus: 404, wantTestID: []string{"error-page"}},
		{name: "unknown htmx gets partial", as: "anon", path: "/nope", header: []string{"HX-Request", "true"}, wantStatus: 404, wantTestID: []string{"error-partial"}, wantNotContains: []string{"<html"}},
		{name: "user dashboard", as: "user", path: "/", wantStatus: 200,
			wantTestID:      []string{"stat-users", "stat-db-size", "stat-version", "stat-github", "github-paused", "user-menu", "logout"},
			wantContains:    []string{"Plain User", "2 active"},
			wantNotContains: []string{`href="/users"`}},
		{name: "user account", as: "user", path: "/account", wantStatus: 200, wantTestID: []string{"profile-form", "password-form"}, wantContains: []string{userEmail}},
		{name: "user may not list users", as: "user", path: "/users", wantStatus: 403, wantTestID: []string{"error-page"}, wantContains: []string{"permission"}, wantNotContains: []string{adminEmail}},
		{name: "user may not edit users", as: "user", path: "/users/1", wantStatus: 403},
		{name: "user may not create users", as: "user", path: "/users/new", wantStatus: 403},
		{name: "user on login goes home", as: "user", path: "/login", wantStatus: 303, wantLocation: "/"},
		{name: "admin dashboard links users", as: "admin", path: "/", wantStatus: 200, wantContains: []string{`href="/users"`}},
		{name: "admin users", as: "admin", path: "/users", wantStatus: 200, wantTestID: []string{"users-table", "new-user"}, wantContains: []string{adminEmail, userEmail}},
		{name: "admin new user form", as: "admin", path: "/users/new", wantStatus: 200, wantTestID: []string{"user-form"}},
		{name: "admin edit user form", as: "admin", path: fmt.Sprintf("/users/%d", e.user.ID), wantStatus: 200, wantContains: []string{userEmail, "1 active sessions"}},
		{name: "admin unknown user", as: "admin", path: "/users/999", wantStatus: 404},
		{name: "admin bad user id", as: "admin", path: "/users/abc", wantStatus: 404},
		{name: "static file", as: "anon", path: "/static/vendor/htmx-2.0.11.min.js", wantStatus: 200, wantContains: []string{"htmx"}},
		{name: "static traversal", as: "anon", path: "/static/../schema.sql", wantStatus: 404},
		{name: "static directory", as: "anon", path: "/static/vendor/", wantStatus: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := clients[tt.as].get(tt.path, tt.header...)
			if r.StatusCode != tt.wantStatus {
				t.Fatalf("got status %d, want %d\n%.500s", r.StatusCode, tt.wantStatus, r.body)
			}
			if tt.wantLocation != "" && r.Header.Get("Location") != tt.wantLocation {
				t.Errorf("got Location %q, want %q", r.Header.Get("Location"), tt.wantLocation)
			}
			if len(tt.wantTestID) > 0 {
				d := r.doc(t)
				for _, id := range tt.wantTestID {
					if d.Find(`[data-testid="`+id+`"]`).Length() == 0 {
						t.Errorf("no element with data-testid=%q", id)
					}
				}
			}
			for _, s := range tt.wantContains {
				if !strings.Contains(r.body, s) {
					t.Errorf("body lacks %q", s)
				}
			}
			for _, s := range tt.wantNotContains {
				if strings.Contains(r.body, s) {
					t.Errorf("body contains %q", s)
				}
			}
		})
	}
}

func TestStaticFilesCachedAndPagesNot(t *testing.T) {
	e := newEnv(t).withUsers()
	c := e.client()
	if got := c.get("/static/app.css").Header.Get("Cache-Control"); !strings.Contains(got, "immutable") {
		t.Errorf("static Cache-Control %q, want immutable", got)
	}
	if got := c.get("/login").Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("page Cache-Control %q, want no-store", got)
	}
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	r := e.client().get("/login")
	want := map[string]string{
		"Content-Security-Policy":    "default-src 'self'",
		"X-Content-Type-Options":     "nosniff",
		"X-Frame-Options":            "DENY",
		"Referrer-Policy":            "same-origin",
		"Cross-Origin-Opener-Policy": "same-origin",
	}
	for k, v := range want {
		if !strings.Contains(r.Header.Get(k), v) {
			t.Errorf("%s = %q, want it to contain %q", k, r.Header.Get(k), v)
		}
	}
	if strings.Contains(r.Header.Get("Content-Security-Policy"), "unsafe-inline") {
		t.Error("CSP allows unsafe-inline")
	}
	// No inline script anywhere: every <script> has a src.
	d := r.doc(t)
	if n := d.Find("script:not([src])").Length(); n != 0 {
		t.Errorf("found %d inline scripts", n)
	}
	if r.Header.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS sent over plain http")
	}
}

func TestStateChangesNeedCSRFToken(t *testing.T) {
	e := newEnv(t).withUsers()
	c := e.client().mustLogin(userEmail)
	form := url.Values{"name": {"Changed"}, "email": {userEmail}}
	cases := []struct {
		name   string
		form   url.Values
		header []string
	}{
		{"no token", form, nil},
		{"wrong token", url.Values{"name": {"Changed"}, "email": {userEmail}, "_csrf": {"forged"}}, nil},
		{"cross-site request", form, []string{"Sec-Fetch-Site", "cross-site"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := c.postRaw("/account", tc.form, tc.header...)
			if r.StatusCode != http.StatusForbidden && r.StatusCode != http.StatusBadRequest {
				t.Fatalf("got %d, want 400 or 403", r.StatusCode)
			}
			if !strings.Contains(r.body, "did not come from this site") {
				t.Errorf("refusal page does not explain the CSRF failure:\n%.400s", r.body)
			}
		})
	}
	// Logout and login are state changes too.
	if r := c.postRaw("/logout", nil); r.StatusCode < 400 {
		t.Errorf("logout without token: got %d, want refusal", r.StatusCode)
	}
	if r := e.client().postRaw("/login", url.Values{"email": {userEmail}, "password": {password}}); r.StatusCode < 400 {
		t.Errorf("login without token: got %d, want refusal", r.StatusCode)
	}
	u, _ := e.store.GetUser(context.Background(), e.user.ID)
	if u.Name != "Plain User" {
		t.Fatalf("name changed to %q by a refused request", u.Name)
	}
	// The same request with the token goes through.
	if r := c.post("/account", form); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("with token: got %d, want 303", r.StatusCode)
	}
	if u, _ := e.store.GetUser(context.Background(), e.user.ID); u.Name != "Changed" {
		t.Fatalf("got name %q, want Changed", u.Name)
	}
}

func TestLoginIssuesNewSessionEveryTime(t *testing.T) {
	e := newEnv(t).withUsers()
	c := e.client().mustLogin(userEmail)
	first := c.cookie("kubestats_session")
	if first == nil {
		t.Fatal("no session cookie after login")
	}
	old := e.client()
	old.hc.Jar.SetCookies(mustURL(e.srv.URL), []*http.Cookie{{Name: first.Name, Value: first.Value}})
	if r := old.get("/"); r.StatusCode != 200 {
		t.Fatalf("first session: got %d, want 200", r.StatusCode)
	}
	// Logging in again from a browser that has a session replaces it.
	c.mustLogin(userEmail)
	second := c.cookie("kubestats_session")
	if second == nil || second.Value == first.Value {
		t.Fatal("session cookie did not change at login")
	}
	if r := old.get("/"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("replaced session still works: got %d, want 303", r.StatusCode)
	}
	if n, _ := e.store.CountUserSessions(context.Background(), e.user.ID); n != 1 {
		t.Fatalf("got %d sessions, want 1", n)
	}
}

func TestLogoutEndsSession(t *testing.T) {
	e := newEnv(t).withUsers()
	c := e.client().mustLogin(userEmail)
	stolen := c.cookie("kubestats_session")
	r := c.post("/logout", nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
		t.Fatalf("logout: got %d %q, want 303 /login", r.StatusCode, r.Header.Get("Location"))
	}
	if ck := setCookie(r, "kubestats_session"); ck == nil || ck.MaxAge >= 0 {
		t.Errorf("logout did not expire the cookie: %v", ck)
	}
	if page := c.get("/login"); !strings.Contains(page.body, "You have been logged out") {
		t.Error("no logout flash on the login page")
	}
	// Replaying the old cookie must not work: the server-side row is gone.
	replay := e.client()
	replay.hc.Jar.SetCookies(mustURL(e.srv.URL), []*http.Cookie{{Name: stolen.Name, Value: stolen.Value}})
	if r := replay.get("/"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("old cookie after logout: got %d, want 303", r.StatusCode)
	}
	if n, _ := e.store.CountUserSessions(context.Background(), e.user.ID); n != 0 {
		t.Fatalf("got %d sessions after logout, want 0", n)
	}
}

func TestPasswordChangeEndsOtherSessions(t *testing.T) {
	e := newEnv(t).withUsers()
	here := e.client().mustLogin(userEmail)
	elsewhere := e.client().mustLogin(userEmail)

	r := here.post("/account/password", url.Values{"current_password": {"wrong"}, "password": {"new password 1"}, "password_confirm": {"new password 1"}})
	if r.StatusCode != http.StatusUnprocessableEntity || r.doc(t).Find(`[data-testid="error-current_password"]`).Length() == 0 {
		t.Fatalf("wrong current password: got %d without a field error", r.StatusCode)
	}
	r = here.post("/account/password", url.Values{"current_password": {password}, "password": {"new password 1"}, "password_confirm": {"different"}})
	if r.StatusCode != http.StatusUnprocessableEntity || r.doc(t).Find(`[data-testid="error-password_confirm"]`).Length() == 0 {
		t.Fatalf("mismatched confirmation: got %d without a field error", r.StatusCode)
	}
	r = here.post("/account/password", url.Values{"current_password": {password}, "password": {"short"}, "password_confirm": {"short"}})
	if r.StatusCode != http.StatusUnprocessableEntity || r.doc(t).Find(`[data-testid="error-password"]`).Length() == 0 {
		t.Fatalf("short password: got %d without a field error", r.StatusCode)
	}
	r = here.post("/account/password", url.Values{"current_password": {password}, "password": {"new password 1"}, "password_confirm": {"new password 1"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("change password: got %d, want 303\n%.500s", r.StatusCode, r.body)
	}
	if r := here.get("/account"); r.StatusCode != 200 || !strings.Contains(r.body, "Password changed") {
		t.Fatalf("this browser should stay logged in with a flash: got %d", r.StatusCode)
	}
	if r := elsewhere.get("/"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("other session after password change: got %d, want 303", r.StatusCode)
	}
	if r := e.client().login(userEmail, password); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("old password: got %d, want 401", r.StatusCode)
	}
	if r := e.client().login(userEmail, "new password 1"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("new password: got %d, want 303", r.StatusCode)
	}
}

func TestCookieFlags(t *testing.T) {
	e := newEnv(t).withUsers()
	c := e.client()
	r := c.login(userEmail, password)
	ck := setCookie(r, "kubestats_session")
	if ck == nil {
		t.Fatal("no session cookie")
	}
	if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure || ck.Path != "/" {
		t.Errorf("over http: got HttpOnly=%v SameSite=%v Secure=%v Path=%q, want true Lax false /", ck.HttpOnly, ck.SameSite, ck.Secure, ck.Path)
	}
	if strings.Contains(ck.Value, fmt.Sprint(e.user.ID)) && len(ck.Value) < 40 {
		t.Errorf("cookie value %q looks like it carries data, not an opaque id", ck.Value)
	}

	// Behind a trusted TLS-terminating proxy the cookies are Secure and HSTS is sent.
	e2 := newEnv(t, func(c *handlers.Config) { c.TrustProxy = true }).withUsers()
	srv := e2.h.Echo()
	get := httptest.NewRequest(http.MethodGet, "/login", nil)
	get.RemoteAddr = "10.0.0.2:1234"
	get.Header.Set("X-Forwarded-Proto", "https")
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, get)
	if rec.Header().Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS over https")
	}
	post := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(url.Values{"email": {userEmail}, "password": {password}}.Encode()))
	post.RemoteAddr = "10.0.0.2:1234"
	post.Header.Set("X-Forwarded-Proto", "https")
	post.Header.Set("Sec-Fetch-Site", "same-origin")
	post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec = httptest.NewRecorder()
	srv.ServeHTTP(rec, post)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("https login: got %d", rec.Code)
	}
	var secure *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == "kubestats_session" {
			secure = c
		}
	}
	if secure == nil || !secure.Secure || !secure.HttpOnly {
		t.Fatalf("over https: got %+v, want Secure HttpOnly", secure)
	}
}

func TestUserNameIsEscaped(t *testing.T) {
	e := newEnv(t).withUsers()
	admin := e.client().mustLogin(adminEmail)
	evil := `<script>alert("x")</script>`
	r := admin.post("/users/new", url.Values{"email": {"evil@example.org"}, "name": {evil}, "password": {password}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: got %d\n%.500s", r.StatusCode, r.body)
	}
	page := admin.get("/users")
	if strings.Contains(page.body, "<script>alert") {
		t.Fatal("user name rendered as markup")
	}
	if !strings.Contains(page.body, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
		t.Fatalf("escaped name not found:\n%s", page.body)
	}
	// The name also appears in the evil user's own menu.
	evilClient := e.client().mustLogin("evil@example.org")
	if r := evilClient.get("/"); strings.Contains(r.body, "<script>alert") {
		t.Fatal("name rendered as markup in the user menu")
	}
}

func TestLoginThrottledPerIP(t *testing.T) {
	e := newEnv(t).withUsers()
	c := e.client()
	for i := 1; i <= 5; i++ {
		if r := c.login(userEmail, fmt.Sprintf("wrong %d", i)); r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.body, "Wrong email or password") {
			t.Fatalf("attempt %d: got %d, want 401 with a message", i, r.StatusCode)
		}
	}
	r := c.login(adminEmail, "wrong 6")
	if r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("6th attempt: got %d, want 429", r.StatusCode)
	}
	if r.Header.Get("Retry-After") == "" || !strings.Contains(r.body, "Too many login attempts") {
		t.Fatalf("429 lacks Retry-After or a readable page: %q\n%.400s", r.Header.Get("Retry-After"), r.body)
	}
	// Even the right password waits: the limit is per address.
	if r := c.login(userEmail, password); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("right password while throttled: got %d, want 429", r.StatusCode)
	}
}

func TestLoginThrottledPerAccount(t *testing.T) {
	e := newEnv(t).withUsers()
	srv := e.h.Echo()
	attempt := func(ip, email, pw string) int {
		req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(url.Values{"email": {email}, "password": {pw}}.Encode()))
		req.RemoteAddr = ip + ":4000"
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		return rec.Code
	}
	// Five failures from five addresses: each address is far below its own limit.
	for i := 1; i <= 5; i++ {
		if got := attempt(fmt.Sprintf("198.51.100.%d", i), userEmail, "wrong"); got != http.StatusUnauthorized {
			t.Fatalf("attempt %d: got %d, want 401", i, got)
		}
	}
	if got := attempt("198.51.100.6", strings.ToUpper(userEmail), "wrong"); got != http.StatusTooManyRequests {
		t.Fatalf("6th failure on one account from a new address: got %d, want 429", got)
	}
	if got := attempt("198.51.100.7", adminEmail, password); got != http.StatusSeeOther {
		t.Fatalf("another account: got %d, want 303", got)
	}
}

func TestLoginRedirectsBackSafely(t *testing.T) {
	e := newEnv(t).withUsers()
	for _, tc := range []struct{ next, want string }{
		{"/users?page=2", "/users?page=2"},
		{"//evil.example/", "/"},
		{"https://evil.example/", "/"},
		{`/\evil.example`, "/"},
		{"", "/"},
	} {
		c := e.client()
		r := c.post("/login", url.Values{"email": {adminEmail}, "password": {password}, "next": {tc.next}})
		if got := r.Header.Get("Location"); r.StatusCode != http.StatusSeeOther || got != tc.want {
			t.Errorf("next=%q: got %d %q, want 303 %q", tc.next, r.StatusCode, got, tc.want)
		}
	}
	// The login page carries next into its form.
	r := e.client().get("/login?next=%2Fusers")
	if v, _ := r.doc(t).Find(`input[name="next"]`).Attr("value"); v != "/users" {
		t.Errorf("login form next = %q, want /users", v)
	}
}

func TestFirstRunLoginPageExplainsSetup(t *testing.T) {
	e := newEnv(t)
	r := e.client().get("/login")
	if r.doc(t).Find(`[data-testid="no-users"]`).Length() == 0 || !strings.Contains(r.body, "kubestats user create --superuser") {
		t.Fatal("login page without users does not say how to create one")
	}
}

func TestUserManagement(t *testing.T) {
	e := newEnv(t).withUsers()
	ctx := context.Background()
	admin := e.client().mustLogin(adminEmail)
	userBrowser := e.client().mustLogin(userEmail)

	// Validation errors re-render the form with the field marked and the input kept.
	r := admin.post("/users/new", url.Values{"email": {"not an email"}, "name": {"Kept"}, "password": {password}})
	if r.StatusCode != http.StatusUnprocessableEntity || r.doc(t).Find(`[data-testid="error-email"]`).Length() == 0 || !strings.Contains(r.body, "Kept") {
		t.Fatalf("invalid email: got %d\n%.600s", r.StatusCode, r.body)
	}
	r = admin.post("/users/new", url.Values{"email": {userEmail}, "password": {password}})
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "already exists") {
		t.Fatalf("duplicate: got %d", r.StatusCode)
	}

	// Deactivating a user ends their sessions at once.
	path := fmt.Sprintf("/users/%d", e.user.ID)
	r = admin.post(path, url.Values{"email": {userEmail}, "name": {"Plain User"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("deactivate: got %d\n%.500s", r.StatusCode, r.body)
	}
	if r := userBrowser.get("/"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("deactivated user's session: got %d, want 303", r.StatusCode)
	}
	if r := e.client().login(userEmail, password); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("deactivated login: got %d, want 401", r.StatusCode)
	}

	// Reactivate, promote and set a password in one save.
	r = admin.post(path, url.Values{"email": {userEmail}, "name": {"Promoted"}, "is_active": {"1"}, "is_superuser": {"1"}, "password": {"a brand new one"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("update: got %d\n%.500s", r.StatusCode, r.body)
	}
	u, _ := e.store.GetUser(ctx, e.user.ID)
	if !u.IsActive || !u.IsSuperuser || u.Name != "Promoted" {
		t.Fatalf("got %+v", u)
	}
	if r := e.client().login(userEmail, "a brand new one"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("login with the password set by the admin: got %d", r.StatusCode)
	}

	// A bad new password changes nothing.
	r = admin.post(path, url.Values{"email": {userEmail}, "name": {"Nope"}, "is_active": {"1"}, "password": {"short"}})
	if r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("short password: got %d", r.StatusCode)
	}
	if u, _ := e.store.GetUser(ctx, e.user.ID); u.Name != "Promoted" {
		t.Fatalf("refused save changed the name to %q", u.Name)
	}
}

func TestLastSuperuserCannotStepDown(t *testing.T) {
	e := newEnv(t).withUsers()
	admin := e.client().mustLogin(adminEmail)
	path := fmt.Sprintf("/users/%d", e.admin.ID)
	for _, form := range []url.Values{
		{"email": {adminEmail}, "is_active": {"1"}},    // demote
		{"email": {adminEmail}, "is_superuser": {"1"}}, // deactivate
	} {
		r := admin.post(path, form)
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "no active superuser") {
			t.Fatalf("%v: got %d\n%.500s", form, r.StatusCode, r.body)
		}
	}
	u, _ := e.store.GetUser(context.Background(), e.admin.ID)
	if !u.IsSuperuser || !u.IsActive {
		t.Fatalf("admin changed: %+v", u)
	}
	if r := admin.get("/users"); r.StatusCode != 200 {
		t.Fatalf("admin lost access: %d", r.StatusCode)
	}
}

func TestHealthDBReportsOutage(t *testing.T) {
	e := newEnv(t)
	e.store.Close()
	r := e.client().get("/api/health/db")
	if r.StatusCode != http.StatusServiceUnavailable || !strings.Contains(r.body, `"status":"unavailable"`) {
		t.Fatalf("got %d %s, want 503 unavailable", r.StatusCode, r.body)
	}
	if r := e.client().get("/api/health"); r.StatusCode != 200 {
		t.Fatalf("process health with DB down: got %d, want 200", r.StatusCode)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
