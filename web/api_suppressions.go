package web

import (
	"net/http"
	"time"

	"herald/store"

	"github.com/labstack/echo/v5"
)

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
	q, err := readList(c, suppressList, s.location())
	if err != nil {
		return err
	}
	sps, total, err := s.store.Suppressions(c.Request().Context(), q.Q, q.Order, q.Page, q.PerPage)
	if err != nil {
		return err
	}
	out := make([]suppressionJSON, len(sps))
	for i, sp := range sps {
		out[i] = toSuppressionJSON(sp)
	}
	return apiPage(c, q, out, total, func(sp suppressionJSON) int64 { return sp.ID })
}

func (s *Server) apiSuppressionCreate(c *echo.Context) error {
	var b suppressionBody
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

func (s *Server) apiSuppressionImport(c *echo.Context) error {
	res, err := s.importSuppressions(c, "api")
	if err != nil {
		return err
	}
	invalid := []importErrorJSON{}
	for _, e := range res.Invalid {
		invalid = append(invalid, importErrorJSON{Line: e.Line, Reason: e.Reason})
	}
	return apiData(c, http.StatusOK, suppressionImportJSON{Added: res.Added, Already: res.Already, Errors: invalid})
}

// suppressionBody blocks an address or a whole domain.
type suppressionBody struct {
	Kind   string `json:"kind"`
	Value  string `json:"value"`
	Reason string `json:"reason"`
}

// suppressionImportJSON is what an import of suppressions did.
type suppressionImportJSON struct {
	Added   int               `json:"added"`
	Already int               `json:"already"`
	Errors  []importErrorJSON `json:"errors"`
}
