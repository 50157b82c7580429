package web

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"herald/store"
)

func TestParseProxies(t *testing.T) {
	t.Parallel()
	got, err := ParseProxies(" 127.0.0.1, 10.0.0.0/8 ,::1,")
	if err != nil || len(got) != 3 || got[0].String() != "127.0.0.1/32" || got[1].String() != "10.0.0.0/8" || got[2].String() != "::1/128" {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, bad := range []string{"localhost", "10.0.0.0/33", "1.2.3"} {
		if _, err := ParseProxies(bad); err == nil {
			t.Errorf("%q: got nil error", bad)
		}
	}
}

// failLogins fails n sign-ins, each for a different account, claiming to
// come from the forwarded addresses in turn.
func failLogins(h *harness, n int, forwardedFor ...string) *http.Response {
	var resp *http.Response
	for i := 0; i < n; i++ {
		resp = h.postForm("/login", url.Values{"email": {fmt.Sprintf("guess%d@example.com", i)}, "password": {"whatever123"}},
			map[string]string{"X-Forwarded-For": forwardedFor[i%len(forwardedFor)]})
	}
	return resp
}

func TestThrottlingUsesForwardedAddressOnlyFromTrustedProxies(t *testing.T) {
	t.Parallel()
	_, loopback, _ := net.ParseCIDR("127.0.0.1/32")
	trusted := newHarness(t, func(c *harnessConfig) { c.TrustedProxies = []*net.IPNet{loopback} })
	trusted.createOwner()
	if resp := failLogins(trusted, ipFailureLimit, "203.0.113.5"); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("attacker behind the proxy: got %d, want 429", resp.StatusCode)
	}
	resp := trusted.postForm("/login", url.Values{"email": {ownerEmail}, "password": {ownerPassword}},
		map[string]string{"X-Forwarded-For": "203.0.113.6"})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("owner from another address behind the same proxy: got %d, want 303", resp.StatusCode)
	}

	direct := newHarness(t)
	direct.createOwner()
	forged := []string{"198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4"}
	if resp := failLogins(direct, ipFailureLimit, forged...); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("forged X-Forwarded-For without a trusted proxy: got %d, want 429 (the header must be ignored)", resp.StatusCode)
	}
}

func TestOversizedFormsAreRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	big := url.Values{"org_name": {strings.Repeat("x", 3<<20)}, "timezone": {"UTC"}}
	if resp := h.postForm("/settings", big, nil); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("3 MB form: got %d, want 413", resp.StatusCode)
	}
}

func TestCSRFCookieIsSecureWithHTTPSBaseURL(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if _, err := h.st.SaveGeneral(context.Background(), store.General{BaseURL: "https://mail.example.com", Timezone: "UTC"}); err != nil {
		t.Fatal(err)
	}
	h.createOwner()
	resp := h.request(h.client, http.MethodGet, "/login", nil, map[string]string{"Sec-Fetch-Site": ""})
	if ck := cookieNamed(resp, csrfCookie); ck == nil || !ck.Secure || !ck.HttpOnly {
		t.Fatalf("CSRF cookie: got %+v, want Secure and HttpOnly", ck)
	}
}
