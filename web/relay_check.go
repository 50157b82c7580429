package web

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"herald/mailer"
	"herald/mailer/ses"
	"herald/store"
)

// testTimeout bounds a whole test send, connection included.
const testTimeout = 30 * time.Second

// testOutcome is what a test send did; for SES, with the account's quota or
// why it could not be read.
type testOutcome struct {
	From     string
	To       string
	Reply    string
	Err      error
	Quota    *ses.Quota
	QuotaErr error
}

// sendTest sends a short test email through relay id to the address to.
func (s *Server) sendTest(ctx context.Context, id int64, to string) (testOutcome, error) {
	to = strings.TrimSpace(to)
	if msg := store.CheckEmail(to); msg != "" {
		return testOutcome{}, &store.ValidationError{Fields: map[string]string{"to": msg}}
	}
	r, err := s.store.Relay(ctx, id)
	if err != nil {
		return testOutcome{}, err
	}
	g := s.general()
	from := s.testFrom(r)
	msg := mailer.Message{
		From:    mail.Address{Name: g.FromName, Address: from},
		To:      mail.Address{Address: to},
		Subject: "Herald test email via " + r.Name,
		Text: fmt.Sprintf("This is a test email from Herald%s.\n\nRelay: %s (%s)\nSent: %s\n\nIf you can read this, the relay works.\n",
			orgSuffix(g.OrgName), r.Name, relayWhere(r), time.Now().UTC().Format(time.RFC1123)),
	}
	ctx, cancel := context.WithTimeout(ctx, testTimeout)
	defer cancel()
	res, err := s.sendOne(ctx, r, from, to, msg.Bytes())
	if errors.Is(err, store.ErrSecretUnreadable) {
		// A secret that cannot be read is the caller's to fix, not the relay's.
		return testOutcome{}, err
	}
	s.log.Info("relay test", "relay", r.Name, "to", to, "reply", res.Reply, "err", err)
	out := testOutcome{From: from, To: to, Reply: res.Reply, Err: err}
	if r.Kind == store.RelaySES {
		out.Quota, out.QuotaErr = s.sesQuota(ctx, r)
	}
	return out, nil
}

// sesQuota reads what an SES relay's account may send.
func (s *Server) sesQuota(ctx context.Context, r store.Relay) (*ses.Quota, error) {
	t, err := s.OpenRelay(ctx, r)
	if err != nil {
		return nil, err
	}
	defer t.Close()
	c, ok := t.(*ses.Client)
	if !ok {
		return nil, errors.New("not an SES relay")
	}
	q, err := c.Quota(ctx)
	if err != nil {
		return nil, err
	}
	return &q, nil
}

// relayWhere says where a relay sends, for people.
func relayWhere(r store.Relay) string {
	if r.Kind == store.RelaySES {
		return "Amazon SES, " + r.Region
	}
	return r.Addr() + ", " + r.TLS
}

// testFrom is the sender of a test email: the default from address, else the
// relay's username when it is an address, else a placeholder on this host.
func (s *Server) testFrom(r store.Relay) string {
	if g := s.general(); g.FromEmail != "" {
		return g.FromEmail
	}
	if store.CheckEmail(r.Username) == "" {
		return r.Username
	}
	return "herald@" + helloName(s.general().BaseURL)
}

func helloName(baseURL string) string {
	if _, rest, ok := strings.Cut(baseURL, "://"); ok {
		host, _, _ := strings.Cut(rest, "/")
		if h, _, found := strings.Cut(host, ":"); found {
			host = h
		}
		if host != "" {
			return host
		}
	}
	return "localhost"
}

func orgSuffix(org string) string {
	if org == "" {
		return ""
	}
	return " for " + org
}

// failureDetail explains a failed send in a sentence.
func failureDetail(err error) string {
	var se *mailer.SendError
	if !errors.As(err, &se) {
		return err.Error()
	}
	switch se.Stage {
	case "connect":
		return "Herald could not talk to the server: " + se.Err.Error() + ". Check the host, port and TLS mode."
	case "tls":
		return "The TLS handshake failed: " + se.Err.Error() + ". Check the TLS mode and port."
	case "auth":
		return "The server refused the login: " + se.Err.Error()
	case "ses":
		if se.Code == 0 {
			return "Herald could not reach SES: " + se.Err.Error() + ". Check the region, the endpoint, the keys and this server's network."
		}
		return "SES refused the message: " + se.Err.Error()
	}
	return "The server refused the message at " + strings.ToUpper(se.Stage) + ": " + se.Err.Error()
}
