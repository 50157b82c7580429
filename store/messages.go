package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Statuses of a transactional message.
const (
	MessageQueued     = "queued"
	MessageSending    = "sending"
	MessageSent       = "sent"
	MessageRetrying   = "retrying"
	MessageFailed     = "failed"
	MessageSuppressed = "suppressed"
	// MessageRequeued is only an event: a message in flight when Herald
	// stopped, or whose lease ran out, went back to the queue.
	MessageRequeued = "requeued"
)

// Kinds of message: asked for through the API or the admin, or Herald's
// own system mail.
const (
	MessageTransactional = "transactional"
	MessageSystem        = "system"
)

// MessageKind reports whether s is one of the kinds of message.
func MessageKind(s string) bool { return s == MessageTransactional || s == MessageSystem }

// MessageStatus reports whether s is one of the statuses of a message.
func MessageStatus(s string) bool {
	switch s {
	case MessageQueued, MessageSending, MessageSent, MessageRetrying, MessageFailed, MessageSuppressed:
		return true
	}
	return false
}

// Header is one extra header of a transactional message.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Message is one transactional email and where its delivery stands.
type Message struct {
	ID int64
	// Kind is MessageTransactional or MessageSystem.
	Kind           string
	IdempotencyKey string
	ToEmail        string
	ToName         string
	FromName       string
	FromEmail      string
	ReplyTo        string
	// TemplateID is the template it was rendered from; 0 when it was given
	// as subject and body, or the template was deleted since.
	TemplateID int64
	Subject    string
	HTML       string
	Text       string
	Data       map[string]any
	Headers    []Header
	// RelayID is the relay asked for; 0 means the first enabled one.
	RelayID   int64
	Essential bool
	// TrackOpens and TrackClicks add the open pixel and click redirects.
	TrackOpens, TrackClicks bool
	Status                  string
	Attempts                int
	// NextAttempt is when a queued or retrying message is due.
	NextAttempt  time.Time
	LastCode     int
	LastResponse string
	ProviderID   string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	SentAt       time.Time
}

// Attachment is a file sent with a message.
type Attachment struct {
	Filename    string
	ContentType string
	Content     []byte
}

// MessageEvent is one step in a message's history.
type MessageEvent struct {
	At     time.Time
	Status string
	Detail string
}

// NewMessage is a message to create. Status is queued, or suppressed with
// Reason saying why it will not be sent.
type NewMessage struct {
	Message
	Attachments []Attachment
	Reason      string
}

const messageColumns = `id, kind, idempotency_key, to_email, to_name, from_name, from_email, reply_to, COALESCE(template_id, 0), subject, html, text,
data, headers, COALESCE(relay_id, 0), essential, track_opens, track_clicks, status, attempts, next_attempt_at, last_code, last_response, provider_id, created_at, updated_at, sent_at`

// messageSummaryColumns are messageColumns without the bodies, for lists.
const messageSummaryColumns = `id, kind, idempotency_key, to_email, to_name, from_name, from_email, reply_to, COALESCE(template_id, 0), subject, '', '',
'{}', '[]', COALESCE(relay_id, 0), essential, track_opens, track_clicks, status, attempts, next_attempt_at, last_code, last_response, provider_id, created_at, updated_at, sent_at`

func scanMessage(row scanner) (Message, error) {
	var m Message
	var data, headers string
	var next, created, updated int64
	var sent sql.NullInt64
	err := row.Scan(&m.ID, &m.Kind, &m.IdempotencyKey, &m.ToEmail, &m.ToName, &m.FromName, &m.FromEmail, &m.ReplyTo, &m.TemplateID, &m.Subject,
		&m.HTML, &m.Text, &data, &headers, &m.RelayID, &m.Essential, &m.TrackOpens, &m.TrackClicks, &m.Status, &m.Attempts, &next, &m.LastCode, &m.LastResponse,
		&m.ProviderID, &created, &updated, &sent)
	if errors.Is(err, sql.ErrNoRows) {
		return Message{}, ErrNotFound
	}
	if err != nil {
		return Message{}, err
	}
	if err := json.Unmarshal([]byte(data), &m.Data); err != nil {
		return Message{}, fmt.Errorf("message %d data: %w", m.ID, err)
	}
	if err := json.Unmarshal([]byte(headers), &m.Headers); err != nil {
		return Message{}, fmt.Errorf("message %d headers: %w", m.ID, err)
	}
	m.NextAttempt, m.CreatedAt, m.UpdatedAt, m.SentAt = fromUnix(next), fromUnix(created), fromUnix(updated), fromNullUnix(sent)
	return m, nil
}

func addMessageEvent(ctx context.Context, tx *sql.Tx, id int64, status, detail string, at int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO message_events (message_id, at, status, detail) VALUES (?, ?, ?, ?)`, id, at, status, detail)
	return err
}

// CreateMessage stores a message with its attachments and its first event,
// in one transaction. A message whose idempotency key is already taken is
// not made again: the existing one comes back, with replay true.
func (s *Store) CreateMessage(ctx context.Context, in NewMessage) (m Message, replay bool, err error) {
	status, event := MessageQueued, ""
	if in.Status == MessageSuppressed {
		status, event = MessageSuppressed, in.Reason
	}
	data, err := json.Marshal(in.Data)
	if err != nil || in.Data == nil {
		data = []byte("{}")
	}
	headers, err := json.Marshal(in.Headers)
	if err != nil || in.Headers == nil {
		headers = []byte("[]")
	}
	kind := in.Kind
	if kind == "" {
		kind = MessageTransactional
	}
	now := unix(s.now())
	var id int64
	err = s.Tx(ctx, func(tx *sql.Tx) error {
		if in.IdempotencyKey != "" {
			err := tx.QueryRowContext(ctx, `SELECT id FROM messages WHERE idempotency_key = ?`, in.IdempotencyKey).Scan(&id)
			if err == nil {
				replay = true
				return nil
			} else if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO messages (kind, idempotency_key, to_email, to_name, from_name, from_email, reply_to, template_id,
	subject, html, text, data, headers, relay_id, essential, track_opens, track_clicks, status, last_response, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			kind, in.IdempotencyKey, NormalizeEmail(in.ToEmail), in.ToName, in.FromName, NormalizeEmail(in.FromEmail), NormalizeEmail(in.ReplyTo), nullID(in.TemplateID),
			in.Subject, in.HTML, in.Text, string(data), string(headers), nullID(in.RelayID), in.Essential, in.TrackOpens, in.TrackClicks, status, in.Reason, now, now).Scan(&id)
		if err != nil {
			return err
		}
		for _, a := range in.Attachments {
			if _, err := tx.ExecContext(ctx, `INSERT INTO message_attachments (message_id, filename, content_type, content) VALUES (?, ?, ?, ?)`,
				id, a.Filename, a.ContentType, a.Content); err != nil {
				return err
			}
		}
		return addMessageEvent(ctx, tx, id, status, event, now)
	})
	if err != nil {
		return Message{}, false, fmt.Errorf("store: create message: %w", err)
	}
	m, err = s.Message(ctx, id)
	return m, replay, err
}

// Message returns the message with the given id.
func (s *Store) Message(ctx context.Context, id int64) (Message, error) {
	m, err := scanMessage(s.r.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM messages WHERE id = ?`, id))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Message{}, fmt.Errorf("store: message %d: %w", id, err)
	}
	return m, err
}

// MessageByKey returns the message made with an idempotency key.
func (s *Store) MessageByKey(ctx context.Context, key string) (Message, error) {
	m, err := scanMessage(s.r.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM messages WHERE idempotency_key = ? AND idempotency_key != ''`, key))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Message{}, fmt.Errorf("store: message with key %q: %w", key, err)
	}
	return m, err
}

// MessageFilter narrows a list of messages; empty fields match all.
type MessageFilter struct {
	Status string
	Kind   string
	// Q matches the start of the recipient's address, or a word of the subject.
	Q     string
	Order Order
}

// MessageSorts are the fields the message log sorts by, beyond id.
var MessageSorts = map[string]string{"created_at": "created_at", "to_email": "to_email", "subject": "subject", "status": "status"}

// Messages pages through messages, in f.Order, without their bodies. It
// returns the page and how many match in all; a page read by cursor is
// not counted.
func (s *Store) Messages(ctx context.Context, f MessageFilter, limit, offset int) ([]Message, int, error) {
	where, args := " WHERE 1", []any{}
	if f.Status != "" {
		where, args = where+` AND status = ?`, append(args, f.Status)
	}
	if f.Kind != "" {
		where, args = where+` AND kind = ?`, append(args, f.Kind)
	}
	if q := strings.TrimSpace(f.Q); q != "" {
		where, args = where+` AND (to_email LIKE ? ESCAPE '\' OR subject LIKE ? ESCAPE '\')`,
			append(args, likeEscape(q)+"%", "%"+likeEscape(q)+"%")
	}
	window, wargs, cursor, cargs, orderBy := f.Order.sql(MessageSorts, "id", "created_at")
	where, args = where+window, append(args, wargs...)
	var total int
	if f.Order.Cursor {
		offset = 0
	} else if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM messages`+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count messages: %w", err)
	}
	ms, err := queryAll(ctx, s, "messages", scanMessage, `SELECT `+messageSummaryColumns+` FROM messages`+where+cursor+orderBy+` LIMIT ? OFFSET ?`,
		append(append(args, cargs...), limit, offset)...)
	return ms, total, err
}

// MessageAttachments returns a message's attachments in the order given.
func (s *Store) MessageAttachments(ctx context.Context, id int64) ([]Attachment, error) {
	return queryAll(ctx, s, "message attachments", func(row scanner) (Attachment, error) {
		var a Attachment
		return a, row.Scan(&a.Filename, &a.ContentType, &a.Content)
	}, `SELECT filename, content_type, content FROM message_attachments WHERE message_id = ? ORDER BY id`, id)
}

// MessageEvents returns a message's history, oldest first: queued, each
// attempt, and what came back after it left (delivery, bounce, complaint,
// opens, clicks).
func (s *Store) MessageEvents(ctx context.Context, id int64) ([]MessageEvent, error) {
	return queryAll(ctx, s, "message events", func(row scanner) (MessageEvent, error) {
		var e MessageEvent
		var at int64
		err := row.Scan(&at, &e.Status, &e.Detail)
		e.At = fromUnix(at)
		return e, err
	}, `SELECT at, status, detail FROM (
  SELECT at, status, detail, 0 AS src, id FROM message_events WHERE message_id = ?
  UNION ALL
  SELECT e.at, e.kind, CASE WHEN e.kind = 'click' THEN coalesce((SELECT url FROM links WHERE id = e.link_id), '') ELSE e.detail END
       || CASE WHEN e.machine = 1 AND e.kind IN ('open', 'click') THEN ' (machine: ' || e.detail || ')' ELSE '' END, 1, e.id
  FROM events e WHERE e.message_id = ?
) ORDER BY at, src, id`, id, id)
}

// MessageBlock says why an address may not be sent mail that is not
// essential: a suppression, or its contact's status. It returns "" when it
// may.
func (s *Store) MessageBlock(ctx context.Context, email string) (string, error) {
	if sp, ok, err := s.Suppressed(ctx, email); err != nil {
		return "", err
	} else if ok {
		why := "the " + sp.Kind + " " + sp.Value + " is suppressed"
		if sp.Reason != "" {
			why += ": " + sp.Reason
		}
		return why, nil
	}
	var status string
	err := s.r.QueryRowContext(ctx, `SELECT status FROM contacts WHERE email = ?`, NormalizeEmail(email)).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) || status == StatusActive {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: contact status of %s: %w", email, err)
	}
	if status == StatusUnsubscribed {
		return "the contact unsubscribed from all email", nil
	}
	return "the contact is " + status, nil
}
