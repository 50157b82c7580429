package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v5"

	"herald/store"
)

// eventBody is one custom event: its contact by email (made when
// create_contact is true) or contact_id, its name, properties, when it
// happened (now when absent) and the caller's key for it.
type eventBody struct {
	Email          string         `json:"email"`
	ContactID      int64          `json:"contact_id"`
	CreateContact  bool           `json:"create_contact"`
	Name           string         `json:"name"`
	Properties     map[string]any `json:"properties"`
	OccurredAt     *time.Time     `json:"occurred_at"`
	IdempotencyKey string         `json:"idempotency_key"`
}

func (b eventBody) input() store.EventInput {
	in := store.EventInput{Email: b.Email, ContactID: b.ContactID, CreateContact: b.CreateContact, Name: b.Name, Properties: b.Properties,
		IdempotencyKey: b.IdempotencyKey}
	if b.OccurredAt != nil {
		in.OccurredAt = *b.OccurredAt
	}
	return in
}

// eventsBody is one event, or up to 1,000 in events.
type eventsBody struct {
	eventBody
	Events []eventBody `json:"events"`
}

// customEventJSON is a custom event as the API shows it.
type customEventJSON struct {
	ID             int64          `json:"id"`
	ContactID      int64          `json:"contact_id"`
	Email          string         `json:"email"`
	Name           string         `json:"name"`
	Properties     map[string]any `json:"properties"`
	OccurredAt     time.Time      `json:"occurred_at"`
	CreatedAt      time.Time      `json:"created_at"`
	IdempotencyKey string         `json:"idempotency_key,omitempty"`
	// Duplicate marks an event recorded before under the same key.
	Duplicate bool `json:"duplicate,omitempty"`
}

func toCustomEventJSON(e store.CustomEvent) customEventJSON {
	props := e.Properties
	if props == nil {
		props = map[string]any{}
	}
	return customEventJSON{ID: e.ID, ContactID: e.ContactID, Email: e.Email, Name: e.Name, Properties: props, OccurredAt: e.OccurredAt,
		CreatedAt: e.CreatedAt, IdempotencyKey: e.IdempotencyKey, Duplicate: e.Duplicate}
}

// eventsRecordedJSON is what a call recorded.
type eventsRecordedJSON struct {
	Recorded   int               `json:"recorded"`
	Duplicates int               `json:"duplicates"`
	Events     []customEventJSON `json:"events"`
}

// apiEventsCreate records one event, or a batch: all of them, or none
// when one is wrong.
func (s *Server) apiEventsCreate(c *echo.Context) error {
	var b eventsBody
	if err := bindJSON(c, &b); err != nil {
		return err
	}
	batch := b.Events
	single := b.Name != "" || b.Email != "" || b.ContactID != 0 || b.CreateContact || b.Properties != nil || b.OccurredAt != nil || b.IdempotencyKey != ""
	switch {
	case batch != nil && single:
		return apiErr(http.StatusBadRequest, "bad_request", "Send one event, or a list in events, not both.")
	case batch == nil:
		batch = []eventBody{b.eventBody}
	}
	in := make([]store.EventInput, len(batch))
	for i, e := range batch {
		in[i] = e.input()
	}
	evs, err := s.store.RecordEvents(c.Request().Context(), in)
	if err != nil {
		return err
	}
	out := eventsRecordedJSON{Events: make([]customEventJSON, len(evs))}
	for i, e := range evs {
		out.Events[i] = toCustomEventJSON(e)
		if e.Duplicate {
			out.Duplicates++
		} else {
			out.Recorded++
		}
	}
	status := http.StatusCreated
	if out.Recorded == 0 {
		status = http.StatusOK
	}
	return apiData(c, status, out)
}

func (s *Server) apiEventList(c *echo.Context) error {
	q, err := readList(c, customEventList, s.location())
	if err != nil {
		return err
	}
	f := store.EventFilter{Name: c.QueryParam("name"), Order: q.Order}
	if v := c.QueryParam("contact_id"); v != "" {
		if f.ContactID, err = strconv.ParseInt(v, 10, 64); err != nil || f.ContactID < 1 {
			return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Message: "contact_id must be an id.", Fields: map[string]string{"contact_id": "Must be an id."}}
		}
	}
	evs, total, err := s.store.CustomEvents(c.Request().Context(), f, q.limit(), q.offset())
	if err != nil {
		return err
	}
	out := make([]customEventJSON, len(evs))
	for i, e := range evs {
		out[i] = toCustomEventJSON(e)
	}
	return apiPage(c, q, out, total, func(e customEventJSON) int64 { return e.ID })
}
