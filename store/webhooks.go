package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Event types a webhook can ask for.
const (
	EventContactCreated      = "contact.created"
	EventContactUpdated      = "contact.updated"
	EventContactDeleted      = "contact.deleted"
	EventContactUnsubscribed = "contact.unsubscribed"
	EventListSubscribed      = "list.subscribed"
	EventListUnsubscribed    = "list.unsubscribed"
	EventCampaignStarted     = "campaign.started"
	EventCampaignPaused      = "campaign.paused"
	EventCampaignSent        = "campaign.sent"
	EventEmailSent           = "email.sent"
	EventEmailDelivered      = "email.delivered"
	EventEmailOpened         = "email.opened"
	EventEmailClicked        = "email.clicked"
	EventEmailBounced        = "email.bounced"
	EventEmailComplained     = "email.complained"
	EventEmailFailed         = "email.failed"
	EventImportFinished      = "import.finished"
	EventReceived            = "event.received"
	// EventTest is what "Send test event" sends, to one endpoint.
	EventTest = "webhook.test"
)

// EventTypes lists the event types an endpoint can ask for.
var EventTypes = []string{EventContactCreated, EventContactUpdated, EventContactDeleted, EventContactUnsubscribed,
	EventListSubscribed, EventListUnsubscribed, EventCampaignStarted, EventCampaignPaused, EventCampaignSent,
	EventEmailSent, EventEmailDelivered, EventEmailOpened, EventEmailClicked, EventEmailBounced, EventEmailComplained, EventEmailFailed,
	EventImportFinished, EventReceived}

// Webhook retention and limits.
const (
	// WebhookGiveUp is how long an event is retried, and how long an
	// endpoint may fail every delivery before it is disabled.
	WebhookGiveUp = 72 * time.Hour
	// OldSecretValid is how long a rolled secret still signs.
	OldSecretValid = 24 * time.Hour
	maxWebhooks    = 100
	maxWebhookURL  = 2000
)

// webhookSecretPrefix starts every signing secret, as the Standard
// Webhooks libraries expect.
const webhookSecretPrefix = "whsec_"

// Webhook is an endpoint Herald posts events to.
type Webhook struct {
	ID          int64
	URL         string
	Description string
	Events      []string
	Enabled     bool
	// FailingSince is when the current run of failures began.
	FailingSince   time.Time
	DisabledReason string
	// OldSecretUntil is when the secret before the last roll stops signing.
	OldSecretUntil time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Wants reports whether the endpoint is sent events of typ.
func (w Webhook) Wants(typ string) bool { return w.Enabled && slices.Contains(w.Events, typ) }

// WebhookInput creates or changes an endpoint; nil fields keep their value.
type WebhookInput struct {
	URL         *string
	Description *string
	Events      *[]string
	Enabled     *bool
}

func (in WebhookInput) apply(w *Webhook) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = strings.TrimSpace(*v)
		}
	}
	set(&w.URL, in.URL)
	set(&w.Description, in.Description)
	if in.Events != nil {
		w.Events = nil
		for _, e := range EventTypes {
			if slices.Contains(*in.Events, e) {
				w.Events = append(w.Events, e)
			}
		}
		for _, e := range *in.Events {
			if !slices.Contains(EventTypes, e) {
				w.Events = append(w.Events, e) // for validate to name
			}
		}
	}
	if in.Enabled != nil {
		w.Enabled = *in.Enabled
	}
}

// validate reports what is wrong with w; checkURL is the caller's check of
// where the URL points.
func (w Webhook) validate(checkURL func(string) string) map[string]string {
	errs := map[string]string{}
	if msg := CheckWebhookURL(w.URL); msg != "" {
		errs["url"] = msg
	} else if checkURL != nil {
		if msg := checkURL(w.URL); msg != "" {
			errs["url"] = msg
		}
	}
	if msg := CheckLine(w.Description, 200); msg != "" {
		errs["description"] = msg
	}
	if len(w.Events) == 0 {
		errs["events"] = "Choose at least one event type."
	}
	for _, e := range w.Events {
		if !slices.Contains(EventTypes, e) {
			errs["events"] = fmt.Sprintf("Unknown event type %q: use %s.", e, strings.Join(EventTypes, ", "))
		}
	}
	return errs
}

// CheckWebhookURL returns what is wrong with u as an endpoint's address, or "".
func CheckWebhookURL(u string) string {
	if u == "" {
		return "Give the address Herald posts events to, like https://shop.example.com/hooks/herald."
	}
	if len(u) > maxWebhookURL {
		return fmt.Sprintf("Use at most %d characters.", maxWebhookURL)
	}
	p, err := url.Parse(u)
	switch {
	case err != nil || p.Host == "" || p.Hostname() == "":
		return "Give a full address starting with https://."
	case p.Scheme != "https" && p.Scheme != "http":
		return "The address must start with https:// (or http:// for a host on your own network you allow)."
	case p.User != nil:
		return "Leave the user name and password out of the address: verify Herald's signature instead."
	case p.Fragment != "":
		return "Leave the #fragment out of the address."
	}
	return ""
}

// newWebhookSecret makes a signing secret: whsec_ and 32 random bytes in
// base64, as the Standard Webhooks libraries read it.
func newWebhookSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return webhookSecretPrefix + base64.StdEncoding.EncodeToString(b)
}

const webhookColumns = `id, url, description, events, enabled, failing_since, disabled_reason, old_until, created_at, updated_at`

func scanWebhook(row scanner) (Webhook, error) {
	var w Webhook
	var events string
	var failing, oldUntil sql.NullInt64
	var created, updated int64
	err := row.Scan(&w.ID, &w.URL, &w.Description, &events, &w.Enabled, &failing, &w.DisabledReason, &oldUntil, &created, &updated)
	w.Events = strings.Fields(events)
	w.FailingSince, w.OldSecretUntil = fromNullUnix(failing), fromNullUnix(oldUntil)
	w.CreatedAt, w.UpdatedAt = fromUnix(created), fromUnix(updated)
	return w, err
}

// Webhooks lists the endpoints, oldest first.
func (s *Store) Webhooks(ctx context.Context) ([]Webhook, error) {
	return queryAll(ctx, s, "webhooks", scanWebhook, `SELECT `+webhookColumns+` FROM webhooks ORDER BY id`)
}

// Webhook returns one endpoint.
func (s *Store) Webhook(ctx context.Context, id int64) (Webhook, error) {
	return queryOne(ctx, s, "webhook", scanWebhook, `SELECT `+webhookColumns+` FROM webhooks WHERE id = ?`, id)
}

// CreateWebhook adds an endpoint, enabled unless in says otherwise, and
// returns it with its signing secret. checkURL, when given, refuses
// addresses Herald may not reach.
func (s *Store) CreateWebhook(ctx context.Context, in WebhookInput, checkURL func(string) string) (Webhook, string, error) {
	w := Webhook{Enabled: true}
	in.apply(&w)
	if errs := w.validate(checkURL); len(errs) > 0 {
		return Webhook{}, "", &ValidationError{Fields: errs}
	}
	secret := newWebhookSecret()
	sealed, err := s.box.Seal(secret)
	if err != nil {
		return Webhook{}, "", err
	}
	now := s.now()
	err = s.Tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM webhooks`).Scan(&n); err != nil {
			return err
		}
		if n >= maxWebhooks {
			return &ValidationError{Fields: map[string]string{"url": fmt.Sprintf("Herald takes at most %d endpoints: delete one first.", maxWebhooks)}}
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO webhooks (url, description, events, enabled, secret, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			w.URL, w.Description, strings.Join(w.Events, " "), w.Enabled, sealed, unix(now), unix(now))
		if err != nil {
			return err
		}
		w.ID, _ = res.LastInsertId()
		return nil
	})
	if err != nil {
		return Webhook{}, "", fmt.Errorf("store: create webhook: %w", err)
	}
	s.hooks.Store(nil)
	w.CreatedAt, w.UpdatedAt = now.UTC(), now.UTC()
	return w, secret, nil
}

// UpdateWebhook changes an endpoint. Enabling it again clears its run of
// failures.
func (s *Store) UpdateWebhook(ctx context.Context, id int64, in WebhookInput, checkURL func(string) string) (Webhook, error) {
	w, err := s.Webhook(ctx, id)
	if err != nil {
		return w, err
	}
	wasEnabled := w.Enabled
	in.apply(&w)
	if errs := w.validate(checkURL); len(errs) > 0 {
		return w, &ValidationError{Fields: errs}
	}
	q := `UPDATE webhooks SET url = ?, description = ?, events = ?, enabled = ?, updated_at = ?`
	if w.Enabled && !wasEnabled {
		q += `, failing_since = NULL, disabled_reason = ''`
	}
	if _, err := s.w.ExecContext(ctx, q+` WHERE id = ?`, w.URL, w.Description, strings.Join(w.Events, " "), w.Enabled, unix(s.now()), id); err != nil {
		return w, fmt.Errorf("store: update webhook %d: %w", id, err)
	}
	s.hooks.Store(nil)
	return s.Webhook(ctx, id)
}

// DeleteWebhook removes an endpoint, with its deliveries and their log.
func (s *Store) DeleteWebhook(ctx context.Context, id int64) error {
	if err := s.inUse(ctx, "webhook_id", id, "webhook endpoint"); err != nil {
		return err
	}
	res, err := s.w.ExecContext(ctx, `DELETE FROM webhooks WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("store: delete webhook %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	s.hooks.Store(nil)
	return nil
}

// WebhookSecret returns an endpoint's current signing secret.
func (s *Store) WebhookSecret(ctx context.Context, id int64) (string, error) {
	var sealed []byte
	if err := s.r.QueryRowContext(ctx, `SELECT secret FROM webhooks WHERE id = ?`, id).Scan(&sealed); errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	} else if err != nil {
		return "", fmt.Errorf("store: webhook secret: %w", err)
	}
	return s.box.Open(sealed)
}

// RollWebhookSecret gives an endpoint a new secret and returns it. Until
// OldSecretValid has passed, deliveries are signed with both, so the
// receiver can change over without missing one.
func (s *Store) RollWebhookSecret(ctx context.Context, id int64) (string, error) {
	secret := newWebhookSecret()
	sealed, err := s.box.Seal(secret)
	if err != nil {
		return "", err
	}
	now := s.now()
	res, err := s.w.ExecContext(ctx, `UPDATE webhooks SET old_secret = secret, old_until = ?, secret = ?, updated_at = ? WHERE id = ?`,
		unix(now.Add(OldSecretValid)), sealed, unix(now), id)
	if err != nil {
		return "", fmt.Errorf("store: roll webhook secret: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return "", ErrNotFound
	}
	return secret, nil
}

// subscribers returns the enabled endpoints, read once and again after
// each change to them.
func (s *Store) subscribers(ctx context.Context, q queryer) ([]Webhook, error) {
	if p := s.hooks.Load(); p != nil {
		return *p, nil
	}
	rows, err := q.QueryContext(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE enabled = 1`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Webhook
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	s.hooks.Store(&out)
	return out, nil
}

// webhookCache holds the enabled endpoints; nil until read.
type webhookCache = atomic.Pointer[[]Webhook]

// eventPayload is the body every webhook gets.
type eventPayload struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	CreatedAt time.Time `json:"created_at"`
	Data      any       `json:"data"`
}

// emit records an event of typ in tx, the transaction of the change that
// caused it, for every enabled endpoint that wants it: so an event exists
// exactly when its change does. data makes what the event carries, written
// as JSON; it is called only when some endpoint wants the event, so with
// none an event costs a look at the cached list of endpoints.
func (s *Store) emit(ctx context.Context, tx *sql.Tx, typ string, data func() (any, error)) error {
	hooks, err := s.subscribers(ctx, tx)
	if err != nil {
		return fmt.Errorf("store: webhook subscribers: %w", err)
	}
	var to []int64
	for _, h := range hooks {
		if h.Wants(typ) {
			to = append(to, h.ID)
		}
	}
	if len(to) == 0 {
		return nil
	}
	d, err := data()
	if err != nil {
		return fmt.Errorf("store: event %s: %w", typ, err)
	}
	return s.enqueueEvent(ctx, tx, typ, d, to)
}

// enqueueEvent writes an event and its deliveries to the endpoints to.
func (s *Store) enqueueEvent(ctx context.Context, tx *sql.Tx, typ string, data any, to []int64) error {
	now := s.now()
	p := eventPayload{ID: "evt_" + randomToken(16), Type: typ, CreatedAt: now.UTC(), Data: data}
	body, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("store: event %s: %w", typ, err)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO webhook_events (uid, type, payload, created_at) VALUES (?, ?, ?, ?)`, p.ID, typ, string(body), unix(now))
	if err != nil {
		return fmt.Errorf("store: event %s: %w", typ, err)
	}
	eventID, _ := res.LastInsertId()
	for _, id := range to {
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (webhook_id, event_id, next_attempt_at, retry_from, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?)`, id, eventID, unix(now), unix(now), unix(now), unix(now)); err != nil {
			return fmt.Errorf("store: event %s delivery: %w", typ, err)
		}
	}
	return nil
}

// SendTestEvent queues a webhook.test event to one endpoint, enabled or
// not, and returns the delivery.
func (s *Store) SendTestEvent(ctx context.Context, id int64) (int64, error) {
	w, err := s.Webhook(ctx, id)
	if err != nil {
		return 0, err
	}
	var deliveryID int64
	err = s.Tx(ctx, func(tx *sql.Tx) error {
		data := map[string]any{"webhook_id": w.ID, "message": "A test event from Herald: your endpoint is reached and can check its signature."}
		if err := s.enqueueEvent(ctx, tx, EventTest, data, []int64{w.ID}); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT max(id) FROM webhook_deliveries WHERE webhook_id = ?`, w.ID).Scan(&deliveryID)
	})
	return deliveryID, err
}
