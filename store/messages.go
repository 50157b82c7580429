package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
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
	// Category groups messages for the log and its stats, like "billing".
	Category string
	// Priority is PriorityHigh, PriorityNormal or PriorityLow; "" is normal.
	Priority string
	// Tags and Metadata are the caller's, given back in webhooks and the log.
	Tags     []string
	Metadata map[string]string
	// Size is the bytes of the message as it was last sent.
	Size int
	// Recipients are the others, beside ToEmail, the first To.
	Recipients Recipients
	// PendingTo, when not nil, are the recipients still to be sent to
	// after an attempt sent the message to the others or refused some.
	PendingTo []string
	// SentTo is how many recipients the relay has taken the message for.
	SentTo   int
	Status   string
	Attempts int
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
data, headers, COALESCE(relay_id, 0), essential, track_opens, track_clicks, status, attempts, next_attempt_at, last_code, last_response, provider_id, created_at, updated_at, sent_at,
category, priority, tags, metadata, size, recipients, pending_to, sent_to`

// messageSummaryColumns are messageColumns without the bodies, for lists.
const messageSummaryColumns = `id, kind, idempotency_key, to_email, to_name, from_name, from_email, reply_to, COALESCE(template_id, 0), subject, '', '',
'{}', '[]', COALESCE(relay_id, 0), essential, track_opens, track_clicks, status, attempts, next_attempt_at, last_code, last_response, provider_id, created_at, updated_at, sent_at,
category, priority, tags, metadata, size, recipients, pending_to, sent_to`

func scanMessage(row scanner) (Message, error) {
	var m Message
	var data, headers string
	var next, created, updated int64
	var sent sql.NullInt64
	var tags, metadata, recipients string
	var pending sql.NullString
	var priority int
	err := row.Scan(&m.ID, &m.Kind, &m.IdempotencyKey, &m.ToEmail, &m.ToName, &m.FromName, &m.FromEmail, &m.ReplyTo, &m.TemplateID, &m.Subject,
		&m.HTML, &m.Text, &data, &headers, &m.RelayID, &m.Essential, &m.TrackOpens, &m.TrackClicks, &m.Status, &m.Attempts, &next, &m.LastCode, &m.LastResponse,
		&m.ProviderID, &created, &updated, &sent, &m.Category, &priority, &tags, &metadata, &m.Size, &recipients, &pending, &m.SentTo)
	m.Priority = Priorities[min(max(priority, 0), len(Priorities)-1)]
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
	if err := json.Unmarshal([]byte(tags), &m.Tags); err != nil {
		return Message{}, fmt.Errorf("message %d tags: %w", m.ID, err)
	}
	if err := json.Unmarshal([]byte(metadata), &m.Metadata); err != nil {
		return Message{}, fmt.Errorf("message %d metadata: %w", m.ID, err)
	}
	if err := json.Unmarshal([]byte(recipients), &m.Recipients); err != nil {
		return Message{}, fmt.Errorf("message %d recipients: %w", m.ID, err)
	}
	if pending.Valid {
		m.PendingTo = []string{}
		if err := json.Unmarshal([]byte(pending.String), &m.PendingTo); err != nil {
			return Message{}, fmt.Errorf("message %d pending recipients: %w", m.ID, err)
		}
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
	now := unix(s.now())
	var id int64
	err = s.Tx(ctx, func(tx *sql.Tx) error {
		id, replay, err = insertMessage(ctx, tx, in, now)
		return err
	})
	if err != nil {
		return Message{}, false, fmt.Errorf("store: create message: %w", err)
	}
	m, err = s.Message(ctx, id)
	return m, replay, err
}

// insertMessage writes a message with its attachments and its first event
// in tx, or finds the one that already has its idempotency key (replay).
func insertMessage(ctx context.Context, tx *sql.Tx, in NewMessage, now int64) (id int64, replay bool, err error) {
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
	if in.IdempotencyKey != "" {
		err := tx.QueryRowContext(ctx, `SELECT id FROM messages WHERE idempotency_key = ?`, in.IdempotencyKey).Scan(&id)
		if err == nil {
			return id, true, nil
		} else if !errors.Is(err, sql.ErrNoRows) {
			return 0, false, err
		}
	}
	next := now
	if !in.NextAttempt.IsZero() {
		next = unix(in.NextAttempt) // a delayed send
	}
	err = tx.QueryRowContext(ctx, `INSERT INTO messages (kind, idempotency_key, to_email, to_name, from_name, from_email, reply_to, template_id,
	subject, html, text, data, headers, relay_id, essential, track_opens, track_clicks, status, last_response, created_at, updated_at,
	category, priority, tags, metadata, next_attempt_at, recipients)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		kind, in.IdempotencyKey, NormalizeEmail(in.ToEmail), in.ToName, in.FromName, NormalizeEmail(in.FromEmail), in.ReplyTo, nullID(in.TemplateID),
		in.Subject, in.HTML, in.Text, string(data), string(headers), nullID(in.RelayID), in.Essential, in.TrackOpens, in.TrackClicks, status, in.Reason, now, now,
		in.Category, priorityRank(in.Priority), jsonText(orEmpty(in.Tags)), jsonText(orEmptyStrings(in.Metadata)), next, jsonText(in.Recipients)).Scan(&id)
	if err != nil {
		return 0, false, err
	}
	for _, t := range in.Tags {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO message_tags (tag, message_id) VALUES (?, ?)`, t, id); err != nil {
			return 0, false, err
		}
	}
	for _, a := range in.Attachments {
		if _, err := tx.ExecContext(ctx, `INSERT INTO message_attachments (message_id, filename, content_type, content) VALUES (?, ?, ?, ?)`,
			id, a.Filename, a.ContentType, a.Content); err != nil {
			return 0, false, err
		}
	}
	return id, false, addMessageEvent(ctx, tx, id, status, event, now)
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
	// Category and Tag match exactly; To matches the start of the recipient.
	Category string
	Tag      string
	To       string
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
	where, args = f.where(where, args)
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

// Message priorities: high is taken first in the lane.
const (
	PriorityHigh   = "high"
	PriorityNormal = "normal"
	PriorityLow    = "low"
)

// Priorities lists them in the order the lane takes them; the index is
// what the database keeps.
var Priorities = []string{PriorityHigh, PriorityNormal, PriorityLow}

// priorityRank is a priority as the database keeps it; "" is normal.
func priorityRank(p string) int {
	if i := slices.Index(Priorities, p); i >= 0 {
		return i
	}
	return 1
}

func orEmptyStrings(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// where adds f's search, category, tag and recipient to a WHERE clause.
func (f MessageFilter) where(where string, args []any) (string, []any) {
	if q := strings.TrimSpace(f.Q); q != "" {
		where, args = where+` AND (to_email LIKE ? ESCAPE '\' OR subject LIKE ? ESCAPE '\' OR `+recipientLike+`)`,
			append(args, likeEscape(q)+"%", "%"+likeEscape(q)+"%", likeEscape(asInJSON(NormalizeEmail(q))))
	}
	if f.Category != "" {
		where, args = where+` AND category = ?`, append(args, f.Category)
	}
	if f.Tag != "" {
		where, args = where+` AND id IN (SELECT message_id FROM message_tags WHERE tag = ?)`, append(args, f.Tag)
	}
	if to := strings.TrimSpace(f.To); to != "" {
		to = NormalizeEmail(to)
		where, args = where+` AND (to_email LIKE ? ESCAPE '\' OR `+recipientLike+`)`, append(args, likeEscape(to)+"%", likeEscape(asInJSON(to)))
	}
	return where, args
}

// recipientLike matches a message with a recipient beyond the first To
// whose address starts with its argument, written as in JSON and escaped
// for LIKE.
const recipientLike = `(recipients != '{}' AND recipients LIKE '%"email":"' || ? || '%' ESCAPE '\')`

// asInJSON writes s as it stands inside a JSON string, where & is \u0026.
func asInJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// MessageStats counts the messages a filter matches: by status, by
// category (with each one's statuses) and by day.
type MessageStats struct {
	ByStatus   map[string]int
	ByCategory []CategoryStats
	ByDay      []DayStats
}

// CategoryStats is one category's messages by status; "" is none.
type CategoryStats struct {
	Category string
	Total    int
	ByStatus map[string]int
}

// DayStats is one day's messages by status.
type DayStats struct {
	Day      time.Time
	Total    int
	ByStatus map[string]int
}

// MessageStats counts what f matches, its status and kind included; days
// are loc's.
func (s *Store) MessageStats(ctx context.Context, f MessageFilter, loc *time.Location) (MessageStats, error) {
	where, args := f.where(" WHERE 1", nil)
	if f.Status != "" {
		where, args = where+` AND status = ?`, append(args, f.Status)
	}
	if f.Kind != "" {
		where, args = where+` AND kind = ?`, append(args, f.Kind)
	}
	window, wargs, _, _, _ := f.Order.sql(MessageSorts, "id", "created_at")
	where, args = where+window, append(args, wargs...)
	// Grouped by quarter hour, which every timezone's offset is a multiple
	// of, and then by the day each quarter falls on in loc.
	rows, err := s.r.QueryContext(ctx, `SELECT category, created_at / 900, status, count(*) FROM messages`+where+` GROUP BY 1, 2, 3`, args...)
	if err != nil {
		return MessageStats{}, fmt.Errorf("store: message stats: %w", err)
	}
	defer rows.Close()
	st := MessageStats{ByStatus: map[string]int{}}
	cats, days := map[string]*CategoryStats{}, map[time.Time]*DayStats{}
	for rows.Next() {
		var cat, status string
		var quarter int64
		var n int
		if err := rows.Scan(&cat, &quarter, &status, &n); err != nil {
			return st, fmt.Errorf("store: message stats: %w", err)
		}
		st.ByStatus[status] += n
		c := cats[cat]
		if c == nil {
			c = &CategoryStats{Category: cat, ByStatus: map[string]int{}}
			cats[cat] = c
		}
		c.Total += n
		c.ByStatus[status] += n
		y, m, dd := time.Unix(quarter*900, 0).In(loc).Date()
		day := time.Date(y, m, dd, 0, 0, 0, 0, loc)
		d := days[day]
		if d == nil {
			d = &DayStats{Day: day, ByStatus: map[string]int{}}
			days[day] = d
		}
		d.Total += n
		d.ByStatus[status] += n
	}
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("store: message stats: %w", err)
	}
	for _, c := range cats {
		st.ByCategory = append(st.ByCategory, *c)
	}
	slices.SortFunc(st.ByCategory, func(a, b CategoryStats) int { return cmp.Or(b.Total-a.Total, strings.Compare(a.Category, b.Category)) })
	for _, d := range days {
		st.ByDay = append(st.ByDay, *d)
	}
	slices.SortFunc(st.ByDay, func(a, b DayStats) int { return a.Day.Compare(b.Day) })
	return st, nil
}

// Recipients are a message's recipients beyond its first To.
type Recipients struct {
	To  []Address `json:"to,omitempty"`
	Cc  []Address `json:"cc,omitempty"`
	Bcc []Address `json:"bcc,omitempty"`
}

// Address is a recipient's address, with their name when given.
type Address struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email"`
}

// String writes the address with its name as people read it, a name
// beyond ASCII as written rather than encoded; net/mail reads it back.
func (a Address) String() string {
	if a.Name == "" {
		return a.Email
	}
	if strings.ContainsFunc(a.Name, func(r rune) bool { return r >= utf8.RuneSelf }) {
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(a.Name) + `" <` + a.Email + `>`
	}
	return (&mail.Address{Name: a.Name, Address: a.Email}).String()
}

// All lists every recipient's address, the first To included, for the
// envelope.
func (m Message) All() []string {
	out := []string{m.ToEmail}
	for _, list := range [][]Address{m.Recipients.To, m.Recipients.Cc, m.Recipients.Bcc} {
		for _, a := range list {
			out = append(out, a.Email)
		}
	}
	return out
}
