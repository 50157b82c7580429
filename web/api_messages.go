package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"herald/scheduler/outbound"
	"herald/store"
)

// maxMessageBody caps a transactional message request: 10 MB of attachments
// grow by a third in base64, and the bodies come on top.
const maxMessageBody = 16 << 20

// bindMessageJSON decodes a message request. Bodies within maxJSONBody go
// through bindJSON like every other request; larger ones, which only
// attachments make, are decoded here with the same strictness.
func bindMessageJSON(c *echo.Context, dst *outbound.MessageRequest) error {
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
	ID   int64  `json:"id"`
	Kind string `json:"kind"`
	// To is the first recipient; Recipients lists them all.
	To         string         `json:"to"`
	Recipients recipientsJSON `json:"recipients"`
	// Waiting are the recipients of a message to several still to be
	// sent to, after an attempt sent it to the others.
	Waiting        []string          `json:"waiting"`
	From           string            `json:"from"`
	ReplyTo        string            `json:"reply_to"`
	Subject        string            `json:"subject"`
	TemplateID     *int64            `json:"template_id"`
	RelayID        *int64            `json:"relay_id"`
	Essential      bool              `json:"essential"`
	TrackOpens     bool              `json:"track_opens"`
	TrackClicks    bool              `json:"track_clicks"`
	IdempotencyKey string            `json:"idempotency_key"`
	Category       string            `json:"category"`
	Priority       string            `json:"priority"`
	Tags           []string          `json:"tags"`
	Metadata       map[string]string `json:"metadata"`
	// Size is the bytes of the message as last sent; 0 before.
	Size         int                `json:"size"`
	Status       string             `json:"status"`
	Attempts     int                `json:"attempts"`
	LastCode     int                `json:"last_code"`
	LastResponse string             `json:"last_response"`
	ProviderID   string             `json:"provider_id"`
	NextAttempt  *time.Time         `json:"next_attempt_at"`
	CreatedAt    time.Time          `json:"created_at"`
	UpdatedAt    time.Time          `json:"updated_at"`
	SentAt       *time.Time         `json:"sent_at"`
	Headers      map[string]string  `json:"headers,omitempty"`
	Attachments  []attachmentJSON   `json:"attachments,omitempty"`
	Events       []messageEventJSON `json:"events,omitempty"`
}

// recipientsJSON lists a message's recipients, each "Name <address>" or
// a bare address.
type recipientsJSON struct {
	To  []string `json:"to"`
	Cc  []string `json:"cc"`
	Bcc []string `json:"bcc"`
}

func toRecipientsJSON(m store.Message) recipientsJSON {
	return recipientsJSON{To: addressesOf(append([]store.Address{{Name: m.ToName, Email: m.ToEmail}}, m.Recipients.To...)),
		Cc: addressesOf(m.Recipients.Cc), Bcc: addressesOf(m.Recipients.Bcc)}
}

// addressesOf writes stored addresses as a list, never nil.
func addressesOf(as []store.Address) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = addressOf(a.Name, a.Email)
	}
	return out
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
	j := messageJSON{ID: m.ID, Kind: m.Kind, To: addressOf(m.ToName, m.ToEmail), From: addressOf(m.FromName, m.FromEmail), ReplyTo: m.ReplyTo,
		Subject: m.Subject, TemplateID: optID(m.TemplateID), RelayID: optID(m.RelayID), Essential: m.Essential, TrackOpens: m.TrackOpens, TrackClicks: m.TrackClicks, IdempotencyKey: m.IdempotencyKey,
		Status: m.Status, Attempts: m.Attempts, LastCode: m.LastCode, LastResponse: m.LastResponse, ProviderID: m.ProviderID,
		CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt, SentAt: optTime(m.SentAt),
		Category: m.Category, Priority: m.Priority, Tags: orEmpty(m.Tags), Metadata: m.Metadata, Size: m.Size, Recipients: toRecipientsJSON(m), Waiting: orEmpty(m.PendingTo)}
	if j.Metadata == nil {
		j.Metadata = map[string]string{}
	}
	if m.Status == store.MessageRetrying || m.Status == store.MessageQueued && m.NextAttempt.After(m.CreatedAt) {
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
	var b outbound.MessageRequest
	if err := bindMessageJSON(c, &b); err != nil {
		return err
	}
	m, replay, err := s.out.Queue(ctx, b)
	if err != nil {
		return err
	}
	return messageAccepted(c, m, replay)
}

func messageAccepted(c *echo.Context, m store.Message, replay bool) error {
	c.Response().Header().Set("Location", "/api/v1/messages/"+itoa(m.ID))
	status := http.StatusAccepted
	if replay {
		status = http.StatusOK
	}
	return apiData(c, status, messageAcceptedJSON{ID: m.ID, Status: m.Status})
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
	q, err := readList(c, messageList, s.location())
	if err != nil {
		return err
	}
	f, err := messageFilter(c)
	if err != nil {
		return err
	}
	f.Q, f.Order = q.Q, q.Order
	ms, total, err := s.store.Messages(c.Request().Context(), f, q.limit(), q.offset())
	if err != nil {
		return err
	}
	out := []messageJSON{}
	for _, x := range ms {
		out = append(out, toMessageJSON(x))
	}
	return apiPage(c, q, out, total, func(m messageJSON) int64 { return m.ID })
}

// messageAcceptedJSON is a message taken for sending.
type messageAcceptedJSON struct {
	ID     int64  `json:"id"`
	Status string `json:"status"`
}

// messageFilter reads the message log's filters: status, kind, category,
// tag and to.
func messageFilter(c *echo.Context) (store.MessageFilter, error) {
	f := store.MessageFilter{Status: c.QueryParam("status"), Kind: c.QueryParam("kind"), Category: strings.ToLower(strings.TrimSpace(c.QueryParam("category"))),
		Tag: c.QueryParam("tag"), To: c.QueryParam("to")}
	if f.Status != "" && !store.MessageStatus(f.Status) {
		return f, &store.ValidationError{Fields: map[string]string{"status": "status is one of queued, sending, sent, retrying, failed, suppressed."}}
	}
	if f.Kind != "" && !store.MessageKind(f.Kind) {
		return f, &store.ValidationError{Fields: map[string]string{"kind": "kind is transactional or system."}}
	}
	return f, nil
}

// messageStatsJSON counts messages by status, by category and by day.
type messageStatsJSON struct {
	ByStatus   map[string]int      `json:"by_status"`
	ByCategory []categoryStatsJSON `json:"by_category"`
	ByDay      []dayStatsJSON      `json:"by_day"`
}

type categoryStatsJSON struct {
	Category string         `json:"category"`
	Total    int            `json:"total"`
	ByStatus map[string]int `json:"by_status"`
}

type dayStatsJSON struct {
	Day      string         `json:"day"`
	Total    int            `json:"total"`
	ByStatus map[string]int `json:"by_status"`
}

// apiMessageStats counts the messages the log's filters match, in its
// window of created_from and created_to.
func (s *Server) apiMessageStats(c *echo.Context) error {
	q, err := readList(c, messageList, s.location())
	if err != nil {
		return err
	}
	f, err := messageFilter(c)
	if err != nil {
		return err
	}
	f.Q, f.Order = q.Q, q.Order
	st, err := s.store.MessageStats(c.Request().Context(), f, s.location())
	if err != nil {
		return err
	}
	out := messageStatsJSON{ByStatus: st.ByStatus, ByCategory: []categoryStatsJSON{}, ByDay: []dayStatsJSON{}}
	for _, cs := range st.ByCategory {
		out.ByCategory = append(out.ByCategory, categoryStatsJSON(cs))
	}
	for _, d := range st.ByDay {
		out.ByDay = append(out.ByDay, dayStatsJSON{Day: d.Day.Format(time.DateOnly), Total: d.Total, ByStatus: d.ByStatus})
	}
	return apiData(c, http.StatusOK, out)
}
