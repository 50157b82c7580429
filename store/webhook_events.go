package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// ContactEventData is what contact.* events carry: the contact as it is
// after the change.
type ContactEventData struct {
	ID         int64          `json:"id"`
	Email      string         `json:"email"`
	FirstName  string         `json:"first_name"`
	LastName   string         `json:"last_name"`
	Status     string         `json:"status"`
	Attributes map[string]any `json:"attributes"`
	Tags       []string       `json:"tags"`
	CreatedAt  time.Time      `json:"created_at"`
	UpdatedAt  time.Time      `json:"updated_at"`
}

// contactData reads a contact in tx, as contact events carry it.
func contactData(ctx context.Context, tx *sql.Tx, id int64) (ContactEventData, error) {
	var d ContactEventData
	var attrs string
	var tags sql.NullString
	var created, updated int64
	err := tx.QueryRowContext(ctx, `SELECT c.id, c.email, c.first_name, c.last_name, c.status, c.attributes, c.created_at, c.updated_at,
  (SELECT group_concat(t.name, char(31)) FROM contact_tags ct JOIN tags t ON t.id = ct.tag_id WHERE ct.contact_id = c.id)
FROM contacts c WHERE c.id = ?`, id).Scan(&d.ID, &d.Email, &d.FirstName, &d.LastName, &d.Status, &attrs, &created, &updated, &tags)
	if err != nil {
		return d, err
	}
	d.CreatedAt, d.UpdatedAt = fromUnix(created), fromUnix(updated)
	d.Attributes = map[string]any{}
	if err := json.Unmarshal([]byte(attrs), &d.Attributes); err != nil {
		return d, err
	}
	d.Tags = []string{}
	if tags.Valid && tags.String != "" {
		d.Tags = strings.Split(tags.String, "\x1f")
	}
	return d, nil
}

// emitContact records a contact.* event of typ for contact id. An
// unsubscribe also ends the contact's journeys in automations that take
// out who unsubscribes.
func (s *Store) emitContact(ctx context.Context, tx *sql.Tx, typ string, id int64) error {
	if typ == EventContactUnsubscribed {
		if err := s.unsubscribed(ctx, tx, id); err != nil {
			return err
		}
	}
	return s.emit(ctx, tx, typ, func() (any, error) { return contactData(ctx, tx, id) })
}

// ListEventData is what list.* events carry.
type ListEventData struct {
	List    ListRef    `json:"list"`
	Contact ContactRef `json:"contact"`
	// Status is the membership's: confirmed or unsubscribed.
	Status string `json:"status"`
}

// ListRef names a list in an event.
type ListRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// ContactRef names a contact in an event.
type ContactRef struct {
	ID    int64  `json:"id"`
	Email string `json:"email"`
}

// emitMembership records list.subscribed or list.unsubscribed for a
// contact's membership of a list that became status.
func (s *Store) emitMembership(ctx context.Context, tx *sql.Tx, contactID, listID int64, status string) error {
	typ := EventListSubscribed
	switch status {
	case MemberConfirmed:
	case MemberUnsubscribed:
		typ = EventListUnsubscribed
	default:
		return nil // awaiting confirmation: nothing yet
	}
	return s.emit(ctx, tx, typ, func() (any, error) {
		d := ListEventData{Status: status}
		err := tx.QueryRowContext(ctx, `SELECT l.id, l.name, c.id, c.email FROM lists l, contacts c WHERE l.id = ? AND c.id = ?`, listID, contactID).
			Scan(&d.List.ID, &d.List.Name, &d.Contact.ID, &d.Contact.Email)
		return d, err
	})
}

// CampaignEventData is what campaign.* events carry.
type CampaignEventData struct {
	ID      int64  `json:"id"`
	Name    string `json:"name"`
	Subject string `json:"subject"`
	Status  string `json:"status"`
	// PausedReason says why a campaign paused itself; "" when a person paused it.
	PausedReason string     `json:"paused_reason"`
	StartedAt    *time.Time `json:"started_at"`
	FinishedAt   *time.Time `json:"finished_at"`
}

// emitCampaign records a campaign.* event of typ for campaign id, as it is
// in tx.
func (s *Store) emitCampaign(ctx context.Context, tx *sql.Tx, typ string, id int64) error {
	return s.emit(ctx, tx, typ, func() (any, error) {
		var d CampaignEventData
		var started, finished sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT id, name, subject, status, paused_reason, started_at, finished_at FROM campaigns WHERE id = ?`, id).
			Scan(&d.ID, &d.Name, &d.Subject, &d.Status, &d.PausedReason, &started, &finished)
		d.StartedAt, d.FinishedAt = nullTime(started), nullTime(finished)
		return d, err
	})
}

// nullTime is a time that may be absent, for JSON.
func nullTime(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromUnix(v.Int64)
	return &t
}

// EmailEventData is what email.* events carry, for campaign and
// transactional mail alike: a campaign message has a campaign_id and a
// send_id, a transactional one a message_id.
type EmailEventData struct {
	Email      string    `json:"email"`
	ContactID  int64     `json:"contact_id,omitempty"`
	CampaignID int64     `json:"campaign_id,omitempty"`
	SendID     int64     `json:"send_id,omitempty"`
	MessageID  int64     `json:"message_id,omitempty"`
	At         time.Time `json:"at"`
	// Code and Response are the relay's answer, for sent and failed.
	Code     int    `json:"code,omitempty"`
	Response string `json:"response,omitempty"`
	// Machine marks an open or click by a mail scanner or proxy.
	Machine bool `json:"machine,omitempty"`
	// URL is the link clicked.
	URL string `json:"url,omitempty"`
	// Bounce is hard or soft.
	Bounce string `json:"bounce,omitempty"`
	// Detail is what the report said: a bounce's diagnostic, a complaint's
	// feedback type.
	Detail string `json:"detail,omitempty"`
	// Category, Tags and Metadata are a transactional message's, as sent
	// with it.
	Category string            `json:"category,omitempty"`
	Tags     []string          `json:"tags,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

// messageLabels fills in a transactional message's category, tags and
// metadata, read in tx.
func messageLabels(ctx context.Context, tx *sql.Tx, d *EmailEventData) error {
	if d.MessageID == 0 {
		return nil
	}
	var tags, metadata string
	if err := tx.QueryRowContext(ctx, `SELECT category, tags, metadata FROM messages WHERE id = ?`, d.MessageID).Scan(&d.Category, &tags, &metadata); err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(tags), &d.Tags); err != nil {
		return err
	}
	return json.Unmarshal([]byte(metadata), &d.Metadata)
}

// resultEvents maps the results the applier records to email.* events.
var resultEvents = map[string]string{ResultOpen: EventEmailOpened, ResultClick: EventEmailClicked, ResultDelivered: EventEmailDelivered,
	ResultHardBounce: EventEmailBounced, ResultSoftBounce: EventEmailBounced, ResultComplaint: EventEmailComplained, ResultRejected: EventEmailFailed}

// emitResult records the email.* event of an applied result, if it has one.
func (s *Store) emitResult(ctx context.Context, tx *sql.Tx, e eventRow) error {
	typ, ok := resultEvents[e.kind]
	if !ok {
		return nil
	}
	return s.emit(ctx, tx, typ, func() (any, error) {
		d := EmailEventData{Email: e.t.email, ContactID: e.t.contact, CampaignID: e.t.campaign, SendID: e.t.send, MessageID: e.t.message,
			At: fromUnix(e.at), Machine: e.machine, Detail: e.detail}
		switch e.kind {
		case ResultHardBounce:
			d.Bounce = "hard"
		case ResultSoftBounce:
			d.Bounce = "soft"
		case ResultClick:
			if err := tx.QueryRowContext(ctx, `SELECT url FROM links WHERE id = ?`, e.link).Scan(&d.URL); err != nil && !errors.Is(err, sql.ErrNoRows) {
				return nil, err
			}
		}
		return d, messageLabels(ctx, tx, &d)
	})
}

// emitSendOutcome records email.sent or email.failed for a campaign send.
func (s *Store) emitSendOutcome(ctx context.Context, tx *sql.Tx, o Outcome, at int64) error {
	typ := EventEmailSent
	switch o.Status {
	case SendSent:
	case SendFailed:
		typ = EventEmailFailed
	default:
		return nil
	}
	return s.emit(ctx, tx, typ, func() (any, error) {
		d := EmailEventData{SendID: o.SendID, At: fromUnix(at), Code: o.Code, Response: o.Response}
		err := tx.QueryRowContext(ctx, `SELECT email, contact_id, campaign_id FROM sends WHERE id = ?`, o.SendID).Scan(&d.Email, &d.ContactID, &d.CampaignID)
		return d, err
	})
}

// emitMessageOutcome records email.sent or email.failed for a
// transactional message; email names the recipient when it is not the
// first To.
func (s *Store) emitMessageOutcome(ctx context.Context, tx *sql.Tx, o MessageOutcome, email string, at int64) error {
	typ := EventEmailSent
	switch o.Status {
	case MessageSent:
	case MessageFailed:
		typ = EventEmailFailed
	default:
		return nil
	}
	return s.emit(ctx, tx, typ, func() (any, error) {
		d := EmailEventData{MessageID: o.ID, At: fromUnix(at), Code: o.Code, Response: o.Response}
		err := tx.QueryRowContext(ctx, `SELECT coalesce(nullif(?, ''), to_email), coalesce((SELECT id FROM contacts WHERE email = coalesce(nullif(?, ''), to_email)), 0)
FROM messages WHERE id = ?`, email, email, o.ID).Scan(&d.Email, &d.ContactID)
		if err != nil {
			return nil, err
		}
		return d, messageLabels(ctx, tx, &d)
	})
}
