package web

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/labstack/echo/v5"

	"herald/mailer"
	"herald/store"
)

// maxMessageBody caps a transactional message request: 10 MB of attachments
// grow by a third in base64, and the bodies come on top.
const maxMessageBody = 16 << 20

// messageRequest is a POST /api/v1/messages body: a template with data, or
// a subject with html and/or text.
type messageRequest struct {
	To             string              `json:"to"`
	From           string              `json:"from"`
	ReplyTo        string              `json:"reply_to"`
	TemplateID     *int64              `json:"template_id"`
	Subject        *string             `json:"subject"`
	HTML           *string             `json:"html"`
	Text           *string             `json:"text"`
	Data           map[string]any      `json:"data"`
	IdempotencyKey string              `json:"idempotency_key"`
	Attachments    []attachmentRequest `json:"attachments"`
	Headers        map[string]string   `json:"headers"`
	RelayID        *int64              `json:"relay_id"`
}

// attachmentRequest is one file of a message request.
type attachmentRequest struct {
	Filename      string `json:"filename"`
	ContentType   string `json:"content_type"`
	ContentBase64 string `json:"content_base64"`
}

// bindMessageJSON decodes a message request. Bodies within maxJSONBody go
// through bindJSON like every other request; larger ones, which only
// attachments make, are decoded here with the same strictness.
func bindMessageJSON(c *echo.Context, dst *messageRequest) error {
	raw, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return err
	}
	if len(raw) <= maxJSONBody {
		c.Request().Body = io.NopCloser(bytes.NewReader(raw))
		return bindJSON(c, dst)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return apiErr(http.StatusBadRequest, "bad_request", "The body is not a message request: "+err.Error()+".")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return apiErr(http.StatusBadRequest, "bad_request", "The body has more after the JSON object: send exactly one object.")
	}
	return nil
}

// messageJSON is a transactional message as the API shows it; a single
// message also carries its attachments and history.
type messageJSON struct {
	ID             int64              `json:"id"`
	To             string             `json:"to"`
	From           string             `json:"from"`
	ReplyTo        string             `json:"reply_to"`
	Subject        string             `json:"subject"`
	TemplateID     *int64             `json:"template_id"`
	RelayID        *int64             `json:"relay_id"`
	Essential      bool               `json:"essential"`
	IdempotencyKey string             `json:"idempotency_key"`
	Status         string             `json:"status"`
	Attempts       int                `json:"attempts"`
	LastCode       int                `json:"last_code"`
	LastResponse   string             `json:"last_response"`
	ProviderID     string             `json:"provider_id"`
	NextAttempt    *time.Time         `json:"next_attempt_at"`
	CreatedAt      time.Time          `json:"created_at"`
	UpdatedAt      time.Time          `json:"updated_at"`
	SentAt         *time.Time         `json:"sent_at"`
	Headers        map[string]string  `json:"headers,omitempty"`
	Attachments    []attachmentJSON   `json:"attachments,omitempty"`
	Events         []messageEventJSON `json:"events,omitempty"`
}

type attachmentJSON struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int    `json:"size"`
}

type messageEventJSON struct {
	At     time.Time `json:"at"`
	Status string    `json:"status"`
	Detail string    `json:"detail"`
}

func toMessageJSON(m store.Message) messageJSON {
	j := messageJSON{ID: m.ID, To: addressOf(m.ToName, m.ToEmail), From: addressOf(m.FromName, m.FromEmail), ReplyTo: m.ReplyTo,
		Subject: m.Subject, TemplateID: optID(m.TemplateID), RelayID: optID(m.RelayID), Essential: m.Essential, IdempotencyKey: m.IdempotencyKey,
		Status: m.Status, Attempts: m.Attempts, LastCode: m.LastCode, LastResponse: m.LastResponse, ProviderID: m.ProviderID,
		CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt, SentAt: optTime(m.SentAt)}
	if m.Status == store.MessageRetrying {
		j.NextAttempt = optTime(m.NextAttempt)
	}
	if len(m.Headers) > 0 {
		j.Headers = map[string]string{}
		for _, h := range m.Headers {
			j.Headers[h.Name] = h.Value
		}
	}
	return j
}

// apiMessageCreate queues a message: 202 with its id and status, or 200
// with those of the message an idempotency key already made.
func (s *Server) apiMessageCreate(c *echo.Context) error {
	ctx := c.Request().Context()
	var b messageRequest
	if err := bindMessageJSON(c, &b); err != nil {
		return err
	}
	if b.IdempotencyKey != "" {
		if m, err := s.store.MessageByKey(ctx, b.IdempotencyKey); err == nil {
			return messageAccepted(c, m, true)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	in, err := s.newMessage(ctx, s.publicURL(c), b)
	if err != nil {
		return err
	}
	m, replay, err := s.store.CreateMessage(ctx, in)
	if err != nil {
		return err
	}
	if !replay && m.Status == store.MessageQueued && s.messages != nil {
		s.messages()
	}
	return messageAccepted(c, m, replay)
}

func messageAccepted(c *echo.Context, m store.Message, replay bool) error {
	c.Response().Header().Set("Location", "/api/v1/messages/"+itoa(m.ID))
	status := http.StatusAccepted
	if replay {
		status = http.StatusOK
	}
	return apiData(c, status, map[string]any{"id": m.ID, "status": m.Status})
}

func (s *Server) apiMessageGet(c *echo.Context) error {
	m, atts, evs, err := s.pathMessage(c)
	if err != nil {
		return err
	}
	j := toMessageJSON(m)
	for _, a := range atts {
		j.Attachments = append(j.Attachments, attachmentJSON{Filename: a.Filename, ContentType: a.ContentType, Size: len(a.Content)})
	}
	for _, e := range evs {
		j.Events = append(j.Events, messageEventJSON{At: e.At, Status: e.Status, Detail: e.Detail})
	}
	return apiData(c, http.StatusOK, j)
}

func (s *Server) apiMessageList(c *echo.Context) error {
	m, err := page(c)
	if err != nil {
		return err
	}
	status := c.QueryParam("status")
	if status != "" && !store.MessageStatus(status) {
		return &store.ValidationError{Fields: map[string]string{"status": "status is one of queued, sending, sent, retrying, failed, suppressed."}}
	}
	ms, total, err := s.store.Messages(c.Request().Context(), status, m.PerPage, (m.Page-1)*m.PerPage)
	if err != nil {
		return err
	}
	m.Total = total
	out := []messageJSON{}
	for _, x := range ms {
		out = append(out, toMessageJSON(x))
	}
	return apiList(c, out, m)
}

// checkHeaders checks extra headers, which may not replace the ones Herald
// writes, and returns them in name order.
func checkHeaders(hs map[string]string, errs map[string]string) []store.Header {
	if len(hs) > maxMessageHeaders {
		errs["headers"] = fmt.Sprintf("Send at most %d extra headers.", maxMessageHeaders)
		return nil
	}
	var out []store.Header
	for _, name := range slices.Sorted(maps.Keys(hs)) {
		if msg := mailer.CheckHeader(mailer.Header{Name: name, Value: hs[name]}); msg != "" {
			errs["headers."+name] = upperFirst(msg) + "."
			continue
		}
		out = append(out, store.Header{Name: name, Value: hs[name]})
	}
	return out
}

// decodeAttachments checks and decodes the files: at most maxAttachments,
// maxAttachmentBytes in all, each named and in standard base64.
func decodeAttachments(as []attachmentRequest, errs map[string]string) []store.Attachment {
	if len(as) > maxAttachments {
		errs["attachments"] = fmt.Sprintf("Send at most %d attachments.", maxAttachments)
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
	if total > maxAttachmentBytes {
		errs["attachments"] = fmt.Sprintf("The attachments come to %.1f MB; send at most %d MB in all.", float64(total)/(1<<20), maxAttachmentBytes>>20)
	}
	return out
}
