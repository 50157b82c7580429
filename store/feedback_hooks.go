package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// FeedbackHooks is Settings → Bounces & webhooks: what Postmark, SendGrid
// and Mailgun need to post their events to Herald. Each provider's URL,
// /hooks/<provider>/<token>, carries its own unguessable token; SendGrid's
// events are checked with the public key it shows, Mailgun's with its
// signing key. The whole is stored sealed, like relay passwords.
type FeedbackHooks struct {
	PostmarkToken string `json:"postmark_token"`
	SendGridToken string `json:"sendgrid_token"`
	MailgunToken  string `json:"mailgun_token"`
	// SendGridKey is the verification key of SendGrid's Signed Event
	// Webhook, base64 as SendGrid shows it; "" refuses every SendGrid post.
	SendGridKey string `json:"sendgrid_key"`
	// MailgunKey is Mailgun's HTTP webhook signing key; "" refuses every
	// Mailgun post.
	MailgunKey string `json:"mailgun_key"`
	// Mailbox is the POP3 or IMAP mailbox Herald reads bounces from, when
	// the return path is an ordinary mailbox elsewhere; off without a host.
	Mailbox Mailbox `json:"mailbox"`
}

// Mailbox is a POP3 or IMAP mailbox: its protocol ("pop3" or "imap"), its
// server, how the connection is secured ("tls" from the first byte,
// "starttls", or "none" to this machine only), the account and, for IMAP,
// the folder.
type Mailbox struct {
	Protocol string `json:"protocol"`
	Host     string `json:"host"`
	Port     int    `json:"port"`
	TLS      string `json:"tls"`
	Username string `json:"username"`
	Password string `json:"password"`
	Folder   string `json:"folder"`
}

// MailboxInput changes the mailbox; nil fields keep their value.
type MailboxInput struct {
	Protocol *string `json:"protocol"`
	Host     *string `json:"host"`
	Port     *int    `json:"port"`
	TLS      *string `json:"tls"`
	Username *string `json:"username"`
	Password *string `json:"password"`
	Folder   *string `json:"folder"`
}

// apply sets m's fields from in, trimmed.
func (in MailboxInput) apply(m *Mailbox) {
	for dst, v := range map[*string]*string{&m.Protocol: in.Protocol, &m.Host: in.Host, &m.TLS: in.TLS, &m.Username: in.Username, &m.Folder: in.Folder} {
		if v != nil {
			*dst = strings.TrimSpace(*v)
		}
	}
	m.Protocol, m.TLS = strings.ToLower(m.Protocol), strings.ToLower(m.TLS)
	if in.Password != nil {
		m.Password = *in.Password
	}
	if in.Port != nil {
		m.Port = *in.Port
	}
	m.defaults()
}

// defaults fills in what a mailbox leaves out, as saved before a field
// existed: TLS, POP3, and for IMAP the INBOX.
func (m *Mailbox) defaults() {
	if m.TLS == "" {
		m.TLS = "tls"
	}
	if m.Protocol == "" {
		m.Protocol = "pop3"
	}
	if m.Protocol == "imap" && m.Folder == "" {
		m.Folder = "INBOX"
	}
}

// Validate reports what is wrong with the mailbox, keyed by field name.
func (m Mailbox) Validate() map[string]string {
	errs := map[string]string{}
	if m.Host == "" {
		return errs
	}
	switch m.Protocol {
	case "pop3", "":
	case "imap":
		if len(m.Folder) > 200 || strings.ContainsFunc(m.Folder, func(r rune) bool { return r < 0x20 || r > 0x7e || r == '&' }) {
			errs["mailbox_folder"] = "Give the folder's name in plain ASCII without “&”, like INBOX or Bounces: rename the folder if need be."
		}
	default:
		errs["mailbox_protocol"] = "Choose POP3 or IMAP."
	}
	if msg := CheckLine(m.Host, 253); msg != "" || strings.ContainsAny(m.Host, " /:@") {
		errs["mailbox_host"] = "Give the mail server's host name, like pop.example.com or imap.example.com."
	}
	if m.Port < 0 || m.Port > 65535 {
		errs["mailbox_port"] = "Use a port from 1 to 65535, or 0 for the usual one (POP3: 995 with TLS, 110 otherwise; IMAP: 993 and 143)."
	}
	switch m.TLS {
	case "tls", "starttls":
	case "none":
		if m.Host != "localhost" && m.Host != "127.0.0.1" && m.Host != "::1" {
			errs["mailbox_tls"] = "Without TLS the password would cross the network in plain text: choose TLS or STARTTLS."
		}
	default:
		errs["mailbox_tls"] = "Choose TLS, STARTTLS or none."
	}
	if m.Username == "" || hasControl(m.Username) || hasControl(m.Password) {
		errs["mailbox_username"] = "Give the mailbox's username and password."
	}
	return errs
}

const feedbackHooksKey = "feedback_hooks"

// FeedbackHooks returns the webhook settings, making each provider's
// token the first time they are read.
func (s *Store) FeedbackHooks(ctx context.Context) (FeedbackHooks, error) {
	h, err := s.feedbackHooks(ctx, s.r)
	if err != nil || (h.PostmarkToken != "" && h.SendGridToken != "" && h.MailgunToken != "") {
		return h, err
	}
	err = s.Tx(ctx, func(tx *sql.Tx) error {
		if h, err = s.feedbackHooks(ctx, tx); err != nil {
			return err
		}
		for _, t := range []*string{&h.PostmarkToken, &h.SendGridToken, &h.MailgunToken} {
			if *t == "" {
				*t = randomToken(16)
			}
		}
		return s.putFeedbackHooks(ctx, tx, h)
	})
	return h, err
}

func (s *Store) feedbackHooks(ctx context.Context, q queryer) (FeedbackHooks, error) {
	var h FeedbackHooks
	v, err := s.setting(ctx, q, feedbackHooksKey)
	if errors.Is(err, ErrNotFound) {
		h.Mailbox.defaults()
		return h, nil
	}
	if err != nil {
		return h, err
	}
	sealed, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return h, fmt.Errorf("store: webhook settings: %w", err)
	}
	plain, err := s.box.Open(sealed)
	if err != nil {
		return h, fmt.Errorf("store: webhook settings: %w", ErrSecretUnreadable)
	}
	if err := json.Unmarshal([]byte(plain), &h); err != nil {
		return h, fmt.Errorf("store: webhook settings: %w", err)
	}
	h.Mailbox.defaults()
	return h, nil
}

func (s *Store) putFeedbackHooks(ctx context.Context, tx *sql.Tx, h FeedbackHooks) error {
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	sealed, err := s.box.Seal(string(b))
	if err != nil {
		return err
	}
	return putSetting(ctx, tx, feedbackHooksKey, base64.StdEncoding.EncodeToString(sealed))
}

// FeedbackKeys are the keys an owner pastes from a provider; nil keeps
// the saved one, "" removes it.
type FeedbackKeys struct {
	SendGridKey *string `json:"sendgrid_key"`
	MailgunKey  *string `json:"mailgun_key"`
}

// Validate reports what is wrong with the keys, keyed by field name.
func (k FeedbackKeys) Validate() map[string]string {
	errs := map[string]string{}
	if k.SendGridKey != nil && len(*k.SendGridKey) > 2000 {
		errs["sendgrid_key"] = "Paste the verification key SendGrid shows under Mail Settings → Event Webhook → Signature verification."
	}
	if k.MailgunKey != nil && (len(*k.MailgunKey) > 200 || hasControl(*k.MailgunKey)) {
		errs["mailgun_key"] = "Paste the HTTP webhook signing key Mailgun shows under Sending → Webhooks."
	}
	return errs
}

// FeedbackSettings change Settings → Bounces & webhooks: the bounce
// domain and soft bounce limit, kept in General, and the keys pasted from
// providers. Nil fields keep their value.
type FeedbackSettings struct {
	BounceDomain    *string `json:"bounce_domain"`
	SoftBounceLimit *int    `json:"soft_bounce_limit"`
	FeedbackKeys
	Mailbox *MailboxInput `json:"mailbox"`
}

// SaveFeedbackSettings validates and stores the bounce and webhook
// settings in one transaction.
func (s *Store) SaveFeedbackSettings(ctx context.Context, in FeedbackSettings) (General, FeedbackHooks, error) {
	g, err := s.General(ctx)
	if err != nil {
		return g, FeedbackHooks{}, err
	}
	h, err := s.FeedbackHooks(ctx)
	if err != nil {
		return g, h, err
	}
	if in.BounceDomain != nil {
		g.BounceDomain = *in.BounceDomain
	}
	if in.SoftBounceLimit != nil {
		g.SoftBounceLimit = *in.SoftBounceLimit
	}
	if in.Mailbox != nil {
		in.Mailbox.apply(&h.Mailbox)
	}
	g.Normalize()
	errs := g.Validate()
	for k, v := range in.FeedbackKeys.Validate() {
		errs[k] = v
	}
	for k, v := range h.Mailbox.Validate() {
		errs[k] = v
	}
	if len(errs) > 0 {
		return g, h, &ValidationError{Fields: errs}
	}
	if in.SendGridKey != nil {
		h.SendGridKey = strings.TrimSpace(*in.SendGridKey)
	}
	if in.MailgunKey != nil {
		h.MailgunKey = strings.TrimSpace(*in.MailgunKey)
	}
	b, err := json.Marshal(g)
	if err != nil {
		return g, h, err
	}
	return g, h, s.Tx(ctx, func(tx *sql.Tx) error {
		if err := putSetting(ctx, tx, generalKey, string(b)); err != nil {
			return err
		}
		return s.putFeedbackHooks(ctx, tx, h)
	})
}
