package outbound

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"herald/mailer"
	"herald/store"
)

// TemplateSource resolves a template's layout into the source the mailer
// compiles: campaigns sit in their layout or Herald's default one;
// transactional email in its layout, if it has one; a layout is tried out
// around a sample body.
func (s *Service) TemplateSource(ctx context.Context, t store.Template) (mailer.Source, error) {
	src := mailer.Source{Subject: t.Subject, Format: t.Format, Body: t.Body, Text: t.TextBody}
	if t.Kind == store.KindLayout {
		return mailer.Source{Subject: "Sample", Format: mailer.FormatHTML, Body: "<p>The content of your email goes here.</p>", Layout: t.Body}, nil
	}
	if t.LayoutID != 0 {
		l, err := s.st.Template(ctx, t.LayoutID)
		if err != nil {
			return src, err
		}
		src.Layout = l.Body
	} else if t.Kind == store.KindCampaign {
		src.Layout = mailer.DefaultLayout
	}
	return src, nil
}

// CompileTemplate prepares a saved template for rendering.
func (s *Service) CompileTemplate(ctx context.Context, t store.Template) (*mailer.Compiled, error) {
	src, err := s.TemplateSource(ctx, t)
	if err != nil {
		return nil, err
	}
	return mailer.Compile(src)
}

// CampaignSource is the message a campaign sends, before any recipient:
// its own body or its template's, with its preheader, in its layout.
func (s *Service) CampaignSource(ctx context.Context, x store.Campaign) (mailer.Source, error) {
	src := mailer.Source{Subject: x.Subject, Format: x.Format, Body: x.Body, Text: x.TextBody, Layout: mailer.DefaultLayout}
	if x.TemplateID != 0 {
		t, err := s.st.Template(ctx, x.TemplateID)
		if err != nil {
			return src, err
		}
		if src, err = s.TemplateSource(ctx, t); err != nil {
			return src, err
		}
		if x.Subject != "" {
			src.Subject = x.Subject
		}
	}
	src.Preheader = x.Preheader
	if x.LayoutID != 0 {
		l, err := s.st.Template(ctx, x.LayoutID)
		if err != nil {
			return src, err
		}
		src.Layout = l.Body
	}
	return src, nil
}

// SentContent is what a started campaign froze when it started;
// store.ErrNotFound when it never started.
func (s *Service) SentContent(ctx context.Context, id int64) (mailer.Content, error) {
	var content mailer.Content
	return content, sent(ctx, id, s.st.CampaignFrozen, &content)
}

// SentTracking is what a started campaign's messages track, read without
// the rest of SentContent; store.ErrNotFound for a draft.
func (s *Service) SentTracking(ctx context.Context, id int64) (mailer.Tracking, error) {
	var t mailer.Tracking
	return t, sent(ctx, id, s.st.CampaignFrozenTracking, &t)
}

// sent decodes into v what read returns of a campaign's frozen content.
func sent(ctx context.Context, id int64, read func(context.Context, int64) (string, error), v any) error {
	frozen, err := read(ctx, id)
	if err != nil {
		return err
	}
	if frozen == "" {
		return store.ErrNotFound
	}
	if err := json.Unmarshal([]byte(frozen), v); err != nil {
		return fmt.Errorf("campaign %d: frozen content: %w", id, err)
	}
	return nil
}

// checkCampaign resolves what a campaign will send, checked: its body from
// a template or its own, in its layout, compiled, with a sender, an
// audience (unless forTest: a test send needs none), a relay and the
// public URL its links need. Every problem comes back as a field error.
func (s *Service) checkCampaign(ctx context.Context, x store.Campaign, forTest bool) (mailer.Content, *mailer.Compiled, error) {
	errs := map[string]string{}
	g := s.general(ctx)
	content := mailer.Content{Name: x.Name, FromName: x.FromName, FromEmail: x.FromEmail, ReplyTo: x.ReplyTo}
	if content.FromEmail == "" {
		content.FromName, content.FromEmail = g.FromName, g.FromEmail
	}
	if content.FromEmail == "" {
		errs["from_email"] = "Give a from address, here or as the default sender in Settings → General."
	}
	if g.BaseURL == "" {
		errs["status"] = "Set the public base URL in Settings → General first: every message links back to it to unsubscribe."
	}
	if len(x.ListIDs) == 0 && x.SegmentID == 0 && !forTest {
		errs["list_ids"] = "Choose at least one list or a segment to send to."
	}
	if _, err := s.Relay(ctx, x.RelayID); err != nil {
		errs["relay_id"] = "No relay to send through: " + err.Error()
	}
	src, err := s.CampaignSource(ctx, x)
	if err != nil {
		return content, nil, err
	}
	if strings.TrimSpace(src.Subject) == "" {
		errs["subject"] = "Give the campaign a subject."
	}
	if strings.TrimSpace(src.Body) == "" {
		errs["body"] = "Write the email, or choose a template."
	}
	var compiled *mailer.Compiled
	if len(errs) == 0 {
		if compiled, err = mailer.Compile(src); err != nil {
			errs["body"] = err.Error()
		}
	}
	if len(errs) > 0 {
		return content, nil, &store.ValidationError{Fields: errs}
	}
	content.Source = src
	// The mailto of List-Unsubscribe, for mail programs that do not take
	// the one-click link: replies reach the sender, who can act on them.
	content.UnsubscribeMailto = content.FromEmail
	if content.ReplyTo != "" {
		content.UnsubscribeMailto = content.ReplyTo
	}
	content.Tracking = trackingOf(x.Tracking, g)
	if len(x.ListIDs) > 0 {
		if l, err := s.st.ListHead(ctx, x.ListIDs[0]); err == nil {
			content.ListName, content.ListID = l.Name, fmt.Sprintf("list-%d.%s", l.ID, publicHost(g.BaseURL))
		}
	}
	return content, compiled, nil
}

// RenderTemplate renders a template as it would go to a contact (0 for the
// sample one), with data for a transactional template: what the editor's
// preview and the API's preview show.
func (s *Service) RenderTemplate(ctx context.Context, t store.Template, contactID int64, data map[string]any) (mailer.Rendered, error) {
	compiled, err := s.CompileTemplate(ctx, t)
	if err != nil {
		return mailer.Rendered{}, &store.ValidationError{Fields: map[string]string{"body": err.Error()}}
	}
	d, err := s.RenderData(ctx, contactID, data, t.ID)
	if errors.Is(err, store.ErrNotFound) {
		return mailer.Rendered{}, &store.ValidationError{Fields: map[string]string{"contact_id": "No contact has this id."}}
	}
	if err != nil {
		return mailer.Rendered{}, err
	}
	r, err := compiled.Render(d)
	if err != nil {
		return r, &store.ValidationError{Fields: map[string]string{"body": "It does not render for this contact: " + mailer.RenderError(err)}}
	}
	return r, nil
}

// RenderSource renders a message's source for the sample contact, as a
// campaign's preview shows it.
func (s *Service) RenderSource(ctx context.Context, src mailer.Source, name string) (mailer.Rendered, error) {
	compiled, err := mailer.Compile(src)
	if err != nil {
		return mailer.Rendered{}, err
	}
	d, err := s.RenderData(ctx, 0, nil, 0)
	if err != nil {
		return mailer.Rendered{}, err
	}
	d.Campaign = mailer.CampaignData{Name: name}
	r, err := compiled.Render(d)
	if err != nil {
		return r, errors.New(mailer.RenderError(err))
	}
	return r, nil
}

// RenderSent renders a campaign as it was sent to a contact: its frozen
// content, with their own links. store.ErrNotFound means the campaign is
// gone or never started.
func (s *Service) RenderSent(ctx context.Context, campaignID int64, contact store.Contact) (mailer.Rendered, error) {
	content, err := s.SentContent(ctx, campaignID)
	if err != nil {
		return mailer.Rendered{}, err
	}
	compiled, err := mailer.Compile(content.Source)
	if err != nil {
		return mailer.Rendered{}, err
	}
	g := s.general(ctx)
	return compiled.Render(mailer.Data{
		Contact:  mailer.ContactData{Email: contact.Email, FirstName: contact.FirstName, LastName: contact.LastName, Attributes: contact.Attributes},
		Campaign: mailer.CampaignData{Name: content.Name},
		Org:      orgOf(g),
		Links:    s.linksAt(g.BaseURL).Campaign(contact.ID, campaignID),
	})
}
