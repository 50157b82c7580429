package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/labstack/echo/v5"

	"herald/store"
)

// meta describes one page of a list.
type meta struct {
	Total      int `json:"total"`
	Page       int `json:"page"`
	PerPage    int `json:"per_page"`
	TotalPages int `json:"total_pages"`
}

func apiData(c *echo.Context, status int, data any) error {
	return c.JSON(status, map[string]any{"data": data})
}

func apiList[T any](c *echo.Context, items []T, m meta) error {
	if items == nil {
		items = []T{}
	}
	m.TotalPages = pageCount(m.Total, m.PerPage)
	return c.JSON(http.StatusOK, map[string]any{"data": items, "meta": m})
}

// page reads page and per_page, defaulting to 1 and 50 and capping per_page at 500.
func page(c *echo.Context) (meta, error) {
	n, err := pageNumber(c)
	if err != nil {
		return meta{}, err
	}
	m := meta{Page: n, PerPage: 50}
	if v := c.QueryParam("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return m, &apiError{Status: http.StatusBadRequest, Code: "bad_request",
				Message: "per_page must be a whole number of at least 1.", Fields: map[string]string{"per_page": "Must be a whole number of at least 1."}}
		}
		m.PerPage = min(n, 500)
	}
	return m, nil
}

// offset is how many items come before m's page.
func (m meta) offset() int { return (m.Page - 1) * m.PerPage }

// maxPage is the highest page a list answers. It is far past the last page
// of any list Herald holds, even at one item a page, and low enough that
// (page-1) × per_page cannot overflow into a page that exists.
const maxPage = 1_000_000_000

// pageNumber reads ?page=, for the admin's lists and the API's alike: 1
// when it is absent. A page past the last is empty; one past maxPage is
// refused with a 422 rather than wrapping round to rows.
func pageNumber(c *echo.Context) (int, error) {
	v := c.QueryParam("page")
	if v == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(v)
	switch {
	case err == nil && n > maxPage, errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(v, "-"):
		msg := fmt.Sprintf("Ask for a page from 1 to %d; past the last page a list is empty.", maxPage)
		return 0, &apiError{Status: http.StatusUnprocessableEntity, Code: "validation_failed", Message: msg, Fields: map[string]string{"page": msg}}
	case err != nil || n < 1:
		return 0, &apiError{Status: http.StatusBadRequest, Code: "bad_request",
			Message: "page must be a whole number of at least 1.", Fields: map[string]string{"page": "Must be a whole number of at least 1."}}
	}
	return n, nil
}

// pageCount is how many pages of perPage hold total items.
func pageCount(total, perPage int) int { return (total + perPage - 1) / perPage }

// paginate returns the slice of items on the page m describes and fills in the total.
func paginate[T any](items []T, m *meta) []T {
	m.Total = len(items)
	start := min(m.offset(), len(items))
	return items[start:min(start+m.PerPage, len(items))]
}

// bindJSON decodes the request body into dst, refusing unknown fields so typos
// are reported rather than ignored.
func bindJSON(c *echo.Context, dst any) error {
	dec := json.NewDecoder(c.Request().Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var typeErr *json.UnmarshalTypeError
		var syntaxErr *json.SyntaxError
		var tooLarge *apiError
		switch {
		case errors.As(err, &tooLarge):
			return tooLarge
		case errors.As(err, &typeErr) && typeErr.Field == "":
			return apiErr(http.StatusBadRequest, "bad_request", "Send a JSON object in the request body.")
		case errors.As(err, &typeErr):
			kind := jsonKind(typeErr.Type.Kind().String())
			if k, ok := reflect.Zero(typeErr.Type).Interface().(interface{ JSONKind() string }); ok {
				kind = k.JSONKind()
			}
			return &apiError{Status: http.StatusBadRequest, Code: "bad_request",
				Message: fmt.Sprintf("Field %q must be %s.", typeErr.Field, kind),
				Fields:  map[string]string{typeErr.Field: "Must be " + kind + "."}}
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return &apiError{Status: http.StatusBadRequest, Code: "bad_request",
				Message: fmt.Sprintf("Unknown field %q: check its spelling against the API documentation.", name),
				Fields:  map[string]string{name: "Unknown field."}}
		case errors.As(err, &syntaxErr):
			return apiErr(http.StatusBadRequest, "bad_request", fmt.Sprintf("The body is not valid JSON (at byte %d).", syntaxErr.Offset))
		case errors.Is(err, io.ErrUnexpectedEOF):
			return apiErr(http.StatusBadRequest, "bad_request", "The body is not valid JSON: it ends too early.")
		case errors.Is(err, io.EOF):
			return apiErr(http.StatusBadRequest, "bad_request", "Send a JSON object in the request body.")
		}
		return apiErr(http.StatusBadRequest, "bad_request", "The body could not be read: "+err.Error())
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return apiErr(http.StatusBadRequest, "bad_request", "The body has more after the JSON object: send exactly one object.")
	}
	return nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "int", "int64":
		return "a whole number"
	case "float64":
		return "a number"
	case "bool":
		return "a boolean"
	case "string":
		return "a string"
	case "ptr":
		return "a value of the documented type"
	case "slice", "array":
		return "a list"
	case "map", "struct":
		return "a JSON object"
	}
	return "a " + goKind
}

func (s *Server) apiMe(c *echo.Context) error {
	key := c.Get(ctxAPIKey).(store.APIKey)
	return apiData(c, http.StatusOK, meJSON{ID: key.ID, Name: key.Name, Prefix: key.Prefix, Scopes: orEmpty(key.Scopes)})
}

// apiDelete answers DELETE /…/{id}: 204 once del has removed the thing,
// 404 when there was none.
func apiDelete(del func(context.Context, int64) error) echo.HandlerFunc {
	return func(c *echo.Context) error {
		id, err := pathID(c)
		if err != nil {
			return err
		}
		if err := del(c.Request().Context(), id); err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	}
}

// meJSON is the key a call was made with.
type meJSON struct {
	ID     int64    `json:"id"`
	Name   string   `json:"name"`
	Prefix string   `json:"prefix"`
	Scopes []string `json:"scopes"`
}

// countJSON is how many things match.
type countJSON struct {
	Count int `json:"count"`
}
