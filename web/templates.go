package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v5"

	"herald/mailer"
	"herald/scheduler/outbound"
	"herald/store"
	"herald/templates"
)

// previews keeps rendered previews for a few minutes, for the sandboxed
// frame beside the editor to load by an unguessable key.
type previews struct {
	mu    sync.Mutex
	pages map[string]preview
}

type preview struct {
	html    string
	expires time.Time
}

const (
	previewTTL = 10 * time.Minute
	maxPreview = 500
)

func (p *previews) put(html string) string {
	b := make([]byte, 16)
	rand.Read(b)
	key := hex.EncodeToString(b)
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pages == nil {
		p.pages = map[string]preview{}
	}
	for k, v := range p.pages {
		if now.After(v.expires) || len(p.pages) >= maxPreview {
			delete(p.pages, k)
		}
	}
	p.pages[key] = preview{html: html, expires: now.Add(previewTTL)}
	return key
}

func (p *previews) get(key string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	v, ok := p.pages[key]
	if !ok || time.Now().After(v.expires) {
		return "", false
	}
	return v.html, true
}

func (s *Server) templateList(c *echo.Context) error {
	return s.templatesPage(c, http.StatusOK, templates.TemplatesProps{Kind: store.KindCampaign, Format: mailer.FormatMarkdown})
}

func (s *Server) templatesPage(c *echo.Context, status int, p templates.TemplatesProps) error {
	ts, err := s.store.Templates(c.Request().Context(), "")
	if err != nil {
		return err
	}
	p.Shell = s.shell(c, "templates", "Templates")
	for _, t := range ts {
		p.Templates = append(p.Templates, templates.TemplateRow{ID: t.ID, Name: t.Name, Kind: t.Kind, Format: t.Format, Version: t.Version, UpdatedAt: t.UpdatedAt})
	}
	return s.render(c, status, templates.TemplatesPage(p))
}

// starterBody is what a new template begins with, so it previews at once.
func starterBody(kind, format string) (string, string) {
	switch {
	case kind == store.KindLayout:
		return "", mailer.DefaultLayout
	case format == mailer.FormatHTML:
		return "Hello {{.Contact.FirstName}}", `<p>Hello {{default "there" .Contact.FirstName}},</p>` + "\n<p>Write your message here.</p>\n"
	case format == mailer.FormatText:
		return "Hello {{.Contact.FirstName}}", "Hello {{default \"there\" .Contact.FirstName}},\n\nWrite your message here.\n"
	}
	return "Hello {{.Contact.FirstName}}", "Hello {{default \"there\" .Contact.FirstName}},\n\nWrite your message here. **Markdown** works.\n"
}

func (s *Server) templateCreate(c *echo.Context) error {
	name, kind, format := c.FormValue("name"), c.FormValue("kind"), c.FormValue("format")
	if kind == store.KindLayout {
		format = mailer.FormatHTML
	}
	subject, body := starterBody(kind, format)
	u, _ := currentUser(c)
	t, err := s.store.CreateTemplate(c.Request().Context(), store.TemplateInput{Name: &name, Kind: &kind, Format: &format, Subject: &subject, Body: &body,
		Author: u.Email}, s.checkTemplate(c.Request().Context()))
	var ve *store.ValidationError
	switch {
	case errors.As(err, &ve):
		return s.templatesPage(c, http.StatusUnprocessableEntity, templates.TemplatesProps{Name: name, Kind: kind, Format: format, Errors: ve.Fields})
	case errors.Is(err, store.ErrConflict):
		return s.templatesPage(c, http.StatusConflict, templates.TemplatesProps{Name: name, Kind: kind, Format: format,
			Errors: templates.FieldErrors{"name": "Another template already has this name."}})
	case err != nil:
		return err
	}
	return redirect(c, "/templates/"+itoa(t.ID))
}

func templateForm(t store.Template) templates.TemplateForm {
	f := templates.TemplateForm{Name: t.Name, Kind: t.Kind, Format: t.Format, Subject: t.Subject, Body: t.Body, TextBody: t.TextBody, Essential: t.Essential}
	if t.LayoutID != 0 {
		f.LayoutID = itoa(t.LayoutID)
	}
	return f
}

// readTemplateForm reads the editor into a template that is not yet saved.
func readTemplateForm(c *echo.Context, old store.Template) (templates.TemplateForm, store.TemplateInput) {
	f := templates.TemplateForm{Name: c.FormValue("name"), Kind: old.Kind, Format: c.FormValue("format"), Subject: c.FormValue("subject"),
		Body: c.FormValue("body"), TextBody: c.FormValue("text_body"), LayoutID: c.FormValue("layout_id"), Essential: c.FormValue("essential") != ""}
	if old.Kind == store.KindLayout {
		f.Format = mailer.FormatHTML
	}
	layoutID, _ := strconv.ParseInt(f.LayoutID, 10, 64)
	u, _ := currentUser(c)
	return f, store.TemplateInput{Name: &f.Name, Format: &f.Format, Subject: &f.Subject, Body: &f.Body, TextBody: &f.TextBody, LayoutID: &layoutID,
		Essential: &f.Essential, Author: u.Email}
}

// editProps loads what the editor offers besides the template itself.
func (s *Server) editProps(c *echo.Context, t store.Template) (templates.TemplateEditProps, error) {
	ctx := c.Request().Context()
	p := templates.TemplateEditProps{Shell: s.shell(c, "templates", t.Name), ID: t.ID, Version: t.Version, Form: templateForm(t)}
	if u, ok := currentUser(c); ok {
		p.TestTo = u.Email
	}
	def := "Herald's default layout"
	if t.Kind == store.KindTransactional {
		def = "No layout"
	}
	p.Layouts = []templates.Option{{Value: "", Label: def}}
	layouts, err := s.store.Templates(ctx, store.KindLayout)
	if err != nil {
		return p, err
	}
	for _, l := range layouts {
		p.Layouts = append(p.Layouts, templates.Option{Value: itoa(l.ID), Label: l.Name})
	}
	if p.Relays, p.Contacts, err = s.testOptions(ctx); err != nil {
		return p, err
	}
	media, err := s.store.MediaList(ctx)
	if err != nil {
		return p, err
	}
	for _, m := range media {
		p.Media = append(p.Media, s.mediaItem(c, m))
	}
	return p, nil
}

// testOptions are the relays a test can go through and the first contacts
// it can be filled in for.
func (s *Server) testOptions(ctx context.Context) (relays, contacts []templates.Option, err error) {
	page, err := s.store.Contacts(ctx, store.ContactFilter{Status: store.StatusActive}, 1, 20)
	if err != nil {
		return nil, nil, err
	}
	for _, ct := range page.Contacts {
		contacts = append(contacts, templates.Option{Value: itoa(ct.ID), Label: ct.Email})
	}
	rs, err := s.store.Relays(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, r := range rs {
		relays = append(relays, templates.Option{Value: itoa(r.ID), Label: r.Name})
	}
	return relays, contacts, nil
}

func (s *Server) mediaItem(c *echo.Context, m store.Media) templates.MediaItem {
	return templates.MediaItem{ID: m.ID, URL: s.mediaURL(c, m), FileName: m.FileName, Width: m.Width, Height: m.Height, Size: m.Size}
}

func (s *Server) templateEdit(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	t, err := s.store.Template(c.Request().Context(), id)
	if err != nil {
		return err
	}
	p, err := s.editProps(c, t)
	if err != nil {
		return err
	}
	p.Preview = s.previewOf(c, t, 0, nil)
	return s.render(c, http.StatusOK, templates.TemplateEditPage(p))
}

// previewOf renders a template for the preview pane, or lists what is wrong.
func (s *Server) previewOf(c *echo.Context, t store.Template, contactID int64, data map[string]any) templates.PreviewProps {
	if errs := s.checkTemplate(c.Request().Context())(t); len(errs) > 0 {
		var out []string
		for _, k := range sortedKeys(errs) {
			out = append(out, fieldTitle(k)+": "+errs[k])
		}
		return templates.PreviewProps{Errors: out}
	}
	r, err := s.out.RenderTemplate(c.Request().Context(), t, contactID, data)
	if err != nil {
		return templates.PreviewProps{Errors: []string{validationText(err)}}
	}
	return s.previewRendered(r.Subject, r.HTML, r.Text)
}

// previewRendered shows a rendered message in the preview pane: its HTML in
// the sandboxed frame, by a key that expires, and its text.
func (s *Server) previewRendered(subject, html, text string) templates.PreviewProps {
	p := templates.PreviewProps{Subject: subject, Text: text}
	if html != "" {
		p.URL = "/templates/preview/" + s.previews.put(html)
	}
	return p
}

func fieldTitle(k string) string {
	switch k {
	case "text_body":
		return "Text"
	case "layout_id":
		return "Layout"
	}
	return strings.ToUpper(k[:1]) + k[1:]
}

// templatePreview renders the editor's unsaved state.
func (s *Server) templatePreview(c *echo.Context) error {
	id, _ := strconv.ParseInt(c.FormValue("id"), 10, 64)
	t, err := s.store.Template(c.Request().Context(), id)
	if err != nil {
		return err
	}
	_, in := readTemplateForm(c, t)
	draft := t
	draft.Name, draft.Format, draft.Subject, draft.Body, draft.TextBody, draft.LayoutID, draft.Essential =
		*in.Name, *in.Format, *in.Subject, *in.Body, *in.TextBody, *in.LayoutID, *in.Essential
	contactID, _ := strconv.ParseInt(c.FormValue("preview_contact"), 10, 64)
	var data map[string]any
	if raw := strings.TrimSpace(c.FormValue("preview_data")); raw != "" {
		if err := json.Unmarshal([]byte(raw), &data); err != nil {
			return s.render(c, http.StatusOK, templates.TemplatePreview(templates.PreviewProps{Errors: []string{"Sample data must be a JSON object, like {\"order_id\": \"1001\"}."}}))
		}
	}
	return s.render(c, http.StatusOK, templates.TemplatePreview(s.previewOf(c, draft, contactID, data)))
}

// previewShow serves a rendered preview to the sandboxed frame. The user's
// HTML runs with no script, may style itself inline and load images, and
// only Herald's own pages may frame it.
func (s *Server) previewShow(c *echo.Context) error {
	html, ok := s.previews.get(c.Param("key"))
	if !ok {
		html = "<p style=\"font-family:sans-serif;color:#666\">This preview has expired. Edit the template to see it again.</p>"
	}
	h := c.Response().Header()
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'; img-src * data:; style-src 'unsafe-inline'; font-src * data:; frame-ancestors 'self'")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("Cache-Control", "no-store")
	return c.HTML(http.StatusOK, html)
}

func (s *Server) templateUpdate(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	old, err := s.store.Template(ctx, id)
	if err != nil {
		return err
	}
	f, in := readTemplateForm(c, old)
	t, err := s.store.UpdateTemplate(ctx, id, in, s.checkTemplate(ctx))
	var ve *store.ValidationError
	if errors.As(err, &ve) || errors.Is(err, store.ErrConflict) {
		p, perr := s.editProps(c, old)
		if perr != nil {
			return perr
		}
		p.Form = f
		status := http.StatusUnprocessableEntity
		if ve != nil {
			p.Errors = ve.Fields
		} else {
			p.Errors, status = templates.FieldErrors{"name": "Another template already has this name."}, http.StatusConflict
		}
		return s.render(c, status, templates.TemplateEditPage(p))
	}
	if err != nil {
		return err
	}
	s.flash(c, "success", fmt.Sprintf("Saved as version %d.", t.Version))
	return redirect(c, "/templates/"+itoa(id))
}

func (s *Server) templateDelete(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if err := s.store.DeleteTemplate(c.Request().Context(), id); err != nil {
		return err
	}
	s.flash(c, "success", "Template deleted.")
	return redirect(c, "/templates")
}

func (s *Server) templateVersions(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	vs, err := s.store.TemplateVersions(c.Request().Context(), id)
	if err != nil {
		return err
	}
	p := templates.VersionsProps{Shell: s.shell(c, "templates", "Versions"), ID: id}
	for i, v := range vs {
		if i == 0 {
			p.Name = v.Name
		}
		p.Versions = append(p.Versions, templates.VersionRow{Version: v.Version, Name: v.Name, Author: v.Author, SavedAt: v.CreatedAt, Current: i == 0})
	}
	return s.render(c, http.StatusOK, templates.VersionsPage(p))
}

func (s *Server) templateVersionShow(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	v, err := versionParam(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	old, err := s.store.TemplateVersion(ctx, id, v)
	if err != nil {
		return err
	}
	cur, err := s.store.Template(ctx, id)
	if err != nil {
		return err
	}
	against := cur.Version
	if n, err := strconv.Atoi(c.QueryParam("against")); err == nil && n >= 1 && n <= cur.Version {
		against = n
	}
	other, err := s.store.TemplateVersion(ctx, id, against)
	if err != nil {
		return err
	}
	p := templates.VersionProps{Shell: s.shell(c, "templates", "Version"), ID: id, Name: cur.Name, Version: v, Against: against,
		Subject: old.Subject, Format: old.Format, Body: old.Body}
	for _, d := range diffLines(comparable(old.Template), comparable(other.Template)) {
		p.Diff = append(p.Diff, templates.DiffLine{Op: d.op, Text: d.text})
		p.Changed = p.Changed || d.op != " "
	}
	return s.render(c, http.StatusOK, templates.VersionPage(p))
}

// comparable is a version written out whole, so a comparison shows changes
// to every part of it, not only the body.
func comparable(t store.Template) string {
	return fmt.Sprintf("Name: %s\nSubject: %s\nWritten in: %s\nLayout: %d\n\n%s\n\n--- text version ---\n%s", t.Name, t.Subject, t.Format, t.LayoutID, t.Body, t.TextBody)
}

func (s *Server) templateRestore(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	v, err := versionParam(c)
	if err != nil {
		return err
	}
	u, _ := currentUser(c)
	t, err := s.store.RestoreTemplateVersion(c.Request().Context(), id, v, u.Email, s.checkTemplate(c.Request().Context()))
	if err != nil {
		return err
	}
	s.flash(c, "success", fmt.Sprintf("Version %d restored as version %d.", v, t.Version))
	return redirect(c, "/templates/"+itoa(id))
}

// validationText is an error in words for a page, without the field names.
func validationText(err error) string {
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		return strings.Join(fieldMessages(ve), " ")
	}
	return err.Error()
}

// templateTest sends the saved template to a few addresses through a chosen
// relay, marked [TEST], without tracking.
func (s *Server) templateTest(c *echo.Context) error {
	res := s.testSend(c)
	c.Response().Header().Add("Vary", "HX-Request")
	if c.Request().Header.Get("HX-Request") == "true" {
		return s.render(c, http.StatusOK, templates.TestResult(res))
	}
	msg, kind := res.Error, "success"
	if res.Error != "" {
		kind = "error"
	}
	for _, l := range res.Lines {
		if l.OK {
			msg += " " + l.To + ": sent."
		} else {
			msg, kind = msg+" "+l.To+": not sent, "+l.Reply+".", "error"
		}
	}
	s.flash(c, kind, strings.TrimSpace(msg))
	return c.Redirect(http.StatusSeeOther, "/templates/"+c.Param("id"))
}

func (s *Server) testSend(c *echo.Context) templates.TestResultView {
	id, err := pathID(c)
	if err != nil {
		return templates.TestResultView{Error: "No such template."}
	}
	ctx := c.Request().Context()
	t, err := s.store.Template(ctx, id)
	if err != nil {
		return templates.TestResultView{Error: "No such template."}
	}
	relayID, _ := strconv.ParseInt(c.FormValue("relay_id"), 10, 64)
	contactID, _ := strconv.ParseInt(c.FormValue("contact_id"), 10, 64)
	res, err := s.out.TestTemplate(ctx, t, splitList(c.FormValue("to")), relayID, contactID)
	if err != nil {
		return templates.TestResultView{Error: validationText(err)}
	}
	return testResultView(res)
}

// testResultView shows how a test send went, a line per address.
func testResultView(res []outbound.TestResult) templates.TestResultView {
	var v templates.TestResultView
	for _, r := range res {
		line := templates.TestLine{To: r.Email, OK: r.Delivered, Reply: r.Reply}
		if !r.Delivered {
			line.Reply = r.Detail
		}
		v.Lines = append(v.Lines, line)
	}
	return v
}

// mediaPerPage is the length of a page of the media grid.
const mediaPerPage = 60

func (s *Server) mediaPage(c *echo.Context, status int, msg string) error {
	p := templates.MediaProps{Shell: s.shell(c, "templates", "Media"), Error: msg, Page: pageNumber(c)}
	ms, total, err := s.store.MediaPage(c.Request().Context(), mediaPerPage, (p.Page-1)*mediaPerPage)
	if err != nil {
		return err
	}
	p.Total, p.Pages = total, pageCount(total, mediaPerPage)
	for _, m := range ms {
		p.Items = append(p.Items, s.mediaItem(c, m))
	}
	return s.render(c, status, templates.MediaPage(p))
}

func (s *Server) mediaList(c *echo.Context) error { return s.mediaPage(c, http.StatusOK, "") }

func (s *Server) mediaUpload(c *echo.Context) error {
	m, err := s.saveImage(c)
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		return s.mediaPage(c, http.StatusUnprocessableEntity, ve.Fields["file"])
	}
	if err != nil {
		return err
	}
	s.flash(c, "success", m.FileName+" uploaded.")
	return redirect(c, "/templates/media")
}

func (s *Server) mediaDelete(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	m, err := s.store.DeleteMedia(c.Request().Context(), id)
	if err != nil {
		return err
	}
	os.Remove(m.Path)
	s.flash(c, "success", m.FileName+" deleted.")
	return redirect(c, "/templates/media")
}
