package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"herald/scheduler/imports"
	"herald/store"

	"github.com/labstack/echo/v5"
)

// importJSON is an import job as the API shows it.
type importJSON struct {
	ID         int64             `json:"id"`
	Status     string            `json:"status"`
	FileName   string            `json:"file_name"`
	Mode       string            `json:"mode"`
	ListIDs    []int64           `json:"list_ids"`
	Tags       []string          `json:"tags"`
	Mapping    map[string]string `json:"mapping"`
	Progress   float64           `json:"progress"`
	Total      int               `json:"total"`
	Created    int               `json:"created"`
	Updated    int               `json:"updated"`
	Skipped    int               `json:"skipped"`
	Invalid    int               `json:"invalid"`
	Error      string            `json:"error,omitempty"`
	Errors     []importErrorJSON `json:"errors"`
	CreatedAt  time.Time         `json:"created_at"`
	FinishedAt *time.Time        `json:"finished_at"`
}

type importErrorJSON struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

func toImportJSON(j store.ImportJob, errs []store.ImportError) importJSON {
	out := importJSON{ID: j.ID, Status: j.Status, FileName: j.FileName, Mode: j.Mode, ListIDs: orEmpty(j.ListIDs), Tags: orEmpty(j.Tags),
		Mapping: map[string]string{}, Progress: j.Progress(), Total: j.Total, Created: j.Created, Updated: j.Updated, Skipped: j.Skipped,
		Invalid: j.Invalid, Error: j.Error, Errors: []importErrorJSON{}, CreatedAt: j.CreatedAt}
	for i, h := range j.Headers {
		if i < len(j.Mapping) {
			out.Mapping[h] = j.Mapping[i]
		}
	}
	for _, e := range errs {
		out.Errors = append(out.Errors, importErrorJSON{Line: e.Line, Reason: e.Reason})
	}
	if !j.FinishedAt.IsZero() {
		out.FinishedAt = &j.FinishedAt
	}
	return out
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// apiImportCreate takes a multipart upload with file, list_ids, tags, mode
// and an optional mapping of header to target, and queues the import.
func (s *Server) apiImportCreate(c *echo.Context) error {
	up, err := s.receiveUpload(c)
	if err != nil {
		return err
	}
	setup, err := apiImportSetup(up)
	if err != nil {
		s.discardUpload(up)
		return err
	}
	j, err := s.newJob(c.Request().Context(), up, &setup)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", "/api/v1/imports/"+itoa(j.ID))
	return apiData(c, http.StatusAccepted, toImportJSON(j, nil))
}

func apiImportSetup(up upload) (store.ImportSetup, error) {
	f := up.Fields
	setup := store.ImportSetup{Mode: f.Get("mode"), Tags: splitList(f.Get("tags"))}
	if setup.Mode == "" {
		setup.Mode = store.ImportCreate
	}
	for _, v := range splitList(f.Get("list_ids")) {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return setup, &store.ValidationError{Fields: map[string]string{"list_ids": "List ids are numbers separated by commas, like 1,2."}}
		}
		setup.ListIDs = append(setup.ListIDs, n)
	}
	setup.Mapping = imports.AutoMap(up.Header.Columns, nil)
	if m := f.Get("mapping"); m != "" {
		var given map[string]string
		if err := json.Unmarshal([]byte(m), &given); err != nil {
			return setup, &store.ValidationError{Fields: map[string]string{"mapping": `Mapping is a JSON object from column name to target, like {"E-mail": "email"}.`}}
		}
		known := map[string]bool{}
		for i, h := range up.Header.Columns {
			known[h] = true
			if t, ok := given[h]; ok {
				setup.Mapping[i] = apiTarget(t)
			}
		}
		for h := range given {
			if !known[h] {
				return setup, &store.ValidationError{Fields: map[string]string{"mapping": fmt.Sprintf("The file has no column %q; its columns are %s.", h, strings.Join(up.Header.Columns, ", "))}}
			}
		}
	}
	return setup, nil
}

// apiTarget accepts a bare attribute name as well as "attribute:<name>".
func apiTarget(t string) string {
	switch t {
	case imports.TargetEmail, imports.TargetFirstName, imports.TargetLastName, imports.TargetFullName, imports.TargetTags, imports.TargetAttributes, imports.TargetIgnore:
		return t
	}
	if strings.HasPrefix(t, "attribute:") {
		return t
	}
	return "attribute:" + t
}

func (s *Server) apiImportGet(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	j, err := s.store.Import(c.Request().Context(), id)
	if err != nil {
		return err
	}
	errs, err := s.store.ImportErrors(c.Request().Context(), id, 1000)
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, toImportJSON(j, errs))
}

func (s *Server) apiImportList(c *echo.Context) error {
	q, err := readList(c, importList, s.location())
	if err != nil {
		return err
	}
	jobs, total, err := s.store.ImportsPage(c.Request().Context(), q.Order, q.PerPage, q.offset())
	if err != nil {
		return err
	}
	out := []importJSON{}
	for _, j := range jobs {
		out = append(out, toImportJSON(j, nil))
	}
	return apiPage(c, q, out, total, func(j importJSON) int64 { return j.ID })
}
