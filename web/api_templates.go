package web

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v5"

	"herald/mailer"
	"herald/store"
)

// templateJSON is a template as the API shows it. Markdown bodies appear in
// markdown, HTML bodies in html, plain text in text.
type templateJSON struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Kind      string    `json:"kind"`
	Format    string    `json:"format"`
	Subject   string    `json:"subject"`
	HTML      string    `json:"html"`
	Markdown  string    `json:"markdown"`
	Text      string    `json:"text"`
	LayoutID  *int64    `json:"layout_id"`
	Essential bool      `json:"essential"`
	Version   int       `json:"version"`
	Author    string    `json:"author,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func toTemplateJSON(t store.Template) templateJSON {
	out := templateJSON{ID: t.ID, Name: t.Name, Kind: t.Kind, Format: t.Format, Subject: t.Subject, Text: t.TextBody,
		Essential: t.Essential, Version: t.Version, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
	switch t.Format {
	case mailer.FormatMarkdown:
		out.Markdown = t.Body
	case mailer.FormatText:
		out.Text = t.Body
	default:
		out.HTML = t.Body
	}
	if t.LayoutID != 0 {
		out.LayoutID = &t.LayoutID
	}
	return out
}

// templateBody is a template request: the body goes in whichever of html,
// markdown or text suits it, and that sets the format.
type templateBody struct {
	Name      *string         `json:"name"`
	Kind      *string         `json:"kind"`
	Subject   *string         `json:"subject"`
	HTML      *string         `json:"html"`
	Markdown  *string         `json:"markdown"`
	Text      *string         `json:"text"`
	LayoutID  json.RawMessage `json:"layout_id"`
	Essential *bool           `json:"essential"`
}

// input turns the request into a change. current is the template's format
// when updating ("" when creating): text alone then changes the hand-written
// text part of an HTML or Markdown template, not its body.
func (b templateBody) input(author, current string) (store.TemplateInput, error) {
	in := store.TemplateInput{Name: b.Name, Kind: b.Kind, Subject: b.Subject, Essential: b.Essential, Author: author}
	format := func(f string) *string { return &f }
	switch {
	case b.HTML != nil && b.Markdown != nil:
		return in, &store.ValidationError{Fields: map[string]string{"markdown": "Send either html or markdown, not both."}}
	case b.Markdown != nil:
		in.Format, in.Body, in.TextBody = format(mailer.FormatMarkdown), b.Markdown, b.Text
	case b.HTML != nil:
		in.Format, in.Body, in.TextBody = format(mailer.FormatHTML), b.HTML, b.Text
	case b.Text != nil && current != "" && current != mailer.FormatText:
		in.TextBody = b.Text
	case b.Text != nil:
		in.Format, in.Body, in.TextBody = format(mailer.FormatText), b.Text, new(string)
	}
	if len(b.LayoutID) > 0 {
		var id int64
		if string(b.LayoutID) != "null" {
			if err := json.Unmarshal(b.LayoutID, &id); err != nil {
				return in, &store.ValidationError{Fields: map[string]string{"layout_id": "layout_id is a template id, or null for the default."}}
			}
		}
		in.LayoutID = &id
	}
	return in, nil
}

func apiAuthor(c *echo.Context) string {
	if k, ok := c.Get(ctxAPIKey).(store.APIKey); ok {
		return "API key " + k.Name
	}
	return ""
}

func (s *Server) apiTemplateList(c *echo.Context) error {
	q, err := readList(c, templateList, s.location())
	if err != nil {
		return err
	}
	ts, err := s.store.Templates(c.Request().Context(), c.QueryParam("kind"))
	if err != nil {
		return err
	}
	out := []templateJSON{}
	for _, t := range ts {
		out = append(out, toTemplateJSON(t))
	}
	out, m := pageOf(out, q, func(t templateJSON) listed {
		return listed{id: t.ID, created: t.CreatedAt, text: t.Name + "\n" + t.Subject, keys: map[string]any{"name": t.Name, "updated_at": t.UpdatedAt}}
	})
	return apiList(c, out, m)
}

func (s *Server) apiTemplateCreate(c *echo.Context) error {
	var b templateBody
	if err := bindJSON(c, &b); err != nil {
		return err
	}
	in, err := b.input(apiAuthor(c), "")
	if err != nil {
		return err
	}
	t, err := s.store.CreateTemplate(c.Request().Context(), in, s.checkTemplate(c.Request().Context()))
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", "/api/v1/templates/"+itoa(t.ID))
	return apiData(c, http.StatusCreated, toTemplateJSON(t))
}

func (s *Server) apiTemplateGet(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	t, err := s.store.Template(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, toTemplateJSON(t))
}

func (s *Server) apiTemplateUpdate(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var b templateBody
	if err := bindJSON(c, &b); err != nil {
		return err
	}
	old, err := s.store.Template(c.Request().Context(), id)
	if err != nil {
		return err
	}
	in, err := b.input(apiAuthor(c), old.Format)
	if err != nil {
		return err
	}
	t, err := s.store.UpdateTemplate(c.Request().Context(), id, in, s.checkTemplate(c.Request().Context()))
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, toTemplateJSON(t))
}

func versionJSON(v store.TemplateVersion) templateJSON {
	out := toTemplateJSON(v.Template)
	out.Author = v.Author
	return out
}

func (s *Server) apiTemplateVersions(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	vs, err := s.store.TemplateVersions(c.Request().Context(), id)
	if err != nil {
		return err
	}
	m := meta{Page: 1, PerPage: len(vs), Total: len(vs)}
	out := make([]templateJSON, len(vs))
	for i, v := range vs {
		out[i] = versionJSON(v)
	}
	return apiList(c, out, m)
}

func versionParam(c *echo.Context) (int, error) {
	v, err := strconv.Atoi(c.Param("version"))
	if err != nil || v < 1 {
		return 0, store.ErrNotFound
	}
	return v, nil
}

func (s *Server) apiTemplateVersion(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	v, err := versionParam(c)
	if err != nil {
		return err
	}
	tv, err := s.store.TemplateVersion(c.Request().Context(), id, v)
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, versionJSON(tv))
}

func (s *Server) apiTemplateRestore(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	v, err := versionParam(c)
	if err != nil {
		return err
	}
	t, err := s.store.RestoreTemplateVersion(c.Request().Context(), id, v, apiAuthor(c), s.checkTemplate(c.Request().Context()))
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, toTemplateJSON(t))
}

// apiTemplatePreview renders a saved template for a contact, or for the
// sample contact with the given transactional data.
func (s *Server) apiTemplatePreview(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var b previewBody
	if err := bindJSON(c, &b); err != nil {
		return err
	}
	ctx := c.Request().Context()
	t, err := s.store.Template(ctx, id)
	if err != nil {
		return err
	}
	r, err := s.out.RenderTemplate(ctx, t, b.ContactID, b.Data)
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, previewJSON{Subject: r.Subject, HTML: r.HTML, Text: r.Text})
}

// previewBody renders a template for a contact, or for sample data.
type previewBody struct {
	ContactID int64          `json:"contact_id"`
	Data      map[string]any `json:"data"`
}

// previewJSON is a rendered template.
type previewJSON struct {
	Subject string `json:"subject"`
	HTML    string `json:"html"`
	Text    string `json:"text"`
}
