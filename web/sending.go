package web

import (
	"context"
	"errors"
	"strings"

	"herald/mailer"
	"herald/mailer/ses"
	"herald/store"
)

// smtpRelay says how to reach a stored SMTP relay with its password.
func (s *Server) smtpRelay(r store.Relay, password string) mailer.SMTPRelay {
	return mailer.SMTPRelay{Host: r.Host, Port: r.Port, TLS: r.TLS, Username: r.Username, Password: password,
		HelloName: helloName(s.general().BaseURL), TLSConfig: s.relayTLS}
}

// OpenRelay opens a way out through a stored relay: a pool of up to its
// maximum of SMTP connections, or a client of its SES account.
func (s *Server) OpenRelay(ctx context.Context, r store.Relay) (mailer.Transport, error) {
	secret, err := s.store.RelayPassword(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	if r.Kind == store.RelaySES {
		return ses.New(ctx, ses.Config{Region: r.Region, AccessKeyID: r.Username, SecretAccessKey: secret,
			ConfigurationSet: r.ConfigurationSet, Endpoint: r.Endpoint})
	}
	return mailer.NewPool(s.smtpRelay(r, secret), r.MaxConnections), nil
}

// sendOne signs one message with the DKIM key of from's domain, when there
// is one, delivers it through a relay and closes what it opened.
func (s *Server) sendOne(ctx context.Context, r store.Relay, from, to string, msg []byte) (mailer.Result, error) {
	msg, err := s.SignMessage(ctx, from, msg)
	if err != nil {
		return mailer.Result{}, err
	}
	t, err := s.OpenRelay(ctx, r)
	if err != nil {
		return mailer.Result{}, err
	}
	defer t.Close()
	return t.Deliver(ctx, from, to, msg)
}

// pickRelay returns relay id, or for 0 the first enabled relay.
func (s *Server) pickRelay(ctx context.Context, id int64) (store.Relay, error) {
	if id != 0 {
		return s.store.Relay(ctx, id)
	}
	r, err := s.store.DefaultRelay(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return r, errors.New("no relay is enabled; add one in Settings → Sending relays")
	}
	return r, err
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
