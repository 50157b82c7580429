package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"herald/mailer"
	"herald/store"
	"herald/templates"
)

// testTimeout bounds a whole test send, connection included.
const testTimeout = 30 * time.Second

// testOutcome is what a test send did.
type testOutcome struct {
	From  string
	To    string
	Reply string
	Err   error
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
		Text: fmt.Sprintf("This is a test email from Herald%s.\n\nRelay: %s (%s, %s)\nSent: %s\n\nIf you can read this, the relay works.\n",
			orgSuffix(g.OrgName), r.Name, r.Addr(), r.TLS, time.Now().UTC().Format(time.RFC1123)),
	}
	ctx, cancel := context.WithTimeout(ctx, testTimeout)
	defer cancel()
	res, err := s.sendOne(ctx, r, from, to, msg.Bytes())
	if errors.Is(err, store.ErrSecretUnreadable) {
		// A secret that cannot be read is the caller's to fix, not the relay's.
		return testOutcome{}, err
	}
	s.log.Info("relay test", "relay", r.Name, "to", to, "reply", res.Reply, "err", err)
	return testOutcome{From: from, To: to, Reply: res.Reply, Err: err}, nil
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
	}
	return "The server refused the message at " + strings.ToUpper(se.Stage) + ": " + se.Err.Error()
}

// relayAt returns the relay the request's path names.
func (s *Server) relayAt(c *echo.Context) (store.Relay, error) {
	id, err := pathID(c)
	if err != nil {
		return store.Relay{}, err
	}
	return s.store.Relay(c.Request().Context(), id)
}

func relayRows(rs []store.Relay) []templates.RelayRow {
	rows := make([]templates.RelayRow, len(rs))
	for i, r := range rs {
		rows[i] = templates.RelayRow{ID: r.ID, Name: r.Name, Addr: r.Addr(), TLS: r.TLS, Username: r.Username,
			MaxConnections: r.MaxConnections, RatePerSecond: r.RatePerSecond}
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
	return templates.RelayForm{Name: r.Name, Host: r.Host, Port: strconv.Itoa(r.Port), TLS: r.TLS, Username: r.Username,
		PasswordSet: r.PasswordSet, MaxConnections: strconv.Itoa(r.MaxConnections),
		RatePerSecond: strconv.FormatFloat(r.RatePerSecond, 'f', -1, 64), Enabled: r.Enabled}
}

// readRelayForm parses the posted relay form into the input it describes.
func readRelayForm(c *echo.Context) (templates.RelayForm, store.RelayInput, templates.FieldErrors) {
	f := templates.RelayForm{
		Name: c.FormValue("name"), Host: c.FormValue("host"), Port: c.FormValue("port"), TLS: c.FormValue("tls"),
		Username: c.FormValue("username"), MaxConnections: c.FormValue("max_connections"),
		RatePerSecond: c.FormValue("rate_per_second"), Enabled: c.FormValue("enabled") != "",
		ClearPassword: c.FormValue("clear_password") != "",
	}
	in := store.RelayInput{Name: f.Name, Kind: "smtp", Host: f.Host, TLS: f.TLS, Username: f.Username, Enabled: f.Enabled}
	if pw := c.FormValue("password"); pw != "" {
		in.Password = &pw
	} else if f.ClearPassword {
		in.Password = new(string)
	}
	errs := templates.FieldErrors{}
	var err error
	if in.Port, err = strconv.Atoi(strings.TrimSpace(f.Port)); err != nil {
		errs["port"] = "Enter the port as a number, like 587."
	}
	if in.MaxConnections, err = strconv.Atoi(strings.TrimSpace(f.MaxConnections)); err != nil {
		errs["max_connections"] = "Enter a whole number, like 4."
	}
	if in.RatePerSecond, err = strconv.ParseFloat(strings.TrimSpace(f.RatePerSecond), 64); err != nil {
		errs["rate_per_second"] = "Enter a number; 0 means no limit."
	}
	for k, v := range in.Validate() {
		if _, ok := errs[k]; !ok {
			errs[k] = v
		}
	}
	return f, in, errs
}

func (s *Server) relayFormPage(c *echo.Context, status int, p templates.RelayFormProps) error {
	p.Shell = s.shell(c, "settings", "Sending relays")
	return s.render(c, status, templates.RelayFormPage(p))
}

func (s *Server) relayNew(c *echo.Context) error {
	f := templates.RelayForm{Port: "587", TLS: store.TLSStartTLS, MaxConnections: "4", RatePerSecond: "0", Enabled: true}
	return s.relayFormPage(c, http.StatusOK, templates.RelayFormProps{Form: f})
}

func (s *Server) relayEdit(c *echo.Context) error {
	r, err := s.relayAt(c)
	if err != nil {
		return err
	}
	id := r.ID
	u, _ := currentUser(c)
	return s.relayFormPage(c, http.StatusOK, templates.RelayFormProps{ID: id, Form: relayFormOf(r), TestTo: u.Email, TestFrom: s.testFrom(r)})
}

// relaySaveFailed re-renders the relay form for a validation error or a name
// already in use, and returns other errors as they are.
func (s *Server) relaySaveFailed(c *echo.Context, id int64, f templates.RelayForm, err error) error {
	var ve *store.ValidationError
	switch {
	case errors.As(err, &ve):
		return s.relayFormPage(c, http.StatusUnprocessableEntity, templates.RelayFormProps{ID: id, Form: f, Errors: ve.Fields})
	case errors.Is(err, store.ErrConflict):
		return s.relayFormPage(c, http.StatusConflict, templates.RelayFormProps{ID: id, Form: f,
			Errors: templates.FieldErrors{"name": "Another relay already has this name."}})
	}
	return err
}

func (s *Server) relayCreate(c *echo.Context) error {
	f, in, errs := readRelayForm(c)
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

func (s *Server) relayUpdate(c *echo.Context) error {
	old, err := s.relayAt(c)
	if err != nil {
		return err
	}
	id := old.ID
	f, in, errs := readRelayForm(c)
	f.PasswordSet = old.PasswordSet
	if len(errs) > 0 {
		return s.relaySaveFailed(c, id, f, &store.ValidationError{Fields: errs})
	}
	r, err := s.store.UpdateRelay(c.Request().Context(), id, in)
	if err != nil {
		return s.relaySaveFailed(c, id, f, err)
	}
	s.flash(c, "success", "Relay "+r.Name+" saved.")
	return redirect(c, fmt.Sprintf("/settings/relays/%d", id))
}

func (s *Server) relayDelete(c *echo.Context) error {
	r, err := s.relayAt(c)
	if err != nil {
		return err
	}
	id := r.ID
	if err := s.store.DeleteRelay(c.Request().Context(), id); err != nil {
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
	out, err := s.sendTest(c.Request().Context(), id, c.FormValue("to"))
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		return s.testAnswer(c, id, http.StatusUnprocessableEntity, templates.RelayTestResult{Detail: ve.Fields["to"]})
	}
	if err != nil {
		return err
	}
	res := templates.RelayTestResult{OK: out.Err == nil, To: out.To, Reply: out.Reply}
	if out.Err != nil {
		res.Detail = failureDetail(out.Err)
	}
	return s.testAnswer(c, id, http.StatusOK, res)
}

func (s *Server) testAnswer(c *echo.Context, id int64, status int, res templates.RelayTestResult) error {
	c.Response().Header().Add("Vary", "HX-Request")
	if c.Request().Header.Get("HX-Request") == "true" {
		return s.render(c, status, templates.RelayTestResultView(res))
	}
	if res.OK {
		s.flash(c, "success", "Test email sent to "+res.To+". The server answered: "+res.Reply)
	} else {
		s.flash(c, "error", "The test email was not sent. "+res.Detail)
	}
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/settings/relays/%d", id))
}
