package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/kubestats/kubestats/store"
)

func TestAccountTokens(t *testing.T) {
	e := newEnv(t).withUsers()
	ctx := context.Background()
	c := e.client().mustLogin(userEmail)

	doc := c.get("/account").doc(t)
	if doc.Find(`[data-testid="tokens-empty"]`).Length() != 1 || doc.Find(`[data-testid="token-form"]`).Length() != 1 {
		t.Fatal("account page: want the empty tokens section with a create form")
	}

	// Creating shows the token once, in a read-only input, with a warning.
	hostile := `<script>alert("x")</script> & "quotes"`
	r := c.post("/account/tokens", url.Values{"name": {hostile}})
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("create: got %d, want 201\n%s", r.StatusCode, r.body)
	}
	if strings.Contains(r.body, "<script>alert") {
		t.Fatal("the token name reached the page unescaped")
	}
	doc = r.doc(t)
	input := doc.Find(`[data-testid="new-token-value"]`)
	token, _ := input.Attr("value")
	if _, ro := input.Attr("readonly"); !ro || !regexp.MustCompile(`^ks_[A-Za-z0-9_-]{43}$`).MatchString(token) {
		t.Fatalf("got new token input %q (readonly %v), want a read-only ks_ token", token, ro)
	}
	if !strings.Contains(doc.Find(`[data-testid="new-token"]`).Text(), "not be shown again") {
		t.Fatal("want the warning that the token will not be shown again")
	}
	if got := doc.Find(`[data-testid="token-name"]`).Text(); got != hostile {
		t.Fatalf("got token name %q in the list, want %q", got, hostile)
	}

	// The next view lists the token by its prefix but never shows it again.
	r = c.get("/account")
	if strings.Contains(r.body, token) {
		t.Fatal("the token is shown a second time")
	}
	doc = r.doc(t)
	if doc.Find(`[data-testid="new-token"]`).Length() != 0 {
		t.Fatal("the new-token box is shown a second time")
	}
	rows := doc.Find(`[data-testid="token-row"]`)
	if rows.Length() != 1 {
		t.Fatalf("got %d token rows, want 1", rows.Length())
	}
	if p := rows.Find(`[data-testid="token-prefix"]`).Text(); !strings.HasPrefix(token, strings.TrimSuffix(p, "…")) || len(p) < 8 {
		t.Fatalf("got prefix %q, want the start of the token", p)
	}
	if lu := strings.TrimSpace(rows.Find(`[data-testid="token-last-used"]`).Text()); lu != "never" {
		t.Fatalf("got last used %q, want never", lu)
	}

	// Using it fills in "last used".
	if r := e.client().get("/api/v1/me", bearer(token)...); r.StatusCode != 200 {
		t.Fatalf("the shown token: got %d, want 200", r.StatusCode)
	}
	doc = c.get("/account").doc(t)
	if lu := strings.TrimSpace(doc.Find(`[data-testid="token-last-used"]`).Text()); lu == "never" || !strings.Contains(lu, "UTC") {
		t.Fatalf("got last used %q, want a time", lu)
	}

	tokens, err := e.store.ListTokens(ctx, e.user.ID)
	if err != nil || len(tokens) != 1 {
		t.Fatalf("list: %v %v", tokens, err)
	}
	id := tokens[0].ID
	revoke := fmt.Sprintf("/account/tokens/%d/revoke", id)

	// Another user cannot revoke it: 404, and the token keeps working.
	admin := e.client().mustLogin(adminEmail)
	if r := admin.post(revoke, nil); r.StatusCode != http.StatusNotFound {
		t.Fatalf("another user's token: got %d, want 404", r.StatusCode)
	}
	if r := e.client().get("/api/v1/me", bearer(token)...); r.StatusCode != 200 {
		t.Fatalf("after another user's attempt: got %d, want the token to work", r.StatusCode)
	}
	for _, bad := range []string{"/account/tokens/abc/revoke", "/account/tokens/999999/revoke"} {
		if r := c.post(bad, nil); r.StatusCode != http.StatusNotFound {
			t.Fatalf("%s: got %d, want 404", bad, r.StatusCode)
		}
	}
	if r := c.postRaw(revoke, url.Values{}); r.StatusCode < 400 {
		t.Fatalf("revoke without CSRF: got %d, want refused", r.StatusCode)
	}
	if r := e.client().post(revoke, nil); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
		t.Fatalf("anonymous revoke: got %d, want a redirect to login", r.StatusCode)
	}

	// The owner revokes it: the list says so and the API refuses it.
	if r := c.post(revoke, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: got %d, want 303\n%s", r.StatusCode, r.body)
	}
	doc = c.get("/account").doc(t)
	if doc.Find(`[data-testid="token-revoked"]`).Length() != 1 || doc.Find(`[data-testid="token-revoke"]`).Length() != 0 {
		t.Fatal("want the token marked revoked, without a Revoke button")
	}
	if r := e.client().get("/api/v1/me", bearer(token)...); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("revoked token: got %d, want 401", r.StatusCode)
	}
	if r := c.post(revoke, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoking twice: got %d, want 303", r.StatusCode)
	}
}

func TestAccountTokenFormErrors(t *testing.T) {
	e := newEnv(t).withUsers()
	c := e.client().mustLogin(userEmail)
	for name, value := range map[string]string{"empty": "  ", "too long": strings.Repeat("n", 101)} {
		t.Run(name, func(t *testing.T) {
			r := c.post("/account/tokens", url.Values{"name": {value}})
			if r.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("got %d, want 422", r.StatusCode)
			}
			doc := r.doc(t)
			if doc.Find(`[data-testid="error-token_name"]`).Length() != 1 || doc.Find(`[data-testid="new-token"]`).Length() != 0 {
				t.Fatal("want the name's error and no token")
			}
		})
	}
	if n, _ := e.store.ListTokens(context.Background(), e.user.ID); len(n) != 0 {
		t.Fatalf("got %d tokens, want none created", len(n))
	}
	if r := e.client().post("/account/tokens", url.Values{"name": {"x"}}); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
		t.Fatalf("anonymous create: got %d %s, want a redirect to login", r.StatusCode, r.Header.Get("Location"))
	}
}

// The 21st active token is refused on the account page with the reason; revoking one makes room.
func TestAccountTokenLimit(t *testing.T) {
	e := newEnv(t).withUsers()
	ctx := context.Background()
	for range store.MaxActiveTokens {
		mustToken(t, e.store, e.user.ID, "script")
	}
	c := e.client().mustLogin(userEmail)
	r := c.post("/account/tokens", url.Values{"name": {"one too many"}})
	if r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("token %d: got %d, want 422", store.MaxActiveTokens+1, r.StatusCode)
	}
	doc := r.doc(t)
	if msg := doc.Find(`[data-testid="form-error"]`).Text(); !strings.Contains(msg, "20 active API tokens") || !strings.Contains(msg, "revoke") {
		t.Fatalf("got form error %q, want the limit and what to do", msg)
	}
	if doc.Find(`[data-testid="new-token"]`).Length() != 0 || doc.Find(`[data-testid="token-form"] input[name="name"]`).AttrOr("value", "") != "one too many" {
		t.Fatal("want no token and the name kept in the form")
	}
	tokens, _ := e.store.ListTokens(ctx, e.user.ID)
	if err := e.store.RevokeToken(ctx, e.user.ID, tokens[0].ID); err != nil {
		t.Fatal(err)
	}
	if r := c.post("/account/tokens", url.Values{"name": {"room again"}}); r.StatusCode != http.StatusCreated {
		t.Fatalf("after a revocation: got %d, want 201", r.StatusCode)
	}
}

// Deactivating a user revokes their API tokens for good: reactivating them does not bring
// the old tokens back.
func TestDeactivationRevokesTokens(t *testing.T) {
	e := newEnv(t).withUsers()
	ctx := context.Background()
	token, _ := mustToken(t, e.store, e.user.ID, "cron job")
	if r := e.client().get("/api/v1/me", bearer(token)...); r.StatusCode != http.StatusOK {
		t.Fatalf("before: got %d, want 200", r.StatusCode)
	}
	admin := e.client().mustLogin(adminEmail)
	path := fmt.Sprintf("/users/%d", e.user.ID)
	if r := admin.post(path, url.Values{"email": {userEmail}, "name": {"Plain User"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("deactivate: got %d\n%.400s", r.StatusCode, r.body)
	}
	if r := admin.post(path, url.Values{"email": {userEmail}, "name": {"Plain User"}, "is_active": {"1"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("reactivate: got %d\n%.400s", r.StatusCode, r.body)
	}
	if r := e.client().get("/api/v1/me", bearer(token)...); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("old token after deactivation and reactivation: got %d, want 401", r.StatusCode)
	}
	tokens, err := e.store.ListTokens(ctx, e.user.ID)
	if err != nil || len(tokens) != 1 || !tokens[0].Revoked() {
		t.Fatalf("got tokens %+v (%v), want the one token listed as revoked", tokens, err)
	}
	doc := e.client().mustLogin(userEmail).get("/account").doc(t)
	if doc.Find(`[data-testid="token-revoked"]`).Length() != 1 || doc.Find(`[data-testid="token-revoke"]`).Length() != 0 {
		t.Fatal("account page: want the token marked revoked")
	}
}
