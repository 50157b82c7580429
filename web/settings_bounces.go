package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v5"

	"herald/store"
	"herald/templates"
)

// Settings → Bounces & webhooks, and its API.

func (s *Server) bouncesForm(c *echo.Context) error {
	h, err := s.store.FeedbackHooks(c.Request().Context())
	if err != nil {
		return err
	}
	g := s.general()
	m := h.Mailbox
	f := templates.BouncesForm{BounceDomain: g.BounceDomain, SoftBounceLimit: strconv.Itoa(g.SoftBounceLimit),
		MailboxProtocol: m.Protocol, MailboxHost: m.Host, MailboxTLS: m.TLS, MailboxUsername: m.Username, MailboxFolder: m.Folder}
	if m.Port != 0 {
		f.MailboxPort = strconv.Itoa(m.Port)
	}
	return s.render(c, http.StatusOK, templates.BouncesPage(s.bouncesProps(c, g, h, f, nil)))
}

func (s *Server) bouncesSave(c *echo.Context) error {
	f := templates.BouncesForm{BounceDomain: c.FormValue("bounce_domain"), SoftBounceLimit: c.FormValue("soft_bounce_limit"),
		MailboxProtocol: c.FormValue("mailbox_protocol"), MailboxHost: c.FormValue("mailbox_host"), MailboxPort: c.FormValue("mailbox_port"),
		MailboxTLS: c.FormValue("mailbox_tls"), MailboxUsername: c.FormValue("mailbox_username"), MailboxFolder: c.FormValue("mailbox_folder")}
	in := store.FeedbackSettings{BounceDomain: &f.BounceDomain, SoftBounceLimit: typedInt(f.SoftBounceLimit),
		Mailbox: &store.MailboxInput{Protocol: &f.MailboxProtocol, Host: &f.MailboxHost, Port: typedInt(f.MailboxPort), TLS: &f.MailboxTLS,
			Username: &f.MailboxUsername, Folder: &f.MailboxFolder}}
	// An empty secret field keeps the saved secret: they are never shown again.
	for dst, field := range map[**string]string{&in.SendGridKey: "sendgrid_key", &in.MailgunKey: "mailgun_key", &in.Mailbox.Password: "mailbox_password"} {
		if v := strings.TrimSpace(c.FormValue(field)); v != "" {
			*dst = &v
		}
	}
	g, h, err := s.store.SaveFeedbackSettings(c.Request().Context(), in)
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		return s.render(c, http.StatusUnprocessableEntity, templates.BouncesPage(s.bouncesProps(c, g, h, f, ve.Fields)))
	}
	if err != nil {
		return err
	}
	s.generalCache.Store(&g)
	s.flash(c, "success", "Settings saved.")
	return redirect(c, "/settings/bounces")
}

// typedInt is a number typed in a form: 0 when empty, -1 (which
// validation refuses with its message) when not a number.
func typedInt(v string) *int {
	n := 0
	if v = strings.TrimSpace(v); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			n = -1
		}
	}
	return &n
}

func (s *Server) bouncesProps(c *echo.Context, g store.General, h store.FeedbackHooks, f templates.BouncesForm, errs map[string]string) templates.BouncesProps {
	fs := s.feedbackSettingsOf(g, h)
	return templates.BouncesProps{Shell: s.shell(c, "settings", "Bounces & webhooks"), Form: f, Errors: errs,
		SendGridKeySet: fs.SendGridKeySet, MailgunKeySet: fs.MailgunKeySet, MailboxPasswordSet: h.Mailbox.Password != "", PostmarkURL: fs.PostmarkURL, SendGridURL: fs.SendGridURL, MailgunURL: fs.MailgunURL}
}

// feedbackSettings is what the API shows of Settings → Bounces & webhooks:
// the webhook addresses, and whether each key is saved, never the keys.
type feedbackSettings struct {
	BounceDomain    string `json:"bounce_domain"`
	SoftBounceLimit int    `json:"soft_bounce_limit"`
	PostmarkURL     string `json:"postmark_url"`
	SendGridURL     string `json:"sendgrid_url"`
	MailgunURL      string `json:"mailgun_url"`
	SendGridKeySet  bool   `json:"sendgrid_key_set"`
	MailgunKeySet   bool   `json:"mailgun_key_set"`
	// SESURLs are the SES relays' notification addresses, for their SNS
	// subscriptions.
	SESURLs []sesURL `json:"ses_urls"`
	Mailbox struct {
		Protocol    string `json:"protocol"`
		Host        string `json:"host"`
		Port        int    `json:"port"`
		TLS         string `json:"tls"`
		Username    string `json:"username"`
		PasswordSet bool   `json:"password_set"`
		Folder      string `json:"folder"`
	} `json:"mailbox"`
}

// sesURL is an SES relay's notification address.
type sesURL struct {
	RelayID int64  `json:"relay_id"`
	Name    string `json:"name"`
	URL     string `json:"url"`
}

func (s *Server) feedbackSettingsOf(g store.General, h store.FeedbackHooks) feedbackSettings {
	fs := feedbackSettings{BounceDomain: g.BounceDomain, SoftBounceLimit: g.SoftBounceLimit,
		PostmarkURL: s.hookURL("postmark", h.PostmarkToken), SendGridURL: s.hookURL("sendgrid", h.SendGridToken), MailgunURL: s.hookURL("mailgun", h.MailgunToken),
		SendGridKeySet: h.SendGridKey != "", MailgunKeySet: h.MailgunKey != ""}
	m := h.Mailbox
	fs.Mailbox.Protocol, fs.Mailbox.Host, fs.Mailbox.Port, fs.Mailbox.TLS = m.Protocol, m.Host, m.Port, m.TLS
	fs.Mailbox.Username, fs.Mailbox.PasswordSet, fs.Mailbox.Folder = m.Username, m.Password != "", m.Folder
	return fs
}

// apiFeedbackSettingsGet shows the settings, to an admin key as every
// settings route: the webhook addresses carry secrets.
func (s *Server) apiFeedbackSettingsGet(c *echo.Context) error {
	h, err := s.store.FeedbackHooks(c.Request().Context())
	if err != nil {
		return err
	}
	return s.feedbackSettingsOut(c, s.general(), h)
}

// feedbackSettingsOut answers with the settings and each SES relay's
// notification address.
func (s *Server) feedbackSettingsOut(c *echo.Context, g store.General, h store.FeedbackHooks) error {
	fs := s.feedbackSettingsOf(g, h)
	relays, err := s.store.Relays(c.Request().Context())
	if err != nil {
		return err
	}
	fs.SESURLs = []sesURL{}
	for _, r := range relays {
		if r.Kind == store.RelaySES {
			fs.SESURLs = append(fs.SESURLs, sesURL{RelayID: r.ID, Name: r.Name, URL: s.hookURL("ses", r.FeedbackToken)})
		}
	}
	return apiData(c, http.StatusOK, fs)
}

// apiFeedbackSettingsUpdate changes the fields given; a key given as ""
// is removed.
func (s *Server) apiFeedbackSettingsUpdate(c *echo.Context) error {
	var in store.FeedbackSettings
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	g, h, err := s.store.SaveFeedbackSettings(c.Request().Context(), in)
	if err != nil {
		return err
	}
	s.generalCache.Store(&g)
	return s.feedbackSettingsOut(c, g, h)
}
