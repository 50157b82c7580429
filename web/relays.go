package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v5"

	"herald/scheduler/outbound"
	"herald/store"
	"herald/templates"
)

// relayAt returns the relay the request's path names.
func (s *Server) relayAt(c *echo.Context) (store.Relay, error) {
	id, err := pathID(c)
	if err != nil {
		return store.Relay{}, err
	}
	return s.store.Relay(c.Request().Context(), id)
}

// tidyRelay trims in as the store will, so that checks made before it are
// made on what will be stored.
func tidyRelay(in *store.RelayInput) {
	for _, f := range []*string{&in.Name, &in.Host, &in.Username, &in.ConfigurationSet, &in.Endpoint} {
		*f = strings.TrimSpace(*f)
	}
	for _, f := range []*string{&in.Kind, &in.TLS, &in.Region} {
		*f = strings.ToLower(strings.TrimSpace(*f))
	}
}

// checkSESKeys reports an SES access key id that would be left without its
// secret: given alone, or changed while the saved secret is the old key's.
// old is the stored relay, zero for a new one.
func checkSESKeys(in store.RelayInput, old store.Relay, errs map[string]string) {
	if in.Kind != store.RelaySES || in.Username == "" || errs["access_key_id"] != "" || in.Password != nil && *in.Password != "" {
		return
	}
	saved := in.Password == nil && old.Kind == store.RelaySES && old.PasswordSet
	switch {
	case !saved:
		errs["secret_access_key"] = "Give the secret access key that goes with the access key id, or leave both empty to use the server's IAM role."
	case in.Username != old.Username:
		errs["secret_access_key"] = "Give the secret access key of the new access key id."
	}
}

// addRelayErrors adds to errs what the store would refuse in in, keeping
// the messages errs already has.
func addRelayErrors(in store.RelayInput, errs map[string]string) {
	for k, v := range in.Validate() {
		if _, ok := errs[k]; !ok {
			errs[k] = v
		}
	}
}

func relayRows(rs []store.Relay) []templates.RelayRow {
	rows := make([]templates.RelayRow, len(rs))
	for i, r := range rs {
		rows[i] = templates.RelayRow{ID: r.ID, Name: r.Name, Kind: r.Kind, Addr: r.Addr(), TLS: r.TLS, Username: r.Username,
			Region: r.Region, ConfigurationSet: r.ConfigurationSet, MaxConnections: r.MaxConnections, RatePerSecond: r.RatePerSecond,
			DailyQuota: r.DailyQuota, SentToday: r.SentToday, WarmupDays: r.WarmupDays, WarmupStart: r.WarmupStart, WarmupFrom: r.WarmupFrom, Trouble: r.Trouble()}
	}
	return rows
}

func (s *Server) relayList(c *echo.Context) error {
	rs, err := s.store.Relays(c.Request().Context())
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, templates.RelaysPage(templates.RelaysProps{Shell: s.shell(c, "settings", "Sending relays"), Relays: relayRows(rs)}))
}

func relayFormOf(r store.Relay) templates.RelayForm {
	return templates.RelayForm{Name: r.Name, Kind: r.Kind, Host: r.Host, Port: strconv.Itoa(r.Port), TLS: r.TLS, Username: r.Username,
		PasswordSet: r.PasswordSet, Region: r.Region, ConfigurationSet: r.ConfigurationSet, Endpoint: r.Endpoint,
		MaxConnections: strconv.Itoa(r.MaxConnections), RatePerSecond: strconv.FormatFloat(r.RatePerSecond, 'f', -1, 64),
		DailyQuota: strconv.Itoa(r.DailyQuota), WarmupDays: strconv.Itoa(r.WarmupDays), WarmupStart: strconv.Itoa(r.WarmupStart),
		WarmupFrom: r.WarmupFrom, Enabled: r.Enabled, PricePer1000: strconv.FormatFloat(r.PricePer1000, 'f', -1, 64)}
}

// formKind is the kind of relay a form or link asks for: SES, or else SMTP.
func formKind(v string) string {
	if strings.EqualFold(strings.TrimSpace(v), store.RelaySES) {
		return store.RelaySES
	}
	return store.RelaySMTP
}

// readRelayForm parses the posted form for a relay of the given kind into
// the input it describes. old is the stored relay, zero for a new one.
func readRelayForm(c *echo.Context, kind string, old store.Relay) (templates.RelayForm, store.RelayInput, templates.FieldErrors) {
	f := templates.RelayForm{
		Name: c.FormValue("name"), Kind: kind, PasswordSet: old.PasswordSet, MaxConnections: c.FormValue("max_connections"),
		RatePerSecond: c.FormValue("rate_per_second"), DailyQuota: c.FormValue("daily_quota"),
		WarmupDays: c.FormValue("warmup_days"), WarmupStart: c.FormValue("warmup_start"), WarmupFrom: old.WarmupFrom,
		Enabled: c.FormValue("enabled") != "", PricePer1000: c.FormValue("price_per_1000"),
	}
	in := store.RelayInput{Name: f.Name, Kind: kind, Enabled: f.Enabled}
	errs := templates.FieldErrors{}
	secret := c.FormValue("password")
	if kind == store.RelaySES {
		f.Region, f.Username = c.FormValue("region"), c.FormValue("access_key_id")
		f.ConfigurationSet, f.Endpoint = c.FormValue("configuration_set"), c.FormValue("endpoint")
		in.Region, in.Username, in.ConfigurationSet, in.Endpoint = f.Region, f.Username, f.ConfigurationSet, f.Endpoint
		secret = c.FormValue("secret_access_key")
	} else {
		f.Host, f.Port, f.TLS, f.Username = c.FormValue("host"), c.FormValue("port"), c.FormValue("tls"), c.FormValue("username")
		f.ClearPassword = c.FormValue("clear_password") != ""
		in.Host, in.TLS, in.Username = f.Host, f.TLS, f.Username
		in.Port = formInt(errs, "port", f.Port, false, "Enter the port as a number, like 587.")
	}
	if secret != "" {
		in.Password, f.SecretTyped = &secret, true
	} else if f.ClearPassword {
		in.Password = new(string)
	}
	in.MaxConnections = formInt(errs, "max_connections", f.MaxConnections, false, "Enter a whole number, like 4.")
	var err error
	if in.RatePerSecond, err = strconv.ParseFloat(strings.TrimSpace(f.RatePerSecond), 64); err != nil {
		errs["rate_per_second"] = "Enter a number; 0 means no limit."
	}
	in.DailyQuota = formInt(errs, "daily_quota", f.DailyQuota, true, "Enter a whole number of messages; 0 means no limit.")
	in.WarmupDays = formInt(errs, "warmup_days", f.WarmupDays, true, "Enter a whole number of days; 0 means no warm-up.")
	in.WarmupStart = formInt(errs, "warmup_start", f.WarmupStart, true, "Enter a whole number of messages, like 200.")
	if v := strings.TrimSpace(f.PricePer1000); v != "" {
		if in.PricePer1000, err = strconv.ParseFloat(v, 64); err != nil {
			errs["price_per_1000"] = "Enter a number, like 0.10; 0 when you do not know."
		}
	}
	tidyRelay(&in)
	checkSESKeys(in, old, errs)
	addRelayErrors(in, errs)
	return f, in, errs
}

func (s *Server) relayFormPage(c *echo.Context, status int, p templates.RelayFormProps) error {
	p.Shell = s.shell(c, "settings", "Sending relays")
	return s.render(c, status, templates.RelayFormPage(p))
}

// relayNew shows the form for a new relay of the kind the query asks for;
// htmx, switching kinds, gets the form's card alone, but restoring the page
// from history needs all of it.
func (s *Server) relayNew(c *echo.Context) error {
	f := templates.RelayForm{Kind: formKind(c.QueryParam("kind")), Port: "587", TLS: store.TLSStartTLS, MaxConnections: "4",
		RatePerSecond: "0", DailyQuota: "0", WarmupDays: "0", WarmupStart: "0", Enabled: true}
	c.Response().Header().Add("Vary", "HX-Request, HX-History-Restore-Request")
	h := c.Request().Header
	if h.Get("HX-Request") == "true" && h.Get("HX-History-Restore-Request") != "true" {
		return s.render(c, http.StatusOK, templates.RelayFormCard(templates.RelayFormProps{Shell: s.shell(c, "settings", "Sending relays"), Form: f}))
	}
	return s.relayFormPage(c, http.StatusOK, templates.RelayFormProps{Form: f})
}

func (s *Server) relayEdit(c *echo.Context) error {
	r, err := s.relayAt(c)
	if err != nil {
		return err
	}
	u, _ := currentUser(c)
	return s.relayFormPage(c, http.StatusOK, templates.RelayFormProps{ID: r.ID, Form: relayFormOf(r), TestTo: u.Email, TestFrom: s.out.SystemFrom(c.Request().Context(), r),
		NotificationURL: s.hookURL("ses", r.FeedbackToken)})
}

// relaySaveFailed re-renders the relay form for a validation error or a name
// already in use, and returns other errors as they are. A typed password or
// secret is not sent back, so the form asks for it again.
func (s *Server) relaySaveFailed(c *echo.Context, id int64, f templates.RelayForm, err error) error {
	var ve *store.ValidationError
	errs := templates.FieldErrors{}
	status := http.StatusUnprocessableEntity
	switch {
	case errors.As(err, &ve):
		for k, v := range ve.Fields {
			errs[k] = v
		}
	case errors.Is(err, store.ErrConflict):
		status, errs["name"] = http.StatusConflict, "Another relay already has this name."
	default:
		return err
	}
	if field := f.SecretField(); f.SecretTyped && errs[field] == "" {
		errs[field] = "Type it again: Herald does not send secrets back to the browser."
	}
	return s.relayFormPage(c, status, templates.RelayFormProps{ID: id, Form: f, Errors: errs})
}

func (s *Server) relayCreate(c *echo.Context) error {
	f, in, errs := readRelayForm(c, formKind(c.FormValue("kind")), store.Relay{})
	if len(errs) > 0 {
		return s.relaySaveFailed(c, 0, f, &store.ValidationError{Fields: errs})
	}
	r, err := s.store.CreateRelay(c.Request().Context(), in)
	if err != nil {
		return s.relaySaveFailed(c, 0, f, err)
	}
	s.flash(c, "success", "Relay "+r.Name+" added. Send a test email to check it works.")
	return redirect(c, fmt.Sprintf("/settings/relays/%d", r.ID))
}

// relayUpdate saves a relay from its form; the form cannot change its kind.
func (s *Server) relayUpdate(c *echo.Context) error {
	old, err := s.relayAt(c)
	if err != nil {
		return err
	}
	f, in, errs := readRelayForm(c, old.Kind, old)
	if len(errs) > 0 {
		return s.relaySaveFailed(c, old.ID, f, &store.ValidationError{Fields: errs})
	}
	r, err := s.store.UpdateRelay(c.Request().Context(), old.ID, in)
	if err != nil {
		return s.relaySaveFailed(c, old.ID, f, err)
	}
	s.flash(c, "success", "Relay "+r.Name+" saved.")
	return redirect(c, fmt.Sprintf("/settings/relays/%d", old.ID))
}

func (s *Server) relayDelete(c *echo.Context) error {
	r, err := s.relayAt(c)
	if err != nil {
		return err
	}
	if err := s.store.DeleteRelay(c.Request().Context(), r.ID); err != nil {
		return err
	}
	s.flash(c, "success", "Relay "+r.Name+" deleted.")
	return redirect(c, "/settings/relays")
}

// relayTest sends a test email; htmx gets the answer as a fragment, a plain
// form post gets the relay page with the answer as a flash message.
func (s *Server) relayTest(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	out, err := s.out.TestRelay(c.Request().Context(), id, c.FormValue("to"))
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		return s.testAnswer(c, id, http.StatusUnprocessableEntity, templates.RelayTestResult{Detail: ve.Fields["to"]})
	}
	if err != nil {
		return err
	}
	res := templates.RelayTestResult{OK: out.Err == nil, To: out.To, Reply: out.Reply}
	if out.Err != nil {
		res.Detail = outbound.FailureDetail(out.Err)
	}
	if q := out.Quota; q != nil {
		res.Quota = &templates.RelayQuota{Max24Hour: q.Max24Hour, MaxPerSecond: q.MaxPerSecond, SentLast24Hours: q.SentLast24Hours,
			SendingEnabled: q.SendingEnabled, ProductionAccess: q.ProductionAccess}
	}
	if out.QuotaErr != nil {
		res.QuotaError = out.QuotaErr.Error()
	}
	return s.testAnswer(c, id, http.StatusOK, res)
}

func (s *Server) testAnswer(c *echo.Context, id int64, status int, res templates.RelayTestResult) error {
	c.Response().Header().Add("Vary", "HX-Request")
	if c.Request().Header.Get("HX-Request") == "true" {
		return s.render(c, status, templates.RelayTestResultView(res))
	}
	msg := "The test email was not sent. " + res.Detail
	if res.OK {
		msg = "Test email sent to " + res.To + ". The server answered: " + res.Reply
	}
	switch {
	case res.Quota != nil:
		msg += " " + res.Quota.Summary()
	case res.QuotaError != "":
		msg += " The SES sending quota could not be read: " + res.QuotaError
	}
	kind := "error"
	if res.OK {
		kind = "success"
	}
	s.flash(c, kind, msg)
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/settings/relays/%d", id))
}

// relayQuotaCard answers the relay page's allowance card.
func (s *Server) relayQuotaCard(c *echo.Context) error {
	q, err := s.relayQuota(c)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, templates.RelayQuotaCard(templates.RelayQuotaView{SES: q.SES, Max24Hour: q.Max24Hour, MaxPerSecond: q.MaxPerSecond,
		SentLast24Hours: q.SentLast24Hours, SendingEnabled: q.SendingEnabled, ProductionAccess: q.ProductionAccess, SESError: q.SESError,
		DailyQuota: q.DailyQuota, SentToday: q.SentToday, TodayCap: q.TodayCap, CapReason: q.CapReason, Used: q.Used, Level: q.Level}))
}
