package outbound

import (
	"context"
	"strings"

	"herald/mailer"
	"herald/store"
)

// Links make the signed URLs a message carries, under the public base URL
// of Settings → General. They never come from a request's Host header: a
// link in mail must lead to this Herald whoever asked for the mail.
type Links struct {
	box  *store.SecretBox
	base string
}

// Links returns the link maker for the current base URL.
func (s *Service) Links(ctx context.Context) Links {
	return s.linksAt(s.general(ctx).BaseURL)
}

func (s *Service) linksAt(base string) Links {
	return Links{box: s.st.Box(), base: strings.TrimRight(base, "/")}
}

// Base is the public base URL the links start with, without a trailing
// slash; "" when none is set.
func (l Links) Base() string { return l.base }

// Preferences is the signed link to a contact's preferences page.
func (l Links) Preferences(contactID int64) string {
	return l.base + "/p/" + l.box.SignToken(store.Token{Purpose: store.PurposePreferences, ContactID: contactID})
}

// Unsubscribe is the signed one-click unsubscribe link for a contact, for
// one list or, with listID 0, for all mail.
func (l Links) Unsubscribe(contactID, listID int64) string {
	return l.base + "/u/" + l.box.SignToken(store.Token{Purpose: store.PurposeUnsubscribe, ContactID: contactID, ListID: listID})
}

// WebView is the signed link to a message in the browser, for one
// contact; ref names what was sent, a template until a campaign sends it.
func (l Links) WebView(contactID, ref int64) string {
	return l.base + "/view/" + l.box.SignToken(store.Token{Purpose: store.PurposeView, ContactID: contactID, ListID: ref})
}

// campaignView is the signed link to a sent campaign in the browser.
func (l Links) campaignView(contactID, campaignID int64) string {
	return l.base + "/view/" + l.box.SignToken(store.Token{Purpose: store.PurposeCampaignView, ContactID: contactID, ListID: campaignID})
}

// Campaign returns a recipient's own links in a campaign: one-click
// unsubscribe from all mail, preferences, and the campaign in the browser.
func (l Links) Campaign(contactID, campaignID int64) mailer.Links {
	return mailer.Links{
		Unsubscribe: l.base + "/u/" + l.box.SignToken(store.Token{Purpose: store.PurposeUnsubscribe, ContactID: contactID, Campaign: campaignID}),
		Preferences: l.base + "/p/" + l.box.SignToken(store.Token{Purpose: store.PurposePreferences, ContactID: contactID, Campaign: campaignID}),
		WebView:     l.campaignView(contactID, campaignID),
	}
}

// Sample links go nowhere: a test send to other people must not carry a
// real contact's working unsubscribe or preferences links.
func (l Links) Sample() mailer.Links {
	return mailer.Links{Unsubscribe: l.base + "/u/test-send", Preferences: l.base + "/p/test-send", WebView: l.base + "/view/test-send"}
}

// RenderData builds what a template sees for a contact, with their signed
// links, or the sample data when contactID is 0. ref is what the web view
// link shows: the template, until campaigns send it.
func (s *Service) RenderData(ctx context.Context, contactID int64, data map[string]any, ref int64) (mailer.Data, error) {
	g := s.general(ctx)
	d := mailer.SampleData()
	d.Org = orgOf(g)
	if data != nil {
		d.Data = data
	}
	if contactID == 0 {
		return d, nil
	}
	// A real contact sees only real data: no sample order or campaign.
	d.Data, d.Campaign = data, mailer.CampaignData{}
	c, err := s.st.Contact(ctx, contactID)
	if err != nil {
		return d, err
	}
	links := s.linksAt(g.BaseURL)
	d.Contact = mailer.ContactData{Email: c.Email, FirstName: c.FirstName, LastName: c.LastName, Attributes: c.Attributes}
	d.Links = mailer.Links{Unsubscribe: links.Unsubscribe(c.ID, 0), Preferences: links.Preferences(c.ID), WebView: links.WebView(c.ID, ref)}
	return d, nil
}
