package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"herald/scheduler/outbound"
	"herald/store"
	"herald/templates"
)

// addressOf writes an address with its name, as people read it.
func addressOf(name, email string) string { return store.Address{Name: name, Email: email}.String() }

func (s *Server) messageList(c *echo.Context) error {
	return s.messagesPage(c, http.StatusOK, templates.MessagesProps{})
}

func (s *Server) messagesPage(c *echo.Context, code int, p templates.MessagesProps) error {
	ts, err := s.store.Templates(c.Request().Context(), store.KindTransactional)
	if err != nil {
		return err
	}
	for _, t := range ts {
		p.Templates = append(p.Templates, templates.Option{Value: itoa(t.ID), Label: t.Name})
	}
	f := store.MessageFilter{Status: c.QueryParam("status"), Kind: c.QueryParam("kind"), Category: strings.ToLower(strings.TrimSpace(c.QueryParam("category"))), Tag: c.QueryParam("tag"),
		To: c.QueryParam("to"), Order: store.Newest}
	if !store.MessageStatus(f.Status) {
		f.Status = ""
	}
	if !store.MessageKind(f.Kind) {
		f.Kind = ""
	}
	p.Filter = templates.MessageFilterForm{Category: f.Category, Tag: f.Tag, To: f.To, From: c.QueryParam("created_from"), Until: c.QueryParam("created_to")}
	if p.Errors == nil {
		p.Errors = templates.FieldErrors{}
	}
	for field, dst := range map[string]*time.Time{"created_from": &f.Order.CreatedFrom, "created_to": &f.Order.CreatedTo} {
		if v := c.QueryParam(field); v != "" {
			t, ok := parseDay(v, s.location(), field == "created_to")
			if !ok {
				p.Errors[field] = "Give a date like 2026-05-01."
				continue
			}
			*dst = t
		}
	}
	pageNo, err := pageNumber(c)
	if err != nil {
		return err
	}
	const perPage = 100
	ms, total, err := s.store.Messages(c.Request().Context(), f, perPage, (pageNo-1)*perPage)
	if err != nil {
		return err
	}
	p.Shell, p.Status, p.Kind, p.Total, p.Page, p.Pages = s.shell(c, "campaigns", "Transactional"), f.Status, f.Kind, total, pageNo, (total+perPage-1)/perPage
	for _, m := range ms {
		to := m.ToEmail
		if n := len(m.All()) - 1; n > 0 {
			to += fmt.Sprintf(" and %d more", n)
		}
		p.Rows = append(p.Rows, templates.MessageRow{ID: m.ID, Kind: m.Kind, To: to, Subject: m.Subject, Category: m.Category, Tags: m.Tags,
			Status: m.Status, CreatedAt: m.CreatedAt})
	}
	st, err := s.store.MessageStats(c.Request().Context(), f, s.location())
	if err != nil {
		return err
	}
	for _, status := range []string{store.MessageQueued, store.MessageSending, store.MessageRetrying, store.MessageSent, store.MessageFailed, store.MessageSuppressed} {
		if n := st.ByStatus[status]; n > 0 {
			p.Stats.ByStatus = append(p.Stats.ByStatus, templates.Count{Label: status, N: n})
		}
	}
	for _, cs := range st.ByCategory {
		p.Stats.ByCategory = append(p.Stats.ByCategory, templates.CategoryCount{Category: cs.Category, Total: cs.Total,
			Sent: cs.ByStatus[store.MessageSent], Failed: cs.ByStatus[store.MessageFailed]})
	}
	return s.render(c, code, templates.MessagesPage(p))
}

// messageSend sends one message from the admin: the API's request, from a
// form. What is wrong comes back beside its field, the form as typed.
func (s *Server) messageSend(c *echo.Context) error {
	ctx := c.Request().Context()
	f := templates.MessageForm{To: c.FormValue("to"), Cc: c.FormValue("cc"), Bcc: c.FormValue("bcc"), TemplateID: c.FormValue("template_id"),
		Data: c.FormValue("data"), Subject: c.FormValue("subject"), Text: c.FormValue("text")}
	b := outbound.MessageRequest{To: formAddresses(f.To), Cc: formAddresses(f.Cc), Bcc: formAddresses(f.Bcc)}
	errs := map[string]string{}
	if f.TemplateID != "" {
		id, err := strconv.ParseInt(f.TemplateID, 10, 64)
		if err != nil {
			errs["template_id"] = "Choose a template from the menu."
		}
		b.TemplateID = &id
	} else {
		b.Subject, b.Text = &f.Subject, &f.Text
	}
	if strings.TrimSpace(f.Data) != "" {
		if err := json.Unmarshal([]byte(f.Data), &b.Data); err != nil {
			errs["data"] = "Write a JSON object, like {\"order_id\": \"1001\"}."
		}
	}
	var m store.Message
	if len(errs) == 0 {
		var err error
		m, _, err = s.out.Queue(ctx, b)
		var ve *store.ValidationError
		if errors.As(err, &ve) {
			errs = ve.Fields
		} else if err != nil {
			return err
		}
	}
	if len(errs) > 0 {
		return s.messagesPage(c, http.StatusUnprocessableEntity, templates.MessagesProps{Form: f, Errors: errs})
	}
	s.flash(c, "success", "Message "+m.Status+".")
	return redirect(c, messagePathOf(m.ID))
}

// formAddresses reads a form field of addresses separated by commas; an
// empty field names none.
func formAddresses(v string) outbound.Addresses {
	if strings.TrimSpace(v) == "" {
		return nil
	}
	return outbound.Addresses{v}
}

func messagePathOf(id int64) string { return "/messages/" + itoa(id) }

// pathMessage is the message the path's :id names, with its attachments
// and history.
func (s *Server) pathMessage(c *echo.Context) (store.Message, []store.Attachment, []store.MessageEvent, error) {
	ctx := c.Request().Context()
	id, err := pathID(c)
	if err != nil {
		return store.Message{}, nil, nil, err
	}
	m, err := s.store.Message(ctx, id)
	if err != nil {
		return m, nil, nil, err
	}
	atts, err := s.store.MessageAttachments(ctx, id)
	if err != nil {
		return m, nil, nil, err
	}
	evs, err := s.store.MessageEvents(ctx, id)
	return m, atts, evs, err
}

func (s *Server) messageShow(c *echo.Context) error {
	m, atts, evs, err := s.pathMessage(c)
	if err != nil {
		return err
	}
	p := templates.MessageDetailProps{Shell: s.shell(c, "campaigns", m.Subject), ID: m.ID, Subject: m.Subject, Status: m.Status,
		Details: s.messageDetails(c.Request().Context(), m), Preview: s.previewRendered(m.Subject, m.HTML, m.Text)}
	for _, h := range m.Headers {
		p.Headers = append(p.Headers, templates.Option{Label: h.Name, Value: h.Value})
	}
	for _, a := range atts {
		p.Attachments = append(p.Attachments, templates.AttachmentRow{Filename: a.Filename, ContentType: a.ContentType, Size: len(a.Content)})
	}
	for _, e := range evs {
		p.Events = append(p.Events, templates.MessageEventRow{At: e.At, Status: e.Status, Detail: e.Detail})
	}
	return s.render(c, http.StatusOK, templates.MessageDetailPage(p))
}

// messageDetails lists a message's facts for its page.
func (s *Server) messageDetails(ctx context.Context, m store.Message) []templates.Option {
	r := toRecipientsJSON(m)
	d := []templates.Option{{Label: "Kind", Value: m.Kind}, {Label: "To", Value: strings.Join(r.To, ", ")}}
	for _, o := range []templates.Option{{Label: "Cc", Value: strings.Join(r.Cc, ", ")}, {Label: "Bcc", Value: strings.Join(r.Bcc, ", ")}} {
		if o.Value != "" {
			d = append(d, o)
		}
	}
	if len(m.PendingTo) > 0 {
		d = append(d, templates.Option{Label: "Not yet sent to", Value: strings.Join(m.PendingTo, ", ")})
	}
	d = append(d, templates.Option{Label: "From", Value: addressOf(m.FromName, m.FromEmail)})
	if m.ReplyTo != "" {
		d = append(d, templates.Option{Label: "Reply-To", Value: m.ReplyTo})
	}
	if m.TemplateID != 0 {
		name := fmt.Sprintf("template %d", m.TemplateID)
		if t, err := s.store.Template(ctx, m.TemplateID); err == nil {
			name = t.Name
		}
		if m.Essential {
			name += " (essential: sent even to suppressed addresses)"
		}
		d = append(d, templates.Option{Label: "Template", Value: name})
	}
	if m.RelayID != 0 {
		if r, err := s.store.Relay(ctx, m.RelayID); err == nil {
			d = append(d, templates.Option{Label: "Relay", Value: r.Name})
		}
	}
	if m.Category != "" {
		d = append(d, templates.Option{Label: "Category", Value: m.Category})
	}
	if m.Priority != "" && m.Priority != store.PriorityNormal {
		d = append(d, templates.Option{Label: "Priority", Value: m.Priority})
	}
	if len(m.Tags) > 0 {
		d = append(d, templates.Option{Label: "Tags", Value: strings.Join(m.Tags, ", ")})
	}
	for _, k := range slices.Sorted(maps.Keys(m.Metadata)) {
		d = append(d, templates.Option{Label: "Metadata " + k, Value: m.Metadata[k]})
	}
	if m.Size > 0 {
		d = append(d, templates.Option{Label: "Size", Value: strconv.Itoa(m.Size) + " bytes"})
	}
	d = append(d, templates.Option{Label: "Attempts", Value: strconv.Itoa(m.Attempts)})
	if m.Status == store.MessageQueued && m.NextAttempt.After(m.CreatedAt) {
		d = append(d, templates.Option{Label: "Sends at", Value: m.NextAttempt.In(s.location()).Format("2 Jan 2006 15:04:05 MST")})
	}
	if m.Status == store.MessageRetrying {
		d = append(d, templates.Option{Label: "Next attempt", Value: m.NextAttempt.In(s.location()).Format("2 Jan 2006 15:04:05 MST")})
	}
	if m.LastResponse != "" {
		d = append(d, templates.Option{Label: "Last answer", Value: m.LastResponse})
	}
	if m.ProviderID != "" {
		d = append(d, templates.Option{Label: "Provider id", Value: m.ProviderID})
	}
	if m.IdempotencyKey != "" {
		d = append(d, templates.Option{Label: "Idempotency key", Value: m.IdempotencyKey})
	}
	d = append(d, templates.Option{Label: "Created", Value: m.CreatedAt.In(s.location()).Format("2 Jan 2006 15:04:05 MST")})
	if !m.SentAt.IsZero() {
		d = append(d, templates.Option{Label: "Sent", Value: m.SentAt.In(s.location()).Format("2 Jan 2006 15:04:05 MST")})
	}
	return d
}
