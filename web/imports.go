package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/labstack/echo/v5"

	"herald/scheduler/imports"
	"herald/store"
	"herald/templates"
)

// maxUpload caps an uploaded CSV file.
const maxUpload = 1 << 30

// upload is a file received from a multipart form, already on disk.
type upload struct {
	Path   string
	Name   string
	Size   int64
	Header imports.Header
	Fields url.Values
}

// receiveUpload streams the multipart body to a file in the imports folder,
// in constant memory whatever the file's size, and reads its header.
func (s *Server) receiveUpload(c *echo.Context) (upload, error) {
	var up upload
	mr, err := uploadParts(c, &apiError{Status: http.StatusBadRequest, Code: "bad_request", Message: "Send the file as multipart/form-data in a field named file."})
	if err != nil {
		return up, err
	}
	up.Fields = url.Values{}
	cutShort := func(err error) error {
		s.discardUpload(up)
		return readFailed(err, &apiError{Status: http.StatusBadRequest, Code: "bad_request", Message: "The upload was cut short: " + err.Error()})
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return upload{}, cutShort(err)
		}
		if part.FormName() == "file" && up.Path == "" {
			if err := s.saveUpload(part, &up); err != nil {
				return upload{}, err
			}
			continue
		}
		v, err := io.ReadAll(io.LimitReader(part, 64<<10))
		if err != nil {
			return upload{}, cutShort(err)
		}
		up.Fields.Add(part.FormName(), string(v))
	}
	if up.Path == "" {
		return up, &store.ValidationError{Fields: map[string]string{"file": "Choose a CSV file to import."}}
	}
	h, err := imports.Inspect(up.Path)
	if err != nil {
		s.discardUpload(up)
		return upload{}, &store.ValidationError{Fields: map[string]string{"file": "This file cannot be imported: " + err.Error() + "."}}
	}
	up.Header = h
	return up, nil
}

func (s *Server) saveUpload(part *multipart.Part, up *upload) error {
	dir := filepath.Join(s.dataDir, "imports")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "upload-*.csv")
	if err != nil {
		return err
	}
	up.Path, up.Name = f.Name(), filepath.Base(part.FileName())
	if up.Name == "." || up.Name == "/" || up.Name == "" {
		up.Name = "upload.csv"
	}
	n, err := io.Copy(f, io.LimitReader(part, maxUpload+1))
	up.Size = n
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil:
		s.discardUpload(*up)
		return fmt.Errorf("saving the upload: %w", err)
	case n > maxUpload:
		s.discardUpload(*up)
		return &apiError{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: "The file is larger than 1 GB; split it into smaller files."}
	}
	return nil
}

func (s *Server) discardUpload(up upload) {
	if up.Path != "" {
		os.Remove(up.Path)
	}
}

// newJob records an uploaded file as an import job.
func (s *Server) newJob(ctx context.Context, up upload, setup *store.ImportSetup) (store.ImportJob, error) {
	j, err := s.store.CreateImport(ctx, store.ImportJob{FileName: up.Name, FilePath: up.Path, FileSize: up.Size, Headers: up.Header.Columns,
		Delimiter: string(up.Header.Delimiter), Offset: up.Header.DataOffset, Line: up.Header.DataLine}, setup)
	if err != nil {
		s.discardUpload(up)
		return j, err
	}
	if setup != nil {
		s.imports.Wake()
	}
	return j, nil
}

// samples reads the first data rows of a job's file, for the mapping step.
func samples(j store.ImportJob, n int) [][]string {
	delim := []rune(j.Delimiter)
	if len(delim) == 0 {
		return nil
	}
	r, err := imports.Open(j.FilePath, delim[0], j.Offset, j.Line)
	if err != nil {
		return nil
	}
	defer r.Close()
	var out [][]string
	for len(out) < n {
		rec, _, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			continue
		}
		out = append(out, append([]string(nil), rec...))
	}
	return out
}

func jobRow(j store.ImportJob) templates.ImportJobRow {
	return templates.ImportJobRow{ID: j.ID, FileName: j.FileName, Status: j.Status, Mode: j.Mode, Progress: j.Progress(), Total: j.Total,
		Created: j.Created, Updated: j.Updated, Skipped: j.Skipped, Invalid: j.Invalid, Error: j.Error, CreatedAt: j.CreatedAt, Line: j.Line, Origin: j.Origin}
}

// importsPerPage is the length of a page of the imports list.
const importsPerPage = 50

func (s *Server) importsPage(c *echo.Context, status int, msg string) error {
	n, err := pageNumber(c)
	if err != nil {
		return err
	}
	p := templates.ImportsProps{Shell: s.shell(c, "contacts", "Import"), Error: msg, Page: n}
	jobs, total, err := s.store.ImportsPage(c.Request().Context(), store.Newest, importsPerPage, (p.Page-1)*importsPerPage)
	if err != nil {
		return err
	}
	p.Total, p.Pages = total, pageCount(total, importsPerPage)
	for _, j := range jobs {
		p.Jobs = append(p.Jobs, jobRow(j))
	}
	return s.render(c, status, templates.ImportsPage(p))
}

func (s *Server) importList(c *echo.Context) error { return s.importsPage(c, http.StatusOK, "") }

func (s *Server) importUpload(c *echo.Context) error {
	up, err := s.receiveUpload(c)
	var ve *store.ValidationError
	var ae *apiError
	switch {
	case errors.As(err, &ve):
		return s.importsPage(c, http.StatusUnprocessableEntity, ve.Fields["file"])
	case errors.As(err, &ae) && ae.Status < 500:
		return s.importsPage(c, ae.Status, ae.Message)
	case err != nil:
		return err
	}
	j, err := s.newJob(c.Request().Context(), up, nil)
	if err != nil {
		return err
	}
	return redirect(c, "/contacts/import/"+itoa(j.ID))
}

// mapProps prepares the mapping step, proposing a target for each column.
func (s *Server) mapProps(c *echo.Context, j store.ImportJob) (templates.ImportMapProps, error) {
	rows := samples(j, 3)
	var first []string
	if len(rows) > 0 {
		first = rows[0]
	}
	p := templates.ImportMapProps{Shell: s.shell(c, "contacts", "Import"), Job: jobRow(j), Mode: store.ImportCreate}
	for i, target := range imports.AutoMap(j.Headers, first) {
		col := templates.ImportColumn{Index: i, Header: j.Headers[i], Target: target, AttrKey: imports.AttributeKeyFor(j.Headers[i], i)}
		if key, ok := strings.CutPrefix(target, "attribute:"); ok {
			col.Target, col.AttrKey = "attribute", key
		}
		for _, r := range rows {
			if i < len(r) {
				col.Samples = append(col.Samples, r[i])
			}
		}
		p.Columns = append(p.Columns, col)
	}
	lists, _, _, err := s.audienceOptions(c)
	p.Lists = lists
	return p, err
}

func (s *Server) importShow(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	j, err := s.store.Import(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if j.Status == store.ImportDraft {
		p, err := s.mapProps(c, j)
		if err != nil {
			return err
		}
		return s.render(c, http.StatusOK, templates.ImportMapPage(p))
	}
	errs, err := s.store.ImportErrors(c.Request().Context(), id, 500)
	if err != nil {
		return err
	}
	p := templates.ImportJobProps{Shell: s.shell(c, "contacts", "Import"), Job: jobRow(j)}
	for _, e := range errs {
		p.Errors = append(p.Errors, templates.ImportErrorRow{Line: e.Line, Reason: e.Reason})
	}
	return s.render(c, http.StatusOK, templates.ImportJobPage(p))
}

// importStart reads the mapping step and queues the job.
func (s *Server) importStart(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	j, err := s.store.Import(ctx, id)
	if err != nil {
		return err
	}
	values, err := formValues(c)
	if err != nil {
		return err
	}
	setup := store.ImportSetup{Mode: values.Get("mode"), Tags: splitList(values.Get("tags"))}
	for _, v := range values["list_ids"] {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			setup.ListIDs = append(setup.ListIDs, n)
		}
	}
	for i := range j.Headers {
		t := values.Get("target_" + strconv.Itoa(i))
		if t == "attribute" {
			t = "attribute:" + strings.TrimSpace(values.Get("attr_"+strconv.Itoa(i)))
		}
		setup.Mapping = append(setup.Mapping, t)
	}
	_, err = s.store.QueueImport(ctx, id, setup)
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		p, perr := s.mapProps(c, j)
		if perr != nil {
			return perr
		}
		p.Errors, p.Mode, p.Tags, p.ListIDs = ve.Fields, setup.Mode, values.Get("tags"), values["list_ids"]
		for i := range p.Columns {
			p.Columns[i].Target = values.Get("target_" + strconv.Itoa(i))
			p.Columns[i].AttrKey = values.Get("attr_" + strconv.Itoa(i))
		}
		if msg := ve.Fields["status"]; msg != "" {
			s.flash(c, "error", msg)
			return redirect(c, "/contacts/import/"+itoa(id))
		}
		return s.render(c, http.StatusUnprocessableEntity, templates.ImportMapPage(p))
	}
	if err != nil {
		return err
	}
	s.imports.Wake()
	return redirect(c, "/contacts/import/"+itoa(id))
}

func (s *Server) importCancel(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	j, err := s.store.Import(ctx, id)
	if err != nil {
		return err
	}
	if err := s.store.CancelImport(ctx, id); err != nil {
		return err
	}
	if j.Status == store.ImportDraft {
		os.Remove(j.FilePath)
		s.flash(c, "success", "Upload discarded.")
		return redirect(c, "/contacts/import")
	}
	if j.Status == store.ImportPaused {
		// The importer picks no cancelled job up again, so nothing else
		// would remove the file it kept while paused.
		os.Remove(j.FilePath)
	}
	s.flash(c, "success", "Import stopped. Contacts already imported stay.")
	return redirect(c, "/contacts/import/"+itoa(id))
}

func (s *Server) importProgress(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	j, err := s.store.Import(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if j.Status == store.ImportDone || j.Status == store.ImportFailed {
		// Reload the whole page once, so the list of bad lines appears.
		c.Response().Header().Set("HX-Refresh", "true")
	}
	return s.render(c, http.StatusOK, templates.ImportProgress(jobRow(j)))
}
