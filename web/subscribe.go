package web

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"herald/scheduler/imports"
	"herald/scheduler/outbound"
	"herald/store"
	"herald/templates"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"
)

// subscribeLimit allows each address a few sign-ups a minute.
func subscribeLimit() echo.MiddlewareFunc {
	return middleware.RateLimiterWithConfig(middleware.RateLimiterConfig{
		Skipper: func(c *echo.Context) bool { return c.Request().Method != http.MethodPost },
		Store: middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
			Rate: 0.1, Burst: 5, ExpiresIn: 10 * time.Minute,
		}),
		DenyHandler: func(c *echo.Context, _ string, _ error) error {
			c.Response().Header().Set("Retry-After", "60")
			return echo.NewHTTPError(http.StatusTooManyRequests, "Too many sign-ups from your address. Wait a minute and try again.")
		},
	})
}

// publicList returns a public list, or not found for private and missing ones alike.
func (s *Server) publicList(c *echo.Context) (store.List, error) {
	id, err := pathID(c)
	if err != nil {
		return store.List{}, err
	}
	l, err := s.store.ListHead(c.Request().Context(), id)
	if err != nil || l.Visibility != store.VisibilityPublic {
		return store.List{}, store.ErrNotFound
	}
	return l, nil
}

// errSignupsClosed refuses sign-ups while Herald does not know its public
// address: the links it mails must never come from a request's Host header.
var errSignupsClosed = apiErr(http.StatusServiceUnavailable, "signups_closed",
	"Sign-ups are not open yet: the owner of this site has still to set Herald's public address. Please try again later.")

// signupList is the public list a sign-up is for, while sign-ups are open.
func (s *Server) signupList(c *echo.Context) (store.List, error) {
	l, err := s.publicList(c)
	if err == nil && s.general().BaseURL == "" {
		return l, errSignupsClosed
	}
	return l, err
}

func subscribeFields(l store.List, c *echo.Context) []templates.PublicField {
	fields := []templates.PublicField{
		{Name: "email", Label: "Email", Type: "email", Required: true},
		{Name: "first_name", Label: "First name", Type: "text"},
		{Name: "last_name", Label: "Last name", Type: "text"},
	}
	for _, f := range l.FormFields {
		fields = append(fields, templates.PublicField{Name: "attr_" + f.Key, Label: f.Label, Type: "text", Required: f.Required})
	}
	if c != nil {
		for i := range fields {
			fields[i].Value = c.FormValue(fields[i].Name)
		}
	}
	return fields
}

func (s *Server) subscribePage(c *echo.Context, status int, l store.List, p templates.SubscribeProps) error {
	p.Shell, p.ListID, p.ListName, p.Description = s.publicShell(c, l.Name), l.ID, l.Name, l.Description
	if l.Challenge {
		p.Challenge, p.ChallengeBits = s.challenges.issue(s.store.Box(), l.ID), s.challenges.bits
	}
	return s.render(c, status, templates.SubscribePage(p))
}

func (s *Server) subscribeForm(c *echo.Context) error {
	l, err := s.signupList(c)
	if err != nil {
		return err
	}
	return s.subscribePage(c, http.StatusOK, l, templates.SubscribeProps{Fields: subscribeFields(l, nil)})
}

// subscribeSubmit takes a sign-up. Whatever happened, known address or not,
// the visitor sees the same page, so the form reveals nothing about who is
// subscribed. Bots that fill the hidden field are thanked and ignored.
func (s *Server) subscribeSubmit(c *echo.Context) error {
	l, err := s.signupList(c)
	if err != nil {
		return err
	}
	thanks := templates.MessageProps{Heading: "Thank you", Text: "You are subscribed to " + l.Name + "."}
	if l.OptIn == store.OptInDouble {
		thanks = templates.MessageProps{Heading: "Check your inbox",
			Text: "We have sent you an email to confirm your subscription to " + l.Name + ". Open the link in it to finish."}
	}
	if c.FormValue(templates.HoneypotField) != "" {
		s.log.Info("subscription form: honeypot filled; ignored", "list", l.ID, "ip", c.RealIP())
		return s.message(c, http.StatusOK, thanks)
	}
	fields := subscribeFields(l, c)
	if l.Challenge && !s.challenges.solved(s.store.Box(), l.ID, c.FormValue("pow_challenge"), c.FormValue("pow_nonce")) {
		// Forms embedded on other sites, and browsers without JavaScript,
		// land here: show the hosted form, filled in, to finish.
		return s.subscribePage(c, http.StatusOK, l, templates.SubscribeProps{Fields: fields,
			Notice: "Press Subscribe to finish. Your browser first does a quick check that you are not a robot."})
	}
	f := store.FormSubscription{Email: c.FormValue("email"), FirstName: c.FormValue("first_name"), LastName: c.FormValue("last_name"),
		Attributes: map[string]any{}, IP: c.RealIP()}
	for i, ff := range l.FormFields {
		v := strings.TrimSpace(c.FormValue("attr_" + ff.Key))
		if v == "" && ff.Required {
			fields[3+i].Error = "Please fill this in."
		}
		if v != "" {
			f.Attributes[ff.Key] = imports.Typed(v)
		}
	}
	var out store.SubscribeOutcome
	if !hasFieldError(fields) {
		out, err = s.store.SubscribeByForm(c.Request().Context(), l.ID, f)
	}
	var ve *store.ValidationError
	if errors.As(err, &ve) || hasFieldError(fields) {
		if ve != nil {
			for i := range fields {
				fields[i].Error = ve.Fields[fields[i].Name]
			}
		}
		return s.subscribePage(c, http.StatusUnprocessableEntity, l, templates.SubscribeProps{Fields: fields, Error: "Please check the form."})
	}
	if err != nil {
		return err
	}
	if out.Confirm {
		// The answer is the same whatever happens to the email, so its
		// timing gives nothing away; a failure is logged.
		if _, err := s.out.Confirm(c.Request().Context(), outbound.Confirmation{ContactID: out.ContactID, Email: f.Email, FirstName: f.FirstName, List: l}); err != nil {
			s.log.Error("confirmation email not queued", "list", l.ID, "contact", out.ContactID, "err", err)
		}
	}
	return s.message(c, http.StatusOK, thanks)
}

func hasFieldError(fields []templates.PublicField) bool {
	for _, f := range fields {
		if f.Error != "" {
			return true
		}
	}
	return false
}

// confirmShow asks the person to press a button rather than confirming on
// the visit itself, since mail scanners open links on their own.
func (s *Server) confirmShow(c *echo.Context) error {
	t, err := s.store.Box().VerifyToken(c.Param("token"), store.PurposeConfirm, time.Now())
	if err != nil {
		return s.linkInvalid(c)
	}
	l, err := s.store.ListHead(c.Request().Context(), t.ListID)
	if err != nil {
		return s.linkInvalid(c)
	}
	return s.message(c, http.StatusOK, templates.MessageProps{Heading: "Confirm your subscription",
		Text: "Press the button to start receiving " + l.Name + ".", Action: "/subscribe/confirm/" + c.Param("token"), Button: "Yes, subscribe me"})
}

func (s *Server) confirmSubmit(c *echo.Context) error {
	t, err := s.store.Box().VerifyToken(c.Param("token"), store.PurposeConfirm, time.Now())
	if err != nil {
		return s.linkInvalid(c)
	}
	l, err := s.store.ConfirmSubscription(c.Request().Context(), t.ContactID, t.ListID, c.RealIP())
	if errors.Is(err, store.ErrNotFound) {
		return s.linkInvalid(c)
	}
	if err != nil {
		return err
	}
	prefs := s.store.Box().SignToken(store.Token{Purpose: store.PurposePreferences, ContactID: t.ContactID})
	return s.message(c, http.StatusOK, templates.MessageProps{Heading: "You're confirmed",
		Text: "Thank you. You will receive " + l.Name + " from now on.", Link: "/p/" + prefs, LinkText: "Manage your email preferences"})
}
