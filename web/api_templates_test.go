package web

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"herald/store"
)

// tplCreate creates a template through the API and returns its JSON.
func tplCreate(t *testing.T, h *harness, key string, payload map[string]any) map[string]any {
	t.Helper()
	code, out := h.api(key, http.MethodPost, "/api/v1/templates", payload)
	if code != http.StatusCreated {
		t.Fatalf("create template %v: got %d %v, want 201", payload["name"], code, out)
	}
	return audData(t, out)
}

// tplList returns the "data" array of an API list answer.
func tplList(t *testing.T, out map[string]any) []map[string]any {
	t.Helper()
	items, ok := out["data"].([]any)
	if !ok {
		t.Fatalf("answer has no data array: %v", out)
	}
	var list []map[string]any
	for _, it := range items {
		list = append(list, it.(map[string]any))
	}
	return list
}

func TestAPITemplateCreateFormats(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	key := h.apiKey(store.ScopeFull)
	cases := []struct {
		name    string
		payload map[string]any
		format  string
		field   string
	}{
		{"markdown", map[string]any{"markdown": "# Hi {{.Contact.FirstName}}"}, "markdown", "markdown"},
		{"html", map[string]any{"html": "<h1>Hi {{.Contact.FirstName}}</h1>", "text": "Hi"}, "html", "html"},
		{"text", map[string]any{"text": "Hi {{.Contact.FirstName}}"}, "text", "text"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			payload := map[string]any{"name": "In " + tc.name, "subject": "Hello"}
			for k, v := range tc.payload {
				payload[k] = v
			}
			code, out := h.api(key, http.MethodPost, "/api/v1/templates", payload)
			if code != http.StatusCreated {
				t.Fatalf("create: got %d %v, want 201", code, out)
			}
			d := audData(t, out)
			if d["format"] != tc.format || d["kind"] != store.KindCampaign || d["version"] != 1.0 || d["layout_id"] != nil {
				t.Errorf("created: got %v, want a %s campaign at version 1 with the default layout", d, tc.format)
			}
			if got, want := d[tc.field], tc.payload[tc.field]; got != want {
				t.Errorf("%s: got %v, want %v", tc.field, got, want)
			}
			if d["author"] != nil {
				t.Errorf("author on a template: got %v, want it only on versions", d["author"])
			}
		})
	}

	code, out := h.api(key, http.MethodPost, "/api/v1/templates", map[string]any{"name": "Both", "html": "<p>x</p>", "markdown": "x"})
	if ec, fields := audError(out); code != http.StatusUnprocessableEntity || ec != "validation_failed" || fields["markdown"] == nil {
		t.Errorf("html and markdown: got %d %v, want 422 on markdown", code, out)
	}
	code, out = h.api(key, http.MethodPost, "/api/v1/templates", map[string]any{"name": "In html", "subject": "Hi", "html": "<p>x</p>"})
	if ec, _ := audError(out); code != http.StatusConflict || ec != "conflict" {
		t.Errorf("duplicate name: got %d %v, want 409", code, out)
	}
}

func TestAPITemplateCreateRefusesWhatCannotRender(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	key := h.apiKey(store.ScopeFull)
	campaign := tplCreate(t, h, key, map[string]any{"name": "Plain", "subject": "Hi", "html": "<p>Hi</p>"})
	cases := []struct {
		name    string
		payload map[string]any
		field   string
		want    []string
	}{
		{"unknown field in html", map[string]any{"html": "<p>Hi</p>\n<p>{{.Contact.Nickname}}</p>"}, "body",
			[]string{"Line 2, column 6:", "unknown field .Contact.Nickname"}},
		{"unknown field in markdown", map[string]any{"markdown": "Hi\n\nDear {{.Contact.Nickname}}"}, "body",
			[]string{"Line 3, column 8:", "unknown field .Contact.Nickname"}},
		{"unknown field in subject", map[string]any{"subject": "Hi {{.Contact.Nickname}}", "html": "<p>x</p>"}, "subject",
			[]string{"Line 1, column 6:", "unknown field"}},
		{"no subject", map[string]any{"html": "<p>x</p>"}, "subject", []string{"subject"}},
		{"layout without unsubscribe", map[string]any{"kind": "layout", "html": `<div>{{template "content" .}} {{.Org.Address}}</div>`}, "body",
			[]string{"{{unsubscribe_url}}"}},
		{"unknown function", map[string]any{"html": "<p>{{shout .Contact.FirstName}}</p>"}, "body",
			[]string{"Line 1, column 6:", `function "shout" not defined`}},
		{"unclosed action", map[string]any{"html": "<p>\n{{if .Contact.FirstName}}Hi</p>"}, "body", []string{"Line "}},
		{"layout without content", map[string]any{"kind": "layout", "html": "<html><body>No slot</body></html>"}, "body",
			[]string{`{{template "content" .}}`}},
		{"layout in markdown", map[string]any{"kind": "layout", "markdown": "# Hi"}, "format", []string{"HTML"}},
		{"layout_id of a campaign", map[string]any{"html": "<p>x</p>", "layout_id": campaign["id"]}, "layout_id", []string{"not a layout"}},
		{"layout_id of nothing", map[string]any{"html": "<p>x</p>", "layout_id": 999}, "layout_id", []string{"not a layout"}},
		{"layout_id not a number", map[string]any{"html": "<p>x</p>", "layout_id": "one"}, "layout_id", []string{"template id"}},
		{"essential campaign", map[string]any{"html": "<p>x</p>", "essential": true}, "essential", []string{"transactional"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.payload["name"] = "Broken"
			if _, ok := tc.payload["subject"]; !ok && tc.payload["kind"] != "layout" && tc.field != "subject" {
				tc.payload["subject"] = "Hi"
			}
			code, out := h.api(key, http.MethodPost, "/api/v1/templates", tc.payload)
			_, fields := audError(out)
			msg, _ := fields[tc.field].(string)
			if code != http.StatusUnprocessableEntity || msg == "" {
				t.Fatalf("got %d %v, want 422 on %s", code, out, tc.field)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("fields.%s: got %q, want it to contain %q", tc.field, msg, w)
				}
			}
		})
	}
	if ts, _ := h.st.Templates(context.Background(), ""); len(ts) != 1 {
		t.Errorf("templates after refused creates: got %d, want 1", len(ts))
	}
}

func TestAPITemplateListVersionsRestoreDelete(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	key := h.apiKey(store.ScopeFull)
	layout := tplCreate(t, h, key, map[string]any{"name": "Frame", "kind": "layout", "html": `<div class="frame">{{template "content" .}}<p>{{.Org.Address}} <a href="{{unsubscribe_url}}">Unsubscribe</a></p></div>`})
	tpl := tplCreate(t, h, key, map[string]any{"name": "News", "subject": "News", "html": "<p>First</p>", "layout_id": layout["id"]})
	tplCreate(t, h, key, map[string]any{"name": "Receipt", "kind": "transactional", "subject": "Paid", "text": "Paid"})
	path := "/api/v1/templates/" + itoa(audID(tpl))

	for _, c := range []struct {
		query string
		want  []string
	}{
		{"", []string{"Receipt", "News", "Frame"}},
		{"?sort=name&order=asc", []string{"Frame", "News", "Receipt"}},
		{"?q=PAID", []string{"Receipt"}},
		{"?kind=layout", []string{"Frame"}},
		{"?kind=campaign", []string{"News"}},
		{"?kind=transactional", []string{"Receipt"}},
		{"?per_page=1&page=2", []string{"News"}},
	} {
		code, out := h.api(key, http.MethodGet, "/api/v1/templates"+c.query, nil)
		var names []string
		for _, it := range tplList(t, out) {
			names = append(names, it["name"].(string))
		}
		if code != http.StatusOK || !reflect.DeepEqual(names, c.want) {
			t.Errorf("GET /api/v1/templates%s: got %d %v, want %v", c.query, code, names, c.want)
		}
	}
	if tpl["layout_id"] != layout["id"] {
		t.Errorf("layout_id: got %v, want %v", tpl["layout_id"], layout["id"])
	}

	code, out := h.api(key, http.MethodPatch, path, map[string]any{"html": "<p>Second</p>", "layout_id": nil})
	if d := audData(t, out); code != http.StatusOK || d["version"] != 2.0 || d["html"] != "<p>Second</p>" || d["layout_id"] != nil {
		t.Fatalf("PATCH: got %d %v, want version 2 with the new body and the default layout", code, out)
	}
	code, out = h.api(key, http.MethodPatch, path, map[string]any{"subject": "News"})
	if d := audData(t, out); code != http.StatusOK || d["version"] != 2.0 {
		t.Errorf("PATCH without a change: got %d %v, want version 2 kept", code, out)
	}
	code, out = h.api(key, http.MethodPatch, path, map[string]any{"kind": "layout"})
	if _, fields := audError(out); code != http.StatusUnprocessableEntity || fields["kind"] == nil {
		t.Errorf("PATCH kind: got %d %v, want 422 on kind", code, out)
	}

	code, out = h.api(key, http.MethodGet, path+"/versions", nil)
	vs := tplList(t, out)
	if code != http.StatusOK || len(vs) != 2 || vs[0]["version"] != 2.0 || vs[1]["version"] != 1.0 {
		t.Fatalf("versions: got %d %v, want 2 then 1", code, out)
	}
	if vs[1]["html"] != "<p>First</p>" || vs[0]["author"] != "API key test full" {
		t.Errorf("versions: got %v, want version 1's body and the key as author", vs)
	}

	code, out = h.api(key, http.MethodGet, path+"/versions/1", nil)
	if d := audData(t, out); code != http.StatusOK || d["version"] != 1.0 || d["html"] != "<p>First</p>" || d["layout_id"] != layout["id"] {
		t.Errorf("version 1: got %d %v, want the first body in the layout", code, out)
	}
	for _, v := range []string{"9", "0", "x"} {
		if code, _ := h.api(key, http.MethodGet, path+"/versions/"+v, nil); code != http.StatusNotFound {
			t.Errorf("version %s: got %d, want 404", v, code)
		}
	}

	code, out = h.api(key, http.MethodPost, path+"/versions/1/restore", nil)
	if d := audData(t, out); code != http.StatusOK || d["version"] != 3.0 || d["html"] != "<p>First</p>" || d["layout_id"] != layout["id"] {
		t.Fatalf("restore: got %d %v, want version 3 with version 1's body and layout", code, out)
	}
	if code, out := h.api(key, http.MethodGet, path, nil); code != http.StatusOK || audData(t, out)["version"] != 3.0 {
		t.Errorf("GET after restore: got %d %v, want version 3", code, out)
	}

	if code, _ := h.api(key, http.MethodDelete, path, nil); code != http.StatusNoContent {
		t.Fatalf("DELETE: got %d, want 204", code)
	}
	for _, p := range []string{path, path + "/versions"} {
		if code, _ := h.api(key, http.MethodGet, p, nil); code != http.StatusNotFound {
			t.Errorf("GET %s after delete: got %d, want 404", p, code)
		}
	}
	if code, _ := h.api(key, http.MethodDelete, path, nil); code != http.StatusNotFound {
		t.Errorf("second DELETE: got %d, want 404", code)
	}

	read := h.apiKey(store.ScopeRead)
	if code, _ := h.api(read, http.MethodGet, "/api/v1/templates", nil); code != http.StatusOK {
		t.Errorf("list with a read key: got %d, want 200", code)
	}
	if code, _ := h.api(read, http.MethodPost, "/api/v1/templates", map[string]any{"name": "X", "html": "x"}); code != http.StatusForbidden {
		t.Errorf("create with a read key: got %d, want 403", code)
	}
}

var unsubscribeLink = regexp.MustCompile(`/u/([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)`)

func TestAPITemplatePreview(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.setBaseURL()
	key := h.apiKey(store.ScopeFull)
	ctx := context.Background()
	c, _, err := h.st.CreateContact(ctx, store.ContactInput{Email: ptrTo("ann@example.com"), FirstName: ptrTo("<b>Ann</b>")}, false)
	if err != nil {
		t.Fatal(err)
	}
	tpl := tplCreate(t, h, key, map[string]any{"name": "News", "subject": "Hi {{.Contact.FirstName}}", "html": "<p>Hello {{.Contact.FirstName}}</p>"})
	path := "/api/v1/templates/" + itoa(audID(tpl)) + "/preview"

	code, out := h.api(key, http.MethodPost, path, map[string]any{"contact_id": c.ID})
	if code != http.StatusOK {
		t.Fatalf("preview: got %d %v, want 200", code, out)
	}
	d := audData(t, out)
	html, _ := d["html"].(string)
	text, _ := d["text"].(string)
	if !strings.Contains(html, "<p>Hello &lt;b&gt;Ann&lt;/b&gt;</p>") || strings.Contains(html, "<b>Ann") {
		t.Errorf("html: got %q, want the first name escaped", html)
	}
	if !strings.Contains(text, "Hello <b>Ann</b>") {
		t.Errorf("text: got %q, want the first name as written", text)
	}
	if d["subject"] != "Hi <b>Ann</b>" {
		t.Errorf("subject: got %v, want %q", d["subject"], "Hi <b>Ann</b>")
	}
	m := unsubscribeLink.FindStringSubmatch(html)
	if m == nil || !strings.Contains(html, h.ts.URL+"/u/") {
		t.Fatalf("html has no unsubscribe link on %s: %q", h.ts.URL, html)
	}
	tok, err := h.st.Box().VerifyToken(m[1], store.PurposeUnsubscribe, time.Now())
	if err != nil || tok.ContactID != c.ID {
		t.Errorf("unsubscribe token: got %+v, %v, want one signed for contact %d", tok, err, c.ID)
	}
	if !strings.Contains(text, "/u/"+m[1]) || !strings.Contains(html, h.ts.URL+"/p/") {
		t.Errorf("links: want the unsubscribe link in the text part and a preferences link in the html")
	}
	if resp := h.request(http.DefaultClient, http.MethodGet, "/u/"+m[1], nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("GET the unsubscribe link: got %d, want 200", resp.StatusCode)
	}

	// Without a contact the sample contact fills it in.
	code, out = h.api(key, http.MethodPost, path, map[string]any{})
	if html, _ := audData(t, out)["html"].(string); code != http.StatusOK || !strings.Contains(html, "Hello Jane") {
		t.Errorf("sample preview: got %d %v, want Hello Jane", code, out)
	}
	code, out = h.api(key, http.MethodPost, path, map[string]any{"contact_id": c.ID + 100})
	if _, fields := audError(out); code != http.StatusUnprocessableEntity || fields["contact_id"] == nil {
		t.Errorf("unknown contact: got %d %v, want 422 on contact_id", code, out)
	}
	if code, _ := h.api(key, http.MethodPost, "/api/v1/templates/999/preview", map[string]any{}); code != http.StatusNotFound {
		t.Errorf("preview of a missing template: got %d, want 404", code)
	}

	tx := tplCreate(t, h, key, map[string]any{"name": "Receipt", "kind": "transactional", "subject": "Order {{.Data.order_id}}",
		"html": "<p>Order {{.Data.order_id}}: {{.Data.total}} for {{.Data.item}}</p>"})
	code, out = h.api(key, http.MethodPost, "/api/v1/templates/"+itoa(audID(tx))+"/preview",
		map[string]any{"data": map[string]any{"order_id": "A-77", "total": 19.5, "item": "<tea>"}})
	d = audData(t, out)
	html, _ = d["html"].(string)
	if code != http.StatusOK || html != "<p>Order A-77: 19.5 for &lt;tea&gt;</p>" || d["subject"] != "Order A-77" {
		t.Errorf("transactional preview: got %d %v, want the data filled in, with no layout", code, out)
	}
	if text, _ := d["text"].(string); text != "Order A-77: 19.5 for <tea>\n" {
		t.Errorf("transactional text: got %q, want %q", text, "Order A-77: 19.5 for <tea>\n")
	}
}

// testImage encodes a 3x2 image in the given format.
func testImage(t *testing.T, format string) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 3, 2))
	for x := range 3 {
		for y := range 2 {
			img.Set(x, y, color.RGBA{R: uint8(80 * x), G: uint8(120 * y), B: 200, A: 255})
		}
	}
	var b bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&b, img)
	case "gif":
		err = gif.Encode(&b, img, nil)
	case "jpeg":
		err = jpeg.Encode(&b, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// mediaUpload posts a file to the media API and decodes the answer.
func mediaUpload(t *testing.T, h *harness, key, filename string, content []byte) (int, map[string]any) {
	t.Helper()
	b, ct := multipartBody(t, filename, string(content), nil)
	resp := h.request(http.DefaultClient, http.MethodPost, "/api/v1/media", b,
		map[string]string{"Content-Type": ct, "Authorization": "Bearer " + key, "Sec-Fetch-Site": ""})
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("upload %s: answer is not JSON: %v", filename, err)
	}
	return resp.StatusCode, out
}

// pathOf returns the path of an absolute URL.
func pathOf(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	return u.Path
}

func TestAPIMediaUploadServeDelete(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	key := h.apiKey(store.ScopeFull)
	pngBytes := testImage(t, "png")
	code, out := mediaUpload(t, h, key, "My Logo!.png", pngBytes)
	if code != http.StatusCreated {
		t.Fatalf("upload PNG: got %d %v, want 201", code, out)
	}
	m := audData(t, out)
	id := audID(m)
	u, _ := m["url"].(string)
	want := map[string]any{"file_name": "My-Logo.png", "content_type": "image/png", "size": float64(len(pngBytes)), "width": 3.0, "height": 2.0}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("uploaded %s: got %v, want %v", k, m[k], v)
		}
	}
	if id == 0 || u != h.ts.URL+"/media/"+itoa(id)+"/My-Logo.png" {
		t.Errorf("id and url: got %d %q, want an id and %s/media/<id>/My-Logo.png", id, u, h.ts.URL)
	}

	// Anyone may load it: emails do, with no cookie and no key.
	resp := h.request(http.DefaultClient, http.MethodGet, pathOf(t, u), nil, map[string]string{"Sec-Fetch-Site": ""})
	got := body(t, resp)
	if resp.StatusCode != http.StatusOK || got != string(pngBytes) {
		t.Fatalf("GET %s: got %d and %d bytes, want 200 and the %d uploaded bytes", u, resp.StatusCode, len(got), len(pngBytes))
	}
	hdr := resp.Header
	if ct := hdr.Get("Content-Type"); ct != "image/png" {
		t.Errorf("Content-Type: got %q, want image/png", ct)
	}
	if cc := hdr.Get("Cache-Control"); !strings.Contains(cc, "immutable") || !strings.Contains(cc, "max-age=31536000") {
		t.Errorf("Cache-Control: got %q, want a year, immutable", cc)
	}
	if csp := hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "sandbox") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy: got %q, want sandbox and default-src 'none'", csp)
	}
	if nosniff := hdr.Get("X-Content-Type-Options"); nosniff != "nosniff" {
		t.Errorf("X-Content-Type-Options: got %q, want nosniff", nosniff)
	}

	for _, c := range []struct{ name, format, ct, stored string }{
		{"anim.gif", "gif", "image/gif", "anim.gif"},
		{"photo.jpeg", "jpeg", "image/jpeg", "photo.jpg"},
	} {
		code, out := mediaUpload(t, h, key, c.name, testImage(t, c.format))
		d := audData(t, out)
		if code != http.StatusCreated || d["content_type"] != c.ct || d["file_name"] != c.stored || d["width"] != 3.0 || d["height"] != 2.0 {
			t.Errorf("upload %s: got %d %v, want 201, %s, named %s, 3x2", c.name, code, out, c.ct, c.stored)
		}
	}

	code, out = h.api(key, http.MethodGet, "/api/v1/media", nil)
	list := tplList(t, out)
	if code != http.StatusOK || len(list) != 3 || audID(list[2]) != id {
		t.Fatalf("list: got %d %v, want 3 images, the PNG last", code, out)
	}
	if meta, _ := out["meta"].(map[string]any); meta["total"] != 3.0 {
		t.Errorf("list meta: got %v, want total 3", out["meta"])
	}

	saved, err := h.st.Media(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(saved.Path); err != nil {
		t.Fatalf("stored file: %v", err)
	}
	if code, _ := h.api(key, http.MethodDelete, "/api/v1/media/"+itoa(id), nil); code != http.StatusNoContent {
		t.Fatalf("DELETE: got %d, want 204", code)
	}
	if resp := h.request(http.DefaultClient, http.MethodGet, pathOf(t, u), nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET after delete: got %d, want 404", resp.StatusCode)
	}
	if _, err := os.Stat(saved.Path); !os.IsNotExist(err) {
		t.Errorf("stored file after delete: got %v, want it removed", err)
	}
	if code, _ := h.api(key, http.MethodDelete, "/api/v1/media/"+itoa(id), nil); code != http.StatusNotFound {
		t.Errorf("second DELETE: got %d, want 404", code)
	}
}

func TestAPIMediaRefuses(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	key := h.apiKey(store.ScopeFull)
	big := append(testImage(t, "png"), bytes.Repeat([]byte{0}, 5<<20)...)
	cases := []struct {
		name     string
		filename string
		content  []byte
		want     string
	}{
		{"svg", "drawing.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), "SVG"},
		{"svg named png", "innocent.png", []byte(`<?xml version="1.0"?>` + "\n" + `<svg xmlns="http://www.w3.org/2000/svg" width="3" height="2"></svg>`), "SVG"},
		{"text", "notes.png", []byte("just some text, not an image\n"), "text/plain"},
		{"html", "page.gif", []byte("<!DOCTYPE html><html><body>hi</body></html>"), "text/html"},
		{"damaged png", "broken.png", testImage(t, "png")[:20], "damaged"},
		{"empty", "empty.png", nil, "empty"},
		{"over 5 MB", "huge.png", big, "5 MB"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out := mediaUpload(t, h, key, tc.filename, tc.content)
			_, fields := audError(out)
			msg, _ := fields["file"].(string)
			if code != http.StatusUnprocessableEntity || !strings.Contains(msg, tc.want) {
				t.Errorf("got %d %v, want 422 with a file message containing %q", code, out, tc.want)
			}
		})
	}
	resp := h.request(http.DefaultClient, http.MethodPost, "/api/v1/media", strings.NewReader(`{"file": "x"}`),
		map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + key, "Sec-Fetch-Site": ""})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("JSON instead of multipart: got %d, want 422", resp.StatusCode)
	}
	if ms, _ := h.st.MediaList(context.Background()); len(ms) != 0 {
		t.Errorf("media after refused uploads: got %d, want 0", len(ms))
	}
	if entries, _ := os.ReadDir(filepath.Join(h.srv.dataDir, "media")); len(entries) != 0 {
		t.Errorf("files after refused uploads: got %d, want 0", len(entries))
	}
	if code, _ := h.api("", http.MethodGet, "/api/v1/media", nil); code != http.StatusUnauthorized {
		t.Errorf("list without a key: got %d, want 401", code)
	}
}

func TestAPITemplatePatchTextKeepsTheHTML(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	key := h.apiKey(store.ScopeFull)
	code, out := h.api(key, http.MethodPost, "/api/v1/templates", map[string]any{"name": "Receipt", "kind": "transactional", "subject": "Thanks", "html": "<p>Thanks</p>"})
	if code != http.StatusCreated {
		t.Fatalf("create: got %d %v", code, out)
	}
	id := int64(out["data"].(map[string]any)["id"].(float64))
	code, out = h.api(key, http.MethodPatch, "/api/v1/templates/"+itoa(id), map[string]any{"text": "Thanks, in plain text."})
	d := out["data"].(map[string]any)
	if code != http.StatusOK || d["format"] != "html" || d["html"] != "<p>Thanks</p>" || d["text"] != "Thanks, in plain text." {
		t.Fatalf("patch text only: got %d %v, want the HTML kept and the text part set", code, out)
	}
}
