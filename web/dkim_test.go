package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/emersion/go-msgauth/dkim"

	"herald/mailer/smtptest"
	"herald/store"
)

// fakeDNS answers TXT lookups from a map. Tests cannot publish real DNS
// records, so it stands in for net.Resolver; a name it does not hold does
// not exist.
type fakeDNS struct {
	mu  sync.Mutex
	txt map[string][]string
}

func (f *fakeDNS) LookupTXT(_ context.Context, name string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	txt, ok := f.txt[strings.ToLower(strings.TrimSuffix(name, "."))]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	}
	return txt, nil
}

// set publishes records at name; none removes the name.
func (f *fakeDNS) set(name string, records ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.txt == nil {
		f.txt = map[string][]string{}
	}
	if len(records) == 0 {
		delete(f.txt, name)
		return
	}
	f.txt[name] = records
}

// createDKIMKey generates a key through the API and returns its JSON.
func createDKIMKey(t *testing.T, h *harness, key, domain, selector, alg string) map[string]any {
	t.Helper()
	code, out := h.api(key, http.MethodPost, "/api/v1/dkim-keys", map[string]any{"domain": domain, "selector": selector, "algorithm": alg})
	if code != http.StatusCreated {
		t.Fatalf("create DKIM key %s/%s: got %d %v, want 201", domain, selector, code, out)
	}
	return audData(t, out)
}

func dnsRecord(k map[string]any) (name, value string) {
	r, _ := k["dns_record"].(map[string]any)
	name, _ = r["name"].(string)
	value, _ = r["value"].(string)
	return name, value
}

func TestDKIMKeyAPI(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	key := h.apiKey(store.ScopeFull)

	for name, tc := range map[string]struct {
		payload any
		fields  []string
	}{
		"bad names":       {map[string]any{"domain": "https://bakery", "selector": "a b", "algorithm": "dsa"}, []string{"domain", "selector", "algorithm"}},
		"no domain":       {map[string]any{}, []string{"domain"}},
		"an address":      {map[string]any{"domain": "news@bakery.test"}, []string{"domain"}},
		"dotted selector": {map[string]any{"domain": "bakery.test", "selector": "a.b"}, []string{"selector"}},
	} {
		code, out := h.api(key, http.MethodPost, "/api/v1/dkim-keys", tc.payload)
		ecode, fields := audError(out)
		if code != http.StatusUnprocessableEntity || ecode != "validation_failed" || len(fields) != len(tc.fields) {
			t.Errorf("%s: got %d %v, want 422 naming %v", name, code, out, tc.fields)
		}
		for _, f := range tc.fields {
			if fields[f] == nil {
				t.Errorf("%s: fields %v lack %s", name, fields, f)
			}
		}
	}
	if code, out := h.api(key, http.MethodPost, "/api/v1/dkim-keys", `{"domain":"bakery.test","private_key":"x"}`); code != http.StatusBadRequest {
		t.Errorf("unknown field: got %d %v, want 400", code, out)
	}

	// The selector and algorithm have defaults.
	code, out := h.api(key, http.MethodPost, "/api/v1/dkim-keys", map[string]any{"domain": "Bakery.TEST"})
	raw, _ := json.Marshal(out)
	if code != http.StatusCreated || strings.Contains(string(raw), "PRIVATE") || strings.Contains(string(raw), "BEGIN") {
		t.Fatalf("create: got %d %s, want 201 without the private key", code, raw)
	}
	rsa := audData(t, out)
	name, value := dnsRecord(rsa)
	if rsa["domain"] != "bakery.test" || rsa["selector"] != "herald1" || rsa["algorithm"] != "rsa" || rsa["enabled"] != true || rsa["signing"] != true ||
		name != "herald1._domainkey.bakery.test" || !strings.HasPrefix(value, "v=DKIM1; k=rsa; p=MII") || len(value) <= 255 {
		t.Errorf("created: got %v", rsa)
	}
	path := "/api/v1/dkim-keys/" + itoa(audID(rsa))

	code, out = h.api(key, http.MethodPost, "/api/v1/dkim-keys", map[string]any{"domain": "bakery.test", "selector": "HERALD1", "algorithm": "ed25519"})
	if ecode, _ := audError(out); code != http.StatusConflict || ecode != "conflict" || !strings.Contains(fmt.Sprint(out), "like herald2") {
		t.Errorf("duplicate selector: got %d %v, want 409 suggesting herald2", code, out)
	}
	ed := createDKIMKey(t, h, key, "bakery.test", "herald2", "ed25519")
	if _, v := dnsRecord(ed); ed["signing"] != true || !strings.HasPrefix(v, "v=DKIM1; k=ed25519; p=") || len(v) > 255 {
		t.Errorf("ed25519 key: got %v, want it signing with a short record", ed)
	}

	readOnly := h.apiKey(store.ScopeRead)
	if code, _ := h.api(readOnly, http.MethodGet, "/api/v1/dkim-keys", nil); code != http.StatusForbidden {
		t.Errorf("read-only list: got %d, want 403: DKIM keys need the admin scope", code)
	}
	code, out = h.api(key, http.MethodGet, "/api/v1/dkim-keys", nil)
	items, _ := out["data"].([]any)
	if code != http.StatusOK || len(items) != 2 {
		t.Fatalf("list: got %d %v, want 2 keys", code, out)
	}
	if first := items[0].(map[string]any); audID(first) != audID(ed) || first["signing"] != true || items[1].(map[string]any)["signing"] != false {
		t.Errorf("list: got %v, want the newer Ed25519 key first and signing", items)
	}
	if code, _ := h.api(readOnly, http.MethodPost, "/api/v1/dkim-keys", map[string]any{"domain": "a.test"}); code != http.StatusForbidden {
		t.Errorf("read-only create: got %d, want 403", code)
	}

	edPath := "/api/v1/dkim-keys/" + itoa(audID(ed))
	code, out = h.api(key, http.MethodPatch, edPath, map[string]any{"enabled": false})
	if d := audData(t, out); code != http.StatusOK || d["enabled"] != false || d["signing"] != false {
		t.Errorf("disable: got %d %v", code, out)
	}
	if code, out := h.api(key, http.MethodGet, path, nil); code != http.StatusOK || audData(t, out)["signing"] != true {
		t.Errorf("RSA key with the newer one disabled: got %d %v, want it signing", code, out)
	}
	if code, out := h.api(key, http.MethodPatch, edPath, map[string]any{}); code != http.StatusUnprocessableEntity {
		t.Errorf("patch without enabled: got %d %v, want 422", code, out)
	}
	for _, method := range []string{http.MethodGet, http.MethodPatch, http.MethodDelete} {
		if code, out := h.api(key, method, "/api/v1/dkim-keys/999", map[string]any{"enabled": true}); code != http.StatusNotFound {
			t.Errorf("%s of a missing key: got %d %v, want 404", method, code, out)
		}
	}
	if code, _ := h.api(key, http.MethodDelete, path, nil); code != http.StatusNoContent {
		t.Fatalf("delete: got %d, want 204", code)
	}
	if code, _ := h.api(key, http.MethodGet, path, nil); code != http.StatusNotFound {
		t.Errorf("deleted key: got %d, want 404", code)
	}
}

func TestDomainCheckAPIAndPage(t *testing.T) {
	t.Parallel()
	dns := &fakeDNS{}
	h := newHarness(t, func(c *harnessConfig) { c.Out.Resolver = dns })
	h.signIn()
	key := h.apiKey(store.ScopeFull)
	k := createDKIMKey(t, h, key, "bakery.test", "herald1", "ed25519")
	name, value := dnsRecord(k)
	off := createDKIMKey(t, h, key, "bakery.test", "old", "ed25519")
	if code, _ := h.api(key, http.MethodPatch, "/api/v1/dkim-keys/"+itoa(audID(off)), map[string]any{"enabled": false}); code != http.StatusOK {
		t.Fatal("disable the old key")
	}
	dns.set("bakery.test", "google-site-verification=abc", "v=spf1 include:_spf.relay.test ~all")
	dns.set(name, value)
	dns.set("_dmarc.bakery.test", "v=DMARC1; p=quarantine")

	check := func() (bool, map[string]map[string]any) {
		t.Helper()
		code, out := h.api(key, http.MethodGet, "/api/v1/domains/Bakery.test/check", nil)
		d := audData(t, out)
		if code != http.StatusOK || d["domain"] != "bakery.test" {
			t.Fatalf("check: got %d %v", code, out)
		}
		byKind := map[string]map[string]any{}
		checks, _ := d["checks"].([]any)
		for _, c := range checks {
			c := c.(map[string]any)
			byKind[c["kind"].(string)] = c
		}
		if len(checks) != 3 {
			t.Errorf("checks: got %v, want SPF, one DKIM (the enabled key) and DMARC", checks)
		}
		return d["ok"] == true, byKind
	}
	if ok, got := check(); !ok || got["DKIM"]["status"] != "ok" || got["DKIM"]["name"] != name || got["DKIM"]["found"] != value {
		t.Errorf("all published: got ok=%v %v", ok, got)
	}

	dns.set(name)
	dns.set("_dmarc.bakery.test", "v=DMARC1; p=maybe")
	ok, got := check()
	if ok || got["DKIM"]["status"] != "missing" || !strings.Contains(got["DKIM"]["advice"].(string), value) ||
		got["DMARC"]["status"] != "wrong" || got["SPF"]["status"] != "ok" {
		t.Errorf("DKIM missing, DMARC wrong: got ok=%v %v", ok, got)
	}
	if code, out := h.api(key, http.MethodGet, "/api/v1/domains/not_a_domain/check", nil); code != http.StatusUnprocessableEntity {
		t.Errorf("bad domain: got %d %v, want 422", code, out)
	}

	// The page: htmx gets the result alone, a plain request the whole page.
	resp := h.request(h.client, http.MethodGet, "/settings/domains/bakery.test/check", nil, map[string]string{"HX-Request": "true"})
	frag := body(t, resp)
	if resp.StatusCode != http.StatusOK || strings.Contains(frag, "<html") || !strings.Contains(frag, "need attention") ||
		!strings.Contains(frag, "Missing") || !strings.Contains(frag, "_dmarc.bakery.test") || !strings.Contains(frag, "Publish a TXT record at "+name) {
		t.Errorf("htmx check: got %d %q", resp.StatusCode, frag)
	}
	dns.set(name, value)
	dns.set("_dmarc.bakery.test", "v=DMARC1; p=reject")
	resp = h.get("/settings/domains/bakery.test/check")
	page := body(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "<html") || !strings.Contains(page, "SPF, DKIM and DMARC of bakery.test are in place.") {
		t.Errorf("plain check: got %d, want the page with the result in place: %.2000s", resp.StatusCode, page)
	}
	if resp := h.get("/settings/domains/not_a_domain/check"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("page check of a bad domain: got %d, want 404", resp.StatusCode)
	}
}

func TestDomainsPages(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	ctx := context.Background()
	if _, err := h.st.SaveGeneral(ctx, store.General{OrgName: "Bakery", FromName: "Bakery", FromEmail: "news@bakery.test", Timezone: "UTC"}); err != nil {
		t.Fatal(err)
	}
	h.srv.generalCache.Store(nil)

	page := body(t, h.get("/settings/domains"))
	for _, want := range []string{`aria-current="page" href="/settings/domains">Sending domains`, "news@bakery.test goes out without a DKIM signature",
		`name="domain" type="text" required placeholder="example.com" value="bakery.test"`, `value="herald1"`, "many receivers still verify only RSA"} {
		if !strings.Contains(page, want) {
			t.Errorf("empty page lacks %q", want)
		}
	}

	resp := h.postForm("/settings/domains", url.Values{"domain": {"bakery"}, "selector": {"a.b"}, "algorithm": {"rsa"}}, nil)
	page = body(t, resp)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Enter a domain like example.com") || !strings.Contains(page, "letters, digits and dashes") {
		t.Errorf("invalid form: got %d, want 422 with both messages", resp.StatusCode)
	}

	resp = h.postForm("/settings/domains", url.Values{"domain": {"bakery.test"}, "selector": {"herald1"}, "algorithm": {"rsa"}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/settings/domains" {
		t.Fatalf("generate: got %d to %q, want 303 to /settings/domains", resp.StatusCode, resp.Header.Get("Location"))
	}
	keys, _ := h.st.DKIMKeys(ctx)
	if len(keys) != 1 {
		t.Fatalf("keys stored: got %d, want 1", len(keys))
	}
	k := keys[0]
	page = body(t, h.get("/settings/domains"))
	for _, want := range []string{"Key herald1 for bakery.test generated; Herald signs with it from now on.", "<code id=\"dkim-name-" + itoa(k.ID) + "\">herald1._domainkey.bakery.test</code>",
		"readonly", k.DNSValue, "Signs mail", "RSA-2048", "several quoted strings", `data-confirm="Delete the DKIM key herald1 of bakery.test?`,
		`action="/settings/domains/keys/` + itoa(k.ID) + `/disable"`, `hx-get="/settings/domains/bakery.test/check"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page with a key lacks %q", want)
		}
	}
	if strings.Contains(page, "goes out without a DKIM signature") || strings.Contains(page, "PRIVATE KEY") {
		t.Errorf("page with a key: want neither the unsigned warning nor the private key")
	}

	resp = h.postForm("/settings/domains", url.Values{"domain": {"BAKERY.test"}, "selector": {"herald1"}, "algorithm": {"ed25519"}}, nil)
	if page := body(t, resp); resp.StatusCode != http.StatusConflict || !strings.Contains(page, "like herald2") {
		t.Errorf("duplicate selector: got %d, want 409 suggesting herald2", resp.StatusCode)
	}

	if resp := h.postForm("/settings/domains/keys/"+itoa(k.ID)+"/disable", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("disable: got %d, want 303", resp.StatusCode)
	}
	if got, _ := h.st.DKIMKey(ctx, k.ID); got.Enabled {
		t.Errorf("after disable: key still enabled")
	}
	page = body(t, h.get("/settings/domains"))
	if !strings.Contains(page, "Disabled") || !strings.Contains(page, "goes out without a DKIM signature") || !strings.Contains(page, "/enable\"") {
		t.Errorf("disabled key: want the Disabled badge, the unsigned warning and an Enable button")
	}
	if resp := h.postForm("/settings/domains/keys/"+itoa(k.ID)+"/enable", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("enable: got %d, want 303", resp.StatusCode)
	}
	if got, _ := h.st.DKIMKey(ctx, k.ID); !got.Enabled {
		t.Errorf("after enable: key still disabled")
	}
	if resp := h.postForm("/settings/domains/keys/"+itoa(k.ID)+"/delete", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: got %d, want 303", resp.StatusCode)
	}
	if _, err := h.st.DKIMKey(ctx, k.ID); err != store.ErrNotFound {
		t.Errorf("after delete: got %v, want ErrNotFound", err)
	}
	if resp := h.postForm("/settings/domains/keys/"+itoa(k.ID)+"/delete", nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("delete again: got %d, want 404", resp.StatusCode)
	}
}

// verifyDKIM checks msg's DKIM signatures against the records in txt and
// returns the verifications.
func verifyDKIM(t *testing.T, msg []byte, txt map[string]string) []*dkim.Verification {
	t.Helper()
	vs, err := dkim.VerifyWithOptions(bytes.NewReader(msg), &dkim.VerifyOptions{
		LookupTXT: func(name string) ([]string, error) {
			if v, ok := txt[name]; ok {
				return []string{v}, nil
			}
			return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
		},
	})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return vs
}

// TestTestEmailsAreDKIMSigned generates a key through the API, sends a
// campaign test and a template test through a loopback relay, and verifies
// the signatures the relay received against the key's DNS record.
func TestTestEmailsAreDKIMSigned(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{"rsa", "ed25519"} {
		t.Run(alg, func(t *testing.T) {
			sink := smtptest.Start(t, smtptest.Options{})
			h := newHarness(t)
			h.signIn()
			h.readyToSend(sink, 1, "UTC")
			key := h.apiKey(store.ScopeFull)
			ctx := context.Background()

			k := createDKIMKey(t, h, key, "bakery.test", "herald1", alg)
			name, value := dnsRecord(k)
			txt := map[string]string{name: value}

			news, _ := h.st.CreateList(ctx, store.ListInput{Name: new("News"), Visibility: new(store.VisibilityPublic)})
			code, out := h.api(key, http.MethodPost, "/api/v1/campaigns", map[string]any{"name": "June", "subject": "Fresh bread",
				"markdown": "Hello **{{.Contact.FirstName}}**", "list_ids": []int64{news.ID}})
			if code != http.StatusCreated {
				t.Fatalf("create campaign: got %d %v", code, out)
			}
			campaignTest := func(to string) []byte {
				t.Helper()
				before := sink.Count()
				code, out := h.api(key, http.MethodPost, "/api/v1/campaigns/"+itoa(audID(audData(t, out)))+"/test", map[string]any{"emails": []string{to}})
				if res, _ := audData(t, out)["results"].([]any); code != http.StatusOK || len(res) != 1 || res[0].(map[string]any)["delivered"] != true {
					t.Fatalf("campaign test: got %d %v", code, out)
				}
				msgs := sink.Wait(before+1, 5*time.Second)
				return msgs[before].Data
			}

			msg := campaignTest("me@example.com")
			vs := verifyDKIM(t, msg, txt)
			if len(vs) != 1 || vs[0].Err != nil || vs[0].Domain != "bakery.test" {
				t.Fatalf("campaign test: got %d verifications %+v, want one passing for bakery.test:\n%s", len(vs), vs, msg)
			}
			if want := "a=" + alg + "-sha256"; !strings.Contains(string(msg), want) {
				t.Errorf("campaign test: signature lacks %s", want)
			}
			tampered := bytes.Replace(msg, []byte("Fresh bread"), []byte("Stale bread"), 1)
			if vs := verifyDKIM(t, tampered, txt); len(vs) != 1 || vs[0].Err == nil {
				t.Errorf("a changed subject: got %+v, want the signature to fail", vs)
			}
			if vs := verifyDKIM(t, msg, map[string]string{name: "v=DKIM1; k=" + alg + "; p="}); len(vs) != 1 || vs[0].Err == nil {
				t.Errorf("a revoked record: got %+v, want the signature to fail", vs)
			}

			// A template test email goes through the same sender.
			relays, _ := h.st.Relays(ctx)
			tplID := createTemplatePage(t, h, "Spring news", "campaign", "html")
			before := sink.Count()
			resp := h.postForm("/templates/"+itoa(tplID)+"/test", url.Values{"to": {"t@example.com"}, "relay_id": {itoa(relays[0].ID)}}, map[string]string{"HX-Request": "true"})
			if frag := body(t, resp); !strings.Contains(frag, "Sent to t@example.com.") {
				t.Fatalf("template test: got %d %q", resp.StatusCode, frag)
			}
			tplMsg := sink.Wait(before+1, 5*time.Second)[before].Data
			if vs := verifyDKIM(t, tplMsg, txt); len(vs) != 1 || vs[0].Err != nil {
				t.Errorf("template test: got %+v, want one passing signature:\n%s", vs, tplMsg)
			}

			// A disabled key signs nothing more.
			if code, _ := h.api(key, http.MethodPatch, "/api/v1/dkim-keys/"+itoa(audID(k)), map[string]any{"enabled": false}); code != http.StatusOK {
				t.Fatal("disable the key")
			}
			if msg := campaignTest("me@example.com"); bytes.Contains(msg, []byte("DKIM-Signature:")) {
				t.Errorf("after disabling the key: the message is still signed")
			}
		})
	}
}

// TestBrowserSendingDomains clicks through generating a key in Settings →
// Sending domains and checking the domain's DNS, which htmx swaps in place.
func TestBrowserSendingDomains(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	dns := &fakeDNS{}
	h := newHarness(t, func(c *harnessConfig) { c.Out.Resolver = dns })
	h.createOwner()
	base := h.ts.URL
	err := chromedp.Do(ctx,
		signInAs(base, ownerEmail, ownerPassword),
		chromedp.Navigate(base+"/settings"),
		chromedp.Click(chromedp.Search(`//nav[@class="tabs"]//a[text()="Sending domains"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#dkim_domain`)),
		chromedp.SendKeys(chromedp.CSS(`#dkim_domain`), "bakery.test"),
		chromedp.Click(chromedp.CSS(`input[name=algorithm][value=ed25519]`)),
		chromedp.Click(chromedp.Search(`//button[text()="Generate key"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.dkim-key`)),
	)
	if err != nil {
		t.Fatalf("generate a key: %v", err)
	}
	keys, err := h.st.DKIMKeys(context.Background())
	if err != nil || len(keys) != 1 || keys[0].Algorithm != store.DKIMEd25519 {
		t.Fatalf("keys: got %+v, %v, want one Ed25519 key", keys, err)
	}
	k := keys[0]
	dns.set("bakery.test", "v=spf1 include:_spf.relay.test -all")
	dns.set(k.DNSName(), k.DNSValue)
	dns.set("_dmarc.bakery.test", "v=DMARC1; p=reject")

	var path, value, report string
	var fitsPhone bool
	err = chromedp.Do(ctx,
		screenshot("domains-1-key"),
		into(&value, chromedp.Value(chromedp.CSS(`textarea.dns-value`))),
		chromedp.Click(chromedp.Search(`//button[text()="Check DNS"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#dns-check-bakery-test .dns-report`)),
		into(&report, chromedp.Text(chromedp.CSS(`#dns-check-bakery-test`))),
		into(&path, chromedp.Evaluate[string](`location.pathname`)),
		screenshot("domains-2-checked"),
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
		chromedp.Navigate(base+"/settings/domains/bakery.test/check"),
		chromedp.WaitVisible(chromedp.CSS(`.dns-report`)),
		into(&fitsPhone, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth`)),
		screenshot("domains-3-phone"),
	)
	if err != nil {
		t.Fatalf("check DNS: %v", err)
	}
	if value != k.DNSValue {
		t.Errorf("record shown: got %q, want %q", value, k.DNSValue)
	}
	if !strings.Contains(report, "SPF, DKIM and DMARC of bakery.test are in place.") || strings.Count(report, "OK") < 3 {
		t.Errorf("DNS check: got %q, want every record OK", report)
	}
	if path != "/settings/domains" {
		t.Errorf("after the htmx check: got location %q, want the page unchanged", path)
	}
	if !fitsPhone {
		t.Errorf("at 390 px wide the domains page is wider than the screen")
	}
}
