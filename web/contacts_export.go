package web

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"herald/store"
)

// exportColumns start every CSV export; attribute columns follow, one per key.
var exportColumns = []string{"email", "first_name", "last_name", "status", "tags", "lists", "created_at"}

// exportContacts streams every contact matching f as CSV or JSON. It reads the
// store in batches and writes as it goes, so memory stays flat for a million
// contacts; the columns are settled before the first byte is sent, so a bad
// filter is still a proper error.
func (s *Server) exportContacts(c *echo.Context, f store.ContactFilter, format string) error {
	if format == "" {
		format = "csv"
	}
	if format != "csv" && format != "json" {
		return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Message: "format must be csv or json.",
			Fields: map[string]string{"format": "Must be csv or json."}}
	}
	ctx := c.Request().Context()
	keys, err := s.store.AttributeKeys(ctx, f)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("contacts-%s.%s", time.Now().UTC().Format("20060102-150405"), format)
	if format == "json" {
		h := c.Response().Header()
		h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Type", "application/json")
		return s.exportJSON(c, f)
	}
	w := csvDownload(c, name)
	if err := w.Write(append(append([]string{}, exportColumns...), keys...)); err != nil {
		return err
	}
	err = s.store.EachContact(ctx, f, func(ct store.Contact) error {
		lists := make([]string, len(ct.Memberships))
		for i, m := range ct.Memberships {
			lists[i] = m.ListName
		}
		row := []string{ct.Email, ct.FirstName, ct.LastName, ct.Status, strings.Join(ct.Tags, ";"), strings.Join(lists, ";"),
			ct.CreatedAt.Format(time.RFC3339)}
		// Every text cell, the address included: =1+2@example.com is a
		// valid address, and anyone can type one into a public form.
		for i := range row {
			row[i] = cell(row[i])
		}
		for _, k := range keys {
			// Numbers and true/false are written by Herald and hold no
			// formula; an apostrophe would turn -3 into text.
			v := ct.Attributes[k]
			if text, ok := v.(string); ok {
				row = append(row, cell(text))
			} else {
				row = append(row, attributeText(v))
			}
		}
		return w.Write(row)
	})
	w.Flush()
	if err == nil {
		err = w.Error()
	}
	if err != nil {
		s.log.Error("contact export stopped", "err", err)
	}
	return nil
}

func (s *Server) exportJSON(c *echo.Context, f store.ContactFilter) error {
	c.Response().WriteHeader(http.StatusOK)
	w := c.Response()
	enc := json.NewEncoder(w)
	first := true
	fmt.Fprint(w, "[\n")
	err := s.store.EachContact(c.Request().Context(), f, func(ct store.Contact) error {
		if !first {
			fmt.Fprint(w, ",")
		}
		first = false
		return enc.Encode(toContactJSON(ct))
	})
	fmt.Fprint(w, "]\n")
	if err != nil {
		s.log.Error("contact export stopped", "err", err)
	}
	return nil
}

// csvDownload starts a CSV answer that the browser saves as filename and
// keeps no copy of.
func csvDownload(c *echo.Context, filename string) *csv.Writer {
	h := c.Response().Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	h.Set("Cache-Control", "no-store")
	c.Response().WriteHeader(http.StatusOK)
	return csv.NewWriter(c.Response())
}

// cell guards a text cell against spreadsheet formula injection: text that
// a spreadsheet would run as a formula gets a leading apostrophe, as OWASP
// advises.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// attributeText writes an attribute value as CSV text.
func attributeText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%f", x), "0"), ".")
	}
	b, _ := json.Marshal(v)
	return string(b)
}
