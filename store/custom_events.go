package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"herald/mailer/addr"
)

// Limits on custom events.
const (
	// MaxEventBatch is how many events one call may record.
	MaxEventBatch = 1000
	maxEventName  = 100
	// maxEventProperties caps an event's properties, as JSON.
	maxEventProperties = 8 << 10
	maxEventKey        = 255
)

// CustomEvent is something a contact did elsewhere, reported through the API.
type CustomEvent struct {
	ID         int64
	ContactID  int64
	Email      string
	Name       string
	Properties map[string]any
	OccurredAt time.Time
	CreatedAt  time.Time
	// IdempotencyKey is the caller's name for the event; a second event
	// with the same key is the first one again.
	IdempotencyKey string
	// Duplicate marks an event recorded earlier under the same key.
	Duplicate bool
}

// EventInput is one event to record: its contact by id or email (made
// when CreateContact says so), what happened and when.
type EventInput struct {
	ContactID      int64
	Email          string
	CreateContact  bool
	Name           string
	Properties     map[string]any
	OccurredAt     time.Time
	IdempotencyKey string
}

// validate reports what is wrong with e, under prefix.
func (e *EventInput) validate(prefix string, now time.Time, errs map[string]string) {
	e.Name = strings.TrimSpace(e.Name)
	e.Email = NormalizeEmail(e.Email)
	switch {
	case e.ContactID == 0 && e.Email == "":
		errs[prefix+"email"] = "Name the contact by email or contact_id."
	case e.ContactID != 0 && e.Email != "":
		errs[prefix+"email"] = "Name the contact by email or by contact_id, not both."
	case e.Email != "":
		if msg := CheckEmail(e.Email); msg != "" {
			errs[prefix+"email"] = msg
		}
	case e.ContactID < 0:
		errs[prefix+"contact_id"] = "Give a contact's id."
	}
	if e.CreateContact && e.Email == "" {
		errs[prefix+"create_contact"] = "A contact can be made only from an email."
	}
	if e.Name == "" || utf8.RuneCountInString(e.Name) > maxEventName || !printable(e.Name) || strings.ContainsFunc(e.Name, addr.Invisible) {
		errs[prefix+"name"] = fmt.Sprintf("Give the event a name of 1 to %d characters, like \"order_placed\".", maxEventName)
	}
	if n, err := jsonSize(e.Properties); err != nil || n > maxEventProperties {
		errs[prefix+"properties"] = fmt.Sprintf("Properties are a JSON object of at most %d KB.", maxEventProperties>>10)
	}
	switch {
	case e.OccurredAt.IsZero():
		e.OccurredAt = now
	case e.OccurredAt.After(now.Add(24 * time.Hour)):
		errs[prefix+"occurred_at"] = "The event cannot have happened more than a day from now."
	case e.OccurredAt.Before(earliestEvent):
		errs[prefix+"occurred_at"] = "Give a time from 2000 on, like 2026-05-01T09:00:00Z."
	}
	if len(e.IdempotencyKey) > maxEventKey || !printable(e.IdempotencyKey) {
		errs[prefix+"idempotency_key"] = fmt.Sprintf("Use at most %d printable characters.", maxEventKey)
	}
}

func printable(s string) bool { return !strings.ContainsFunc(s, unicode.IsControl) }

// earliestEvent is the earliest an event may have happened.
var earliestEvent = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// jsonSize is the length of v as JSON, written as it is stored.
func jsonSize(v any) (int, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return b.Len() - 1, err
}

// RecordEvents stores a batch of events in one transaction: all of them, or
// none when one is wrong (the error names it, as events[i].field). An event
// whose idempotency key is known is not stored again; it comes back marked
// Duplicate. Each new event is announced as event.received.
func (s *Store) RecordEvents(ctx context.Context, in []EventInput) ([]CustomEvent, error) {
	if len(in) == 0 || len(in) > MaxEventBatch {
		return nil, &ValidationError{Fields: map[string]string{"events": fmt.Sprintf("Send 1 to %d events in a call.", MaxEventBatch)}}
	}
	now := s.now().Truncate(time.Second)
	errs := map[string]string{}
	for i := range in {
		in[i].validate(fmt.Sprintf("events[%d].", i), now, errs)
	}
	if len(errs) > 0 {
		return nil, &ValidationError{Fields: errs}
	}
	out := make([]CustomEvent, len(in))
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		ids, err := s.eventContacts(ctx, tx, in, now)
		if err != nil {
			return err
		}
		insert, err := tx.PrepareContext(ctx, `INSERT INTO custom_events (contact_id, name, properties, occurred_at, created_at, idempotency_key)
VALUES (?, ?, ?, ?, ?, nullif(?, '')) ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING RETURNING id`)
		if err != nil {
			return err
		}
		defer insert.Close()
		for i, e := range in {
			props, _ := json.Marshal(orEmptyMap(e.Properties))
			ev := CustomEvent{ContactID: ids[i].id, Email: ids[i].email, Name: e.Name, Properties: orEmptyMap(e.Properties),
				OccurredAt: e.OccurredAt.UTC().Truncate(time.Second), CreatedAt: now.UTC(), IdempotencyKey: e.IdempotencyKey}
			err := insert.QueryRowContext(ctx, ev.ContactID, ev.Name, string(props), unix(ev.OccurredAt), unix(now), ev.IdempotencyKey).Scan(&ev.ID)
			if errors.Is(err, sql.ErrNoRows) {
				if ev, err = s.eventByKey(ctx, tx, e.IdempotencyKey); err != nil {
					return err
				}
				ev.Duplicate = true
				out[i] = ev
				continue
			}
			if err != nil {
				return err
			}
			out[i] = ev
			if err := s.emit(ctx, tx, EventReceived, func() (any, error) { return eventData(ev), nil }); err != nil {
				return err
			}
			if err := s.eventHappened(ctx, tx, ev.ContactID, ev.Name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			return nil, err
		}
		return nil, fmt.Errorf("store: record events: %w", err)
	}
	return out, nil
}

// EventData is what event.received carries.
type EventData struct {
	ID         int64          `json:"id"`
	Contact    ContactRef     `json:"contact"`
	Name       string         `json:"name"`
	Properties map[string]any `json:"properties"`
	OccurredAt time.Time      `json:"occurred_at"`
}

func eventData(e CustomEvent) EventData {
	return EventData{ID: e.ID, Contact: ContactRef{ID: e.ContactID, Email: e.Email}, Name: e.Name, Properties: e.Properties, OccurredAt: e.OccurredAt}
}

type eventContact struct {
	id    int64
	email string
}

// eventContacts finds each event's contact, in one query for the batch, and
// makes those asked for; an unknown one is an error naming the event.
func (s *Store) eventContacts(ctx context.Context, tx *sql.Tx, in []EventInput, now time.Time) ([]eventContact, error) {
	var emails, ids jsonArray
	for _, e := range in {
		if e.Email != "" {
			emails.string(e.Email)
		} else {
			ids.int(e.ContactID)
		}
	}
	byEmail, byID := map[string]int64{}, map[int64]string{}
	rows, err := tx.QueryContext(ctx, `SELECT id, email FROM contacts WHERE erased_at IS NULL AND (email IN (SELECT value FROM json_each(?))
  OR id IN (SELECT value FROM json_each(?)))`, emails.String(), ids.String())
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id int64
		var email string
		if err := rows.Scan(&id, &email); err != nil {
			rows.Close()
			return nil, err
		}
		byEmail[email], byID[id] = id, email
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]eventContact, len(in))
	errs := map[string]string{}
	for i, e := range in {
		switch {
		case e.Email == "":
			email, ok := byID[e.ContactID]
			if !ok {
				errs[fmt.Sprintf("events[%d].contact_id", i)] = fmt.Sprintf("There is no contact %d.", e.ContactID)
			}
			out[i] = eventContact{e.ContactID, email}
		case byEmail[e.Email] != 0:
			out[i] = eventContact{byEmail[e.Email], e.Email}
		case e.CreateContact:
			email := e.Email
			id, err := s.insertContact(ctx, tx, ContactInput{Email: &email, Source: "api"})
			if err != nil {
				return nil, err
			}
			if err := s.emitContact(ctx, tx, EventContactCreated, id); err != nil {
				return nil, err
			}
			byEmail[email] = id
			out[i] = eventContact{id, email}
		default:
			errs[fmt.Sprintf("events[%d].email", i)] = fmt.Sprintf("There is no contact %s: add it first, or send create_contact: true.", e.Email)
		}
	}
	if len(errs) > 0 {
		return nil, &ValidationError{Fields: errs}
	}
	return out, nil
}

const customEventColumns = `e.id, e.contact_id, c.email, e.name, e.properties, e.occurred_at, e.created_at, coalesce(e.idempotency_key, '')`

func scanCustomEvent(row scanner) (CustomEvent, error) {
	var e CustomEvent
	var props string
	var occurred, created int64
	if err := row.Scan(&e.ID, &e.ContactID, &e.Email, &e.Name, &props, &occurred, &created, &e.IdempotencyKey); err != nil {
		return e, err
	}
	e.OccurredAt, e.CreatedAt = fromUnix(occurred), fromUnix(created)
	return e, json.Unmarshal([]byte(props), &e.Properties)
}

func (s *Store) eventByKey(ctx context.Context, tx *sql.Tx, key string) (CustomEvent, error) {
	return scanCustomEvent(tx.QueryRowContext(ctx, `SELECT `+customEventColumns+` FROM custom_events e JOIN contacts c ON c.id = e.contact_id
WHERE e.idempotency_key = ?`, key))
}

// EventFilter narrows a list of custom events.
type EventFilter struct {
	ContactID int64
	Name      string
	Order     Order
}

// CustomEventSorts are the fields a list of custom events sorts by, beyond id.
var CustomEventSorts = map[string]string{"occurred_at": "e.occurred_at", "name": "e.name"}

// CustomEvents pages through custom events, in f.Order; a page read by
// cursor is not counted.
func (s *Store) CustomEvents(ctx context.Context, f EventFilter, limit, offset int) ([]CustomEvent, int, error) {
	where, args := ` WHERE 1`, []any{}
	if f.ContactID != 0 {
		where, args = where+` AND e.contact_id = ?`, append(args, f.ContactID)
	}
	if f.Name != "" {
		where, args = where+` AND e.name = ?`, append(args, f.Name)
	}
	window, wargs, cursor, cargs, orderBy := f.Order.sql(CustomEventSorts, "e.id", "e.created_at")
	where, args = where+window, append(args, wargs...)
	const from = ` FROM custom_events e JOIN contacts c ON c.id = e.contact_id`
	var total int
	if f.Order.Cursor {
		offset = 0
	} else if err := s.r.QueryRowContext(ctx, `SELECT count(*)`+from+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count custom events: %w", err)
	}
	evs, err := queryAll(ctx, s, "custom events", scanCustomEvent, `SELECT `+customEventColumns+from+where+cursor+orderBy+` LIMIT ? OFFSET ?`,
		append(append(args, cargs...), limit, offset)...)
	return evs, total, err
}
