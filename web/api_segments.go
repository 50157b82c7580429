package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"herald/store"

	"github.com/labstack/echo/v5"
)

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

// ruleValidation turns a rule error into a 422 naming the rule's part.
func ruleValidation(err error) error {
	var re *store.RuleError
	if errors.As(err, &re) {
		return &store.ValidationError{Fields: map[string]string{re.Path: re.Message}}
	}
	return err
}

func (s *Server) apiSegmentList(c *echo.Context) error {
	q, err := readList(c, namedList, s.location())
	if err != nil {
		return err
	}
	gs, err := s.store.Segments(c.Request().Context())
	if err != nil {
		return err
	}
	out := []segmentJSON{}
	for _, g := range gs {
		out = append(out, toSegmentJSON(g))
	}
	out, m := pageOf(out, q, func(g segmentJSON) listed { return named(g.ID, g.CreatedAt, g.Name) })
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
	return apiData(c, http.StatusOK, countJSON{n})
}

// apiSegmentPreview counts the contacts unsaved rules would match.
func (s *Server) apiSegmentPreview(c *echo.Context) error {
	var b rulesBody
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
	return apiData(c, http.StatusOK, countJSON{n})
}

// rulesBody is segment rules to count, unsaved.
type rulesBody struct {
	Rules json.RawMessage `json:"rules"`
}
