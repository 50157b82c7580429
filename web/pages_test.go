package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"herald/scheduler"
	"herald/store"
	"herald/templates"
)

func TestEverySectionHasAPageAndUnbuiltOnesSaySo(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	for _, sec := range templates.Sections() {
		resp := h.get(sec.Path)
		page := body(t, resp)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: got %d, want 200", sec.Path, resp.StatusCode)
			continue
		}
		for _, other := range templates.Sections() {
			if !strings.Contains(page, `href="`+other.Path+`"`) {
				t.Errorf("%s: navigation lacks %s", sec.Path, other.Label)
			}
		}
		built := builtSections[sec.Key]
		if got := strings.Contains(page, "Not built yet"); got == built {
			t.Errorf("%s: says not built = %v, want %v", sec.Path, got, !built)
		}
	}
}

var inlineScript = regexp.MustCompile(`<script(\s[^>]*)?>`)

func TestSecurityHeadersAndNoInlineScript(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	for _, path := range []string{"/", "/settings", "/settings/relays/new", "/login", "/healthz", "/nope"} {
		resp := h.get(path)
		csp := resp.Header.Get("Content-Security-Policy")
		for _, want := range []string{"script-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", path, csp, want)
			}
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Referrer-Policy") == "" {
			t.Errorf("%s: missing nosniff or Referrer-Policy", path)
		}
		for _, tag := range inlineScript.FindAllString(body(t, resp), -1) {
			if !strings.Contains(tag, "src=") {
				t.Errorf("%s: inline script tag %q", path, tag)
			}
		}
	}
}

var stylesheet = regexp.MustCompile(`href="(/static/css/app\.[0-9a-f]{12}\.css)"`)
var htmxScript = regexp.MustCompile(`src="(/static/vendor/htmx-2\.0\.\d+\.min\.[0-9a-f]{12}\.js)"`)

func TestStaticAssetsAreFingerprintedAndCachedForever(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.createOwner()
	page := body(t, h.get("/login"))
	for _, re := range []*regexp.Regexp{stylesheet, htmxScript} {
		m := re.FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("page does not link %s", re)
		}
		resp := h.get(m[1])
		if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
			t.Errorf("%s: got %d, Cache-Control %q", m[1], resp.StatusCode, resp.Header.Get("Cache-Control"))
		}
		if b := body(t, resp); len(b) < 1000 {
			t.Errorf("%s: only %d bytes", m[1], len(b))
		}
	}
	if resp := h.get("/static/css/app.css"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unfingerprinted path: got %d, want 404", resp.StatusCode)
	}
	if resp := h.get("/static/css/app.000000000000.css"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("stale fingerprint: got %d, want 404", resp.StatusCode)
	}
}

func TestHealthz(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	code, out := h.api("", http.MethodGet, "/healthz", nil)
	if code != http.StatusOK || out["version"] != "test" || out["database"] != "ok" {
		t.Fatalf("healthz: got %d %v", code, out)
	}
	h.st.Close()
	code, out = h.api("", http.MethodGet, "/healthz", nil)
	if code != http.StatusServiceUnavailable || out["database"] != "unavailable" {
		t.Fatalf("healthz with the database closed: got %d %v, want 503", code, out)
	}
}

func TestGeneralSettings(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	bad := url.Values{"org_name": {"Acme"}, "base_url": {"mail.example.com"}, "from_email": {"nope"}, "timezone": {"Mars/Olympus"}}
	resp := h.postForm("/settings", bad, nil)
	page := body(t, resp)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("invalid settings: got %d, want 422", resp.StatusCode)
	}
	for _, want := range []string{"like https://mail.example.com", "valid email address", "Choose a timezone", `value="Acme"`} {
		if !strings.Contains(page, want) {
			t.Errorf("invalid settings page lacks %q", want)
		}
	}
	if g, _ := h.st.General(context.Background()); g.OrgName != "" {
		t.Fatalf("invalid settings were stored: %+v", g)
	}
	good := url.Values{"org_name": {"Acme Bakery"}, "postal_address": {"1 High St\nLeeds"}, "base_url": {"https://mail.acme.test/"},
		"from_name": {"Acme"}, "from_email": {"news@acme.test"}, "timezone": {"Europe/London"}}
	if resp := h.postForm("/settings", good, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("valid settings: got %d, want 303", resp.StatusCode)
	}
	g, _ := h.st.General(context.Background())
	if g.OrgName != "Acme Bakery" || g.BaseURL != "https://mail.acme.test" || g.Timezone != "Europe/London" {
		t.Fatalf("stored settings: got %+v", g)
	}
	page = body(t, h.get("/settings"))
	if !strings.Contains(page, "Settings saved.") || !strings.Contains(page, `value="news@acme.test"`) {
		t.Fatalf("settings page after save lacks the flash or the values")
	}
}

func TestJobsPageShowsTheScheduler(t *testing.T) {
	t.Parallel()
	last := time.Date(2026, 5, 4, 3, 2, 1, 0, time.UTC)
	h := newHarness(t, func(c *harnessConfig) {
		c.Jobs = func() []scheduler.JobStatus {
			return []scheduler.JobStatus{{Name: "housekeeping", Spec: "@every 10m", LastRun: last, LastError: "disk full"}}
		}
	})
	h.signIn()
	page := body(t, h.get("/settings/jobs"))
	for _, want := range []string{"housekeeping", "@every 10m", "4 May 2026 03:02 UTC", "disk full", "never"} {
		if !strings.Contains(page, want) {
			t.Errorf("jobs page lacks %q", want)
		}
	}
}

// TestEveryLabelNamesAField renders the admin's pages with something in
// each list and checks that every label's for= names the id of a field on
// the page, so that a click on the label and a screen reader find it.
func TestEveryLabelNamesAField(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	ctx := context.Background()
	if _, err := h.st.CreateList(ctx, store.ListInput{Name: ptrTo("News")}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.st.CreateContact(ctx, store.ContactInput{Email: ptrTo("ann@example.com")}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := h.st.CreateRelay(ctx, store.RelayInput{Name: "Relay", Kind: "smtp", Host: "smtp.example.com", Port: 587, TLS: "starttls", MaxConnections: 1, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.st.CreateTemplate(ctx, store.TemplateInput{Name: ptrTo("Welcome"), Body: ptrTo("<p>Hi</p>")}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := h.st.CreateCampaign(ctx, store.CampaignInput{Name: ptrTo("Autumn")}); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/", "/contacts", "/contacts/new", "/contacts/1", "/contacts/import", "/contacts/suppressions",
		"/segments", "/segments/new", "/templates", "/templates/1", "/templates/media", "/campaigns", "/campaigns/1", "/messages",
		"/lists", "/lists/new", "/lists/1", "/settings", "/settings/relays", "/settings/relays/new", "/settings/relays/1",
		"/settings/domains", "/settings/emails", "/settings/api-keys"} {
		t.Run(path, func(t *testing.T) {
			resp := h.get(path)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("got %d, want 200", resp.StatusCode)
			}
			for _, msg := range labelsWithoutFields(t, body(t, resp)) {
				t.Error(msg)
			}
		})
	}
}

// labelsWithoutFields returns what is wrong with each label of page whose
// for= names no field: no element has that id, or it is no form field.
func labelsWithoutFields(t *testing.T, page string) []string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]string{} // id -> element name
	var labels []string
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		for _, a := range n.Attr {
			switch {
			case a.Key == "id":
				fields[a.Val] = n.Data
			case a.Key == "for" && n.Data == "label":
				labels = append(labels, a.Val)
			}
		}
	}
	var wrong []string
	for _, id := range labels {
		switch fields[id] {
		case "input", "select", "textarea", "button", "meter", "output", "progress":
		case "":
			wrong = append(wrong, fmt.Sprintf("<label for=%q>: no element has that id", id))
		default:
			wrong = append(wrong, fmt.Sprintf("<label for=%q>: names a <%s>, not a form field", id, fields[id]))
		}
	}
	return wrong
}
