package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"herald/store"
)

func TestSetupNeedsTheTokenAndWorksOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	token, err := h.st.NewSetupToken(ctx)
	if err != nil || token == "" {
		t.Fatalf("setup token: got %q, %v", token, err)
	}
	if resp := h.get("/"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/setup" {
		t.Fatalf("GET / before setup: got %d %q, want 303 /setup", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp := h.get("/setup"); resp.StatusCode != http.StatusForbidden || strings.Contains(body(t, resp), `name="password"`) {
		t.Fatalf("GET /setup without token: got %d or a form, want 403 without form", resp.StatusCode)
	}
	owner := url.Values{"email": {ownerEmail}, "password": {ownerPassword}, "password_confirm": {ownerPassword}}
	for _, tok := range []string{"", "wrong-token", strings.ToUpper(token)} {
		f := url.Values{"token": {tok}}
		for k, v := range owner {
			f[k] = v
		}
		if resp := h.postForm("/setup", f, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST /setup with token %q: got %d, want 403", tok, resp.StatusCode)
		}
	}
	if n, _ := h.st.CountUsers(ctx); n != 0 {
		t.Fatalf("users after refused setups: got %d, want 0", n)
	}

	resp := h.get("/setup?token=" + token)
	if page := body(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="password_confirm"`) {
		t.Fatalf("GET /setup with token: got %d, want 200 with the form", resp.StatusCode)
	}
	mismatch := url.Values{"token": {token}, "email": {ownerEmail}, "password": {ownerPassword}, "password_confirm": {"something else"}}
	if resp := h.postForm("/setup", mismatch, nil); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body(t, resp), "The two passwords differ") {
		t.Fatalf("mismatched passwords: got %d, want 422 with a message", resp.StatusCode)
	}
	owner.Set("token", token)
	resp = h.postForm("/setup", owner, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Fatalf("setup: got %d %q, want 303 /login", resp.StatusCode, resp.Header.Get("Location"))
	}
	u, err := h.st.UserByEmail(ctx, ownerEmail)
	if err != nil || u.Role != store.RoleOwner {
		t.Fatalf("owner: got %+v, %v", u, err)
	}

	second := url.Values{"token": {token}, "email": {"intruder@example.com"}, "password": {"another long password"}, "password_confirm": {"another long password"}}
	h.postForm("/setup", second, nil)
	if n, _ := h.st.CountUsers(ctx); n != 1 {
		t.Fatalf("users after reusing the token: got %d, want 1", n)
	}
	if resp := h.get("/setup?token=" + token); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("GET /setup after setup: got %d, want 303 to /login", resp.StatusCode)
	}
}

func TestSignInAndOut(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.createOwner()
	if resp := h.get("/settings"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next=%2Fsettings" {
		t.Fatalf("anonymous /settings: got %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp := h.postForm("/login", url.Values{"email": {"OWNER@example.com"}, "password": {ownerPassword}, "next": {"/settings"}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/settings" {
		t.Fatalf("sign in: got %d %q, want 303 /settings", resp.StatusCode, resp.Header.Get("Location"))
	}
	ck := cookieNamed(resp, sessionCookie)
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure || ck.Expires.IsZero() {
		t.Fatalf("session cookie: got %+v, want HttpOnly, SameSite=Lax, not Secure over http, with expiry", ck)
	}
	if page := body(t, h.get("/")); !strings.Contains(page, ownerEmail) || !strings.Contains(page, "Getting started") {
		t.Fatalf("dashboard after sign-in does not show the user: %.300s", page)
	}

	if resp := h.postForm("/logout", url.Values{}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: got %d, want 303", resp.StatusCode)
	}
	if _, err := h.st.SessionByToken(context.Background(), ck.Value); err != store.ErrNotFound {
		t.Fatalf("session after logout: got %v, want ErrNotFound", err)
	}
	if resp := h.get("/"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Fatalf("GET / after logout: got %d %q, want 303 /login", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestSignInRedirectStaysOnSite(t *testing.T) {
	t.Parallel()
	for _, next := range []string{"https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)", "/\t/evil.example", "/a\\b", "/\r\nX: y"} {
		if got := safeNext(next); got != "/" {
			t.Errorf("safeNext(%q): got %q, want /", next, got)
		}
	}
	if got := safeNext("/settings/relays"); got != "/settings/relays" {
		t.Errorf("safeNext(local): got %q", got)
	}
}

func TestSessionCookieIsSecureWithHTTPSBaseURL(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if _, err := h.st.SaveGeneral(context.Background(), store.General{BaseURL: "HTTPS://Mail.Example.com/", Timezone: "UTC"}); err != nil {
		t.Fatal(err)
	}
	if g, _ := h.st.General(context.Background()); g.BaseURL != "https://mail.example.com" {
		t.Fatalf("base URL: got %q, want it normalised to https://mail.example.com", g.BaseURL)
	}
	h.createOwner()
	resp := h.postForm("/login", url.Values{"email": {ownerEmail}, "password": {ownerPassword}}, nil)
	if ck := cookieNamed(resp, sessionCookie); ck == nil || !ck.Secure {
		t.Fatalf("session cookie with https base URL: got %+v, want Secure", ck)
	}
}

func TestWrongPasswordsAreThrottledPerAccount(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.createOwner()
	wrong := url.Values{"email": {ownerEmail}, "password": {"not the password"}}
	for i := 1; i < accountFailureLimit; i++ {
		if resp := h.postForm("/login", wrong, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: got %d, want 401", i, resp.StatusCode)
		}
	}
	resp := h.postForm("/login", wrong, nil)
	page := body(t, resp)
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(page, "Try again in 1 minute") || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("failure %d: got %d, Retry-After %q, want 429 saying when to retry", accountFailureLimit, resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	right := url.Values{"email": {ownerEmail}, "password": {ownerPassword}}
	if resp := h.postForm("/login", right, nil); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("right password while locked: got %d, want 429", resp.StatusCode)
	}
}

func TestSignInsAreThrottledPerAddress(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.createOwner()
	var last *http.Response
	for i := 0; i < ipFailureLimit; i++ {
		last = h.postForm("/login", url.Values{"email": {"guess" + string(rune('a'+i)) + "@example.com"}, "password": {"whatever123"}}, nil)
	}
	if last.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("after %d failures on different accounts: got %d, want 429", ipFailureLimit, last.StatusCode)
	}
	resp := h.postForm("/login", url.Values{"email": {ownerEmail}, "password": {ownerPassword}}, nil)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("owner from a locked address: got %d, want 429", resp.StatusCode)
	}
}

func TestCrossSiteFormPostsAreRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	ctx := context.Background()
	form := url.Values{"org_name": {"Hijacked"}, "timezone": {"UTC"}}
	cases := []struct {
		name string
		hdr  map[string]string
	}{
		{"fetch metadata says cross-site", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}},
		{"fetch metadata says same-site", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://sub.example"}},
		{"old browser, no token", map[string]string{"Sec-Fetch-Site": "", "Origin": "https://evil.example"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := h.postForm("/settings", form, tc.hdr)
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("got %d, want 403", resp.StatusCode)
			}
			if g, _ := h.st.General(ctx); g.OrgName == "Hijacked" {
				t.Fatal("the forged post changed the settings")
			}
		})
	}
	t.Run("token from the page, no fetch metadata", func(t *testing.T) {
		page := body(t, h.request(h.client, http.MethodGet, "/settings", nil, map[string]string{"Sec-Fetch-Site": ""}))
		good := url.Values{"org_name": {"Acme"}, "timezone": {"UTC"}, "_csrf": {csrfFrom(t, page)}}
		resp := h.postForm("/settings", good, map[string]string{"Sec-Fetch-Site": ""})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("got %d, want 303", resp.StatusCode)
		}
		if g, _ := h.st.General(ctx); g.OrgName != "Acme" {
			t.Fatalf("org name: got %q, want Acme", g.OrgName)
		}
	})
}
