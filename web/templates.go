package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"herald/mailer"
	"herald/scheduler/outbound"
	"herald/store"
	"herald/templates"
)

const (
	previewTTL = 10 * time.Minute
	maxPreview = 500
)

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
	page, err := s.store.Contacts(ctx, store.ContactFilter{Status: store.StatusActive, Order: store.Order{Desc: true}}, 1, 20)
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
		label := r.Name
		if !r.Enabled {
			label += " (disabled)"
		}
		relays = append(relays, templates.Option{Value: itoa(r.ID), Label: label})
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

// templateFields maps the parts a template error names to form fields.
func templateField(t store.Template, part string) string {
	switch part {
	case "subject":
		return "subject"
	case "text":
		return "text_body"
	case "layout":
		if t.Kind == store.KindLayout {
			return "body"
		}
		return "layout_id"
	}
	return "body"
}

// checkTemplate compiles a template before the store saves it, so nothing
// that cannot render reaches the outbox.
func (s *Server) checkTemplate(ctx context.Context) func(store.Template) map[string]string {
	return func(t store.Template) map[string]string {
		src, err := s.out.TemplateSource(ctx, t)
		if err != nil {
			return map[string]string{"layout_id": "The layout cannot be read: " + err.Error()}
		}
		if t.Kind == store.KindLayout {
			for _, need := range []struct{ text, msg string }{
				{mailer.ContentSlot, "A layout places the content with " + mailer.ContentSlot + "."},
				{"unsubscribe_url", "Bulk mail needs an unsubscribe link: put {{unsubscribe_url}} in the footer."},
				{".Org.Address", "Bulk mail needs your postal address: put {{.Org.Address}} in the footer."},
			} {
				if !strings.Contains(t.Body, need.text) {
					return map[string]string{"body": need.msg}
				}
			}
		}
		if t.Kind != store.KindLayout && strings.TrimSpace(t.Subject) == "" {
			return map[string]string{"subject": "Give the email a subject."}
		}
		if _, err := mailer.Compile(src); err != nil {
			var te *mailer.TemplateError
			if errors.As(err, &te) {
				msg := fmt.Sprintf("Line %d, column %d: %s.", te.Line, te.Col, te.Message)
				if te.Part == "layout" && t.Kind != store.KindLayout {
					msg = "The chosen layout does not work: " + msg
				}
				return map[string]string{templateField(t, te.Part): msg}
			}
			return map[string]string{"body": err.Error()}
		}
		return nil
	}
}
