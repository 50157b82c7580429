package web

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"herald/mailer"
	"herald/store"
)

// sampleLinks go nowhere; a test send to other people must not carry a
// real contact's working unsubscribe or preferences links.
func sampleLinks(base string) mailer.Links {
	return mailer.Links{Unsubscribe: base + "/u/test-send", Preferences: base + "/p/test-send", WebView: base + "/view/test-send"}
}

// templateSource resolves a template's layout into the source the mailer
// compiles: campaigns sit in their layout or Herald's default one;
// transactional email in its layout, if it has one; a layout is tried out
// around a sample body.
func (s *Server) templateSource(ctx context.Context, t store.Template) (mailer.Source, error) {
	src := mailer.Source{Subject: t.Subject, Format: t.Format, Body: t.Body, Text: t.TextBody}
	if t.Kind == store.KindLayout {
		return mailer.Source{Subject: "Sample", Format: mailer.FormatHTML, Body: "<p>The content of your email goes here.</p>", Layout: t.Body}, nil
	}
	if t.LayoutID != 0 {
		l, err := s.store.Template(ctx, t.LayoutID)
		if err != nil {
			return src, err
		}
		src.Layout = l.Body
	} else if t.Kind == store.KindCampaign {
		src.Layout = mailer.DefaultLayout
	}
	return src, nil
}

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
		src, err := s.templateSource(ctx, t)
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

// compileTemplate prepares a saved template for rendering.
func (s *Server) compileTemplate(ctx context.Context, t store.Template) (*mailer.Compiled, error) {
	src, err := s.templateSource(ctx, t)
	if err != nil {
		return nil, err
	}
	return mailer.Compile(src)
}

// renderData builds what a template sees for a contact, with their signed
// links, or the sample data when contactID is 0. ref is what the web view
// link shows: the template, until campaigns send it.
func (s *Server) renderData(ctx context.Context, base string, contactID int64, data map[string]any, ref int64) (mailer.Data, error) {
	d := mailer.SampleData()
	d.Org = s.Org()
	if data != nil {
		d.Data = data
	}
	if contactID == 0 {
		return d, nil
	}
	// A real contact sees only real data: no sample order or campaign.
	d.Data, d.Campaign = data, mailer.CampaignData{}
	c, err := s.store.Contact(ctx, contactID)
	if err != nil {
		return d, err
	}
	d.Contact = mailer.ContactData{Email: c.Email, FirstName: c.FirstName, LastName: c.LastName, Attributes: c.Attributes}
	d.Links = mailer.Links{
		Unsubscribe: s.UnsubscribeURL(base, c.ID, 0),
		Preferences: s.PreferencesURL(base, c.ID),
		WebView:     s.WebViewURL(base, c.ID, ref),
	}
	return d, nil
}

// WebViewURL returns the signed link to a message in the browser, for one
// contact; ref names what was sent.
func (s *Server) WebViewURL(base string, contactID, ref int64) string {
	return base + "/view/" + s.store.Box().SignToken(store.Token{Purpose: store.PurposeView, ContactID: contactID, ListID: ref})
}
