package web

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v5"

	"herald/store"
)

// listJSON is a list as the API shows it.
type listJSON struct {
	ID          int64             `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	OptIn       string            `json:"opt_in"`
	Visibility  string            `json:"visibility"`
	FormFields  []store.FormField `json:"form_fields"`
	Challenge   bool              `json:"challenge"`
	Counts      map[string]int    `json:"counts"`
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
}

func toListJSON(l store.List) listJSON {
	fields := l.FormFields
	if fields == nil {
		fields = []store.FormField{}
	}
	return listJSON{ID: l.ID, Name: l.Name, Description: l.Description, OptIn: l.OptIn, Visibility: l.Visibility, FormFields: fields, Challenge: l.Challenge,
		Counts:    map[string]int{"confirmed": l.Confirmed, "unconfirmed": l.Unconfirmed, "unsubscribed": l.Unsubscribed},
		CreatedAt: l.CreatedAt, UpdatedAt: l.UpdatedAt}
}

type listBody struct {
	Name        *string            `json:"name"`
	Description *string            `json:"description"`
	OptIn       *string            `json:"opt_in"`
	Visibility  *string            `json:"visibility"`
	FormFields  *[]store.FormField `json:"form_fields"`
	Challenge   *bool              `json:"challenge"`
}

func (b listBody) input() store.ListInput {
	return store.ListInput{Name: b.Name, Description: b.Description, OptIn: b.OptIn, Visibility: b.Visibility, FormFields: b.FormFields, Challenge: b.Challenge}
}

func (s *Server) apiListList(c *echo.Context) error {
	q, err := readList(c, namedList, s.location())
	if err != nil {
		return err
	}
	ls, err := s.store.Lists(c.Request().Context())
	if err != nil {
		return err
	}
	out := []listJSON{}
	for _, l := range ls {
		out = append(out, toListJSON(l))
	}
	out, m := pageOf(out, q, func(l listJSON) listed { return named(l.ID, l.CreatedAt, l.Name) })
	return apiList(c, out, m)
}

func (s *Server) apiListCreate(c *echo.Context) error {
	var b listBody
	if err := bindJSON(c, &b); err != nil {
		return err
	}
	l, err := s.store.CreateList(c.Request().Context(), b.input())
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", "/api/v1/lists/"+itoa(l.ID))
	return apiData(c, http.StatusCreated, toListJSON(l))
}

func (s *Server) apiListGet(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	l, err := s.store.List(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, toListJSON(l))
}

func (s *Server) apiListUpdate(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var b listBody
	if err := bindJSON(c, &b); err != nil {
		return err
	}
	l, err := s.store.UpdateList(c.Request().Context(), id, b.input())
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, toListJSON(l))
}

// input parses the rules strictly, so a misspelt key in a rule is reported.
func (b segmentBody) input() (store.SegmentInput, error) {
	in := store.SegmentInput{Name: b.Name, Description: b.Description}
	if len(b.Rules) > 0 {
		r, err := store.ParseRule(b.Rules)
		if err != nil {
			return in, ruleValidation(err)
		}
		in.Rules = &r
	}
	return in, nil
}
