package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"time"
)

// ClaimMessages takes up to n due queued or retrying messages for sending,
// high priority first, then oldest due first, marking them sending with a lease. A message whose lease
// runs out before its outcome is recorded goes back to the queue
// (RecoverMessageLeases).
func (s *Store) ClaimMessages(ctx context.Context, n int, lease time.Duration) ([]Message, error) {
	return s.claimMessages(ctx, n, lease, `(kind != 'system' OR `+queueNotPaused(QueueSystem)+`)`)
}

// ClaimSystemMessages is ClaimMessages for system mail alone, for a lane
// whose transactional mail has reached the owner's cap a minute.
func (s *Store) ClaimSystemMessages(ctx context.Context, n int, lease time.Duration) ([]Message, error) {
	return s.claimMessages(ctx, n, lease, `kind = 'system' AND `+queueNotPaused(QueueSystem))
}

func (s *Store) claimMessages(ctx context.Context, n int, lease time.Duration, which string) ([]Message, error) {
	now := s.now()
	var out []Message
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE messages SET status = 'sending', lease_until = ?, updated_at = ?
WHERE id IN (SELECT id FROM messages WHERE status IN ('queued', 'retrying') AND next_attempt_at <= ?
	AND `+which+` ORDER BY priority, next_attempt_at, id LIMIT ?)
RETURNING `+messageColumns, unix(now.Add(lease)), unix(now), unix(now), n)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			m, err := scanMessage(rows)
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim messages: %w", err)
	}
	return out, nil
}

// MessageOutcome is what became of one attempt at a claimed message:
// Status is sent, retrying (with NextAttempt), failed, or suppressed when it
// was found to be blocked before it went.
type MessageOutcome struct {
	ID          int64
	Status      string
	Code        int
	Response    string
	ProviderID  string
	NextAttempt time.Time
	// Count names the usage counters a sent message adds one to, so a
	// relay's daily quota sees transactional mail too.
	Count []Counter
	// Size is the bytes of the message as built for this attempt.
	Size int
	// Left are the recipients of a message to several that this attempt
	// left out: suppressed ones, and ones the relay refused for good.
	Left []LeftOut
	// Delivered are the recipients the relay took in this attempt; each
	// counts towards its quota and its cost.
	Delivered []string
	// Reply is the relay's answer to the message, which the email.sent
	// events of a message to several carry; Response may say more. Replies,
	// when the message went in several transactions, are the answers by
	// recipient.
	Reply   string
	Replies map[string]string
	// Pending, when not nil, replaces the recipients still to be sent to.
	Pending []string
	// PerRecipient, for a message to several, announces email.sent for each
	// recipient delivered and email.failed for each refused, rather than
	// one event for the message.
	PerRecipient bool
}

// LeftOut is a recipient an attempt left out, with its status (suppressed
// or failed) and why.
type LeftOut struct {
	Email, Status, Why string
}

// RecordMessageOutcome writes an attempt's outcome and adds it to the
// message's history, in one transaction. Only a real attempt (sent,
// retrying or failed) counts towards attempts.
func (s *Store) RecordMessageOutcome(ctx context.Context, o MessageOutcome) error {
	tried := 1
	switch o.Status {
	case MessageSent, MessageRetrying, MessageFailed:
	case MessageSuppressed:
		tried = 0
	default:
		return fmt.Errorf("store: outcome of message %d: status %q is not sent, retrying, failed or suppressed", o.ID, o.Status)
	}
	now := unix(s.now())
	next := int64(0)
	detail := clipResponse(o.Response)
	taken := len(o.Delivered)
	var pending sql.NullString
	if o.Pending != nil {
		pending = sql.NullString{String: jsonText(o.Pending), Valid: true}
	}
	if o.Status == MessageRetrying {
		// Rounded up: a retry is never due before its time.
		next = unix(o.NextAttempt.Add(time.Second - time.Nanosecond))
		detail += " (next attempt " + fromUnix(next).Format(time.RFC3339) + ")"
	}
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE messages SET status = ?, attempts = attempts + ?, lease_until = NULL, last_code = ?, last_response = ?,
	provider_id = CASE WHEN ? = '' THEN provider_id ELSE ? END, next_attempt_at = ?, updated_at = ?,
	sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END, size = CASE WHEN ? > 0 THEN ? ELSE size END,
	sent_to = CASE WHEN pending_to IS NULL THEN ? ELSE sent_to + ? END, pending_to = coalesce(?, pending_to)
WHERE id = ?`, o.Status, tried, o.Code, o.Response, o.ProviderID, o.ProviderID, next, now, o.Status, now, o.Size, o.Size, taken, taken, pending, o.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		if o.Status == MessageSent {
			if _, err := tx.ExecContext(ctx, `INSERT INTO campaign_hours (campaign_id, hour, sent) VALUES (0, ?, 1)
ON CONFLICT (campaign_id, hour) DO UPDATE SET sent = sent + 1`, hourOf(time.Unix(now, 0))); err != nil {
				return err
			}
		}
		if taken > 0 {
			for _, c := range o.Count {
				if _, err := tx.ExecContext(ctx, addUsageSQL, c.Scope, unix(c.Window), taken); err != nil {
					return err
				}
			}
		}
		if err := addMessageEvent(ctx, tx, o.ID, o.Status, detail, now); err != nil {
			return err
		}
		for _, l := range o.Left {
			if err := addMessageEvent(ctx, tx, o.ID, l.Status, l.Email+": "+l.Why, now); err != nil {
				return err
			}
			if l.Status == MessageFailed && o.PerRecipient {
				if err := s.emitMessageOutcome(ctx, tx, MessageOutcome{ID: o.ID, Status: l.Status, Response: l.Why}, l.Email, now); err != nil {
					return err
				}
			}
		}
		if !o.PerRecipient {
			return s.emitMessageOutcome(ctx, tx, o, "", now)
		}
		for _, a := range o.Delivered {
			if err := s.emitMessageOutcome(ctx, tx, MessageOutcome{ID: o.ID, Status: MessageSent, Code: 250, Response: cmp.Or(o.Replies[a], o.Reply)}, a, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: record outcome of message %d: %w", o.ID, err)
	}
	return nil
}

// requeueMessages puts sending messages that match cond back in the queue,
// noting why in each one's history, and says how many.
func (s *Store) requeueMessages(ctx context.Context, cond, why string, args ...any) (int, error) {
	now := unix(s.now())
	var n int64
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO message_events (message_id, at, status, detail)
SELECT id, ?, 'requeued', ? FROM messages WHERE status = 'sending' AND `+cond, append([]any{now, why}, args...)...); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE messages SET status = 'queued', lease_until = NULL, updated_at = ? WHERE status = 'sending' AND `+cond,
			append([]any{now}, args...)...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: requeue messages: %w", err)
	}
	return int(n), nil
}

// RequeueInFlightMessages puts every message marked sending back in the
// queue. Only one Herald runs on a data directory, so at startup any such
// message belongs to a process that stopped before recording it.
func (s *Store) RequeueInFlightMessages(ctx context.Context) (int, error) {
	return s.requeueMessages(ctx, "1", "Herald stopped while it was being sent; it goes again")
}

// RecoverMessageLeases puts messages whose lease ran out back in the queue.
func (s *Store) RecoverMessageLeases(ctx context.Context) (int, error) {
	return s.requeueMessages(ctx, "lease_until < ?", "its attempt took longer than its lease; it goes again", unix(s.now()))
}

// PruneAttachments drops the files of transactional messages that settled
// (sent, failed or suppressed) before t, and says how many. The messages and
// their history stay.
func (s *Store) PruneAttachments(ctx context.Context, before time.Time) (int, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM message_attachments WHERE message_id IN (
	SELECT id FROM messages WHERE status IN ('sent', 'failed', 'suppressed') AND updated_at < ?)`, unix(before))
	if err != nil {
		return 0, fmt.Errorf("store: prune attachments: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
