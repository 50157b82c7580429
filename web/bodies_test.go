package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"herald/store"
)

// chunked hides a body's length, so the client sends it chunked and only
// reading it shows how large it is.
type chunked struct{ io.Reader }

// formFixtures is one of each thing the admin and public forms change.
type formFixtures struct {
	list, contact, campaign, job int64
	prefs                        string
}

func seedFormFixtures(t *testing.T, h *harness) formFixtures {
	t.Helper()
	ctx := context.Background()
	var f formFixtures
	f.list = audSeedList(t, h, "Weekly", store.OptInSingle)
	f.contact = audSeedContact(t, h, "ann@example.com", nil, nil, f.list)
	x, err := h.st.CreateCampaign(ctx, store.CampaignInput{Name: ptrTo("Spring sale")})
	if err != nil {
		t.Fatal(err)
	}
	f.campaign = x.ID
	j, err := h.st.CreateImport(ctx, store.ImportJob{FileName: "a.csv", FilePath: t.TempDir() + "/a.csv", Headers: []string{"email"}, Delimiter: ","}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.job = j.ID
	links := h.srv.out.Links(ctx)
	f.prefs = strings.TrimPrefix(links.Preferences(f.contact), links.Base())
	if _, err := h.st.SaveGeneral(ctx, store.General{OrgName: "Acme", Timezone: "UTC"}); err != nil {
		t.Fatal(err)
	}
	return f
}

// unchanged fails t unless the fixtures are as seedFormFixtures left them.
func (f formFixtures) unchanged(t *testing.T, h *harness) {
	t.Helper()
	ctx := context.Background()
	if l, err := h.st.List(ctx, f.list); err != nil || l.Name != "Weekly" {
		t.Errorf("list: got %q, %v, want Weekly", l.Name, err)
	}
	c, err := h.st.Contact(ctx, f.contact)
	if err != nil || c.FirstName != "" || len(c.Memberships) != 1 || c.Memberships[0].Status != store.MemberConfirmed {
		t.Errorf("contact: got %+v, %v, want it as it was, confirmed on its list", c, err)
	}
	if x, err := h.st.Campaign(ctx, f.campaign); err != nil || x.Name != "Spring sale" {
		t.Errorf("campaign: got %q, %v, want Spring sale", x.Name, err)
	}
	if j, err := h.st.Import(ctx, f.job); err != nil || j.Status != store.ImportDraft {
		t.Errorf("import: got %q, %v, want a draft", j.Status, err)
	}
	if g, err := h.st.General(ctx); err != nil || g.OrgName != "Acme" {
		t.Errorf("settings: got %q, %v, want Acme", g.OrgName, err)
	}
	if n, _ := h.st.CountContacts(ctx, store.ContactFilter{}); n != 1 {
		t.Errorf("contacts: got %d, want 1", n)
	}
}

// formSites are the forms that read their fields, each with what it would
// change were the body read as an empty or partial form.
func formSites(f formFixtures) []struct {
	name, path string
	form       url.Values
} {
	return []struct {
		name, path string
		form       url.Values
	}{
		{"list editor", "/lists/" + itoa(f.list), url.Values{"name": {"Renamed"}, "opt_in": {"single"}, "visibility": {"private"}}},
		{"import mapping", "/contacts/import/" + itoa(f.job), url.Values{"target_0": {"email"}, "mode": {"create"}}},
		{"bulk action", "/contacts/bulk", url.Values{"ids": {itoa(f.contact)}, "action": {"delete"}}},
		{"contact editor", "/contacts/" + itoa(f.contact), url.Values{"email": {"ann@example.com"}, "first_name": {"Changed"}}},
		{"campaign editor", "/campaigns/" + itoa(f.campaign), url.Values{"name": {"Renamed"}}},
		{"preferences", f.prefs, url.Values{"action": {"save"}}},
		{"settings", "/settings", url.Values{"org_name": {"Changed"}, "timezone": {"UTC"}}},
		{"sign-up", "/subscribe/" + itoa(f.list), url.Values{"email": {"new@example.com"}}},
	}
}

func TestFormsOverTheLimitAreRefusedNotEmptied(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	f := seedFormFixtures(t, h)
	pad := "&pad=" + strings.Repeat("x", maxFormBody)
	for _, site := range formSites(f) {
		for _, fetchMeta := range []string{"same-origin", ""} {
			t.Run(site.name+" "+fetchMeta, func(t *testing.T) {
				hdr := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": fetchMeta}
				resp := h.request(h.client, http.MethodPost, site.path, chunked{strings.NewReader(site.form.Encode() + pad)}, hdr)
				if page := body(t, resp); resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(page, "2 MB") {
					t.Errorf("got %d %.200q, want 413 saying the limit is 2 MB", resp.StatusCode, page)
				}
				f.unchanged(t, h)
			})
		}
	}
}

func TestUnreadableFormsAreRefusedNotEmptied(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	f := seedFormFixtures(t, h)
	for _, site := range formSites(f) {
		for _, bad := range []struct{ name, ctype, body string }{
			{"bad escape", "application/x-www-form-urlencoded", site.form.Encode() + "&x=%zz"},
			{"no boundary", "multipart/form-data", site.form.Encode()},
		} {
			t.Run(site.name+" "+bad.name, func(t *testing.T) {
				resp := h.request(h.client, http.MethodPost, site.path, strings.NewReader(bad.body), map[string]string{"Content-Type": bad.ctype})
				if page := body(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "could not be read") {
					t.Errorf("got %d %.200q, want 422 saying the form could not be read", resp.StatusCode, page)
				}
				f.unchanged(t, h)
			})
		}
	}
}

// sized returns a request for a new list of exactly n bytes, its padding
// inside the object so that a truncated body is not valid JSON.
func sized(name string, n int) string {
	head, tail := `{"name":"`+name+`"`, `}`
	return head + strings.Repeat(" ", n-len(head)-len(tail)) + tail
}

func TestAPIBodiesOverTheLimitGet413(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	key := h.apiKey(store.ScopeFull)
	send := func(n int, hideLength bool) (int, map[string]any) {
		var r io.Reader = strings.NewReader(sized(fmt.Sprintf("List %d %v", n, hideLength), n))
		if hideLength {
			r = chunked{r}
		}
		resp := h.request(http.DefaultClient, http.MethodPost, "/api/v1/lists", r,
			map[string]string{"Authorization": "Bearer " + key, "Content-Type": "application/json", "Sec-Fetch-Site": ""})
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatalf("%d bytes: answer is not JSON: %v", n, err)
		}
		return resp.StatusCode, out
	}
	for _, hide := range []bool{false, true} {
		if code, out := send(maxJSONBody-1, hide); code != http.StatusCreated {
			t.Errorf("limit-1, chunked %v: got %d %v, want 201", hide, code, out)
		}
		for _, n := range []int{maxJSONBody + 1, maxJSONBody + maxJSONBody/2} {
			code, out := send(n, hide)
			e, _ := out["error"].(map[string]any)
			if msg, _ := e["message"].(string); code != http.StatusRequestEntityTooLarge || e["code"] != "too_large" || !strings.Contains(msg, "1 MB") {
				t.Errorf("%d bytes, chunked %v: got %d %v, want 413 too_large saying the limit is 1 MB", n, hide, code, out)
			}
		}
	}
	if ls, _ := h.st.Lists(context.Background()); len(ls) != 2 {
		t.Errorf("lists: got %d, want the 2 within the limit", len(ls))
	}
}

func TestFormBodyLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	// sizedForm is a new list's form of exactly n bytes.
	sizedForm := func(name string, n int) string {
		head := url.Values{"name": {name}, "opt_in": {"single"}, "visibility": {"private"}}.Encode() + "&pad="
		return head + strings.Repeat("x", n-len(head))
	}
	for _, tc := range []struct {
		name string
		n    int
		want int
	}{
		{"limit-1", maxFormBody - 1, http.StatusSeeOther},
		{"1.5 MB", maxFormBody * 3 / 4, http.StatusSeeOther},
		{"limit+1", maxFormBody + 1, http.StatusRequestEntityTooLarge},
	} {
		for _, hx := range []string{"", "true"} {
			for _, hide := range []bool{false, true} {
				var r io.Reader = strings.NewReader(sizedForm(fmt.Sprintf("List %d %s %v", tc.n, hx, hide), tc.n))
				if hide {
					r = chunked{r}
				}
				resp := h.request(h.client, http.MethodPost, "/lists", r, map[string]string{"Content-Type": "application/x-www-form-urlencoded", "HX-Request": hx})
				page := body(t, resp)
				want := tc.want
				if want == http.StatusSeeOther && hx == "true" {
					want = http.StatusNoContent // and HX-Location
				}
				if resp.StatusCode != want {
					t.Errorf("%s, htmx %q, chunked %v: got %d, want %d", tc.name, hx, hide, resp.StatusCode, want)
				}
				if tc.want != http.StatusRequestEntityTooLarge {
					continue
				}
				// A page for a plain form, a flash message for htmx.
				isPage := strings.Contains(page, "<html")
				if !strings.Contains(page, "2 MB") || !strings.Contains(page, "flash") && hx == "true" || isPage != (hx == "") {
					t.Errorf("%s, htmx %q: got %.300q, want the limit in a page or, for htmx, a flash", tc.name, hx, page)
				}
			}
		}
	}
}

func TestMessageBodyLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	key := h.apiKey(store.ScopeFull)
	code, out := h.api(key, http.MethodPost, "/api/v1/messages", `{"to":"a@example.com","subject":"Hi","text":"`+strings.Repeat("x", maxMessageBody)+`"}`)
	e, _ := out["error"].(map[string]any)
	if msg, _ := e["message"].(string); code != http.StatusRequestEntityTooLarge || !strings.Contains(msg, "16 MB") {
		t.Errorf("got %d %.300v, want 413 saying the limit is 16 MB", code, out)
	}
}

// TestUploadBodiesOverTheLimitGet413 sends an image upload whose body
// passes its limit before the file, without saying its length.
func TestUploadBodiesOverTheLimitGet413(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	key := h.apiKey(store.ScopeFull)
	for _, tc := range []struct {
		path string
		hdr  map[string]string
	}{
		{"/api/v1/media", map[string]string{"Authorization": "Bearer " + key, "Sec-Fetch-Site": ""}},
		{"/templates/media", nil},
	} {
		t.Run(tc.path, func(t *testing.T) {
			b, ctype := multipartBody(t, "logo.png", string(testImage(t, "png")), map[string]string{"note": strings.Repeat("x", maxImage+2<<20)})
			hdr := map[string]string{"Content-Type": ctype}
			for k, v := range tc.hdr {
				hdr[k] = v
			}
			resp := h.request(h.client, http.MethodPost, tc.path, chunked{b}, hdr)
			if page := body(t, resp); resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(page, "5 MB") {
				t.Errorf("got %d %.300q, want 413 saying the limit is 5 MB", resp.StatusCode, page)
			}
		})
	}
	if ms, _ := h.st.MediaList(context.Background()); len(ms) != 0 {
		t.Errorf("media: got %d, want none", len(ms))
	}
}
