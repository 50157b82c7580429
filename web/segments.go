package web

import (
	"errors"
	"net/http"
	"strconv"

	"herald/store"
	"herald/templates"

	"github.com/labstack/echo/v5"
)

func (s *Server) segmentList(c *echo.Context) error {
	gs, err := s.store.Segments(c.Request().Context())
	if err != nil {
		return err
	}
	p := templates.SegmentsProps{Shell: s.shell(c, "segments", "Segments")}
	for _, g := range gs {
		p.Segments = append(p.Segments, templates.SegmentRow{ID: g.ID, Name: g.Name, Description: g.Description})
	}
	return s.render(c, http.StatusOK, templates.SegmentsPage(p))
}

func (s *Server) segmentNew(c *echo.Context) error {
	root := templates.RuleNode{Group: true, Match: "all", Children: []templates.RuleNode{{Field: "email", Op: "contains"}}}
	ed, err := s.newSegmentEditor(c, 0, "", "", root)
	if err != nil {
		return err
	}
	if err := s.count(c, ed); err != nil {
		return err
	}
	return s.render(c, http.StatusOK, templates.SegmentPage(ed.props))
}

func (s *Server) segmentEdit(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	g, err := s.store.Segment(c.Request().Context(), id)
	if err != nil {
		return err
	}
	ed, err := s.newSegmentEditor(c, id, g.Name, g.Description, fromRule(g.Rules))
	if err != nil {
		return err
	}
	if err := s.count(c, ed); err != nil {
		return err
	}
	return s.render(c, http.StatusOK, templates.SegmentPage(ed.props))
}

// segmentEditorEdit answers the editor's buttons and field changes: the new
// tree and its count for htmx, or the whole page without JavaScript.
func (s *Server) segmentEditorEdit(c *echo.Context) error {
	ed, _, err := s.formEditor(c, false)
	if err != nil {
		return err
	}
	if err := s.count(c, ed); err != nil {
		return err
	}
	c.Response().Header().Add("Vary", "HX-Request")
	if c.Request().Header.Get("HX-Request") == "true" {
		return s.render(c, http.StatusOK, templ2(templates.RuleEditor(ed.props), templates.SegmentCountView(ed.props.Count, true)))
	}
	return s.render(c, http.StatusOK, templates.SegmentPage(ed.props))
}

func (s *Server) segmentCountLive(c *echo.Context) error {
	ed, _, err := s.formEditor(c, false)
	if err != nil {
		return err
	}
	if err := s.count(c, ed); err != nil {
		return err
	}
	return s.render(c, http.StatusOK, templates.SegmentCountView(ed.props.Count, false))
}

func (s *Server) segmentCountSaved(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	n, err := s.store.CountContacts(c.Request().Context(), store.ContactFilter{SegmentID: id})
	if err != nil {
		return err
	}
	return c.HTML(http.StatusOK, strconv.Itoa(n))
}

func (s *Server) segmentSave(c *echo.Context) error {
	ed, bad, err := s.formEditor(c, true)
	if err != nil {
		return err
	}
	if bad {
		if err := s.count(c, ed); err != nil {
			return err
		}
		return s.render(c, http.StatusUnprocessableEntity, templates.SegmentPage(ed.props))
	}
	in := store.SegmentInput{Name: &ed.props.Name, Description: &ed.props.Description, Rules: &ed.rule}
	ctx := c.Request().Context()
	var g store.Segment
	if ed.props.ID == 0 {
		g, err = s.store.CreateSegment(ctx, in)
	} else {
		g, err = s.store.UpdateSegment(ctx, ed.props.ID, in)
	}
	var ve *store.ValidationError
	switch {
	case errors.As(err, &ve):
		ed.props.Errors = ve.Fields
		placeErrors(&ed.props.Root, ve.Fields, ed.paths)
		if err := s.count(c, ed); err != nil {
			return err
		}
		return s.render(c, http.StatusUnprocessableEntity, templates.SegmentPage(ed.props))
	case errors.Is(err, store.ErrConflict):
		ed.props.Errors = templates.FieldErrors{"name": "Another segment already has this name."}
		return s.render(c, http.StatusConflict, templates.SegmentPage(ed.props))
	case err != nil:
		return err
	}
	s.flash(c, "success", "Segment "+g.Name+" saved.")
	return redirect(c, "/segments/"+itoa(g.ID))
}

func (s *Server) segmentDelete(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if err := s.store.DeleteSegment(c.Request().Context(), id); err != nil {
		return err
	}
	s.flash(c, "success", "Segment deleted.")
	return redirect(c, "/segments")
}
