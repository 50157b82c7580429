package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Feedback is what a provider or a mail server reported about a message
// after it left: a delivery, a bounce, a complaint, a delay, a rejection,
// an unsubscribe, or an open or click it tracked itself.
type Feedback struct {
	// Kind is one of the Result kinds.
	Kind string
	At   time.Time
	// CampaignID and SendID name a campaign's message, MessageID a
	// transactional one.
	CampaignID, SendID, MessageID int64
	// Detail is the reason in the reporter's words, or a category.
	Detail string
	// Source names the reporter: "ses", "dsn", "postmark", …
	Source string
	// Key names the notification, so one delivered twice counts once; ""
	// when the reporter gives nothing to tell them apart.
	Key string
	// URL is the link of a click a provider tracked.
	URL     string
	Machine bool
	// Recipient is the address the report is about, when it says; a
	// message to several is judged by it.
	Recipient string
}

// DefaultSoftBounceLimit is how many soft bounces in a row make a contact
// bounced, when Settings say nothing else.
const DefaultSoftBounceLimit = 3

// RecordFeedback applies reports in one transaction, before the caller
// acknowledges them, and returns how many were new. softLimit soft bounces
// in a row (across campaigns; a delivery or an open resets the count) make
// the contact bounced. A report on a send or message that no longer exists
// is skipped.
func (s *Store) RecordFeedback(ctx context.Context, fs []Feedback, softLimit int) (int, error) {
	if softLimit < 1 {
		softLimit = DefaultSoftBounceLimit
	}
	prepared, err := s.prepareHot(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: record feedback: %w", err)
	}
	fresh := 0
	err = s.Tx(ctx, func(tx *sql.Tx) error {
		fresh = 0
		a := newApplier(ctx, s, tx, prepared)
		defer a.close()
		for _, f := range fs {
			if f.Key != "" {
				res, err := tx.ExecContext(ctx, `INSERT INTO feedback_seen (key, at) VALUES (?, ?) ON CONFLICT DO NOTHING`, f.Key, unix(s.now()))
				if err != nil {
					return err
				}
				if n, _ := res.RowsAffected(); n == 0 {
					continue
				}
			}
			err := a.feedback(f, softLimit)
			if err == ErrUnknownSend {
				continue
			}
			if err != nil {
				return err
			}
			fresh++
		}
		return a.flush()
	})
	if err != nil {
		return 0, fmt.Errorf("store: record feedback: %w", err)
	}
	return fresh, nil
}

// feedback applies one report.
func (a *applier) feedback(f Feedback, softLimit int) error {
	if f.Kind == ResultOpen || f.Kind == ResultClick {
		return a.providerHit(f)
	}
	tp, err := a.load(f.CampaignID, f.SendID, f.MessageID)
	if err != nil {
		return err
	}
	t := *tp
	if t.message != 0 && f.Recipient != "" {
		if t, err = a.messageRecipient(t, f.Recipient); err != nil {
			return err
		}
	}
	c := a.counts.at(t.campaign, f.At)
	now := unix(f.At)
	var first bool
	switch f.Kind {
	case ResultDelivered:
		if first, err = a.mark(t, "delivered_at = ?", "delivered_at IS NULL", now); first {
			c.Delivered++
		}
		if err == nil && t.contact != 0 {
			_, err = a.tx.ExecContext(a.ctx, `UPDATE contacts SET soft_bounces = 0 WHERE id = ? AND soft_bounces > 0`, t.contact)
		}
	case ResultHardBounce:
		if first, err = a.mark(t, "bounce = 'hard'", "bounce != 'hard'"); first {
			c.HardBounces++
			err = a.campaignCount(t, "bounces")
		}
		if err == nil && t.contact != 0 {
			err = suppressContact(a.ctx, a.tx, t.contact, t.email, StatusBounced, f.Detail, now)
		}
	case ResultSoftBounce:
		if first, err = a.mark(t, "bounce = 'soft'", "bounce = ''"); first {
			c.SoftBounces++
		}
		if err == nil && t.contact != 0 {
			err = a.softBounce(t, f.Detail, softLimit, now)
		}
	case ResultComplaint:
		if first, err = a.mark(t, "complained_at = ?", "complained_at IS NULL", now); first {
			c.Complaints++
			err = a.campaignCount(t, "complaints")
		}
		if err == nil && t.contact != 0 {
			err = suppressContact(a.ctx, a.tx, t.contact, t.email, StatusComplained, "Reported as spam: "+f.Detail, now)
		}
	case ResultUnsubscribe:
		if t.send != 0 {
			if first, err = a.mark(t, "unsubscribed_at = ?", "unsubscribed_at IS NULL", now); first {
				c.Unsubscribes++
			}
		}
	case ResultDelayed, ResultRejected, ResultView, ResultPreferences:
	default:
		return fmt.Errorf("store: %q is not a kind of feedback", f.Kind)
	}
	if err != nil {
		return err
	}
	a.event(f.Kind, f.At, f.Machine, t, 0, f.Source, f.Detail)
	return nil
}

// messageRecipient turns a message's target to the recipient a report
// names, with their contact, when the message went to them as well as to
// its first To. A report on a message to several that names someone else,
// as when a recipient's mail was forwarded, holds against no contact; on
// a message to one it holds against that one.
func (a *applier) messageRecipient(t target, email string) (target, error) {
	email = NormalizeEmail(email)
	if email == t.email {
		return t, nil
	}
	var contact sql.NullInt64
	var several bool
	err := a.tx.QueryRowContext(a.ctx, `SELECT m.recipients != '{}', CASE WHEN EXISTS (
	SELECT 1 FROM json_each(m.recipients, '$.to') WHERE value->>'email' = ?1
	UNION ALL SELECT 1 FROM json_each(m.recipients, '$.cc') WHERE value->>'email' = ?1
	UNION ALL SELECT 1 FROM json_each(m.recipients, '$.bcc') WHERE value->>'email' = ?1)
	THEN coalesce((SELECT id FROM contacts WHERE email = ?1), 0) END
FROM messages m WHERE m.id = ?2`, email, t.message).Scan(&several, &contact)
	switch {
	case err != nil:
		return t, err
	case contact.Valid:
		t.contact, t.email = contact.Int64, email
	case several:
		t.contact, t.email = 0, email
	}
	return t, nil
}

// mark sets a send's or message's result when cond holds, and says whether
// it did: the first report of its kind.
func (a *applier) mark(t target, set, cond string, args ...any) (bool, error) {
	table, id := "sends", t.send
	if t.message != 0 {
		table, id = "messages", t.message
	}
	res, err := a.tx.ExecContext(a.ctx, `UPDATE `+table+` SET `+set+` WHERE id = ? AND `+cond, append(args, id)...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// campaignCount adds one to a campaign's bounce or complaint count, which
// its auto-pause reads.
func (a *applier) campaignCount(t target, column string) error {
	if t.campaign == 0 {
		return nil
	}
	_, err := a.tx.ExecContext(a.ctx, `UPDATE campaigns SET `+column+` = `+column+` + 1 WHERE id = ?`, t.campaign)
	return err
}

// softBounce counts a soft bounce in a row for the contact; at the limit
// the address is taken as gone.
func (a *applier) softBounce(t target, detail string, limit int, now int64) error {
	var n int
	err := a.tx.QueryRowContext(a.ctx, `UPDATE contacts SET soft_bounces = soft_bounces + 1 WHERE id = ? RETURNING soft_bounces`, t.contact).Scan(&n)
	if err == sql.ErrNoRows {
		return nil
	}
	if err != nil || n < limit {
		return err
	}
	return suppressContact(a.ctx, a.tx, t.contact, t.email, StatusBounced,
		fmt.Sprintf("%d soft bounces in a row; the last: %s", n, detail), now)
}

// providerHit applies an open or a click a provider tracked, storing a
// clicked link the first time it is seen.
func (a *applier) providerHit(f Feedback) error {
	h := Hit{Kind: f.Kind, At: f.At, Machine: f.Machine, Detail: f.Detail, CampaignID: f.CampaignID, SendID: f.SendID, MessageID: f.MessageID, Source: f.Source}
	if f.Kind == ResultClick {
		id, err := linkID(a.ctx, a.tx, f.CampaignID, f.MessageID, f.URL, unix(f.At))
		if err != nil {
			return err
		}
		h.LinkID = id
	}
	return a.hit(h)
}

// PruneFeedbackSeen forgets the notifications taken before a time:
// providers retry for a day or three, never for weeks.
func (s *Store) PruneFeedbackSeen(ctx context.Context, before time.Time) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM feedback_seen WHERE at < ?`, unix(before)); err != nil {
		return fmt.Errorf("store: prune feedback seen: %w", err)
	}
	return nil
}

// ClaimSignature records that a provider's signature token came with a
// body, and reports whether it may be taken: a token seen before with
// another body is a replay of a captured signature. The same body again is
// the provider retrying, and may be.
func (s *Store) ClaimSignature(ctx context.Context, scope, token, bodyHash string) (bool, error) {
	prefix := scope + ":" + token + ":"
	var other int
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM feedback_seen WHERE key >= ? AND key < ? AND key != ?`,
			prefix, prefix+"\xff", prefix+bodyHash).Scan(&other); err != nil || other > 0 {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO feedback_seen (key, at) VALUES (?, ?) ON CONFLICT DO NOTHING`, prefix+bodyHash, unix(s.now()))
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: claim signature: %w", err)
	}
	return other == 0, nil
}
