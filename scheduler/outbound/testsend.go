package outbound

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

// Test sends go out at once, not through a queue: the person who pressed
// the button waits for the relay's answer.

// testTimeout bounds a whole test send, connection included.
const testTimeout = 30 * time.Second

// MaxTestRecipients caps the addresses of one test send.
const MaxTestRecipients = 5

// TestResult is how a test send to one address went.
type TestResult struct {
	Email     string
	Delivered bool
	// Reply is the relay's answer; Detail explains a failure in a sentence.
	Reply  string
	Detail string
}

// RelayTest is what a relay's test email did; for SES, with the account's
// quota or why it could not be read.
type RelayTest struct {
	From     string
	To       string
	Reply    string
	Err      error
	Quota    *ses.Quota
	QuotaErr error
}

// TestRelay sends a short test email through relay id to the address to.
// A relay that refuses is the result, not an error; an error means the
// test could not run.
func (s *Service) TestRelay(ctx context.Context, id int64, to string) (RelayTest, error) {
	if msg := store.CheckEmail(to); msg != "" {
		return RelayTest{}, &store.ValidationError{Fields: map[string]string{"to": msg}}
	}
	to = store.NormalizeEmail(to)
	r, err := s.st.Relay(ctx, id)
	if err != nil {
		return RelayTest{}, err
	}
	g := s.general(ctx)
	from := systemFrom(g, r)
	msg := mailer.Message{
		From:    mail.Address{Name: g.FromName, Address: from},
		To:      mail.Address{Address: to},
		Subject: "Herald test email via " + r.Name,
		Text: fmt.Sprintf("This is a test email from Herald%s.\n\nRelay: %s (%s)\nSent: %s\n\nIf you can read this, the relay works.\n",
			orgSuffix(g.OrgName), r.Name, relayWhere(r), s.now().UTC().Format(time.RFC1123)),
	}
	ctx, cancel := context.WithTimeout(ctx, testTimeout)
	defer cancel()
	res, err := s.sendNow(ctx, r, from, to, msg.Bytes())
	if errors.Is(err, store.ErrSecretUnreadable) {
		// A secret that cannot be read is the caller's to fix, not the relay's.
		return RelayTest{}, err
	}
	s.log.Info("relay test", "relay", r.Name, "to", to, "reply", res.Reply, "err", err)
	out := RelayTest{From: from, To: to, Reply: res.Reply, Err: err}
	if r.Kind == store.RelaySES {
		out.Quota, out.QuotaErr = s.sesQuota(ctx, r)
	}
	return out, nil
}

// sesQuota reads what an SES relay's account may send.
func (s *Service) sesQuota(ctx context.Context, r store.Relay) (*ses.Quota, error) {
	t, err := s.open(ctx, r)
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

func orgSuffix(org string) string {
	if org == "" {
		return ""
	}
	return " for " + org
}

// testAddresses checks the addresses of a test send, one to
// MaxTestRecipients of them, and returns them as mail goes to them: an
// international domain in its ASCII form.
func testAddresses(emails []string) ([]string, error) {
	if len(emails) == 0 || len(emails) > MaxTestRecipients {
		return nil, &store.ValidationError{Fields: map[string]string{"emails": fmt.Sprintf("Enter 1 to %d addresses.", MaxTestRecipients)}}
	}
	out := make([]string, len(emails))
	for i, e := range emails {
		if msg := store.CheckEmail(e); msg != "" {
			return nil, &store.ValidationError{Fields: map[string]string{"emails": e + ": " + msg}}
		}
		out[i] = store.NormalizeEmail(e)
	}
	return out, nil
}

// testData is what a test send renders: a chosen contact's details, or
// sample data, with links that go nowhere.
func (s *Service) testData(ctx context.Context, contactID, ref int64) (mailer.Data, error) {
	d, err := s.RenderData(ctx, contactID, nil, ref)
	if err != nil {
		return d, &store.ValidationError{Fields: map[string]string{"contact_id": fmt.Sprintf("There is no contact %d.", contactID)}}
	}
	d.Links = s.Links(ctx).Sample()
	return d, nil
}

// TestCampaign sends the campaign as it would go out, rendered for a
// chosen contact or sample data, to each address: subject marked [TEST],
// sample links that unsubscribe nobody, nothing recorded.
func (s *Service) TestCampaign(ctx context.Context, x store.Campaign, emails []string, contactID int64) ([]TestResult, error) {
	emails, err := testAddresses(emails)
	if err != nil {
		return nil, err
	}
	content, compiled, err := s.checkCampaign(ctx, x, true)
	if err != nil {
		return nil, err
	}
	d, err := s.testData(ctx, contactID, x.ID)
	if err != nil {
		return nil, err
	}
	d.Campaign = mailer.CampaignData{Name: x.Name}
	r, err := compiled.Render(d)
	if err != nil {
		return nil, &store.ValidationError{Fields: map[string]string{"body": "It does not render for this contact: " + mailer.RenderError(err)}}
	}
	relay, err := s.Relay(ctx, x.RelayID)
	if err != nil {
		return nil, &store.ValidationError{Fields: map[string]string{"relay_id": err.Error()}}
	}
	var out []TestResult
	for _, addr := range emails {
		m := mailer.Message{From: mail.Address{Name: content.FromName, Address: content.FromEmail}, To: mail.Address{Address: addr},
			Subject: "[TEST] " + r.Subject, Text: r.Text, HTML: r.HTML, ListName: content.ListName, ListID: content.ListID,
			UnsubscribeURL: d.Links.Unsubscribe}
		if content.ReplyTo != "" {
			m.ReplyTo = []mail.Address{{Address: content.ReplyTo}}
		}
		out = append(out, s.testOne(ctx, relay, content.FromEmail, addr, m.Bytes()))
	}
	return out, nil
}

// TestTemplate sends a saved template to a few addresses through relay
// relayID, rendered for a chosen contact or sample data, marked [TEST].
func (s *Service) TestTemplate(ctx context.Context, t store.Template, emails []string, relayID, contactID int64) ([]TestResult, error) {
	emails, err := testAddresses(emails)
	if err != nil {
		return nil, err
	}
	relay, err := s.st.Relay(ctx, relayID)
	if err != nil {
		return nil, &store.ValidationError{Fields: map[string]string{"relay_id": "Choose a sending relay; add one in Settings → Sending relays."}}
	}
	compiled, err := s.CompileTemplate(ctx, t)
	if err != nil {
		return nil, &store.ValidationError{Fields: map[string]string{"body": err.Error()}}
	}
	d, err := s.testData(ctx, contactID, t.ID)
	if err != nil {
		return nil, err
	}
	r, err := compiled.Render(d)
	if err != nil {
		return nil, &store.ValidationError{Fields: map[string]string{"body": "It does not render for this contact: " + mailer.RenderError(err)}}
	}
	g := s.general(ctx)
	from := systemFrom(g, relay)
	var out []TestResult
	for _, addr := range emails {
		m := mailer.Message{From: mail.Address{Name: g.FromName, Address: from}, To: mail.Address{Address: addr},
			Subject: "[TEST] " + r.Subject, Text: r.Text, HTML: r.HTML}
		out = append(out, s.testOne(ctx, relay, from, addr, m.Bytes()))
	}
	return out, nil
}

// testOne sends one test message and says how it went.
func (s *Service) testOne(ctx context.Context, r store.Relay, from, to string, msg []byte) TestResult {
	ctx, cancel := context.WithTimeout(ctx, testTimeout)
	defer cancel()
	res, err := s.sendNow(ctx, r, from, to, msg)
	out := TestResult{Email: to, Delivered: err == nil, Reply: res.Reply}
	if err != nil {
		out.Detail = FailureDetail(err)
	}
	return out
}

// FailureDetail explains a failed send in a sentence.
func FailureDetail(err error) string {
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
	if se.Code == 0 {
		return "The connection to the server broke off, or the server went quiet, before it answered " + strings.ToUpper(se.Stage) + " (" + se.Err.Error() + ")."
	}
	return "The server refused the message at " + strings.ToUpper(se.Stage) + ": " + se.Err.Error()
}
