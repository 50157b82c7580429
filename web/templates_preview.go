package web

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"herald/store"
	"herald/templates"

	"github.com/labstack/echo/v5"
)

// previews keeps rendered previews for a few minutes, for the sandboxed
// frame beside the editor to load by an unguessable key.
type previews struct {
	mu    sync.Mutex
	pages map[string]preview
}

type preview struct {
	html    string
	expires time.Time
}

func (p *previews) put(html string) string {
	b := make([]byte, 16)
	rand.Read(b)
	key := hex.EncodeToString(b)
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pages == nil {
		p.pages = map[string]preview{}
	}
	for k, v := range p.pages {
		if now.After(v.expires) || len(p.pages) >= maxPreview {
			delete(p.pages, k)
		}
	}
	p.pages[key] = preview{html: html, expires: now.Add(previewTTL)}
	return key
}

func (p *previews) get(key string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	v, ok := p.pages[key]
	if !ok || time.Now().After(v.expires) {
		return "", false
	}
	return v.html, true
}

// previewOf renders a template for the preview pane, or lists what is wrong.
func (s *Server) previewOf(c *echo.Context, t store.Template, contactID int64, data map[string]any) templates.PreviewProps {
	if errs := s.checkTemplate(c.Request().Context())(t); len(errs) > 0 {
		var out []string
		for _, k := range sortedKeys(errs) {
			out = append(out, fieldTitle(k)+": "+errs[k])
		}
		return templates.PreviewProps{Errors: out}
	}
	r, err := s.out.RenderTemplate(c.Request().Context(), t, contactID, data)
	if err != nil {
		return templates.PreviewProps{Errors: []string{validationText(err)}}
	}
	return s.previewRendered(r.Subject, r.HTML, r.Text)
}

// previewRendered shows a rendered message in the preview pane: its HTML in
// the sandboxed frame, by a key that expires, and its text.
func (s *Server) previewRendered(subject, html, text string) templates.PreviewProps {
	p := templates.PreviewProps{Subject: subject, Text: text}
	if html != "" {
		p.URL = "/templates/preview/" + s.previews.put(html)
	}
	return p
}

func fieldTitle(k string) string {
	switch k {
	case "text_body":
		return "Text"
	case "layout_id":
		return "Layout"
	}
	return strings.ToUpper(k[:1]) + k[1:]
}

// templatePreview renders the editor's unsaved state.
func (s *Server) templatePreview(c *echo.Context) error {
	id, _ := strconv.ParseInt(c.FormValue("id"), 10, 64)
	t, err := s.store.Template(c.Request().Context(), id)
	if err != nil {
		return err
	}
	_, in := readTemplateForm(c, t)
	draft := t
	draft.Name, draft.Format, draft.Subject, draft.Body, draft.TextBody, draft.LayoutID, draft.Essential =
		*in.Name, *in.Format, *in.Subject, *in.Body, *in.TextBody, *in.LayoutID, *in.Essential
	contactID, _ := strconv.ParseInt(c.FormValue("preview_contact"), 10, 64)
	var data map[string]any
	if raw := strings.TrimSpace(c.FormValue("preview_data")); raw != "" {
		if err := json.Unmarshal([]byte(raw), &data); err != nil {
			return s.render(c, http.StatusOK, templates.TemplatePreview(templates.PreviewProps{Errors: []string{"Sample data must be a JSON object, like {\"order_id\": \"1001\"}."}}))
		}
	}
	return s.render(c, http.StatusOK, templates.TemplatePreview(s.previewOf(c, draft, contactID, data)))
}

// previewShow serves a rendered preview to the sandboxed frame. The user's
// HTML runs with no script, may style itself inline and load images, and
// only Herald's own pages may frame it.
func (s *Server) previewShow(c *echo.Context) error {
	html, ok := s.previews.get(c.Param("key"))
	if !ok {
		html = "<p style=\"font-family:sans-serif;color:#666\">This preview has expired. Edit the template to see it again.</p>"
	}
	h := c.Response().Header()
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'; img-src * data:; style-src 'unsafe-inline'; font-src * data:; frame-ancestors 'self'")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("Cache-Control", "no-store")
	return c.HTML(http.StatusOK, html)
}
