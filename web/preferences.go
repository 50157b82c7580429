package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"herald/store"
	"herald/templates"

	"github.com/labstack/echo/v5"
)

func (s *Server) preferencesProps(c *echo.Context, contactID int64) (templates.PreferencesProps, error) {
	p, err := s.store.ContactPreferences(c.Request().Context(), contactID)
	if err != nil {
		return templates.PreferencesProps{}, err
	}
	props := templates.PreferencesProps{Shell: s.publicShell(c, "Email preferences"), Email: p.Contact.Email, Token: c.Param("token"), Status: p.Contact.Status}
	for _, l := range p.Lists {
		props.Lists = append(props.Lists, templates.PrefList{ID: l.ID, Name: l.Name, Description: l.Description, On: p.On[l.ID]})
	}
	return props, nil
}

func (s *Server) preferencesShow(c *echo.Context) error {
	t, err := s.store.Box().VerifyToken(c.Param("token"), store.PurposePreferences, time.Now())
	if err != nil {
		return s.linkInvalid(c)
	}
	p, err := s.preferencesProps(c, t.ContactID)
	if errors.Is(err, store.ErrNotFound) {
		return s.linkInvalid(c)
	}
	if err != nil {
		return err
	}
	s.out.NoteLink(c.Request().Context(), store.ResultPreferences, t.Campaign, t.ContactID)
	return s.render(c, http.StatusOK, templates.PreferencesPage(p))
}

func (s *Server) preferencesSave(c *echo.Context) error {
	t, err := s.store.Box().VerifyToken(c.Param("token"), store.PurposePreferences, time.Now())
	if err != nil {
		return s.linkInvalid(c)
	}
	values, err := formValues(c)
	if err != nil {
		return err
	}
	var want []int64
	for _, v := range values["lists"] {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil {
			want = append(want, id)
		}
	}
	err = s.store.SetPreferences(c.Request().Context(), t.ContactID, want, values.Get("action") == "unsubscribe_all")
	if errors.Is(err, store.ErrNotFound) {
		return s.linkInvalid(c)
	}
	if err != nil {
		return err
	}
	p, err := s.preferencesProps(c, t.ContactID)
	if err != nil {
		return err
	}
	p.Saved = true
	return s.render(c, http.StatusOK, templates.PreferencesPage(p))
}

// unsubscribeShow is where a person lands from an unsubscribe link: one
// press unsubscribes. Visiting alone changes nothing, for the same reason
// as confirmation links.
func (s *Server) unsubscribeShow(c *echo.Context) error {
	t, err := s.store.Box().VerifyToken(c.Param("token"), store.PurposeUnsubscribe, time.Now())
	if err != nil {
		return s.linkInvalid(c)
	}
	what := "all mail"
	if t.ListID != 0 {
		if l, err := s.store.ListHead(c.Request().Context(), t.ListID); err == nil {
			what = l.Name
		}
	}
	return s.message(c, http.StatusOK, templates.MessageProps{Heading: "Unsubscribe",
		Text: "Press the button to stop receiving " + what + ".", Action: "/u/" + c.Param("token"), Button: "Unsubscribe",
		Link: s.out.Links(c.Request().Context()).Preferences(t.ContactID), LinkText: "Or choose which emails you get"})
}

// unsubscribeSubmit takes an unsubscribe at once: from the page's button, or
// as an RFC 8058 one-click POST from a mail client, which gets a plain 200.
func (s *Server) unsubscribeSubmit(c *echo.Context) error {
	t, err := s.store.Box().VerifyToken(c.Param("token"), store.PurposeUnsubscribe, time.Now())
	if err != nil {
		return s.linkInvalid(c)
	}
	oneClick := c.FormValue("List-Unsubscribe") == "One-Click"
	how := "through the unsubscribe link"
	if oneClick {
		how = "with one click in their mail program"
	}
	err = s.store.Unsubscribe(c.Request().Context(), t.ContactID, t.ListID, how)
	if errors.Is(err, store.ErrNotFound) {
		return s.linkInvalid(c)
	}
	if err != nil {
		return err
	}
	s.out.NoteLink(c.Request().Context(), store.ResultUnsubscribe, t.Campaign, t.ContactID)
	if oneClick {
		return c.String(http.StatusOK, "Unsubscribed.\n")
	}
	return s.message(c, http.StatusOK, templates.MessageProps{Heading: "You're unsubscribed",
		Text: "You will not receive these emails any more. Changed your mind?", Link: s.out.Links(c.Request().Context()).Preferences(t.ContactID), LinkText: "Choose which emails you get"})
}
