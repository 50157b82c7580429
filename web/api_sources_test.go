package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"herald/scheduler/sources"
	"herald/store"
)

// sourceHarness is a harness whose source runner trusts shop, an HTTPS API
// on loopback, which the install allows; the runner runs.
func sourceHarness(t *testing.T, shop http.HandlerFunc) (*harness, *httptest.Server) {
	t.Helper()
	srv := httptest.NewTLSServer(shop)
	t.Cleanup(srv.Close)
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	var svc *sources.Service
	h := newHarness(t, func(c *harnessConfig) {
		svc = sources.New(sources.Config{Store: c.Store, Log: c.Logger, Client: client, Every: 50 * time.Millisecond})
		c.Sources = svc
	})
	if _, err := h.st.SaveGeneral(context.Background(), store.General{Timezone: "UTC", AllowedHosts: []string{"127.0.0.1"}}); err != nil {
		t.Fatal(err)
	}
	h.srv.generalCache.Store(nil)
	runWorker(t, svc)
	return h, srv
}

// TestAPISources tests a connection, saves a source, watches its first
// run bring the contacts in, reveals its credentials (written in its audit
// trail), runs it again on demand and deletes it.
func TestAPISources(t *testing.T) {
	t.Parallel()
	h, srv := sourceHarness(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Api-Key") != "k-123" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		var out []map[string]any
		for i := (page-1)*2 + 1; i <= min(page*2, 5); i++ {
			out = append(out, map[string]any{"email": fmt.Sprintf("s%d@example.com", i), "profile": map[string]any{"first_name": "S", "city": "Lyon"}})
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"customers": out})
	})
	key, writer, admin := h.apiKey(store.ScopeFull), h.apiKey(store.ScopeWrite), h.apiKey(store.ScopeAdmin)
	auth := map[string]any{"kind": "header", "name": "X-Api-Key", "secret": "k-123"}
	code, out := h.api(key, http.MethodPost, "/api/v1/sources/test", map[string]any{"url": srv.URL + "/customers", "auth": auth,
		"records_path": "customers", "paging": map[string]any{"kind": "page", "size": 2}})
	d := audData(t, out)
	fields, _ := d["fields"].([]any)
	if code != http.StatusOK || d["ok"] != true || d["count"] != 2.0 || d["more"] != true || len(fields) != 3 {
		t.Fatalf("test: got %d %v", code, out)
	}
	if f := fields[0].(map[string]any); f["path"] != "email" || f["target"] != "email" || f["sample"] != "s1@example.com" {
		t.Errorf("first field: %v", f)
	}
	code, out = h.api(key, http.MethodPost, "/api/v1/sources/test", map[string]any{"url": srv.URL, "auth": map[string]any{"kind": "header", "name": "X-Api-Key", "secret": "wrong"}})
	if d := audData(t, out); code != http.StatusOK || d["ok"] != false || !strings.Contains(d["error"].(string), "credentials") {
		t.Errorf("test with a wrong key: got %d %v", code, out)
	}
	if code, out := h.api(key, http.MethodPost, "/api/v1/sources/test", map[string]any{"url": "https://10.1.2.3/api"}); code != http.StatusUnprocessableEntity {
		t.Errorf("test of a private address: got %d %v, want 422", code, out)
	}

	code, out = h.api(key, http.MethodPost, "/api/v1/sources", map[string]any{"name": "Shop", "url": srv.URL + "/customers", "auth": auth,
		"headers": []map[string]string{{"name": "X-Shop", "value": "bakery"}}, "records_path": "customers", "paging": map[string]any{"kind": "page", "size": 2},
		"mapping": map[string]any{"mode": "upsert", "tags": []string{"shop"}, "fields": []map[string]string{{"path": "email", "target": "email"},
			{"path": "profile.first_name", "target": "first_name"}, {"path": "profile.city", "target": "attribute:city"}}}})
	if code != http.StatusCreated {
		t.Fatalf("create: got %d %v", code, out)
	}
	src := audData(t, out)
	id := itoa(audID(src))
	if a := src["auth"].(map[string]any); a["secret_set"] != true || a["secret"] != nil || fmt.Sprint(src["headers"]) != "[X-Shop]" {
		t.Errorf("the answer shows credentials: %v", src)
	}
	var runs []any
	waitFor(t, "the first run", func() bool {
		_, out := h.api(key, http.MethodGet, "/api/v1/sources/"+id+"/runs", nil)
		runs, _ = out["data"].([]any)
		return len(runs) == 1 && runs[0].(map[string]any)["status"] == "done"
	})
	// Three pages of records, and the empty one that ends them.
	if r := runs[0].(map[string]any); r["created"] != 5.0 || r["pages"] != 4.0 || r["fetched"] != 5.0 {
		t.Errorf("run: %v", r)
	}
	if c, err := h.st.ContactByEmail(context.Background(), "s5@example.com"); err != nil || c.Attributes["city"] != "Lyon" || c.FirstName != "S" {
		t.Errorf("contact: %+v, %v", c, err)
	}
	_, out = h.api(key, http.MethodGet, "/api/v1/sources/"+id, nil)
	if s := audData(t, out); s["health"] != "healthy" || s["last_success_at"] == nil || s["next_run_at"] == nil {
		t.Errorf("source after its run: %v", s)
	}

	if code, _ := h.api(writer, http.MethodPost, "/api/v1/sources/"+id+"/reveal", nil); code != http.StatusForbidden {
		t.Errorf("reveal with a write key: got %d, want 403", code)
	}
	code, out = h.api(admin, http.MethodPost, "/api/v1/sources/"+id+"/reveal?for=copy", nil)
	if s := audData(t, out); code != http.StatusOK || s["secret"] != "k-123" || fmt.Sprint(s["headers"]) != "[map[name:X-Shop value:bakery]]" {
		t.Errorf("reveal: got %d %v", code, out)
	}
	_, out = h.api(admin, http.MethodGet, "/api/v1/sources/"+id+"/audit", nil)
	if trail, _ := out["data"].([]any); len(trail) != 2 || trail[0].(map[string]any)["action"] != "copied" || !strings.HasPrefix(trail[0].(map[string]any)["actor"].(string), "key ") {
		t.Errorf("audit: %v", out)
	}

	if code, _ := h.api(key, http.MethodPost, "/api/v1/sources/"+id+"/run", nil); code != http.StatusAccepted {
		t.Errorf("run now: got %d", code)
	}
	waitFor(t, "the second run", func() bool {
		_, out := h.api(key, http.MethodGet, "/api/v1/sources/"+id+"/runs", nil)
		runs, _ = out["data"].([]any)
		return len(runs) == 2 && runs[0].(map[string]any)["status"] == "done"
	})
	if r := runs[0].(map[string]any); r["created"] != 0.0 || r["updated"] != 5.0 {
		t.Errorf("second run: %v", r)
	}
	if code, _ := h.api(key, http.MethodPatch, "/api/v1/sources/"+id, map[string]any{"enabled": false}); code != http.StatusOK {
		t.Errorf("disable: got %d", code)
	}
	if code, _ := h.api(key, http.MethodPost, "/api/v1/sources/"+id+"/run", nil); code != http.StatusConflict {
		t.Errorf("run a disabled source: got %d, want 409", code)
	}
	code, out = h.api(key, http.MethodPatch, "/api/v1/sources/"+id, map[string]any{"mapping": map[string]any{"mode": "upsert", "fields": []any{}}})
	if _, f := audError(out); code != http.StatusUnprocessableEntity || f["mapping.fields"] == nil {
		t.Errorf("a mapping without the email: got %d %v", code, out)
	}
	if code, _ := h.api(key, http.MethodDelete, "/api/v1/sources/"+id, nil); code != http.StatusNoContent {
		t.Errorf("delete: got %d", code)
	}
}

// TestSourcePagesChangeASource: a source's Change page shows its mapping
// without its secret, and saving it with the secret left empty keeps the
// secret; saving a new address without it is refused beside the field.
func TestSourcePagesChangeASource(t *testing.T) {
	t.Parallel()
	h, srv := sourceHarness(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`[]`))
	})
	h.signIn()
	ctx := context.Background()
	name, u, kind, token := "Shop", srv.URL+"/customers", "bearer", "tok-secret"
	src, err := h.st.CreateSource(ctx, store.SourceInput{Name: &name, URL: &u, AuthKind: &kind, Secret: &token,
		Mapping: &store.SourceMapping{Mode: store.ImportUpsert, Fields: []store.SourceField{{Path: "email", Target: "email"}, {Path: "address.city", Target: "attribute:city"}}}}, ownerEmail)
	if err != nil {
		t.Fatal(err)
	}
	page := okPage(t, h.get("/contacts/sources/"+itoa(src.ID)+"/edit"))
	if !strings.Contains(page, `value="address.city"`) || !strings.Contains(page, `value="city"`) || strings.Contains(page, "tok-secret") {
		t.Fatalf("the Change page lacks the mapping or shows the secret")
	}
	form := url.Values{"name": {"Shop renamed"}, "url": {u}, "auth_kind": {"bearer"}, "paging": {"none"}, "mode": {"upsert"}, "schedule": {"daily"},
		"at": {"07:30"}, "path_0": {"email"}, "target_0": {"email"}, "path_1": {"address.city"}, "target_1": {"attribute"}, "attr_1": {"city"}}
	res := h.postForm("/contacts/sources/"+itoa(src.ID), form, nil)
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d", res.StatusCode)
	}
	got, _ := h.st.Source(ctx, src.ID)
	sec, _ := h.st.SourceSecrets(ctx, src.ID, "", "")
	if got.Name != "Shop renamed" || got.AtMinute != 7*60+30 || sec.Secret != "tok-secret" || len(got.Mapping.Fields) != 2 {
		t.Errorf("after the save: %+v, secret %q", got, sec.Secret)
	}
	form.Set("url", srv.URL+"/elsewhere")
	res = h.postForm("/contacts/sources/"+itoa(src.ID), form, nil)
	if b := body(t, res); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(b, "type the token, password or key again") {
		t.Errorf("a new address without the secret: %d", res.StatusCode)
	}
}
