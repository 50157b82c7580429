package web

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"herald/scheduler/imports"
	"herald/store"
	"herald/templates"

	"github.com/labstack/echo/v5"
)

func (s *Server) suppressionsPage(c *echo.Context, status int, p templates.SuppressionsProps) error {
	var err error
	if p.Page, err = pageNumber(c); err != nil {
		return err
	}
	p.Shell = s.shell(c, "contacts", "Suppressions")
	p.Q = c.QueryParam("q")
	rows, total, err := s.store.Suppressions(c.Request().Context(), p.Q, store.Newest, p.Page, suppressionsPerPage)
	if err != nil {
		return err
	}
	p.Total, p.Pages = total, (total+suppressionsPerPage-1)/suppressionsPerPage
	for _, r := range rows {
		p.Rows = append(p.Rows, templates.SuppressionRow{ID: r.ID, Kind: r.Kind, Value: r.Value, Reason: r.Reason, Source: r.Source, CreatedAt: r.CreatedAt})
	}
	return s.render(c, status, templates.SuppressionsPage(p))
}

func (s *Server) suppressionList(c *echo.Context) error {
	return s.suppressionsPage(c, http.StatusOK, templates.SuppressionsProps{})
}

func (s *Server) suppressionAdd(c *echo.Context) error {
	value, reason := c.FormValue("value"), c.FormValue("reason")
	sp, _, err := s.store.AddSuppression(c.Request().Context(), store.SuppressionInput{Value: value, Reason: reason, Source: "manual"})
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		return s.suppressionsPage(c, http.StatusUnprocessableEntity, templates.SuppressionsProps{Value: value, Reason: reason, Errors: ve.Fields})
	}
	if err != nil {
		return err
	}
	s.flash(c, "success", sp.Value+" is suppressed.")
	return redirect(c, "/contacts/suppressions")
}

func (s *Server) suppressionDelete(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if err := s.store.DeleteSuppression(c.Request().Context(), id); err != nil {
		return err
	}
	s.flash(c, "success", "Removed from the do-not-send list.")
	return redirect(c, "/contacts/suppressions")
}

// importSuppressions reads the first column of an uploaded CSV file as
// addresses and domains; a first line that is neither is taken as a header.
func (s *Server) importSuppressions(c *echo.Context, source string) (store.SuppressionImport, error) {
	up, err := s.receiveUpload(c)
	if err != nil {
		return store.SuppressionImport{}, err
	}
	defer s.discardUpload(up)
	r, err := imports.Open(up.Path, up.Header.Delimiter, up.Header.DataOffset, up.Header.DataLine)
	if err != nil {
		return store.SuppressionImport{}, err
	}
	defer r.Close()
	reason := strings.TrimSpace(up.Fields.Get("reason"))
	if reason == "" {
		reason = "Imported from " + up.Name
	}
	var entries []store.SuppressionInput
	var lines []int
	if h := up.Header.Columns[0]; strings.Contains(h, ".") {
		entries, lines = append(entries, store.SuppressionInput{Value: h, Reason: reason, Source: source}), append(lines, 1)
	}
	for len(entries) < maxSuppressionLines {
		rec, line, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil || len(rec) == 0 || strings.TrimSpace(rec[0]) == "" {
			continue
		}
		entries = append(entries, store.SuppressionInput{Value: rec[0], Reason: reason, Source: source})
		lines = append(lines, line)
	}
	return s.store.AddSuppressions(c.Request().Context(), entries, lines)
}
