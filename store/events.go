package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Kinds of event on a contact's timeline. Later parts of Herald add sends,
// opens, clicks and bounces.
const (
	EventAdded        = "added"
	EventImported     = "imported"
	EventUpdated      = "updated"
	EventSubscribed   = "subscribed"
	EventConfirmed    = "confirmed"
	EventUnsubscribed = "unsubscribed"
	EventRemoved      = "removed"
	EventStatus       = "status"
	EventErased       = "erased"
	EventBounced      = "bounced"
	EventComplained   = "complained"
)

// Event is one thing that happened to a contact.
type Event struct {
	ID        int64
	Kind      string
	Detail    string
	CreatedAt time.Time
}

func recordEvent(ctx context.Context, tx *sql.Tx, contactID int64, kind, detail string, at int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO contact_events (contact_id, kind, detail, created_at) VALUES (?, ?, ?, ?)`,
		contactID, kind, detail, at)
	if err != nil {
		return fmt.Errorf("store: record %s event for contact %d: %w", kind, contactID, err)
	}
	return nil
}

func statusEvent(status string) string {
	if status == StatusUnsubscribed {
		return EventUnsubscribed
	}
	return EventStatus
}

func memberEvent(status string) string {
	switch status {
	case MemberConfirmed:
		return EventConfirmed
	case MemberUnsubscribed:
		return EventUnsubscribed
	}
	return EventSubscribed
}

func memberDetail(status, list string) string {
	switch status {
	case MemberConfirmed:
		return "Subscribed to " + list + " (confirmed)"
	case MemberUnsubscribed:
		return "Unsubscribed from " + list
	}
	return "Subscribed to " + list + ", awaiting confirmation"
}

// indexedByContact is the condition of the events_contact index, which a
// query of a contact's events repeats so that SQLite uses it: every event
// but the opens of campaign mail, which the contact's sends sum up.
const indexedByContact = `(e.kind != 'open' OR e.message_id IS NOT NULL)`

// contactTimeline reads a contact's own events, their arrival, the custom
// events reported of them, and what they did with the mail they were sent: each campaign they opened (from
// its send: how often, and when first), and clicks, deliveries, soft
// bounces, web views and visits to their preferences. (Hard bounces and
// complaints are already among their own events, with the reason.)
const contactTimeline = `SELECT id, kind, detail, created_at FROM (
  SELECT id, kind, detail, created_at, 1 AS src FROM contact_events WHERE contact_id = ?1
  UNION ALL
  SELECT 0, CASE WHEN source LIKE 'import:%' THEN 'imported' ELSE 'added' END,
         CASE WHEN source LIKE 'import:%' THEN 'Imported from ' || substr(source, 9)
              WHEN source <> '' THEN 'Added from ' || source ELSE 'Added' END, created_at, 0
  FROM contacts WHERE id = ?1 AND erased_at IS NULL
  UNION ALL
  SELECT s.id, 'open', 'Opened “' || coalesce(c.name, 'a deleted campaign') || '”'
    || CASE WHEN s.opens > 1 THEN ', ' || s.opens || ' times' ELSE '' END
    || CASE WHEN s.human_opens = 0 THEN ' (by a machine only)' ELSE '' END, s.opened_at, 2
  FROM sends s LEFT JOIN campaigns c ON c.id = s.campaign_id
  WHERE s.contact_id = ?1 AND s.opened_at IS NOT NULL
  UNION ALL
  SELECT e.id, e.kind,
    CASE e.kind WHEN 'open' THEN 'Opened ' WHEN 'click' THEN 'Clicked ' || coalesce(l.url, 'a link') || ' in '
      WHEN 'delivered' THEN 'Delivered: ' WHEN 'soft_bounce' THEN 'Soft bounce (' || e.detail || ') on '
      WHEN 'view' THEN 'Viewed in the browser: ' WHEN 'preferences' THEN 'Opened their preferences from '
      WHEN 'delayed' THEN 'Delivery delayed: ' ELSE e.kind || ': ' END
    || CASE WHEN e.campaign_id IS NOT NULL THEN '“' || coalesce(c.name, 'a deleted campaign') || '”'
      ELSE 'message “' || coalesce(m.subject, '') || '”' END
    || CASE WHEN e.machine = 1 THEN ' (by a machine: ' || e.detail || ')' ELSE '' END,
    e.at, 2
  FROM events e LEFT JOIN campaigns c ON c.id = e.campaign_id LEFT JOIN messages m ON m.id = e.message_id
    LEFT JOIN links l ON l.id = e.link_id
  WHERE e.contact_id = ?1 AND ` + indexedByContact + ` AND e.kind NOT IN ('hard_bounce', 'complaint', 'unsubscribe')
  UNION ALL
  SELECT id, 'event', 'Event ' || name || CASE WHEN properties <> '{}' THEN ' ' || substr(properties, 1, 300) ELSE '' END, occurred_at, 2
  FROM custom_events WHERE contact_id = ?1
) ORDER BY created_at DESC, src DESC, id DESC LIMIT ?2`

// ContactEvents returns a contact's timeline, newest first, at most limit
// events. Its first entry, the contact's arrival, is read from the contact
// itself rather than stored, which keeps large imports fast.
func (s *Store) ContactEvents(ctx context.Context, contactID int64, limit int) ([]Event, error) {
	return queryAll(ctx, s, fmt.Sprintf("contact %d events", contactID), scanEvent, contactTimeline, contactID, limit)
}

// scanEvent reads a row of id, kind, detail and time.
func scanEvent(row scanner) (Event, error) {
	var e Event
	var at int64
	err := row.Scan(&e.ID, &e.Kind, &e.Detail, &at)
	e.CreatedAt = fromUnix(at)
	return e, err
}

// contactOpens reads every open of campaign mail a contact's sends had,
// which the timeline sums up; through the index of a campaign's events by
// kind, as events by contact leave these out, and only in the campaigns
// the contact opened.
const contactOpens = `SELECT e.id, 'open', 'Opened “' || coalesce(c.name, 'a deleted campaign') || '”'
    || CASE WHEN e.machine = 1 THEN ' (by a machine: ' || e.detail || ')' ELSE '' END, e.at
FROM sends s JOIN events e ON e.campaign_id = s.campaign_id AND e.kind = 'open' AND e.send_id = s.id
  LEFT JOIN campaigns c ON c.id = s.campaign_id
WHERE s.contact_id = ? AND s.opens > 0 ORDER BY e.at, e.id`

// ContactOpens returns each open of campaign mail a contact's messages
// had, oldest first: what the timeline sums up as one entry a campaign,
// for an export of everything Herald holds on them. It reads every open
// of those campaigns, so it is for exports, not pages.
func (s *Store) ContactOpens(ctx context.Context, contactID int64) ([]Event, error) {
	return queryAll(ctx, s, fmt.Sprintf("contact %d opens", contactID), scanEvent, contactOpens, contactID)
}
