package web

import (
	"context"
	"html"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"herald/mailer/smtptest"
	"herald/store"
)

var previewFrame = regexp.MustCompile(`<iframe class="preview-frame" sandbox="" src="(/templates/preview/[0-9a-f]{32})"`)

// previewURL returns the src of the preview frame in a page or fragment.
func previewURL(t *testing.T, page string) string {
	t.Helper()
	m := previewFrame.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no sandboxed preview frame in: %.2000s", page)
	}
	return m[1]
}

// editorForm is what the editor posts for a campaign template.
func editorForm(id int64, name, format, subject, body string) url.Values {
	return url.Values{"id": {itoa(id)}, "name": {name}, "format": {format}, "subject": {subject}, "body": {body}, "text_body": {""}, "layout_id": {""}}
}

// createTemplatePage creates a template through the form and returns its id.
func createTemplatePage(t *testing.T, h *harness, name, kind, format string) int64 {
	t.Helper()
	resp := h.postForm("/templates", url.Values{"name": {name}, "kind": {kind}, "format": {format}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create template: got %d, want 303: %s", resp.StatusCode, body(t, resp))
	}
	loc := resp.Header.Get("Location")
	ts, _ := h.st.Templates(context.Background(), "")
	for _, tpl := range ts {
		if tpl.Name == name {
			if want := "/templates/" + itoa(tpl.ID); loc != want {
				t.Fatalf("create template: got Location %q, want %q", loc, want)
			}
			return tpl.ID
		}
	}
	t.Fatalf("create template: %s is not in the store", name)
	return 0
}

func TestTemplatePagesCreateEditPreview(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	ctx := context.Background()

	resp := h.postForm("/templates", url.Values{"name": {""}, "kind": {"campaign"}, "format": {"html"}}, nil)
	if page := body(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Give the template a name.") {
		t.Errorf("unnamed template: got %d, want 422 with the message", resp.StatusCode)
	}
	id := createTemplatePage(t, h, "Spring news", "campaign", "html")
	if resp := h.postForm("/templates", url.Values{"name": {"spring NEWS"}, "kind": {"campaign"}, "format": {"html"}}, nil); resp.StatusCode != http.StatusConflict {
		t.Errorf("duplicate name: got %d, want 409", resp.StatusCode)
	}
	editor := "/templates/" + itoa(id)

	resp = h.get(editor)
	page := body(t, resp)
	_, starter := starterBody("campaign", "html")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, html.EscapeString(starter)) {
		t.Fatalf("editor: got %d, want the starter body %q in the page", resp.StatusCode, starter)
	}
	src := previewURL(t, page)

	resp = h.get(src)
	rendered := body(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(rendered, "<p>Hello Jane,</p>") || !strings.Contains(rendered, "View in your browser") {
		t.Errorf("preview: got %d %.300q, want the sample contact in Herald's default layout", resp.StatusCode, rendered)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"sandbox", "default-src 'none'", "frame-ancestors 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("preview CSP: got %q, want it to contain %q", csp, want)
		}
	}
	if i := strings.Index(csp, "script-src"); i >= 0 && !strings.HasPrefix(csp[i:], "script-src 'none'") {
		t.Errorf("preview CSP: got %q, want no script-src, or script-src 'none'", csp)
	}
	if xfo, cc := resp.Header.Get("X-Frame-Options"), resp.Header.Get("Cache-Control"); xfo != "SAMEORIGIN" || cc != "no-store" {
		t.Errorf("preview headers: got X-Frame-Options %q Cache-Control %q, want SAMEORIGIN and no-store", xfo, cc)
	}
	if resp := h.request(h.newClient(), http.MethodGet, src, nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("preview without a session: got %d, want 303 to the login page", resp.StatusCode)
	}
	if got := body(t, h.get("/templates/preview/0123456789abcdef0123456789abcdef")); !strings.Contains(got, "This preview has expired") {
		t.Errorf("unknown preview key: got %q, want the expired note", got)
	}

	// The live preview renders the unsaved state.
	hx := map[string]string{"HX-Request": "true"}
	resp = h.postForm("/templates/preview", editorForm(id, "Spring news", "html", "Hi {{.Contact.FirstName}}", "<h2>Spring for {{.Contact.LastName}}</h2>"), hx)
	frag := body(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(strings.TrimSpace(frag), `<div id="template-preview"`) || strings.Contains(frag, "<html") {
		t.Fatalf("preview fragment: got %d %.500q, want only the preview pane", resp.StatusCode, frag)
	}
	if !strings.Contains(frag, "Hi Jane") {
		t.Errorf("preview fragment: got %.500q, want the rendered subject", frag)
	}
	if got := body(t, h.get(previewURL(t, frag))); !strings.Contains(got, "<h2>Spring for Doe</h2>") {
		t.Errorf("edited preview: got %.300q, want the edited heading", got)
	}
	c, _, err := h.st.CreateContact(ctx, store.ContactInput{Email: ptrTo("ann@example.com"), FirstName: ptrTo("Ann"), LastName: ptrTo("<Lee>")}, false)
	if err != nil {
		t.Fatal(err)
	}
	form := editorForm(id, "Spring news", "html", "Hi", "<h2>Spring for {{.Contact.LastName}}</h2>")
	form.Set("preview_contact", itoa(c.ID))
	frag = body(t, h.postForm("/templates/preview", form, hx))
	if got := body(t, h.get(previewURL(t, frag))); !strings.Contains(got, "<h2>Spring for &lt;Lee&gt;</h2>") {
		t.Errorf("preview for a contact: got %.300q, want their escaped last name", got)
	}

	resp = h.postForm("/templates/preview", editorForm(id, "Spring news", "html", "Hi", "<p>Hi</p>\n  <p>{{.Contact.Nickname}}</p>"), hx)
	frag = body(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(frag, "Body: Line 2, column 8: unknown field .Contact.Nickname") || strings.Contains(frag, "<iframe") {
		t.Errorf("preview of a bad field: got %d %.500q, want the error with line and column and no frame", resp.StatusCode, frag)
	}
	if tpl, _ := h.st.Template(ctx, id); tpl.Version != 1 || tpl.Body != starter {
		t.Errorf("after previews: got version %d body %q, want version 1 unchanged", tpl.Version, tpl.Body)
	}

	// Saving.
	saved := "<h2>Spring</h2>\n<p>Hello {{.Contact.FirstName}},</p>\n<p>Write your message here.</p>\n"
	resp = h.postForm(editor, editorForm(id, "Spring news", "html", "Spring is here", saved), nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != editor {
		t.Fatalf("save: got %d to %q, want 303 to %s", resp.StatusCode, resp.Header.Get("Location"), editor)
	}
	if page := body(t, h.get(editor)); !strings.Contains(page, "Saved as version 2.") {
		t.Errorf("editor after save: want the flash %q", "Saved as version 2.")
	}
	tpl, _ := h.st.Template(ctx, id)
	if tpl.Version != 2 || tpl.Body != saved || tpl.Subject != "Spring is here" {
		t.Errorf("saved: got %+v, want version 2 with the new body and subject", tpl)
	}

	resp = h.postForm(editor, editorForm(id, "Spring news", "html", "Spring", "<p>{{.Contact.Nickname}}</p>"), nil)
	page = body(t, resp)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Line 1, column 6: unknown field .Contact.Nickname") {
		t.Errorf("bad save: got %d, want 422 with the message", resp.StatusCode)
	}
	if !strings.Contains(page, html.EscapeString("<p>{{.Contact.Nickname}}</p>")) {
		t.Errorf("bad save: want the editor to keep what was typed")
	}
	if tpl, _ := h.st.Template(ctx, id); tpl.Version != 2 {
		t.Errorf("after a bad save: got version %d, want 2", tpl.Version)
	}

	// Versions, the diff and restoring.
	page = body(t, h.get(editor+"/versions"))
	for _, want := range []string{"Versions of Spring news", `href="` + editor + `/versions/1"`, "current", ownerEmail} {
		if !strings.Contains(page, want) {
			t.Errorf("versions page lacks %q", want)
		}
	}
	if strings.Contains(page, `href="`+editor+`/versions/2"`) {
		t.Errorf("versions page: the current version links to a comparison with itself")
	}
	resp = h.get(editor + "/versions/1")
	page = body(t, resp)
	diff := []string{
		`<span class="diff-add">+ ` + html.EscapeString("<h2>Spring</h2>"),
		`<span class="diff-del">- ` + html.EscapeString(`<p>Hello {{default "there" .Contact.FirstName}},</p>`),
		`<span class="diff-add">+ ` + html.EscapeString("<p>Hello {{.Contact.FirstName}},</p>"),
		`<span class="diff-same">  ` + html.EscapeString("<p>Write your message here.</p>"),
	}
	for _, want := range diff {
		if !strings.Contains(page, want) {
			t.Errorf("version page lacks the diff line %q", want)
		}
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Compared with version 2") {
		t.Errorf("version page: got %d, want it compared with version 2", resp.StatusCode)
	}
	if resp := h.get(editor + "/versions/9"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("missing version: got %d, want 404", resp.StatusCode)
	}
	resp = h.postForm(editor+"/versions/1/restore", url.Values{}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != editor {
		t.Fatalf("restore: got %d to %q, want 303 to the editor", resp.StatusCode, resp.Header.Get("Location"))
	}
	if page := body(t, h.get(editor)); !strings.Contains(page, "Version 1 restored as version 3.") {
		t.Errorf("editor after restore: want the flash")
	}
	if tpl, _ := h.st.Template(ctx, id); tpl.Version != 3 || tpl.Body != starter {
		t.Errorf("restored: got version %d body %q, want version 3 with the starter body", tpl.Version, tpl.Body)
	}
	if page := body(t, h.get(editor+"/versions/1")); !strings.Contains(page, "The two versions are the same.") {
		t.Errorf("version 1 after restore: want no differences")
	}

	resp = h.postForm(editor+"/delete", url.Values{}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/templates" {
		t.Fatalf("delete: got %d to %q, want 303 to /templates", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp := h.get(editor); resp.StatusCode != http.StatusNotFound {
		t.Errorf("editor after delete: got %d, want 404", resp.StatusCode)
	}
}

func TestTemplatePagesLayoutAndStarters(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	cases := []struct {
		kind, format, want string
	}{
		{"campaign", "markdown", "**Markdown** works."},
		{"campaign", "text", "Write your message here."},
		{"transactional", "html", "Write your message here."},
		{"layout", "markdown", `{{template "content" .}}`},
	}
	for _, tc := range cases {
		t.Run(tc.kind+" "+tc.format, func(t *testing.T) {
			id := createTemplatePage(t, h, tc.kind+" in "+tc.format, tc.kind, tc.format)
			tpl, _ := h.st.Template(context.Background(), id)
			if tc.kind == "layout" && tpl.Format != "html" {
				t.Errorf("layout format: got %q, want html whatever the form said", tpl.Format)
			}
			page := body(t, h.get("/templates/"+itoa(id)))
			if !strings.Contains(page, html.EscapeString(tc.want)) {
				t.Errorf("editor lacks the starter text %q", tc.want)
			}
			if tc.format != "text" {
				previewURL(t, page)
			}
		})
	}
}

// readTestMessage parses one received message into its subject and its
// parts by content type.
func readTestMessage(t *testing.T, raw []byte) (subject, mediaType string, parts map[string]string) {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatalf("read message: %v", err)
	}
	subject, err = new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	mediaType, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	parts = map[string]string{}
	if !strings.HasPrefix(mediaType, "multipart/") {
		return subject, mediaType, parts
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		b, _ := io.ReadAll(p) // multipart decodes quoted-printable
		parts[ct] = string(b)
	}
	return subject, mediaType, parts
}

func TestTemplateTestSend(t *testing.T) {
	t.Parallel()
	sink := smtptest.Start(t, smtptest.Options{})
	h := newHarness(t)
	h.signIn()
	ctx := context.Background()
	relay, err := h.st.CreateRelay(ctx, store.RelayInput{Name: "Sink", Kind: "smtp", Host: sink.Host(), Port: sink.Port(), TLS: "none", MaxConnections: 1, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	id := createTemplatePage(t, h, "Spring news", "campaign", "html")
	editor := "/templates/" + itoa(id)
	if page := body(t, h.get(editor)); !strings.Contains(page, `<option value="`+itoa(relay.ID)+`">Sink</option>`) {
		t.Errorf("editor: want the relay offered for test sends")
	}

	hx := map[string]string{"HX-Request": "true"}
	resp := h.postForm(editor+"/test", url.Values{"to": {"a@example.com, b@example.com"}, "relay_id": {itoa(relay.ID)}}, hx)
	frag := body(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(frag, "Sent to a@example.com.") || !strings.Contains(frag, "Sent to b@example.com.") {
		t.Fatalf("test send: got %d %q, want sent to both", resp.StatusCode, frag)
	}
	if strings.Contains(frag, "<html") || !slices.Contains(resp.Header.Values("Vary"), "HX-Request") {
		t.Errorf("test send: want a fragment that varies on HX-Request, got Vary %v", resp.Header.Values("Vary"))
	}
	msgs := sink.Wait(2, 10*time.Second)
	if len(msgs) != 2 {
		t.Fatalf("sink: got %d messages, want 2", len(msgs))
	}
	var to []string
	for _, m := range msgs {
		to = append(to, m.To...)
		subject, mediaType, parts := readTestMessage(t, m.Data)
		if subject != "[TEST] Hello Jane" {
			t.Errorf("subject: got %q, want %q", subject, "[TEST] Hello Jane")
		}
		if mediaType != "multipart/alternative" {
			t.Errorf("Content-Type: got %q, want multipart/alternative", mediaType)
		}
		if !strings.Contains(parts["text/plain"], "Hello Jane,") || !strings.Contains(parts["text/html"], "<p>Hello Jane,</p>") {
			t.Errorf("parts: got %v, want text/plain and text/html with the sample contact", parts)
		}
	}
	slices.Sort(to)
	if !slices.Equal(to, []string{"a@example.com", "b@example.com"}) {
		t.Errorf("recipients: got %v, want a@example.com and b@example.com", to)
	}

	refused := []struct {
		name string
		form url.Values
		want string
	}{
		{"six addresses", url.Values{"to": {"1@example.com,2@example.com,3@example.com,4@example.com,5@example.com,6@example.com"},
			"relay_id": {itoa(relay.ID)}}, "Enter 1 to 5 addresses"},
		{"no address", url.Values{"to": {" , "}, "relay_id": {itoa(relay.ID)}}, "Enter 1 to 5 addresses"},
		{"bad address", url.Values{"to": {"a@example.com, not-an-address"}, "relay_id": {itoa(relay.ID)}}, "not-an-address: "},
		{"no relay", url.Values{"to": {"a@example.com"}, "relay_id": {"999"}}, "Choose a sending relay"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			resp := h.postForm(editor+"/test", tc.form, hx)
			frag := body(t, resp)
			if resp.StatusCode != http.StatusOK || !strings.Contains(frag, "Not sent.") || !strings.Contains(frag, tc.want) {
				t.Errorf("got %d %q, want the error %q", resp.StatusCode, frag, tc.want)
			}
		})
	}
	if got := len(sink.Messages()); got != 2 {
		t.Errorf("sink after refused sends: got %d messages, want 2", got)
	}

	// Without htmx the result comes back as a flash on the editor.
	resp = h.postForm(editor+"/test", url.Values{"to": {"c@example.com"}, "relay_id": {itoa(relay.ID)}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != editor {
		t.Fatalf("plain test send: got %d to %q, want 303 to the editor", resp.StatusCode, resp.Header.Get("Location"))
	}
	if page := body(t, h.get(editor)); !strings.Contains(page, "c@example.com: sent.") {
		t.Errorf("editor after a plain test send: want the flash %q", "c@example.com: sent.")
	}
	if msgs := sink.Wait(3, 10*time.Second); len(msgs) != 3 {
		t.Errorf("sink: got %d messages, want 3", len(msgs))
	}
}

func TestMediaPageUploadDelete(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	ctx := context.Background()

	if resp := h.get("/templates/media"); resp.StatusCode != http.StatusOK || !strings.Contains(body(t, resp), "Upload an image") {
		t.Fatalf("media page: got %d, want 200 with the upload form", resp.StatusCode)
	}
	b, ct := multipartBody(t, "logo.png", string(testImage(t, "png")), nil)
	resp := h.request(h.client, http.MethodPost, "/templates/media", b, map[string]string{"Content-Type": ct})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/templates/media" {
		t.Fatalf("upload: got %d to %q, want 303 to /templates/media: %s", resp.StatusCode, resp.Header.Get("Location"), body(t, resp))
	}
	ms, _ := h.st.MediaList(ctx)
	if len(ms) != 1 {
		t.Fatalf("media after upload: got %d, want 1", len(ms))
	}
	m := ms[0]
	page := body(t, h.get("/templates/media"))
	for _, want := range []string{"logo.png uploaded.", h.ts.URL + "/media/" + itoa(m.ID) + "/logo.png", "3×2"} {
		if !strings.Contains(page, want) {
			t.Errorf("media page lacks %q", want)
		}
	}
	id := createTemplatePage(t, h, "With image", "campaign", "markdown")
	if page := body(t, h.get("/templates/"+itoa(id))); !strings.Contains(page, html.EscapeString("![logo.png]("+h.ts.URL+"/media/"+itoa(m.ID)+"/logo.png)")) {
		t.Errorf("editor: want the image offered as a Markdown snippet")
	}

	b, ct = multipartBody(t, "logo.png", `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`, nil)
	resp = h.request(h.client, http.MethodPost, "/templates/media", b, map[string]string{"Content-Type": ct})
	if page := body(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "SVG images can carry scripts") {
		t.Errorf("SVG upload: got %d, want 422 with the SVG message", resp.StatusCode)
	}
	b, ct = multipartBody(t, "logo.png", string(testImage(t, "png")), nil)
	resp = h.request(h.client, http.MethodPost, "/templates/media", b, map[string]string{"Content-Type": ct, "Sec-Fetch-Site": "cross-site"})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site upload without a CSRF token: got %d, want 403", resp.StatusCode)
	}
	if ms, _ := h.st.MediaList(ctx); len(ms) != 1 {
		t.Errorf("media after refused uploads: got %d, want 1", len(ms))
	}

	resp = h.postForm("/templates/media/"+itoa(m.ID)+"/delete", url.Values{}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/templates/media" {
		t.Fatalf("delete: got %d to %q, want 303 to /templates/media", resp.StatusCode, resp.Header.Get("Location"))
	}
	if page := body(t, h.get("/templates/media")); !strings.Contains(page, "logo.png deleted.") {
		t.Errorf("media page after delete: want the flash")
	}
	if ms, _ := h.st.MediaList(ctx); len(ms) != 0 {
		t.Errorf("media after delete: got %d, want 0", len(ms))
	}
	if _, err := os.Stat(m.Path); !os.IsNotExist(err) {
		t.Errorf("file after delete: got %v, want it removed", err)
	}
	if resp := h.get("/media/" + itoa(m.ID) + "/logo.png"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("image URL after delete: got %d, want 404", resp.StatusCode)
	}
	if resp := h.postForm("/templates/media/"+itoa(m.ID)+"/delete", url.Values{}, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("second delete: got %d, want 404", resp.StatusCode)
	}
}
