package web

import (
	"context"
	"fmt"
	"strings"
	"time"

	"herald/mailer"
	"herald/store"
)

// smtpRelay says how to reach a stored relay with its password.
func (s *Server) smtpRelay(r store.Relay, password string, timeout time.Duration) mailer.SMTPRelay {
	return mailer.SMTPRelay{Host: r.Host, Port: r.Port, TLS: r.TLS, Username: r.Username, Password: password,
		HelloName: helloName(s.general().BaseURL), TLSConfig: s.relayTLS, Timeout: timeout}
}

// SMTPRelay returns how to reach relay id, and how many connections it
// allows, for the dispatcher; id 0 means the first enabled relay.
func (s *Server) SMTPRelay(ctx context.Context, id int64) (mailer.SMTPRelay, int, error) {
	var r store.Relay
	var err error
	if id != 0 {
		r, err = s.store.Relay(ctx, id)
	} else {
		var rs []store.Relay
		rs, err = s.store.Relays(ctx)
		for _, x := range rs {
			if x.Enabled {
				r = x
				break
			}
		}
		if err == nil && r.ID == 0 {
			err = fmt.Errorf("no relay is enabled; add one in Settings → Sending relays")
		}
	}
	if err != nil {
		return mailer.SMTPRelay{}, 0, err
	}
	password, err := s.store.RelayPassword(ctx, r.ID)
	if err != nil {
		return mailer.SMTPRelay{}, 0, err
	}
	return s.smtpRelay(r, password, 0), r.MaxConnections, nil
}

// CampaignLinks returns a recipient's signed links in a campaign: one-click
// unsubscribe from all mail, preferences, and the campaign in the browser.
func (s *Server) CampaignLinks(contactID, campaignID int64) mailer.Links {
	base := strings.TrimRight(s.general().BaseURL, "/")
	return mailer.Links{
		Unsubscribe: s.UnsubscribeURL(base, contactID, 0),
		Preferences: s.PreferencesURL(base, contactID),
		WebView:     base + "/view/" + s.store.Box().SignToken(store.Token{Purpose: store.PurposeCampaignView, ContactID: contactID, ListID: campaignID}),
	}
}

// Org is the sending organisation, from Settings → General.
func (s *Server) Org() mailer.OrgData {
	g := s.general()
	return mailer.OrgData{Name: g.OrgName, Address: g.PostalAddress, URL: g.BaseURL}
}
