package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// Delivery is one event on its way to one endpoint.
type Delivery struct {
	ID        int64
	WebhookID int64
	URL       string
	EventUID  string
	EventType string
	Payload   []byte
	Status    string
	Attempts  int
	LastCode  int
	LastError string
	// NextAttemptAt is when a pending delivery is tried next.
	NextAttemptAt time.Time
	// RetryFrom is when its current run of attempts began: its event's
	// making, or a person's redelivery. Retries stop WebhookGiveUp after.
	RetryFrom time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
	// Secrets sign a claimed delivery: the current one, then the one
	// before a roll while it is valid.
	Secrets []string
}

// ClaimDeliveries leases up to n due deliveries for lease, with what it
// takes to send them: a process that dies holding some gives them back
// when the lease ends.
func (s *Store) ClaimDeliveries(ctx context.Context, n int, lease time.Duration) ([]Delivery, error) {
	now := s.now()
	var out []Delivery
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE webhook_deliveries SET lease_until = ?1
WHERE id IN (SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
  WHERE d.status = 'pending' AND d.next_attempt_at <= ?2 AND coalesce(d.lease_until, 0) <= ?2 AND `+queueNotPaused(QueueWebhooks)+`
    AND (w.enabled = 1 OR d.event_id IN (SELECT id FROM webhook_events WHERE type = 'webhook.test'))
  ORDER BY d.next_attempt_at LIMIT ?3)
RETURNING id`, unix(now.Add(lease)), unix(now), n)
		if err != nil {
			return err
		}
		var ids []any
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if len(ids) == 0 {
			return rows.Err()
		}
		rows, err = tx.QueryContext(ctx, `SELECT d.id, d.webhook_id, w.url, e.uid, e.type, e.payload, d.status, d.attempts, d.last_code, d.last_error,
  d.next_attempt_at, d.retry_from, d.created_at, d.updated_at, w.secret, w.old_secret, coalesce(w.old_until, 0)
FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id JOIN webhook_events e ON e.id = d.event_id
WHERE d.id IN (`+strings.Repeat("?, ", len(ids)-1)+`?)`, ids...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var d Delivery
			var next, from, created, updated, oldUntil int64
			var secret, old []byte
			var payload string
			if err := rows.Scan(&d.ID, &d.WebhookID, &d.URL, &d.EventUID, &d.EventType, &payload, &d.Status, &d.Attempts, &d.LastCode, &d.LastError,
				&next, &from, &created, &updated, &secret, &old, &oldUntil); err != nil {
				return err
			}
			d.Payload = []byte(payload)
			d.NextAttemptAt, d.RetryFrom, d.CreatedAt, d.UpdatedAt = fromUnix(next), fromUnix(from), fromUnix(created), fromUnix(updated)
			sec, err := s.box.Open(secret)
			if err != nil {
				return err
			}
			d.Secrets = []string{sec}
			if old != nil && fromUnix(oldUntil).After(now) {
				if sec, err := s.box.Open(old); err == nil {
					d.Secrets = append(d.Secrets, sec)
				}
			}
			out = append(out, d)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim deliveries: %w", err)
	}
	return out, nil
}

// NextDeliveryDue returns when the next pending delivery is due, and
// false when none is pending.
func (s *Store) NextDeliveryDue(ctx context.Context) (time.Time, bool, error) {
	var at sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT min(max(d.next_attempt_at, coalesce(d.lease_until, 0))) FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
WHERE d.status = 'pending' AND w.enabled = 1`).Scan(&at)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("store: next delivery: %w", err)
	}
	return fromNullUnix(at), at.Valid, nil
}

// Attempt is one try at a delivery, as its log keeps it.
type Attempt struct {
	ID         int64
	DeliveryID int64
	At         time.Time
	// Request and Response are what was sent and what came back, with
	// their headers, truncated.
	Request    string
	StatusCode int
	Response   string
	Error      string
	Latency    time.Duration
}

// OK reports whether the endpoint took the event: a 2xx answer.
func (a Attempt) OK() bool { return a.StatusCode >= 200 && a.StatusCode < 300 }

// maxLogged is how much of a request or a response an attempt keeps.
const maxLogged = 4096

func truncateLog(s string) string {
	if len(s) <= maxLogged {
		return s
	}
	return s[:maxLogged] + "\n… (truncated)"
}

// AttemptOutcome is what to record of one attempt.
type AttemptOutcome struct {
	Delivery Delivery
	Attempt  Attempt
}

// RecordAttempts writes each attempt to the log and settles its delivery:
// delivered on a 2xx; else tried again after retryIn(attempts so far)
// until WebhookGiveUp has passed since the event, then failed. An
// endpoint that has failed every delivery for WebhookGiveUp is disabled;
// RecordAttempts returns those it disabled.
func (s *Store) RecordAttempts(ctx context.Context, outs []AttemptOutcome, retryIn func(attempts int) time.Duration) ([]Webhook, error) {
	now := s.now()
	var disabled []Webhook
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		okHooks, failedHooks := map[int64]bool{}, map[int64]bool{}
		for _, o := range outs {
			a, d := o.Attempt, o.Delivery
			// A delivery whose endpoint was deleted while it was in flight
			// has gone with it: there is nothing left to record.
			res, err := tx.ExecContext(ctx, `INSERT INTO webhook_attempts (delivery_id, at, request, status_code, response, error, latency_ms)
SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE EXISTS (SELECT 1 FROM webhook_deliveries WHERE id = ?1)`,
				d.ID, unix(a.At), truncateLog(a.Request), a.StatusCode, truncateLog(a.Response), truncateLog(a.Error), a.Latency.Milliseconds())
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				continue
			}
			attempts := d.Attempts + 1
			status, next := DeliveryPending, now.Add(retryIn(attempts))
			switch {
			case a.OK():
				status, next = DeliveryDelivered, now
				okHooks[d.WebhookID] = true
			case d.EventType == EventTest || next.Sub(d.RetryFrom) > WebhookGiveUp:
				status, next = DeliveryFailed, now
				failedHooks[d.WebhookID] = true
			default:
				failedHooks[d.WebhookID] = true
			}
			if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = ?, attempts = ?, next_attempt_at = ?, lease_until = NULL,
  last_code = ?, last_error = ?, updated_at = ? WHERE id = ?`, status, attempts, unix(next), a.StatusCode, truncateLog(a.Error), unix(now), d.ID); err != nil {
				return err
			}
		}
		for id := range okHooks {
			if _, err := tx.ExecContext(ctx, `UPDATE webhooks SET failing_since = NULL WHERE id = ?`, id); err != nil {
				return err
			}
		}
		for id := range failedHooks {
			if okHooks[id] {
				continue
			}
			var enabled bool
			var since sql.NullInt64
			err := tx.QueryRowContext(ctx, `SELECT enabled, failing_since FROM webhooks WHERE id = ?`, id).Scan(&enabled, &since)
			if errors.Is(err, sql.ErrNoRows) {
				continue // deleted meanwhile
			}
			if err != nil {
				return err
			}
			start := fromNullUnix(since)
			if !since.Valid {
				start = now
			}
			disable := enabled && !start.After(now.Add(-WebhookGiveUp))
			if _, err := tx.ExecContext(ctx, `UPDATE webhooks SET failing_since = ? WHERE id = ?`, unix(start), id); err != nil {
				return err
			}
			if !disable {
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE webhooks SET enabled = 0, disabled_reason = ?, updated_at = ? WHERE id = ?`,
				"Every delivery failed for 3 days, so Herald stopped sending. Fix the endpoint, then enable it again.", unix(now), id); err != nil {
				return err
			}
			w, err := scanWebhook(tx.QueryRowContext(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE id = ?`, id))
			if err != nil {
				return err
			}
			disabled = append(disabled, w)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: record webhook attempts: %w", err)
	}
	if len(disabled) > 0 {
		s.hooks.Store(nil)
	}
	return disabled, nil
}

const deliveryColumns = `d.id, d.webhook_id, w.url, e.uid, e.type, e.payload, d.status, d.attempts, d.last_code, d.last_error, d.next_attempt_at,
d.retry_from, d.created_at, d.updated_at`

func scanDelivery(row scanner) (Delivery, error) {
	var d Delivery
	var payload string
	var next, from, created, updated int64
	err := row.Scan(&d.ID, &d.WebhookID, &d.URL, &d.EventUID, &d.EventType, &payload, &d.Status, &d.Attempts, &d.LastCode, &d.LastError, &next, &from, &created, &updated)
	d.Payload = []byte(payload)
	d.NextAttemptAt, d.RetryFrom, d.CreatedAt, d.UpdatedAt = fromUnix(next), fromUnix(from), fromUnix(created), fromUnix(updated)
	return d, err
}

const deliveriesFrom = ` FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id JOIN webhook_events e ON e.id = d.event_id`

// DeliverySorts are the fields a delivery log sorts by, beyond id.
var DeliverySorts = map[string]string{"updated_at": "d.updated_at", "status": "d.status", "attempts": "d.attempts"}

// DeliveryFilter narrows an endpoint's delivery log.
type DeliveryFilter struct {
	Status string
	Type   string
	Order  Order
}

// Deliveries pages through an endpoint's deliveries, in f.Order, and says
// how many there are; a page read by cursor is not counted.
func (s *Store) Deliveries(ctx context.Context, webhookID int64, f DeliveryFilter, limit, offset int) ([]Delivery, int, error) {
	where, args := ` WHERE d.webhook_id = ?`, []any{webhookID}
	if f.Status != "" {
		where, args = where+` AND d.status = ?`, append(args, f.Status)
	}
	if f.Type != "" {
		where, args = where+` AND e.type = ?`, append(args, f.Type)
	}
	window, wargs, cursor, cargs, orderBy := f.Order.sql(DeliverySorts, "d.id", "d.created_at")
	where, args = where+window, append(args, wargs...)
	var total int
	if f.Order.Cursor {
		offset = 0
	} else if err := s.r.QueryRowContext(ctx, `SELECT count(*)`+deliveriesFrom+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count deliveries: %w", err)
	}
	ds, err := queryAll(ctx, s, "deliveries", scanDelivery, `SELECT `+deliveryColumns+deliveriesFrom+where+cursor+orderBy+` LIMIT ? OFFSET ?`,
		append(append(args, cargs...), limit, offset)...)
	return ds, total, err
}

// Delivery returns one of an endpoint's deliveries with its attempts,
// newest first.
func (s *Store) Delivery(ctx context.Context, webhookID, id int64) (Delivery, []Attempt, error) {
	d, err := queryOne(ctx, s, "delivery", scanDelivery, `SELECT `+deliveryColumns+deliveriesFrom+` WHERE d.webhook_id = ? AND d.id = ?`, webhookID, id)
	if err != nil {
		return d, nil, err
	}
	as, err := queryAll(ctx, s, "attempts", func(row scanner) (Attempt, error) {
		var a Attempt
		var at, ms int64
		err := row.Scan(&a.ID, &a.DeliveryID, &at, &a.Request, &a.StatusCode, &a.Response, &a.Error, &ms)
		a.At, a.Latency = fromUnix(at), time.Duration(ms)*time.Millisecond
		return a, err
	}, `SELECT id, delivery_id, at, request, status_code, response, error, latency_ms FROM webhook_attempts WHERE delivery_id = ? ORDER BY id DESC`, id)
	return d, as, err
}

// Redeliver queues a delivery to be sent again now, whatever became of it.
func (s *Store) Redeliver(ctx context.Context, webhookID, id int64) error {
	now := s.now()
	res, err := s.w.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?, lease_until = NULL, retry_from = ?, updated_at = ?
WHERE webhook_id = ? AND id = ?`, unix(now), unix(now), unix(now), webhookID, id)
	if err != nil {
		return fmt.Errorf("store: redeliver %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// PruneWebhookLog removes settled deliveries last touched before before,
// with their attempts, and the events no delivery needs any more.
func (s *Store) PruneWebhookLog(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE status <> 'pending' AND updated_at < ?`, unix(before))
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		_, err = tx.ExecContext(ctx, `DELETE FROM webhook_events WHERE created_at < ? AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = webhook_events.id)`, unix(before))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: prune webhook log: %w", err)
	}
	return n, nil
}

// DeliveryCounts is how many of an endpoint's deliveries wait and how many
// were given up.
type DeliveryCounts struct{ Pending, Failed int }

// WebhookDeliveryCounts counts each endpoint's waiting and given-up
// deliveries.
func (s *Store) WebhookDeliveryCounts(ctx context.Context) (map[int64]DeliveryCounts, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT webhook_id, status, count(*) FROM webhook_deliveries WHERE status <> 'delivered' GROUP BY webhook_id, status`)
	if err != nil {
		return nil, fmt.Errorf("store: delivery counts: %w", err)
	}
	defer rows.Close()
	out := map[int64]DeliveryCounts{}
	for rows.Next() {
		var id int64
		var status string
		var n int
		if err := rows.Scan(&id, &status, &n); err != nil {
			return nil, err
		}
		c := out[id]
		if status == DeliveryPending {
			c.Pending = n
		} else {
			c.Failed = n
		}
		out[id] = c
	}
	return out, rows.Err()
}

// ReleaseDeliveryLeases gives back every leased delivery, for a deliverer
// starting: only one Herald runs on a database, so a lease still held was
// held by a process that stopped, and what it had in flight goes again.
func (s *Store) ReleaseDeliveryLeases(ctx context.Context) (int64, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE webhook_deliveries SET lease_until = NULL WHERE status = 'pending' AND lease_until IS NOT NULL`)
	if err != nil {
		return 0, fmt.Errorf("store: release delivery leases: %w", err)
	}
	return res.RowsAffected()
}
