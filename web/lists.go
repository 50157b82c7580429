package web

import (
	"errors"
	"fmt"
	"html"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v5"

	"herald/store"
	"herald/templates"
)

// blankFormFieldRows are offered under a list's form fields for new ones.
const blankFormFieldRows = 2

func listRow(l store.List) templates.ListRow {
	return templates.ListRow{ID: l.ID, Name: l.Name, Description: l.Description, OptIn: l.OptIn, Visibility: l.Visibility,
		Confirmed: l.Confirmed, Unconfirmed: l.Unconfirmed, Unsubscribed: l.Unsubscribed}
}

func (s *Server) listList(c *echo.Context) error {
	ls, err := s.store.Lists(c.Request().Context())
	if err != nil {
		return err
	}
	p := templates.ListsProps{Shell: s.shell(c, "lists", "Lists")}
	for _, l := range ls {
		p.Lists = append(p.Lists, listRow(l))
	}
	return s.render(c, http.StatusOK, templates.ListsPage(p))
}

func listFormOf(l store.List) templates.ListForm {
	f := templates.ListForm{Name: l.Name, Description: l.Description, OptIn: l.OptIn, Visibility: l.Visibility, Challenge: l.Challenge}
	for _, ff := range l.FormFields {
		f.Fields = append(f.Fields, templates.FormFieldRow{Key: ff.Key, Label: ff.Label, Required: ff.Required})
	}
	for i := 0; i < blankFormFieldRows; i++ {
		f.Fields = append(f.Fields, templates.FormFieldRow{})
	}
	return f
}

// readListForm parses the list editor; field rows without a key are dropped.
func readListForm(c *echo.Context) (templates.ListForm, store.ListInput, error) {
	values, err := formValues(c)
	if err != nil {
		return templates.ListForm{}, store.ListInput{}, err
	}
	f := templates.ListForm{Name: values.Get("name"), Description: values.Get("description"), OptIn: values.Get("opt_in"),
		Visibility: values.Get("visibility"), Challenge: values.Get("challenge") != ""}
	required := map[string]bool{}
	for _, v := range values["field_required"] {
		required[v] = true
	}
	fields := []store.FormField{}
	labels := values["field_label"]
	for i, k := range values["field_key"] {
		row := templates.FormFieldRow{Key: strings.TrimSpace(k), Label: strings.TrimSpace(at(labels, i)), Required: required[strconv.Itoa(i)]}
		f.Fields = append(f.Fields, row)
		if row.Key != "" || row.Label != "" {
			fields = append(fields, store.FormField{Key: row.Key, Label: row.Label, Required: row.Required})
		}
	}
	return f, store.ListInput{Name: &f.Name, Description: &f.Description, OptIn: &f.OptIn, Visibility: &f.Visibility, FormFields: &fields, Challenge: &f.Challenge}, nil
}

func (s *Server) listNew(c *echo.Context) error {
	return s.render(c, http.StatusOK, templates.ListPage(templates.ListProps{Shell: s.shell(c, "lists", "New list"),
		Form: listFormOf(store.List{OptIn: store.OptInSingle, Visibility: store.VisibilityPrivate})}))
}

func (s *Server) listCreate(c *echo.Context) error {
	f, in, err := readListForm(c)
	if err != nil {
		return err
	}
	l, err := s.store.CreateList(c.Request().Context(), in)
	if err != nil {
		return s.listFormFailed(c, templates.ListProps{Shell: s.shell(c, "lists", "New list"), Form: f}, err)
	}
	s.flash(c, "success", "List "+l.Name+" created.")
	return redirect(c, "/lists/"+itoa(l.ID))
}

func (s *Server) listFormFailed(c *echo.Context, p templates.ListProps, err error) error {
	var ve *store.ValidationError
	switch {
	case errors.As(err, &ve):
		p.Errors = ve.Fields
		return s.render(c, http.StatusUnprocessableEntity, templates.ListPage(p))
	case errors.Is(err, store.ErrConflict):
		p.Errors = templates.FieldErrors{"name": "Another list already has this name."}
		return s.render(c, http.StatusConflict, templates.ListPage(p))
	}
	return err
}

func (s *Server) listProps(c *echo.Context, l store.List) templates.ListProps {
	p := templates.ListProps{Shell: s.shell(c, "lists", l.Name), ID: l.ID, Form: listFormOf(l), Counts: listRow(l)}
	if l.Visibility == store.VisibilityPublic {
		p.FormURL = s.publicURL(c) + "/subscribe/" + itoa(l.ID)
		p.EmbedHTML = embedHTML(p.FormURL, l)
		_, err := s.out.Relay(c.Request().Context(), 0)
		p.NoRelay = err != nil
		p.NoBaseURL = s.general().BaseURL == ""
	}
	return p
}

// embedHTML is a sign-up form for another website, posting to the hosted form.
func embedHTML(action string, l store.List) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<form method=\"post\" action=\"%s\">\n", html.EscapeString(action))
	field := func(name, label, typ string, required bool) {
		req := ""
		if required {
			req = " required"
		}
		fmt.Fprintf(&b, "  <p><label>%s<br><input type=\"%s\" name=\"%s\"%s></label></p>\n", html.EscapeString(label), typ, name, req)
	}
	field("email", "Email", "email", true)
	field("first_name", "First name", "text", false)
	field("last_name", "Last name", "text", false)
	for _, f := range l.FormFields {
		field("attr_"+f.Key, f.Label, "text", f.Required)
	}
	b.WriteString("  <div style=\"position:absolute;left:-10000px\" aria-hidden=\"true\"><input type=\"text\" name=\"website\" tabindex=\"-1\" autocomplete=\"off\"></div>\n")
	b.WriteString("  <p><button type=\"submit\">Subscribe</button></p>\n</form>\n")
	return b.String()
}

func (s *Server) listEdit(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	l, err := s.store.List(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, templates.ListPage(s.listProps(c, l)))
}

func (s *Server) listUpdate(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	old, err := s.store.List(c.Request().Context(), id)
	if err != nil {
		return err
	}
	f, in, err := readListForm(c)
	if err != nil {
		return err
	}
	l, err := s.store.UpdateList(c.Request().Context(), id, in)
	if err != nil {
		p := s.listProps(c, old)
		p.Form = f
		return s.listFormFailed(c, p, err)
	}
	s.flash(c, "success", "List "+l.Name+" saved.")
	return redirect(c, "/lists/"+itoa(id))
}

func (s *Server) listDelete(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if err := s.store.DeleteList(c.Request().Context(), id); err != nil {
		return err
	}
	s.flash(c, "success", "List deleted.")
	return redirect(c, "/lists")
}

// suppressionsPerPage is the length of a page of the do-not-send list.
const suppressionsPerPage = 100

// maxSuppressionLines caps one suppressions file.
const maxSuppressionLines = 1_000_000

func (s *Server) suppressionImport(c *echo.Context) error {
	res, err := s.importSuppressions(c, "import")
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		return s.suppressionsPage(c, http.StatusUnprocessableEntity, templates.SuppressionsProps{Errors: templates.FieldErrors{"file": ve.Fields["file"]}})
	}
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("Added %d to the do-not-send list; %d were there already.", res.Added, res.Already)
	if len(res.Invalid) > 0 {
		msg += fmt.Sprintf(" %d lines were not addresses or domains, the first on line %d.", len(res.Invalid), res.Invalid[0].Line)
	}
	s.flash(c, "success", msg)
	return redirect(c, "/contacts/suppressions")
}
