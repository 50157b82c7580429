package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"herald/store"
	"herald/templates"

	"github.com/labstack/echo/v5"
)

type diffLine struct {
	op   string
	text string
}

// maxDiffCells bounds the work of one comparison; larger bodies are shown
// as all removed and all added.
const maxDiffCells = 4_000_000

// diffLines compares two texts line by line with a longest common
// subsequence, marking lines only in a with "-" and only in b with "+".
func diffLines(a, b string) []diffLine {
	x, y := strings.Split(a, "\n"), strings.Split(b, "\n")
	if len(x)*len(y) > maxDiffCells {
		var out []diffLine
		for _, l := range x {
			out = append(out, diffLine{"-", l})
		}
		for _, l := range y {
			out = append(out, diffLine{"+", l})
		}
		return out
	}
	// lcs[i][j] is the length of the common subsequence of x[i:] and y[j:].
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []diffLine
	i, j := 0, 0
	for i < len(x) && j < len(y) {
		switch {
		case x[i] == y[j]:
			out = append(out, diffLine{" ", x[i]})
			i, j = i+1, j+1
		case lcs[i+1][j] >= lcs[i][j+1]:
			out = append(out, diffLine{"-", x[i]})
			i++
		default:
			out = append(out, diffLine{"+", y[j]})
			j++
		}
	}
	for ; i < len(x); i++ {
		out = append(out, diffLine{"-", x[i]})
	}
	for ; j < len(y); j++ {
		out = append(out, diffLine{"+", y[j]})
	}
	return out
}

func (s *Server) templateVersions(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	vs, err := s.store.TemplateVersions(c.Request().Context(), id)
	if err != nil {
		return err
	}
	p := templates.VersionsProps{Shell: s.shell(c, "templates", "Versions"), ID: id}
	for i, v := range vs {
		if i == 0 {
			p.Name = v.Name
		}
		p.Versions = append(p.Versions, templates.VersionRow{Version: v.Version, Name: v.Name, Author: v.Author, SavedAt: v.CreatedAt, Current: i == 0})
	}
	return s.render(c, http.StatusOK, templates.VersionsPage(p))
}

func (s *Server) templateVersionShow(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	v, err := versionParam(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	old, err := s.store.TemplateVersion(ctx, id, v)
	if err != nil {
		return err
	}
	cur, err := s.store.Template(ctx, id)
	if err != nil {
		return err
	}
	against := cur.Version
	if n, err := strconv.Atoi(c.QueryParam("against")); err == nil && n >= 1 && n <= cur.Version {
		against = n
	}
	other, err := s.store.TemplateVersion(ctx, id, against)
	if err != nil {
		return err
	}
	p := templates.VersionProps{Shell: s.shell(c, "templates", "Version"), ID: id, Name: cur.Name, Version: v, Against: against,
		Subject: old.Subject, Format: old.Format, Body: old.Body}
	for _, d := range diffLines(comparable(old.Template), comparable(other.Template)) {
		p.Diff = append(p.Diff, templates.DiffLine{Op: d.op, Text: d.text})
		p.Changed = p.Changed || d.op != " "
	}
	return s.render(c, http.StatusOK, templates.VersionPage(p))
}

// comparable is a version written out whole, so a comparison shows changes
// to every part of it, not only the body.
func comparable(t store.Template) string {
	return fmt.Sprintf("Name: %s\nSubject: %s\nWritten in: %s\nLayout: %d\n\n%s\n\n--- text version ---\n%s", t.Name, t.Subject, t.Format, t.LayoutID, t.Body, t.TextBody)
}

func (s *Server) templateRestore(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	v, err := versionParam(c)
	if err != nil {
		return err
	}
	u, _ := currentUser(c)
	t, err := s.store.RestoreTemplateVersion(c.Request().Context(), id, v, u.Email, s.checkTemplate(c.Request().Context()))
	if err != nil {
		return err
	}
	s.flash(c, "success", fmt.Sprintf("Version %d restored as version %d.", v, t.Version))
	return redirect(c, "/templates/"+itoa(id))
}
