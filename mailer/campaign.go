package mailer

import (
	"fmt"
	"net/mail"
	"strings"
	"time"

	"herald/mailer/track"
)

// Content is what a campaign sends, frozen when it starts sending so later
// edits to its template, layout or settings change nothing already going
// out. It is stored as JSON.
type Content struct {
	Name      string `json:"name"`
	Source    Source `json:"source"`
	FromName  string `json:"from_name"`
	FromEmail string `json:"from_email"`
	ReplyTo   string `json:"reply_to,omitempty"`
	// ListName and ListID make the List-Id header.
	ListName string `json:"list_name,omitempty"`
	ListID   string `json:"list_id,omitempty"`
	// UnsubscribeMailto is the address for List-Unsubscribe's mailto, if any.
	UnsubscribeMailto string `json:"unsubscribe_mailto,omitempty"`
	// Tracking is what is tracked: opens, clicks, and the UTM parameters
	// added to each link. Content frozen before tracking existed has none.
	Tracking Tracking `json:"tracking"`
}

// Tracking says what a campaign's messages track.
type Tracking struct {
	Opens   bool      `json:"opens,omitempty"`
	Clicks  bool      `json:"clicks,omitempty"`
	Private bool      `json:"private,omitempty"`
	UTM     track.UTM `json:"utm"`
}

// Recipient is who one message of a campaign goes to.
type Recipient struct {
	// SendID names the outbox row; the Message-ID is made from it, so a
	// message sent twice after a crash is recognisably the same message.
	SendID     int64
	Contact    ContactData
	Links      Links
	Org        OrgData
	Date       time.Time
	FeedbackID string
	// UnsubscribeMailto replaces the content's List-Unsubscribe mailto for
	// this message when set.
	UnsubscribeMailto string
	// Track rewrites links and adds the open pixel; nil tracks nothing.
	Track *track.Message
	// MessageTag signs the Message-ID (track.Signer.MessageTag), so a
	// bounce that quotes it can be trusted.
	MessageTag string
}

// Build renders a campaign's message for one recipient and appends it,
// encoded, to dst, which can be the last message's buffer.
func (c *Content) Build(dst []byte, compiled *Compiled, campaignID int64, r Recipient) ([]byte, error) {
	out, err := compiled.Render(Data{Contact: r.Contact, Campaign: CampaignData{Name: c.Name}, Org: r.Org, Links: r.Links})
	if err != nil {
		return nil, fmt.Errorf("render: %s", RenderError(err))
	}
	// The HTML first: links it keeps out of tracking stay out in the text.
	html := r.Track.HTML(out.HTML)
	m := Message{
		From:              mail.Address{Name: c.FromName, Address: c.FromEmail},
		To:                mail.Address{Name: strings.TrimSpace(r.Contact.FirstName + " " + r.Contact.LastName), Address: r.Contact.Email},
		Subject:           out.Subject,
		Text:              r.Track.Text(out.Text),
		HTML:              html,
		Date:              r.Date,
		MessageID:         campaignMessageID(campaignID, r.SendID, r.MessageTag, domainOf(c.FromEmail)),
		UnsubscribeURL:    r.Links.Unsubscribe,
		UnsubscribeMailto: c.unsubscribeMailto(r),
		ListName:          c.ListName,
		ListID:            c.ListID,
		FeedbackID:        r.FeedbackID,
	}
	if c.ReplyTo != "" {
		m.ReplyTo = []mail.Address{{Address: c.ReplyTo}}
	}
	return m.AppendTo(dst), nil
}

// campaignMessageID is c<campaign>.s<send>.<tag>@domain: stable, so a
// message sent twice after a crash is recognisably the same one.
func campaignMessageID(campaign, send int64, tag, domain string) string {
	if tag == "" {
		return fmt.Sprintf("c%d.s%d@%s", campaign, send, domain)
	}
	return fmt.Sprintf("c%d.s%d.%s@%s", campaign, send, tag, domain)
}

func domainOf(email string) string {
	if i := strings.LastIndexByte(email, '@'); i >= 0 && i < len(email)-1 {
		return email[i+1:]
	}
	return "herald.local"
}

// unsubscribeMailto is the List-Unsubscribe mailto of r's message.
func (c *Content) unsubscribeMailto(r Recipient) string {
	if r.UnsubscribeMailto != "" {
		return r.UnsubscribeMailto
	}
	return c.UnsubscribeMailto
}
