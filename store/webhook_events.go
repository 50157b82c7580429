package store

import (
	"context"
	"database/sql"
	"encoding/json"
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

// emitContact records a contact.* event of typ for contact id.
func (s *Store) emitContact(ctx context.Context, tx *sql.Tx, typ string, id int64) error {
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
