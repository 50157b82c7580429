package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"herald/mailer"
	"herald/store"
	"herald/templates"
)

// general returns the general settings, read once and refreshed on save.
func (s *Server) general() store.General {
	if g := s.generalCache.Load(); g != nil {
		return *g
	}
	g, err := s.store.General(context.Background())
	if err != nil {
		s.log.Error("reading general settings", "err", err)
		return g
	}
	s.generalCache.Store(&g)
	return g
}

// secureCookies reports whether cookies must be Secure: when Herald is reached over https.
func (s *Server) secureCookies() bool { return s.general().Secure() }

func generalForm(g store.General) templates.GeneralForm {
	var limits strings.Builder
	for _, l := range g.DomainLimits {
		fmt.Fprintf(&limits, "%s %d\n", l.Domain, l.PerHour)
	}
	return templates.GeneralForm{OrgName: g.OrgName, PostalAddress: g.PostalAddress, BaseURL: g.BaseURL,
		FromName: g.FromName, FromEmail: g.FromEmail, Timezone: g.Timezone, FirstRetry: strconv.Itoa(g.FirstRetrySeconds),
		BouncePause: strconv.FormatFloat(g.BouncePausePercent, 'f', -1, 64), ComplaintPause: strconv.FormatFloat(g.ComplaintPausePercent, 'f', -1, 64),
		DomainLimits: limits.String(), TrackOpens: !g.NoOpenTracking, TrackClicks: !g.NoClickTracking, TrackingPrivacy: g.TrackingPrivacy,
		SoftBounceLimit: strconv.Itoa(g.SoftBounceLimit)}
}

// readDomainLimits reads "gmail.com 3000" lines; a line it cannot read
// comes back as the error to show.
func readDomainLimits(text string) ([]store.DomainLimit, string) {
	var out []store.DomainLimit
	for i, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSuffix(f[len(f)-1], "/h"), "/hour"))
		if len(f) != 2 || err != nil {
			return nil, fmt.Sprintf("Line %d: write a domain and a number of messages an hour, like \"gmail.com 3000\".", i+1)
		}
		out = append(out, store.DomainLimit{Domain: f[0], PerHour: n})
	}
	return out, ""
}

func (s *Server) generalForm(c *echo.Context) error {
	return s.render(c, http.StatusOK, templates.GeneralPage(templates.GeneralProps{
		Shell: s.shell(c, "settings", "Settings"), General: generalForm(s.general()), Timezones: commonTimezones,
	}))
}

func (s *Server) generalSave(c *echo.Context) error {
	// Settings this form does not show (bounces, tracking) keep their value.
	g, err := s.store.General(c.Request().Context())
	if err != nil {
		return err
	}
	g.OrgName, g.PostalAddress, g.BaseURL = c.FormValue("org_name"), c.FormValue("postal_address"), c.FormValue("base_url")
	g.FromName, g.FromEmail, g.Timezone = c.FormValue("from_name"), c.FormValue("from_email"), c.FormValue("timezone")
	g.FirstRetrySeconds = 0
	if v := strings.TrimSpace(c.FormValue("first_retry_seconds")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			n = -1 // refused by validation with its message
		}
		g.FirstRetrySeconds = n
	}
	g.BouncePausePercent, g.ComplaintPausePercent = formFloat(c, "bounce_pause_percent"), formFloat(c, "complaint_pause_percent")
	g.NoOpenTracking, g.NoClickTracking = c.FormValue("track_opens") != "1", c.FormValue("track_clicks") != "1"
	g.TrackingPrivacy = c.FormValue("tracking_privacy") == "1"
	if v := strings.TrimSpace(c.FormValue("soft_bounce_limit")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			n = -1 // refused by validation with its message
		}
		g.SoftBounceLimit = n
	}
	limits, limitErr := readDomainLimits(c.FormValue("domain_limits"))
	g.DomainLimits = limits
	if limitErr != "" {
		err = &store.ValidationError{Fields: map[string]string{"domain_limits": limitErr}}
	} else {
		g, err = s.store.SaveGeneral(c.Request().Context(), g)
	}
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		form := generalForm(g)
		form.DomainLimits = c.FormValue("domain_limits")
		return s.render(c, http.StatusUnprocessableEntity, templates.GeneralPage(templates.GeneralProps{
			Shell: s.shell(c, "settings", "Settings"), General: form, Timezones: commonTimezones, Errors: ve.Fields,
		}))
	}
	if err != nil {
		return err
	}
	s.generalCache.Store(&g)
	s.flash(c, "success", "Settings saved.")
	return redirect(c, "/settings")
}

// commonTimezones are offered in the timezone field; any IANA name is accepted.
var commonTimezones = []string{
	"UTC", "Europe/London", "Europe/Dublin", "Europe/Lisbon", "Europe/Paris", "Europe/Berlin", "Europe/Madrid",
	"Europe/Rome", "Europe/Amsterdam", "Europe/Brussels", "Europe/Zurich", "Europe/Stockholm", "Europe/Warsaw",
	"Europe/Athens", "Europe/Helsinki", "Europe/Istanbul", "Europe/Moscow", "Africa/Lagos", "Africa/Johannesburg",
	"Africa/Nairobi", "Africa/Cairo", "Asia/Dubai", "Asia/Kolkata", "Asia/Singapore", "Asia/Hong_Kong",
	"Asia/Shanghai", "Asia/Tokyo", "Asia/Seoul", "Australia/Perth", "Australia/Sydney", "Pacific/Auckland",
	"America/St_Johns", "America/Halifax", "America/New_York", "America/Chicago", "America/Denver",
	"America/Phoenix", "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu", "America/Mexico_City",
	"America/Bogota", "America/Lima", "America/Santiago", "America/Sao_Paulo", "America/Argentina/Buenos_Aires",
}

func (s *Server) emailsForm(c *echo.Context) error {
	e, err := s.store.ConfirmEmail(c.Request().Context())
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, templates.EmailsPage(templates.EmailsProps{Shell: s.shell(c, "settings", "Subscription emails"),
		Subject: e.Subject, Text: e.Text}))
}

func (s *Server) emailsSave(c *echo.Context) error {
	e := store.ConfirmEmail{Subject: c.FormValue("subject"), Text: c.FormValue("text")}
	if c.FormValue("reset") != "" {
		e = store.DefaultConfirmEmail
	}
	err := s.store.SaveConfirmEmail(c.Request().Context(), e, checkConfirmEmail)
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		return s.render(c, http.StatusUnprocessableEntity, templates.EmailsPage(templates.EmailsProps{Shell: s.shell(c, "settings", "Subscription emails"),
			Subject: e.Subject, Text: e.Text, Errors: ve.Fields}))
	}
	if err != nil {
		return err
	}
	s.flash(c, "success", "Confirmation email saved.")
	return redirect(c, "/settings/emails")
}

// location is the organisation's timezone, in which people give times.
func (s *Server) location() *time.Location {
	return s.general().Location()
}

// checkConfirmEmail refuses a confirmation email whose templates do not render.
func checkConfirmEmail(e store.ConfirmEmail) map[string]string {
	errs := map[string]string{}
	if !strings.Contains(e.Text, "{{.ConfirmURL}}") {
		errs["text"] = "The email must contain {{.ConfirmURL}}, the link that confirms."
	}
	sample := mailer.ConfirmData{ListName: "Newsletter", FirstName: "Ada", Org: "Acme", ConfirmURL: "https://example.com/confirm"}
	if _, _, err := mailer.RenderText(e.Subject, e.Text, sample); err != nil {
		errs["text"] = "The template does not work: " + err.Error()
	}
	return errs
}
