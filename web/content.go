package web

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"herald/mailer"
	"herald/store"
)

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
