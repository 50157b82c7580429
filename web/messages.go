package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"unicode"

	"github.com/labstack/echo/v5"

	"herald/mailer"
	"herald/store"
	"herald/templates"
)

// Limits on one transactional message.
const (
	maxAttachments     = 20
	maxAttachmentBytes = 10 << 20
	maxMessageHeaders  = 50
)

// addressOf writes an address with its name, as a header would.
func addressOf(name, email string) string {
	if name == "" {
		return email
	}
	return (&mail.Address{Name: name, Address: email}).String()
}

// parseAddress reads one address, bare or with a name, or says what is
// wrong with it.
func parseAddress(v string) (*mail.Address, string) {
	a, err := mail.ParseAddress(strings.TrimSpace(v))
	if err != nil {
		return nil, "Give one address, like jane@example.com or Jane Doe <jane@example.com>."
	}
	if msg := store.CheckEmail(a.Address); msg != "" {
		return nil, msg
	}
	return a, ""
}

// newMessage checks a message request and resolves it into what the store
// keeps: the sender, the content rendered from its template (so the lane
// sends exactly what was checked here), the files decoded, and whether the
// address may be sent to. Every problem comes back as a field error.
func (s *Server) newMessage(ctx context.Context, base string, b messageRequest) (store.NewMessage, error) {
	errs := map[string]string{}
	in := store.NewMessage{Message: store.Message{IdempotencyKey: b.IdempotencyKey, Data: b.Data}}
	if strings.TrimSpace(b.To) == "" {
		errs["to"] = "Give the address to send to, like jane@example.com."
	} else if to, msg := parseAddress(b.To); msg != "" {
		errs["to"] = msg
	} else {
		in.ToEmail, in.ToName = store.NormalizeEmail(to.Address), to.Name
	}
	g := s.general()
	in.FromName, in.FromEmail = g.FromName, g.FromEmail
	if strings.TrimSpace(b.From) != "" {
		if from, msg := parseAddress(b.From); msg != "" {
			errs["from"] = msg
		} else {
			in.FromName, in.FromEmail = from.Name, from.Address
		}
	} else if in.FromEmail == "" {
		errs["from"] = "Give a from address, here or as the default sender in Settings → General."
	}
	if in.ReplyTo = strings.TrimSpace(b.ReplyTo); in.ReplyTo != "" {
		if msg := store.CheckEmail(in.ReplyTo); msg != "" {
			errs["reply_to"] = msg
		}
	}
	if len(b.IdempotencyKey) > 200 || strings.ContainsFunc(b.IdempotencyKey, unicode.IsControl) {
		errs["idempotency_key"] = "Use one line of at most 200 characters, like order-1001-receipt."
	}
	if b.TemplateID != nil && (b.Subject != nil || b.HTML != nil || b.Text != nil) {
		errs["template_id"] = "Send either template_id with data, or subject with html or text; not both."
	} else if b.TemplateID != nil {
		if err := s.renderMessage(ctx, base, *b.TemplateID, &in, errs); err != nil {
			return in, err
		}
	} else {
		givenContent(b, &in, errs)
	}
	in.Headers = checkHeaders(b.Headers, errs)
	in.Attachments = decodeAttachments(b.Attachments, errs)
	if b.RelayID != nil {
		r, err := s.store.Relay(ctx, *b.RelayID)
		if errors.Is(err, store.ErrNotFound) {
			errs["relay_id"] = "No relay has this id; GET /api/v1/relays lists them."
		} else if err != nil {
			return in, err
		}
		in.RelayID = r.ID
	} else if _, err := s.pickRelay(ctx, 0); err != nil {
		errs["relay_id"] = err.Error()
	}
	if len(errs) > 0 {
		return in, &store.ValidationError{Fields: errs}
	}
	if !in.Essential {
		why, err := s.store.MessageBlock(ctx, in.ToEmail)
		if err != nil {
			return in, err
		}
		if why != "" {
			in.Status, in.Reason = store.MessageSuppressed, "not sent: "+why
		}
	}
	return in, nil
}

// renderMessage renders a transactional template with the request's data
// for its recipient, through the same compile and render path as previews:
// a known contact sees their own fields and links.
func (s *Server) renderMessage(ctx context.Context, base string, id int64, in *store.NewMessage, errs map[string]string) error {
	t, err := s.store.Template(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		errs["template_id"] = "No template has this id; GET /api/v1/templates?kind=transactional lists them."
		return nil
	} else if err != nil {
		return err
	}
	if t.Kind != store.KindTransactional {
		errs["template_id"] = fmt.Sprintf("%q is a %s template; send a transactional one.", t.Name, t.Kind)
		return nil
	}
	compiled, err := s.compileTemplate(ctx, t)
	if err != nil {
		errs["template_id"] = "The template does not compile: " + err.Error()
		return nil
	}
	d := mailer.Data{Contact: mailer.ContactData{Email: in.ToEmail}, Data: in.Data, Org: s.Org()}
	c, err := s.store.ContactByEmail(ctx, in.ToEmail)
	switch {
	case err == nil:
		if d, err = s.renderData(ctx, strings.TrimRight(base, "/"), c.ID, in.Data, t.ID); err != nil {
			return err
		}
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	r, err := compiled.Render(d)
	if err != nil {
		errs["data"] = "The template does not render with this data: " + mailer.RenderError(err)
		return nil
	}
	if strings.TrimSpace(r.Subject) == "" {
		errs["data"] = "The template's subject comes out empty with this data."
	}
	in.TemplateID, in.Subject, in.HTML, in.Text, in.Essential = t.ID, r.Subject, r.HTML, r.Text, t.Essential
	return nil
}

// givenContent checks a message given as subject, html and text; the text
// part is made from the HTML when absent.
func givenContent(b messageRequest, in *store.NewMessage, errs map[string]string) {
	deref := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	in.Subject, in.HTML, in.Text = strings.TrimSpace(deref(b.Subject)), deref(b.HTML), deref(b.Text)
	switch {
	case in.Subject == "":
		errs["subject"] = "Give a subject, or a template_id."
	case store.CheckLine(in.Subject, 998) != "":
		errs["subject"] = store.CheckLine(in.Subject, 998)
	}
	if strings.TrimSpace(in.HTML) == "" && strings.TrimSpace(in.Text) == "" {
		errs["html"] = "Give html or text, or both, or a template_id."
	}
	for field, v := range map[string]string{"html": in.HTML, "text": in.Text} {
		if len(v) > mailer.MaxPart {
			errs[field] = fmt.Sprintf("Send at most %d MB.", mailer.MaxPart>>20)
		}
	}
	if strings.TrimSpace(in.Text) == "" && in.HTML != "" {
		in.Text = mailer.HTMLToText(in.HTML)
	}
}

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
	status := c.QueryParam("status")
	if !store.MessageStatus(status) {
		status = ""
	}
	pageNo, _ := strconv.Atoi(c.QueryParam("page"))
	pageNo = max(pageNo, 1)
	const perPage = 100
	ms, total, err := s.store.Messages(c.Request().Context(), status, perPage, (pageNo-1)*perPage)
	if err != nil {
		return err
	}
	p.Shell, p.Status, p.Total, p.Page, p.Pages = s.shell(c, "campaigns", "Transactional"), status, total, pageNo, (total+perPage-1)/perPage
	for _, m := range ms {
		p.Rows = append(p.Rows, templates.MessageRow{ID: m.ID, To: m.ToEmail, Subject: m.Subject, Status: m.Status, CreatedAt: m.CreatedAt})
	}
	return s.render(c, code, templates.MessagesPage(p))
}

// messageSend sends one message from the admin: the API's request, from a
// form. What is wrong comes back beside its field, the form as typed.
func (s *Server) messageSend(c *echo.Context) error {
	ctx := c.Request().Context()
	f := templates.MessageForm{To: c.FormValue("to"), TemplateID: c.FormValue("template_id"), Data: c.FormValue("data"),
		Subject: c.FormValue("subject"), Text: c.FormValue("text")}
	b := messageRequest{To: f.To}
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
	var err error
	var in store.NewMessage
	if len(errs) == 0 {
		in, err = s.newMessage(ctx, s.publicURL(c), b)
	}
	var m store.Message
	if len(errs) == 0 && err == nil {
		m, _, err = s.store.CreateMessage(ctx, in)
	}
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		errs = ve.Fields
	} else if err != nil {
		return err
	}
	if len(errs) > 0 {
		return s.messagesPage(c, http.StatusUnprocessableEntity, templates.MessagesProps{Form: f, Errors: errs})
	}
	if m.Status == store.MessageQueued && s.messages != nil {
		s.messages()
	}
	s.flash(c, "success", "Message "+m.Status+".")
	return redirect(c, messagePathOf(m.ID))
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
	d := []templates.Option{{Label: "To", Value: addressOf(m.ToName, m.ToEmail)}, {Label: "From", Value: addressOf(m.FromName, m.FromEmail)}}
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
	d = append(d, templates.Option{Label: "Attempts", Value: strconv.Itoa(m.Attempts)})
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
