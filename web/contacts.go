package web

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"herald/store"
	"herald/templates"
)

// contactsPerPage is the length of a page of the contacts table.
const contactsPerPage = 50

// filterForm reads the contacts filter bar from a query string.
func filterForm(q url.Values) (templates.ContactFilterForm, store.ContactFilter, error) {
	form := templates.ContactFilterForm{Q: q.Get("q"), ListID: q.Get("list_id"), Tag: q.Get("tag"), Status: q.Get("status"), SegmentID: q.Get("segment_id")}
	f := store.ContactFilter{Q: form.Q, Tag: form.Tag, Status: form.Status, Order: store.Order{Desc: true}}
	var err error
	if form.ListID != "" {
		if f.ListID, err = strconv.ParseInt(form.ListID, 10, 64); err != nil {
			return form, f, &store.ValidationError{Fields: map[string]string{"list_id": "Choose a list from the menu."}}
		}
	}
	if form.SegmentID != "" {
		if f.SegmentID, err = strconv.ParseInt(form.SegmentID, 10, 64); err != nil {
			return form, f, &store.ValidationError{Fields: map[string]string{"segment_id": "Choose a segment from the menu."}}
		}
	}
	return form, f, nil
}

// query encodes the filter bar as a URL query, leaving out empty fields.
func filterQuery(form templates.ContactFilterForm) string {
	v := url.Values{}
	for k, val := range map[string]string{"q": form.Q, "list_id": form.ListID, "tag": form.Tag, "status": form.Status, "segment_id": form.SegmentID} {
		if val != "" {
			v.Set(k, val)
		}
	}
	return v.Encode()
}

func (s *Server) contactList(c *echo.Context) error {
	n, err := pageNumber(c)
	if err != nil {
		return err
	}
	p := templates.ContactsProps{Shell: s.shell(c, "contacts", "Contacts"), Statuses: store.ContactStatuses, PerPage: contactsPerPage, Page: n}
	if p.Lists, p.Segments, p.Tags, err = s.audienceOptions(c); err != nil {
		return err
	}
	form, f, err := filterForm(c.QueryParams())
	p.Filter, p.Query = form, filterQuery(form)
	if err == nil {
		var page store.ContactPage
		page, err = s.store.Contacts(c.Request().Context(), f, p.Page, contactsPerPage)
		p.Total, p.Pages = page.Total, int(math.Ceil(float64(page.Total)/contactsPerPage))
		for _, ct := range page.Contacts {
			p.Rows = append(p.Rows, contactRow(ct))
		}
	}
	var ve *store.ValidationError
	var re *store.RuleError
	switch {
	case errors.As(err, &ve):
		p.Error = "These filters cannot be used: " + strings.Join(fieldMessages(ve), " ")
	case errors.As(err, &re):
		p.Error = "The segment's rules cannot be used: " + re.Error()
	case errors.Is(err, store.ErrNotFound):
		p.Error = "That list or segment no longer exists."
	case err != nil:
		return err
	}
	c.Response().Header().Add("Vary", "HX-Request")
	if c.Request().Header.Get("HX-Request") == "true" {
		return s.render(c, http.StatusOK, templates.ContactsResults(p))
	}
	return s.render(c, http.StatusOK, templates.ContactsPage(p))
}

func contactRow(ct store.Contact) templates.ContactRow {
	r := templates.ContactRow{ID: ct.ID, Email: ct.Email, Name: ct.Name(), Status: ct.Status, Tags: ct.Tags, CreatedAt: ct.CreatedAt}
	for _, m := range ct.Memberships {
		if m.Status != store.MemberUnsubscribed {
			r.Lists = append(r.Lists, m.ListName)
		}
	}
	return r
}

func (s *Server) contactExportUI(c *echo.Context) error {
	_, f, err := filterForm(c.QueryParams())
	if err != nil {
		return err
	}
	return s.exportContacts(c, f, c.QueryParam("format"))
}

// contactBulk applies a bulk action to the ticked contacts or to everything
// the filter matches, then returns to the same view.
func (s *Server) contactBulk(c *echo.Context) error {
	values, err := formValues(c)
	if err != nil {
		return err
	}
	filter, err := url.ParseQuery(values.Get("filter"))
	if err != nil {
		filter = url.Values{}
	}
	back := "/contacts"
	if q := filterQuery(mustForm(filter)); q != "" {
		back += "?" + q
	}
	_, f, err := filterForm(filter)
	if err != nil {
		return err
	}
	if values.Get("scope") != "all" {
		f = store.ContactFilter{}
		for _, v := range values["ids"] {
			if id, err := strconv.ParseInt(v, 10, 64); err == nil {
				f.IDs = append(f.IDs, id)
			}
		}
		if len(f.IDs) == 0 {
			s.flash(c, "error", "Tick the contacts to change first, or apply the action to all that match.")
			return c.Redirect(http.StatusSeeOther, back)
		}
	}
	listID, _ := strconv.ParseInt(values.Get("list_id"), 10, 64)
	n, err := s.store.BulkContacts(c.Request().Context(), f, store.BulkAction{Kind: values.Get("action"), ListID: listID, Tag: values.Get("tag")})
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		s.flash(c, "error", "Nothing changed: "+strings.Join(fieldMessages(ve), " "))
		return c.Redirect(http.StatusSeeOther, back)
	}
	if err != nil {
		return err
	}
	s.flash(c, "success", fmt.Sprintf("Done: %d %s changed.", n, map[bool]string{true: "contact", false: "contacts"}[n == 1]))
	return c.Redirect(http.StatusSeeOther, back)
}

// contactPageProps loads everything the contact page shows.
func (s *Server) contactPageProps(c *echo.Context, id int64) (templates.ContactProps, error) {
	ctx := c.Request().Context()
	ct, err := s.store.Contact(ctx, id)
	if err != nil {
		return templates.ContactProps{}, err
	}
	p := templates.ContactProps{Shell: s.shell(c, "contacts", ct.Email), ID: id, Form: contactFormOf(ct), Statuses: store.ContactStatuses,
		Source: ct.Source, CreatedAt: ct.CreatedAt, Erased: !ct.ErasedAt.IsZero(), LastOpen: ct.LastOpen, LastClick: ct.LastClick}
	js, err := s.store.ContactJourneys(ctx, id, 20)
	if err != nil {
		return templates.ContactProps{}, err
	}
	for _, j := range js {
		p.Journeys = append(p.Journeys, templates.ContactJourney{AutomationID: j.AutomationID, JourneyID: j.ID, Automation: j.Automation,
			Status: j.Status, StepID: j.StepID, Test: j.Test, EnteredAt: j.EnteredAt})
	}
	if !p.Erased {
		links := s.out.Links(ctx)
		p.PreferencesURL, p.UnsubscribeURL = links.Preferences(id), links.Unsubscribe(id, 0)
	}
	if !ct.Consent.At.IsZero() {
		p.Consent = fmt.Sprintf("%s from %s on %s", ct.Consent.Form, ct.Consent.IP, ct.Consent.At.UTC().Format("2 Jan 2006 15:04 UTC"))
	}
	on := map[int64]bool{}
	for _, m := range ct.Memberships {
		on[m.ListID] = true
		p.Memberships = append(p.Memberships, templates.MembershipRow{ListID: m.ListID, ListName: m.ListName, Status: m.Status, UpdatedAt: m.UpdatedAt})
	}
	lists, _, _, err := s.audienceOptions(c)
	if err != nil {
		return p, err
	}
	for _, o := range lists {
		if id, _ := strconv.ParseInt(o.Value, 10, 64); !on[id] {
			p.Lists = append(p.Lists, o)
		}
	}
	evs, err := s.store.ContactEvents(ctx, id, 200)
	if err != nil {
		return p, err
	}
	for _, e := range evs {
		p.Events = append(p.Events, templates.EventRow{Kind: e.Kind, Detail: e.Detail, At: e.CreatedAt})
	}
	sends, _, err := s.store.ContactSends(ctx, id, store.Newest, 100, 0)
	if err != nil {
		return p, err
	}
	for _, sd := range sends {
		p.Sends = append(p.Sends, templates.SendRow{CampaignID: sd.CampaignID, CampaignName: sd.CampaignName, Status: sd.Status,
			Attempts: sd.Attempts, LastResponse: sd.LastResponse, At: sd.UpdatedAt})
	}
	return p, nil
}

// blankAttributeRows are offered under a contact's attributes for new ones.
const blankAttributeRows = 3

func contactFormOf(ct store.Contact) templates.ContactForm {
	f := templates.ContactForm{Email: ct.Email, FirstName: ct.FirstName, LastName: ct.LastName, Status: ct.Status, Tags: strings.Join(ct.Tags, ", ")}
	for _, k := range sortedKeys(ct.Attributes) {
		f.Attributes = append(f.Attributes, attributeRow(k, ct.Attributes[k]))
	}
	for i := 0; i < blankAttributeRows; i++ {
		f.Attributes = append(f.Attributes, templates.AttributeRow{Type: "text"})
	}
	return f
}

func attributeRow(k string, v any) templates.AttributeRow {
	switch x := v.(type) {
	case bool:
		return templates.AttributeRow{Key: k, Value: strconv.FormatBool(x), Type: "bool"}
	case float64:
		return templates.AttributeRow{Key: k, Value: attributeText(x), Type: "number"}
	case string:
		if _, err := time.Parse("2006-01-02", x); err == nil {
			return templates.AttributeRow{Key: k, Value: x, Type: "date"}
		}
		return templates.AttributeRow{Key: k, Value: x, Type: "text"}
	}
	return templates.AttributeRow{Key: k, Value: attributeText(v), Type: "text"}
}

// readContactForm parses the contact editor into what it changes. Attribute
// rows with a name and an empty value, or ticked Remove, are deleted. The
// error is a *store.ValidationError for values it cannot take, or why the
// form could not be read.
func readContactForm(c *echo.Context) (templates.ContactForm, store.ContactInput, error) {
	values, err := formValues(c)
	if err != nil {
		return templates.ContactForm{}, store.ContactInput{}, err
	}
	f := templates.ContactForm{Email: values.Get("email"), FirstName: values.Get("first_name"), LastName: values.Get("last_name"),
		Status: values.Get("status"), Tags: values.Get("tags"), Lists: values["lists"]}
	in := store.ContactInput{Email: &f.Email, FirstName: &f.FirstName, LastName: &f.LastName, Attributes: map[string]any{}}
	if f.Status != "" {
		in.Status = &f.Status
	}
	// An empty field, or a stray comma, is no tag; an empty list clears the tags.
	tags := []string{}
	for _, t := range strings.Split(f.Tags, ",") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	in.Tags = &tags
	errs := templates.FieldErrors{}
	remove := map[string]bool{}
	for _, k := range values["attr_remove"] {
		remove[k] = true
	}
	keys, types, vals := values["attr_key"], values["attr_type"], values["attr_value"]
	for i, k := range keys {
		k = strings.TrimSpace(k)
		row := templates.AttributeRow{Key: k, Type: at(types, i), Value: at(vals, i)}
		f.Attributes = append(f.Attributes, row)
		if k == "" {
			continue
		}
		if remove[k] || strings.TrimSpace(row.Value) == "" {
			in.Attributes[k] = nil
			continue
		}
		v, msg := typedAttribute(row)
		if msg != "" {
			errs["attributes"] = msg
		}
		in.Attributes[k] = v
	}
	for _, v := range f.Lists {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil {
			in.Lists = append(in.Lists, id)
		}
	}
	if len(errs) > 0 {
		return f, in, &store.ValidationError{Fields: errs}
	}
	return f, in, nil
}

func at(list []string, i int) string {
	if i < len(list) {
		return list[i]
	}
	return ""
}

// typedAttribute turns an attribute row's text into a value of its type.
func typedAttribute(r templates.AttributeRow) (any, string) {
	v := strings.TrimSpace(r.Value)
	switch r.Type {
	case "number":
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Sprintf("%s: enter a number, like 42 or 9.99.", r.Key)
		}
		return f, ""
	case "bool":
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Sprintf("%s: enter true or false.", r.Key)
		}
		return b, ""
	case "date":
		if _, err := store.ParseDate(v); err != nil {
			return nil, fmt.Sprintf("%s: enter a date like 2024-05-31.", r.Key)
		}
		return v, ""
	}
	return r.Value, ""
}

func (s *Server) contactNew(c *echo.Context) error {
	lists, _, _, err := s.audienceOptions(c)
	if err != nil {
		return err
	}
	f := templates.ContactForm{Status: store.StatusActive}
	for i := 0; i < blankAttributeRows; i++ {
		f.Attributes = append(f.Attributes, templates.AttributeRow{Type: "text"})
	}
	return s.render(c, http.StatusOK, templates.ContactPage(templates.ContactProps{Shell: s.shell(c, "contacts", "Add contact"),
		Form: f, Lists: lists, Statuses: store.ContactStatuses}))
}

func (s *Server) contactCreate(c *echo.Context) error {
	f, in, err := readContactForm(c)
	if err == nil {
		var ct store.Contact
		in.Source = "admin"
		ct, _, err = s.store.CreateContact(c.Request().Context(), in, false)
		if err == nil {
			s.flash(c, "success", "Contact "+ct.Email+" added.")
			return redirect(c, "/contacts/"+itoa(ct.ID))
		}
	}
	lists, _, _, lerr := s.audienceOptions(c)
	if lerr != nil {
		return lerr
	}
	return s.contactFormFailed(c, templates.ContactProps{Shell: s.shell(c, "contacts", "Add contact"), Form: f, Lists: lists,
		Statuses: store.ContactStatuses}, err)
}

// contactFormFailed re-renders the contact editor with what was wrong, or
// returns an error that is not about the input.
func (s *Server) contactFormFailed(c *echo.Context, p templates.ContactProps, err error) error {
	var ve *store.ValidationError
	switch {
	case errors.As(err, &ve):
		p.Errors = ve.Fields
		return s.render(c, http.StatusUnprocessableEntity, templates.ContactPage(p))
	case errors.Is(err, store.ErrConflict):
		p.Errors = templates.FieldErrors{"email": "Another contact already has this email."}
		return s.render(c, http.StatusConflict, templates.ContactPage(p))
	}
	return err
}

func (s *Server) contactShow(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	p, err := s.contactPageProps(c, id)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, templates.ContactPage(p))
}

func (s *Server) contactUpdate(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	f, in, err := readContactForm(c)
	if err == nil {
		if _, err = s.store.UpdateContact(c.Request().Context(), id, in); err == nil {
			s.flash(c, "success", "Contact saved.")
			return redirect(c, "/contacts/"+itoa(id))
		}
	}
	p, perr := s.contactPageProps(c, id)
	if perr != nil {
		return perr
	}
	p.Form = f
	return s.contactFormFailed(c, p, err)
}

func (s *Server) contactSetList(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	listID, err := strconv.ParseInt(c.FormValue("list_id"), 10, 64)
	if err != nil {
		return &store.ValidationError{Fields: map[string]string{"list_id": "Choose a list."}}
	}
	if err := s.store.SetMembership(c.Request().Context(), id, listID, c.FormValue("status")); err != nil {
		return err
	}
	s.flash(c, "success", "Lists updated.")
	return redirect(c, "/contacts/"+itoa(id))
}

func (s *Server) contactDelete(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if err := s.store.DeleteContact(c.Request().Context(), id); err != nil {
		return err
	}
	s.flash(c, "success", "Contact deleted.")
	return redirect(c, "/contacts")
}

func (s *Server) contactErase(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if err := s.store.EraseContact(c.Request().Context(), id); err != nil {
		return err
	}
	s.flash(c, "success", "Personal data erased.")
	return redirect(c, "/contacts/"+itoa(id))
}

func (s *Server) contactExportOne(c *echo.Context) error {
	return s.apiContactExport(c)
}
