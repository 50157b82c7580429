package outbound

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"mime"
	"net/mail"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode"

	"herald/mailer"
	"herald/store"
)

// Limits on one transactional message.
const (
	MaxAttachments     = 20
	MaxAttachmentBytes = 10 << 20
	MaxMessageHeaders  = 50
	// MaxRecipients caps each of to, cc and bcc, and MaxAllRecipients them
	// together.
	MaxRecipients    = 50
	MaxAllRecipients = 100
	maxReplyTo       = 10
)

// Addresses is one address or a list of them: "ann@example.com", or
// ["ann@example.com", "Bob Stone <bob@example.com>"]. An entry may itself
// list addresses separated by commas.
type Addresses []string

// UnmarshalJSON takes a string, a list of strings or null.
func (a *Addresses) UnmarshalJSON(b []byte) error {
	var one *string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = nil
		if one != nil && strings.TrimSpace(*one) != "" {
			*a = Addresses{*one}
		}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return &json.UnmarshalTypeError{Value: "value", Type: reflect.TypeFor[Addresses]()}
	}
	*a = many
	return nil
}

// JSONKind names the JSON an Addresses takes, for error messages.
func (Addresses) JSONKind() string { return "an address or a list of addresses" }

// JSONSchema describes the JSON an Addresses takes.
func (Addresses) JSONSchema() map[string]any {
	return map[string]any{"anyOf": []any{
		map[string]any{"type": "string"},
		map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
		map[string]any{"type": "null"},
	}}
}

// MessageRequest asks for one transactional message: a template with data,
// or a subject with html and/or text. It is the body of POST
// /api/v1/messages.
type MessageRequest struct {
	// To, Cc and Bcc each take one address or a list; Bcc recipients get
	// the message without appearing in it.
	To             Addresses           `json:"to"`
	Cc             Addresses           `json:"cc"`
	Bcc            Addresses           `json:"bcc"`
	From           string              `json:"from"`
	ReplyTo        Addresses           `json:"reply_to"`
	TemplateID     *int64              `json:"template_id"`
	Subject        *string             `json:"subject"`
	HTML           *string             `json:"html"`
	Text           *string             `json:"text"`
	Data           map[string]any      `json:"data"`
	IdempotencyKey string              `json:"idempotency_key"`
	Attachments    []AttachmentRequest `json:"attachments"`
	Headers        map[string]string   `json:"headers"`
	RelayID        *int64              `json:"relay_id"`
	// TrackOpens and TrackClicks add an open pixel and click redirects;
	// both are off unless asked for.
	TrackOpens  bool `json:"track_opens"`
	TrackClicks bool `json:"track_clicks"`
	// Category groups messages in the log and its stats, like "billing".
	Category string `json:"category"`
	// Priority is high, normal (the default) or low: high is sent first.
	Priority string `json:"priority"`
	// Tags and Metadata come back in webhooks and the message log.
	Tags     []string          `json:"tags"`
	Metadata map[string]string `json:"metadata"`
	// SendAt delays the message: an RFC 3339 time up to 30 days ahead.
	SendAt *time.Time `json:"send_at"`
}

// Limits on a message's labels.
const (
	maxMessageTags  = 10
	maxTagLength    = 50
	maxMetadataKeys = 20
	maxMetadataKey  = 40
	maxMetadataText = 500
	// MaxSendDelay is how far ahead a message may be sent.
	MaxSendDelay = 30 * 24 * time.Hour
)

// checkLabels checks a request's category, priority, tags, metadata and
// send_at, and puts them on the message.
func (s *Service) checkLabels(b MessageRequest, in *store.NewMessage, errs map[string]string) {
	in.Category = strings.ToLower(strings.TrimSpace(b.Category))
	if len(in.Category) > maxTagLength || strings.TrimLeft(in.Category, "abcdefghijklmnopqrstuvwxyz0123456789_-.") != "" {
		errs["category"] = fmt.Sprintf("Use at most %d letters, digits, _, - or ., like billing.", maxTagLength)
	}
	if in.Priority = strings.ToLower(strings.TrimSpace(b.Priority)); in.Priority != "" && !slices.Contains(store.Priorities, in.Priority) {
		errs["priority"] = "Use high, normal or low."
	}
	if len(b.Tags) > maxMessageTags {
		errs["tags"] = fmt.Sprintf("Give at most %d tags.", maxMessageTags)
		b.Tags = nil // each is not checked: the error says enough
	}
	for i, t := range b.Tags {
		t = strings.TrimSpace(t)
		if t == "" || len(t) > maxTagLength || strings.ContainsFunc(t, unicode.IsControl) {
			errs[fmt.Sprintf("tags[%d]", i)] = fmt.Sprintf("A tag is one line of 1 to %d characters.", maxTagLength)
		} else if !slices.Contains(in.Tags, t) {
			in.Tags = append(in.Tags, t)
		}
	}
	if len(b.Metadata) > maxMetadataKeys {
		errs["metadata"] = fmt.Sprintf("Give at most %d metadata keys.", maxMetadataKeys)
		b.Metadata = nil
	}
	for k, v := range b.Metadata {
		switch {
		case k == "" || len(k) > maxMetadataKey || strings.ContainsFunc(k, unicode.IsControl):
			errs["metadata"] = fmt.Sprintf("A metadata key is one line of 1 to %d characters.", maxMetadataKey)
		case len(v) > maxMetadataText || strings.ContainsFunc(v, unicode.IsControl):
			errs["metadata."+k] = fmt.Sprintf("A metadata value is one line of at most %d characters.", maxMetadataText)
		}
	}
	in.Metadata = b.Metadata
	if b.SendAt != nil {
		switch now := s.now(); {
		case b.SendAt.After(now.Add(MaxSendDelay)):
			errs["send_at"] = "A message can wait at most 30 days: give a time before " + now.Add(MaxSendDelay).UTC().Format(time.RFC3339) + "."
		case b.SendAt.After(now):
			in.NextAttempt = *b.SendAt
		}
	}
}

// AttachmentRequest is one file of a message request.
type AttachmentRequest struct {
	Filename      string `json:"filename"`
	ContentType   string `json:"content_type"`
	ContentBase64 string `json:"content_base64"`
}

// Queue checks a message request, stores the message and wakes the lane
// to send it. The same idempotency key again returns the message it made
// first, with replay true. Every problem with the request comes back as a
// field error, and nothing is stored.
func (s *Service) Queue(ctx context.Context, b MessageRequest) (m store.Message, replay bool, err error) {
	if b.IdempotencyKey != "" {
		if m, err := s.st.MessageByKey(ctx, b.IdempotencyKey); err == nil {
			return m, true, nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return m, false, err
		}
	}
	in, err := s.newMessage(ctx, b)
	if err != nil {
		return store.Message{}, false, err
	}
	return s.create(ctx, in)
}

// create stores a message and wakes the lane when it has something to send.
func (s *Service) create(ctx context.Context, in store.NewMessage) (store.Message, bool, error) {
	m, replay, err := s.st.CreateMessage(ctx, in)
	if err == nil && !replay && m.Status == store.MessageQueued {
		s.lane.Wake()
	}
	return m, replay, err
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

// checkRecipients checks to, cc, bcc and reply_to and puts them on the
// message: the first To is its to_email, the others are its Recipients.
// An address named twice gets the message once, where it is first named.
func checkRecipients(b MessageRequest, in *store.NewMessage, errs map[string]string) {
	seen := map[string]bool{}
	total := 0
	for _, f := range []struct {
		name  string
		given Addresses
		into  *[]store.Address
	}{{"to", b.To, &in.Recipients.To}, {"cc", b.Cc, &in.Recipients.Cc}, {"bcc", b.Bcc, &in.Recipients.Bcc}} {
		for _, a := range readAddresses(f.name, f.given, MaxRecipients, errs) {
			email := store.NormalizeEmail(a.Address)
			if seen[email] {
				continue
			}
			seen[email] = true
			total++
			if f.name == "to" && in.ToEmail == "" {
				in.ToEmail, in.ToName = email, a.Name
			} else {
				*f.into = append(*f.into, store.Address{Name: a.Name, Email: email})
			}
		}
	}
	switch {
	case total > MaxAllRecipients:
		errs["to"] = fmt.Sprintf("A message goes to at most %d recipients across to, cc and bcc; this one names %d.", MaxAllRecipients, total)
	case in.ToEmail == "" && errs["to"] == "":
		errs["to"] = "Give the address to send to, like jane@example.com, or a list of them."
	}
	var replyTo []string
	seen = map[string]bool{}
	for _, a := range readAddresses("reply_to", b.ReplyTo, maxReplyTo, errs) {
		if email := store.NormalizeEmail(a.Address); !seen[email] {
			seen[email] = true
			replyTo = append(replyTo, store.Address{Name: a.Name, Email: a.Address}.String())
		}
	}
	in.ReplyTo = strings.Join(replyTo, ", ")
}

// maxDisplayName bounds the name beside an address.
const maxDisplayName = 200

// readAddresses reads a field's addresses, at most max, each entry one or
// several separated by commas, and names a bad entry by its place: "cc",
// or "cc[2]" in a list. Past max it reads no further.
func readAddresses(field string, given Addresses, max int, errs map[string]string) []*mail.Address {
	tooMany := fmt.Sprintf("Give at most %d addresses in %s.", max, field)
	if len(given) > max {
		errs[field] = tooMany
		return nil
	}
	var out []*mail.Address
	for i, v := range given {
		name := field
		if len(given) > 1 {
			name = fmt.Sprintf("%s[%d]", field, i)
		}
		as, err := mail.ParseAddressList(strings.TrimSpace(v))
		switch {
		case strings.TrimSpace(v) == "":
			errs[name] = "Give an address here, like jane@example.com, or leave the entry out."
		case err != nil:
			errs[name] = "Give addresses like jane@example.com or Jane Doe <jane@example.com>, separated by commas."
		case len(as) == 0:
			errs[name] = "Give an address here, like jane@example.com: a group such as undisclosed-recipients:; names nobody."
		}
		for _, a := range as {
			if msg := cmp.Or(store.CheckEmail(a.Address), store.CheckLine(a.Name, maxDisplayName)); msg != "" {
				errs[name] = msg
				break
			}
			out = append(out, a)
		}
		if len(out) > max {
			errs[field] = tooMany
			return nil
		}
	}
	return out
}

// newMessage checks a message request and resolves it into what the store
// keeps: the sender, the content rendered from its template (so the lane
// sends exactly what was checked here), the files decoded, and whether the
// address may be sent to. Every problem comes back as a field error.
func (s *Service) newMessage(ctx context.Context, b MessageRequest) (store.NewMessage, error) {
	errs := map[string]string{}
	in := store.NewMessage{Message: store.Message{IdempotencyKey: b.IdempotencyKey, Data: b.Data, Kind: store.MessageTransactional,
		TrackOpens: b.TrackOpens, TrackClicks: b.TrackClicks}}
	checkRecipients(b, &in, errs)
	g := s.general(ctx)
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
	if len(b.IdempotencyKey) > 200 || strings.ContainsFunc(b.IdempotencyKey, unicode.IsControl) {
		errs["idempotency_key"] = "Use one line of at most 200 characters, like order-1001-receipt."
	}
	if b.TemplateID != nil && (b.Subject != nil || b.HTML != nil || b.Text != nil) {
		errs["template_id"] = "Send either template_id with data, or subject with html or text; not both."
	} else if b.TemplateID != nil {
		if err := s.renderMessage(ctx, *b.TemplateID, &in, errs); err != nil {
			return in, err
		}
	} else {
		givenContent(b, &in, errs)
	}
	in.Headers = checkHeaders(b.Headers, errs)
	in.Attachments = decodeAttachments(b.Attachments, errs)
	s.checkLabels(b, &in, errs)
	if b.RelayID != nil {
		r, err := s.st.Relay(ctx, *b.RelayID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			errs["relay_id"] = "No relay has this id; GET /api/v1/relays lists them."
		case err != nil:
			return in, err
		case !r.Enabled:
			errs["relay_id"] = disabled(r)
		}
		in.RelayID = r.ID
	} else if _, err := s.Relay(ctx, 0); err != nil {
		errs["relay_id"] = err.Error()
	}
	if len(errs) > 0 {
		return in, &store.ValidationError{Fields: errs}
	}
	return s.screen(ctx, in)
}

// screen marks a message that may go to none of its recipients, each
// suppressed or blocked, as suppressed with the reasons, unless it is
// essential. One that may go to some is queued; the others are left out
// when it is sent.
func (s *Service) screen(ctx context.Context, in store.NewMessage) (store.NewMessage, error) {
	to, left, err := s.envelope(ctx, in.Message, in.All())
	if err != nil {
		return in, err
	}
	if len(to) == 0 {
		in.Status, in.Reason = store.MessageSuppressed, notSent(left)
	}
	return in, nil
}

// envelope returns the recipients of a message that may be sent to now,
// and the others with why not: every one for essential mail.
func (s *Service) envelope(ctx context.Context, m store.Message, recipients []string) ([]string, []store.LeftOut, error) {
	var to []string
	var left []store.LeftOut
	for _, a := range recipients {
		if !m.Essential {
			why, err := s.st.MessageBlock(ctx, a)
			if err != nil {
				return nil, nil, err
			}
			if why != "" {
				left = append(left, store.LeftOut{Email: a, Status: store.MessageSuppressed, Why: why})
				continue
			}
		}
		to = append(to, a)
	}
	return to, left, nil
}

// notSent says why a message went to none of its recipients.
func notSent(left []store.LeftOut) string {
	if len(left) == 1 {
		return "not sent: " + left[0].Why
	}
	parts := make([]string, len(left))
	for i, l := range left {
		parts[i] = l.Email + ": " + l.Why
	}
	return "not sent to any recipient: " + strings.Join(parts, "; ")
}

// renderMessage renders a transactional template with the request's data
// for its recipient, through the same compile and render path as previews:
// a known contact sees their own fields and links, unless the message goes
// to several people.
func (s *Service) renderMessage(ctx context.Context, id int64, in *store.NewMessage, errs map[string]string) error {
	t, err := s.st.Template(ctx, id)
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
	compiled, err := s.CompileTemplate(ctx, t)
	if err != nil {
		errs["template_id"] = "The template does not compile: " + err.Error()
		return nil
	}
	d := mailer.Data{Contact: mailer.ContactData{Email: in.ToEmail}, Data: in.Data, Org: s.Org(ctx)}
	// One body goes to every recipient of a message to several: none of
	// them sees a contact's own fields or links, nor an address as theirs.
	c, err := store.Contact{}, store.ErrNotFound
	if len(in.All()) == 1 {
		c, err = s.st.ContactByEmail(ctx, in.ToEmail)
	} else {
		d.Contact.Email = ""
	}
	switch {
	case err == nil:
		if d, err = s.RenderData(ctx, c.ID, in.Data, t.ID); err != nil {
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
func givenContent(b MessageRequest, in *store.NewMessage, errs map[string]string) {
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

// checkHeaders checks extra headers, which may not replace the ones Herald
// writes, and returns them in name order.
func checkHeaders(hs map[string]string, errs map[string]string) []store.Header {
	if len(hs) > MaxMessageHeaders {
		errs["headers"] = fmt.Sprintf("Send at most %d extra headers.", MaxMessageHeaders)
		return nil
	}
	var out []store.Header
	for _, name := range slices.Sorted(maps.Keys(hs)) {
		if msg := mailer.CheckHeader(mailer.Header{Name: name, Value: hs[name]}); msg != "" {
			errs["headers."+name] = strings.ToUpper(msg[:1]) + msg[1:] + "."
			continue
		}
		out = append(out, store.Header{Name: name, Value: hs[name]})
	}
	return out
}

// decodeAttachments checks and decodes the files: at most MaxAttachments,
// MaxAttachmentBytes in all, each named and in standard base64.
func decodeAttachments(as []AttachmentRequest, errs map[string]string) []store.Attachment {
	if len(as) > MaxAttachments {
		errs["attachments"] = fmt.Sprintf("Send at most %d attachments.", MaxAttachments)
		return nil
	}
	var out []store.Attachment
	total := 0
	for i, a := range as {
		field := fmt.Sprintf("attachments[%d].", i)
		name := strings.TrimSpace(a.Filename)
		switch {
		case name == "":
			errs[field+"filename"] = "Give the file's name, like receipt.pdf."
		case len(name) > 255 || strings.ContainsFunc(name, unicode.IsControl) || strings.ContainsAny(name, `/\`):
			errs[field+"filename"] = `Use a name of at most 255 bytes on one line, without / or \.`
		case store.CheckLine(name, 255) != "":
			errs[field+"filename"] = store.CheckLine(name, 255)
		}
		ct := strings.TrimSpace(a.ContentType)
		if ct == "" {
			if ct = mime.TypeByExtension(filepath.Ext(name)); ct == "" {
				ct = "application/octet-stream"
			}
		} else if mt, _, err := mime.ParseMediaType(ct); err != nil || !strings.Contains(mt, "/") || strings.HasPrefix(mt, "multipart/") {
			errs[field+"content_type"] = "Give a media type, like application/pdf, or leave it out."
		}
		data, err := base64.StdEncoding.DecodeString(a.ContentBase64)
		if err != nil {
			errs[field+"content_base64"] = "This is not valid base64: encode the file with standard base64 (RFC 4648), padding included."
		}
		total += len(data)
		out = append(out, store.Attachment{Filename: name, ContentType: ct, Content: data})
	}
	if total > MaxAttachmentBytes {
		errs["attachments"] = fmt.Sprintf("The attachments come to %.1f MB; send at most %d MB in all.", float64(total)/(1<<20), MaxAttachmentBytes>>20)
	}
	return out
}
