package web

import (
	"encoding/json"
	"errors"
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
	m, err := page(c)
	if err != nil {
		return err
	}
	ls, err := s.store.Lists(c.Request().Context())
	if err != nil {
		return err
	}
	out := []listJSON{}
	for _, l := range paginate(ls, &m) {
		out = append(out, toListJSON(l))
	}
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

// segmentJSON is a segment as the API shows it.
type segmentJSON struct {
	ID          int64      `json:"id"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Rules       store.Rule `json:"rules"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

func toSegmentJSON(g store.Segment) segmentJSON {
	return segmentJSON{ID: g.ID, Name: g.Name, Description: g.Description, Rules: g.Rules, CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt}
}

type segmentBody struct {
	Name        *string         `json:"name"`
	Description *string         `json:"description"`
	Rules       json.RawMessage `json:"rules"`
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

// ruleValidation turns a rule error into a 422 naming the rule's part.
func ruleValidation(err error) error {
	var re *store.RuleError
	if errors.As(err, &re) {
		return &store.ValidationError{Fields: map[string]string{re.Path: re.Message}}
	}
	return err
}

func (s *Server) apiSegmentList(c *echo.Context) error {
	m, err := page(c)
	if err != nil {
		return err
	}
	gs, err := s.store.Segments(c.Request().Context())
	if err != nil {
		return err
	}
	out := []segmentJSON{}
	for _, g := range paginate(gs, &m) {
		out = append(out, toSegmentJSON(g))
	}
	return apiList(c, out, m)
}

func (s *Server) apiSegmentCreate(c *echo.Context) error {
	var b segmentBody
	if err := bindJSON(c, &b); err != nil {
		return err
	}
	in, err := b.input()
	if err != nil {
		return err
	}
	g, err := s.store.CreateSegment(c.Request().Context(), in)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", "/api/v1/segments/"+itoa(g.ID))
	return apiData(c, http.StatusCreated, toSegmentJSON(g))
}

func (s *Server) apiSegmentGet(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	g, err := s.store.Segment(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, toSegmentJSON(g))
}

func (s *Server) apiSegmentUpdate(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var b segmentBody
	if err := bindJSON(c, &b); err != nil {
		return err
	}
	in, err := b.input()
	if err != nil {
		return err
	}
	g, err := s.store.UpdateSegment(c.Request().Context(), id, in)
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, toSegmentJSON(g))
}

func (s *Server) apiSegmentCount(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	n, err := s.store.CountContacts(c.Request().Context(), store.ContactFilter{SegmentID: id})
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, map[string]int{"count": n})
}

// apiSegmentPreview counts the contacts unsaved rules would match.
func (s *Server) apiSegmentPreview(c *echo.Context) error {
	var b struct {
		Rules json.RawMessage `json:"rules"`
	}
	if err := bindJSON(c, &b); err != nil {
		return err
	}
	r, err := store.ParseRule(b.Rules)
	if err != nil {
		return ruleValidation(err)
	}
	n, err := s.store.CountRule(c.Request().Context(), r)
	if err != nil {
		return ruleValidation(err)
	}
	return apiData(c, http.StatusOK, map[string]int{"count": n})
}

// suppressionJSON is a do-not-send entry as the API shows it.
type suppressionJSON struct {
	ID        int64     `json:"id"`
	Kind      string    `json:"kind"`
	Value     string    `json:"value"`
	Reason    string    `json:"reason"`
	Source    string    `json:"source"`
	CreatedAt time.Time `json:"created_at"`
}

func toSuppressionJSON(sp store.Suppression) suppressionJSON {
	return suppressionJSON{ID: sp.ID, Kind: sp.Kind, Value: sp.Value, Reason: sp.Reason, Source: sp.Source, CreatedAt: sp.CreatedAt}
}

func (s *Server) apiSuppressionList(c *echo.Context) error {
	m, err := page(c)
	if err != nil {
		return err
	}
	sps, total, err := s.store.Suppressions(c.Request().Context(), c.QueryParam("q"), m.Page, m.PerPage)
	if err != nil {
		return err
	}
	m.Total = total
	out := make([]suppressionJSON, len(sps))
	for i, sp := range sps {
		out[i] = toSuppressionJSON(sp)
	}
	return apiList(c, out, m)
}

func (s *Server) apiSuppressionCreate(c *echo.Context) error {
	var b struct {
		Kind   string `json:"kind"`
		Value  string `json:"value"`
		Reason string `json:"reason"`
	}
	if err := bindJSON(c, &b); err != nil {
		return err
	}
	sp, created, err := s.store.AddSuppression(c.Request().Context(), store.SuppressionInput{Kind: b.Kind, Value: b.Value, Reason: b.Reason, Source: "api"})
	if err != nil {
		return err
	}
	if !created {
		return apiData(c, http.StatusOK, toSuppressionJSON(sp))
	}
	return apiData(c, http.StatusCreated, toSuppressionJSON(sp))
}
