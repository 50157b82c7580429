package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Audience is who a campaign goes to: the confirmed members of Lists, and
// the contacts matching Segment, minus the members of ExcludeLists and the
// contacts matching ExcludeSegment.
type Audience struct {
	Lists          []int64
	Segment        *Rule
	ExcludeLists   []int64
	ExcludeSegment *Rule
}

// Why a contact in the audience gets no message.
const (
	SkipSuppressed   = "suppressed"
	SkipUnsubscribed = "unsubscribed"
	SkipBounced      = "bounced"
	SkipComplained   = "complained"
	SkipUnconfirmed  = "unconfirmed"
)

// materialiseBatch is how many contact ids one materialising step covers, so
// the writer is never held for long.
var materialiseBatch int64 = 50_000

// Materialised is the state of a campaign's outbox after a step.
type Materialised struct {
	Done       bool
	Recipients int
	Skipped    map[string]int
}

// audienceSQL builds, for the contacts with ids in (?, ?], each in-audience
// contact's id, email and the reason it is skipped, NULL when it is sent to.
func audienceSQL(a Audience, seg, exSeg CompiledRule) (string, []any) {
	var args []any
	in := func(ids []int64) string {
		ps := make([]string, len(ids))
		for i, id := range ids {
			ps[i] = "?"
			args = append(args, id)
		}
		return strings.Join(ps, ",")
	}
	// list_rank is 1 for a confirmed member of an audience list, 2 unconfirmed,
	// 3 unsubscribed, NULL for none.
	rank := "NULL"
	if len(a.Lists) > 0 {
		rank = `(SELECT min(CASE lm.status WHEN 'confirmed' THEN 1 WHEN 'unconfirmed' THEN 2 ELSE 3 END)
		FROM list_members lm WHERE lm.contact_id = c.id AND lm.list_id IN (` + in(a.Lists) + `))`
	}
	inSeg := "0"
	if a.Segment != nil {
		inSeg = "(" + seg.Where + ")"
		args = append(args, seg.Args...)
	}
	excluded := "0"
	if len(a.ExcludeLists) > 0 {
		excluded = `EXISTS (SELECT 1 FROM list_members lm WHERE lm.contact_id = c.id AND lm.status != 'unsubscribed' AND lm.list_id IN (` + in(a.ExcludeLists) + `))`
	}
	if a.ExcludeSegment != nil {
		// A condition on a missing attribute is NULL, not false: only
		// those the segment surely takes are left out.
		excluded += " OR (" + exSeg.Where + ")"
		args = append(args, exSeg.Args...)
	}
	q := `SELECT id, email, CASE
	WHEN status = 'blocked' OR EXISTS (SELECT 1 FROM suppressions sp WHERE (sp.kind = 'email' AND sp.value = email)
		OR (sp.kind = 'domain' AND sp.value = substr(email, instr(email, '@') + 1))) THEN '` + SkipSuppressed + `'
	WHEN status = 'unsubscribed' THEN '` + SkipUnsubscribed + `'
	WHEN status = 'bounced' THEN '` + SkipBounced + `'
	WHEN status = 'complained' THEN '` + SkipComplained + `'
	WHEN list_rank = 1 OR in_segment THEN NULL
	WHEN list_rank = 2 THEN '` + SkipUnconfirmed + `'
	ELSE '` + SkipUnsubscribed + `' END AS skip
FROM (SELECT c.id, c.email, c.status, ` + rank + ` AS list_rank, ` + inSeg + ` AS in_segment, ` + excluded + ` AS excluded
	FROM contacts c WHERE c.id > ? AND c.id <= ? AND c.erased_at IS NULL)
WHERE (list_rank IS NOT NULL OR in_segment) AND NOT coalesce(excluded, 0)`
	return q, args
}

// MaterialiseStep freezes the next batch of a sending campaign's audience
// into its outbox: one queued sends row per recipient, never two for the
// same contact, and counts of who was skipped and why. The rows, the counts
// and the campaign's place commit together, so a step cut short by a crash
// is simply done again. Call it until Done.
func (s *Store) MaterialiseStep(ctx context.Context, campaignID int64, a Audience) (Materialised, error) {
	return s.MaterialiseSome(ctx, campaignID, a, materialiseBatch)
}

// MaterialiseSome is MaterialiseStep over the next ids contact ids, so
// that a small first step lets sending start while the rest is written.
// The audience is fixed by the first step whatever its size: contacts
// added after it are not in it. A cancelled campaign gets nothing more
// written, and counts as Done.
func (s *Store) MaterialiseSome(ctx context.Context, campaignID int64, a Audience, ids int64) (Materialised, error) {
	var seg, exSeg CompiledRule
	var err error
	now := s.now()
	if a.Segment != nil {
		seg, err = CompileRule(*a.Segment, now)
	}
	if err == nil && a.ExcludeSegment != nil {
		exSeg, err = CompileRule(*a.ExcludeSegment, now)
	}
	if err != nil {
		return Materialised{}, fmt.Errorf("store: campaign %d audience: %w", campaignID, err)
	}
	q, args := audienceSQL(a, seg, exSeg)
	stopped := false
	err = s.Tx(ctx, func(tx *sql.Tx) error {
		var through, assigned int64
		var last sql.NullInt64
		var done bool
		var abRaw, abStatus, localAt, status string
		var winner int
		err := tx.QueryRowContext(ctx, `SELECT through_contact, last_contact, materialised, ab, ab_status, ab_assigned, ab_winner, local_at, status
FROM campaigns WHERE id = ?`, campaignID).Scan(&through, &last, &done, &abRaw, &abStatus, &assigned, &winner, &localAt, &status)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		if status == CampaignCancelled || status == CampaignSent {
			// Cancelled while its audience was being written: the rest is
			// never written, as nothing would send it.
			stopped = true
			return nil
		}
		if !last.Valid {
			// Contacts added after sending starts are not in the audience.
			if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM contacts`).Scan(&last.Int64); err != nil {
				return err
			}
		}
		if !done {
			upto := min(through+ids, last.Int64)
			batch := append(append([]any{}, args...), through, upto)
			now := unix(s.now())
			// Due from when it was written, which the queues show as how
			// long it has waited.
			var added int64
			if ab := testOf(abRaw, abStatus); ab != nil {
				if added, err = materialiseAB(ctx, tx, campaignID, q, batch, now, ab, assigned); err != nil {
					return err
				}
			} else {
				// A test decided while its audience was being written: the
				// rest gets the winner.
				variant := 0
				if abStatus == ABDecided {
					variant = VariantWinner + winner
				}
				res, err := tx.ExecContext(ctx, `INSERT INTO sends (campaign_id, contact_id, email, updated_at, next_attempt_at, variant)
SELECT ?1, id, email, ?2, ?2, ?3 FROM (`+q+`) WHERE skip IS NULL ORDER BY id ON CONFLICT DO NOTHING`,
					append([]any{campaignID, now, variant}, batch...)...)
				if err != nil {
					return err
				}
				if added, err = res.RowsAffected(); err != nil {
					return err
				}
			}
			if localAt != "" {
				if err := s.sendAtLocalTime(ctx, tx, campaignID, through, upto, localAt); err != nil {
					return err
				}
			}
			counts := map[string]int{}
			rows, err := tx.QueryContext(ctx, `SELECT skip, count(*) FROM (`+q+`) WHERE skip IS NOT NULL GROUP BY skip`, batch...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var why string
				var n int
				if err := rows.Scan(&why, &n); err != nil {
					rows.Close()
					return err
				}
				counts[why] = n
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			done = upto >= last.Int64
			if _, err := tx.ExecContext(ctx, `UPDATE campaigns SET through_contact = ?, last_contact = ?, materialised = ?,
	recipients = recipients + ?,
	skipped_suppressed = skipped_suppressed + ?, skipped_unsubscribed = skipped_unsubscribed + ?,
	skipped_bounced = skipped_bounced + ?, skipped_complained = skipped_complained + ?,
	skipped_unconfirmed = skipped_unconfirmed + ?, updated_at = ? WHERE id = ?`,
				upto, last.Int64, done, added, counts[SkipSuppressed], counts[SkipUnsubscribed], counts[SkipBounced],
				counts[SkipComplained], counts[SkipUnconfirmed], now, campaignID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Materialised{}, fmt.Errorf("store: campaign %d: materialise: %w", campaignID, err)
	}
	c, err := s.Campaign(ctx, campaignID)
	if err != nil {
		return Materialised{}, err
	}
	return Materialised{Done: c.Materialised || stopped, Recipients: c.Recipients, Skipped: c.Skipped}, nil
}

// Materialise runs MaterialiseStep until the campaign's whole audience is in
// its outbox.
func (s *Store) Materialise(ctx context.Context, campaignID int64, a Audience) (Materialised, error) {
	for {
		m, err := s.MaterialiseStep(ctx, campaignID, a)
		if err != nil || m.Done {
			return m, err
		}
	}
}

// Statuses of a send row.
const (
	SendQueued    = "queued"
	SendSending   = "sending"
	SendSent      = "sent"
	SendRetrying  = "retrying"
	SendFailed    = "failed"
	SendCancelled = "cancelled"
)

// SendStatus reports whether s is one of the statuses of a send row.
func SendStatus(s string) bool {
	switch s {
	case SendQueued, SendSending, SendSent, SendRetrying, SendFailed, SendCancelled:
		return true
	}
	return false
}

// Send is one recipient's message in a campaign's outbox.
type Send struct {
	ID           int64
	CampaignID   int64
	ContactID    int64
	Email        string
	Status       string
	Attempts     int
	NextAttempt  time.Time
	LastCode     int
	LastResponse string
	ProviderID   string
	UpdatedAt    time.Time
	SentAt       time.Time
	// Variant is the A/B variant the send got (see VariantHeld and
	// VariantWinner); 0 outside a test.
	Variant int
}

const sendColumns = `id, campaign_id, contact_id, email, status, attempts, next_attempt_at, last_code, last_response, provider_id, updated_at, sent_at, variant`

// sendColumnsOf is sendColumns qualified by a table alias, for joins.
func sendColumnsOf(alias string) string {
	return alias + "." + strings.ReplaceAll(sendColumns, ", ", ", "+alias+".")
}

func scanSend(row scanner) (Send, error) {
	return scanSendWith(row)
}

// scanSendWith scans sendColumns and then any extra columns into extra.
func scanSendWith(row scanner, extra ...any) (Send, error) {
	var sd Send
	var next, updated int64
	var sent sql.NullInt64
	dst := append([]any{&sd.ID, &sd.CampaignID, &sd.ContactID, &sd.Email, &sd.Status, &sd.Attempts, &next, &sd.LastCode, &sd.LastResponse,
		&sd.ProviderID, &updated, &sent, &sd.Variant}, extra...)
	err := row.Scan(dst...)
	if errors.Is(err, sql.ErrNoRows) {
		return Send{}, ErrNotFound
	}
	if err != nil {
		return Send{}, err
	}
	sd.NextAttempt, sd.UpdatedAt = fromUnix(next), fromUnix(updated)
	if sent.Valid {
		sd.SentAt = fromUnix(sent.Int64)
	}
	return sd, nil
}

// ClaimSends takes up to n due rows of a campaign for sending: retries whose
// time has come first, then queued rows in id order. They are marked sending
// with a lease; a row whose lease runs out before its outcome is recorded
// goes back to the queue (RecoverLeases), which is how a crash loses nobody.
func (s *Store) ClaimSends(ctx context.Context, campaignID int64, n int, lease time.Duration) ([]Send, error) {
	var out []Send
	now := s.now()
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		for _, status := range []string{SendRetrying, SendQueued} {
			if len(out) >= n {
				break
			}
			rows, err := tx.QueryContext(ctx, `UPDATE sends SET status = 'sending', lease_until = ?, updated_at = ?
WHERE id IN (SELECT id FROM sends WHERE campaign_id = ? AND status = ? AND next_attempt_at <= ? LIMIT ?)
RETURNING `+sendColumns, unix(now.Add(lease)), unix(now), campaignID, status, unix(now), n-len(out))
			if err != nil {
				return err
			}
			for rows.Next() {
				sd, err := scanSend(rows)
				if err != nil {
					rows.Close()
					return err
				}
				out = append(out, sd)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: campaign %d: claim sends: %w", campaignID, err)
	}
	slices.SortFunc(out, func(a, b Send) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// Outcome is what became of one claimed send: Status is sent, retrying
// (with NextAttempt), failed, or queued again without an attempt (held
// back by a rate limit until NextAttempt).
type Outcome struct {
	SendID      int64
	Status      string
	Code        int
	Response    string
	ProviderID  string
	NextAttempt time.Time
	// HardBounce counts the outcome among its campaign's bounces.
	HardBounce bool
	// Count names the usage counters a sent message adds one to.
	Count []Counter
}

// cancelledOr is the status a send takes when it goes back to waiting: its
// campaign's cancellation wins, so nothing is left queued in a cancelled
// campaign.
const cancelledOr = `CASE WHEN (SELECT status FROM campaigns WHERE id = sends.campaign_id) = 'cancelled' THEN 'cancelled' ELSE ? END`

const recordOutcome = `UPDATE sends SET status = CASE WHEN ? IN ('retrying', 'queued') THEN ` + cancelledOr + ` ELSE ? END, attempts = attempts + ?, lease_until = NULL, last_code = ?, last_response = ?,
	provider_id = CASE WHEN ? = '' THEN provider_id ELSE ? END, next_attempt_at = ?, updated_at = ?,
	sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END
WHERE id = ?`

// maxResponse is how much of a relay's answer a send or a message keeps: a
// relay's reply is a line or a few, and one that says more is not worth a
// row's weight a recipient.
const maxResponse = 1000

// clipResponse is s, cut to maxResponse bytes on a character's boundary.
func clipResponse(s string) string {
	if len(s) <= maxResponse {
		return s
	}
	n := maxResponse
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// RecordOutcomes writes many sends' outcomes in one transaction, counting
// each as an attempt unless it was held back, with the usage counters and
// campaign bounce counts they add to.
func (s *Store) RecordOutcomes(ctx context.Context, outs []Outcome) error {
	for _, o := range outs {
		if o.Status != SendSent && o.Status != SendRetrying && o.Status != SendFailed && o.Status != SendQueued {
			return fmt.Errorf("store: outcome of send %d: status %q is not sent, retrying, failed or queued", o.SendID, o.Status)
		}
	}
	now := unix(s.now())
	prepared, err := s.writeStmt(ctx, recordOutcome)
	if err != nil {
		return fmt.Errorf("store: record outcomes: %w", err)
	}
	// Prepared before the transaction: it holds the only writer connection.
	preparedUsage, err := s.writeStmt(ctx, addUsageSQL)
	if err != nil {
		return fmt.Errorf("store: record outcomes: %w", err)
	}
	preparedSent, err := s.writeStmt(ctx, countSentSQL)
	if err != nil {
		return fmt.Errorf("store: record outcomes: %w", err)
	}
	usage := map[Counter]int{}
	var sent, bounced []int64
	err = s.Tx(ctx, func(tx *sql.Tx) error {
		sent, bounced = sent[:0], bounced[:0]
		st := tx.StmtContext(ctx, prepared)
		defer st.Close()
		for _, o := range outs {
			// A send that is over keeps when it ended where its next
			// attempt would be, so that what a campaign sent in the last
			// minute is a range of the index its claims use.
			next, attempt := now, 1
			switch o.Status {
			case SendRetrying:
				// Rounded up: a retry is never due before its time.
				next = unix(o.NextAttempt.Add(time.Second - time.Nanosecond))
			case SendQueued:
				next, attempt = unix(o.NextAttempt.Add(time.Second-time.Nanosecond)), 0
			case SendSent:
				for _, c := range o.Count {
					usage[c]++
				}
				sent = append(sent, o.SendID)
			}
			if _, err := st.ExecContext(ctx, o.Status, o.Status, o.Status, attempt, o.Code, clipResponse(o.Response), o.ProviderID, o.ProviderID, next, now, o.Status, now, o.SendID); err != nil {
				return err
			}
			if o.HardBounce {
				if _, err := tx.ExecContext(ctx, `UPDATE campaigns SET bounces = bounces + 1 WHERE id = (SELECT campaign_id FROM sends WHERE id = ?)`, o.SendID); err != nil {
					return err
				}
				bounced = append(bounced, o.SendID)
			}
			if err := s.emitSendOutcome(ctx, tx, o, now); err != nil {
				return err
			}
		}
		if err := countOutcomes(ctx, tx, preparedSent, now, sent, bounced); err != nil {
			return err
		}
		return addUsage(ctx, tx, preparedUsage, usage)
	})
	if err != nil {
		return fmt.Errorf("store: record outcomes: %w", err)
	}
	return nil
}

// countSentSQL adds a group's sent messages to their campaigns' counters
// for the hour; it runs with every group of outcomes, so it is prepared.
const countSentSQL = `INSERT INTO campaign_hours (campaign_id, hour, sent)
SELECT campaign_id, ?, count(*) FROM sends WHERE id IN (SELECT value FROM json_each(?)) GROUP BY campaign_id
ON CONFLICT (campaign_id, hour) DO UPDATE SET sent = sent + excluded.sent`

// countOutcomes adds sent messages and hard bounces at sending to their
// campaigns' counters for this hour, one statement for the whole group.
func countOutcomes(ctx context.Context, tx *sql.Tx, countSent *sql.Stmt, now int64, sent, bounced []int64) error {
	hour := hourOf(time.Unix(now, 0))
	if len(sent) > 0 {
		st := tx.StmtContext(ctx, countSent)
		defer st.Close()
		if _, err := st.ExecContext(ctx, hour, idList(sent)); err != nil {
			return err
		}
	}
	if len(bounced) == 0 {
		return nil
	}
	// Refused while being sent: a hard bounce, and never sent.
	ids := idList(bounced)
	for _, q := range []string{
		`UPDATE sends SET bounce = 'hard' WHERE id IN (SELECT value FROM json_each(?2))`,
		`INSERT INTO campaign_bounces (campaign_id, kind, category, n, example)
SELECT campaign_id, 'hard_bounce', 'refused-when-sent', count(*), max(last_response) FROM sends WHERE id IN (SELECT value FROM json_each(?2)) GROUP BY campaign_id
` + bouncesAdded,
		`INSERT INTO campaign_hours (campaign_id, hour, hard_bounces, refused)
SELECT campaign_id, ?1, count(*), count(*) FROM sends WHERE id IN (SELECT value FROM json_each(?2)) GROUP BY campaign_id
ON CONFLICT (campaign_id, hour) DO UPDATE SET hard_bounces = hard_bounces + excluded.hard_bounces, refused = refused + excluded.refused`,
	} {
		if _, err := tx.ExecContext(ctx, q, hour, ids); err != nil {
			return err
		}
	}
	return nil
}

// RecoverLeases puts sends whose lease has run out, because whatever claimed
// them stopped, back in the queue; running names campaigns whose sends are
// in the hands of a live run, however slowly it goes. It returns how many.
func (s *Store) RecoverLeases(ctx context.Context, running []int64) (int, error) {
	now := unix(s.now())
	ids, _ := json.Marshal(append([]int64{}, running...))
	res, err := s.w.ExecContext(ctx, `UPDATE sends SET status = `+cancelledOr+`, lease_until = NULL, updated_at = ?
WHERE status = 'sending' AND lease_until < ? AND campaign_id NOT IN (SELECT value FROM json_each(?))`, SendQueued, now, now, string(ids))
	if err != nil {
		return 0, fmt.Errorf("store: recover leases: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// SendCounts counts a campaign's sends by status.
func (s *Store) SendCounts(ctx context.Context, campaignID int64) (map[string]int, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT status, count(*) FROM sends WHERE campaign_id = ? GROUP BY status`, campaignID)
	if err != nil {
		return nil, fmt.Errorf("store: campaign %d: send counts: %w", campaignID, err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[st] = n
	}
	return out, rows.Err()
}

// SendContacts loads the contacts of a claimed batch in one query, with the
// fields a message renders from; tags and memberships are left out. A
// contact deleted since the batch was queued is simply missing.
func (s *Store) SendContacts(ctx context.Context, sends []Send) (map[int64]Contact, error) {
	out := make(map[int64]Contact, len(sends))
	for start := 0; start < len(sends); start += 500 {
		chunk := sends[start:min(start+500, len(sends))]
		args := make([]any, len(chunk))
		for i, sd := range chunk {
			args[i] = sd.ContactID
		}
		err := func() error {
			rows, err := s.r.QueryContext(ctx, `SELECT `+contactColumns+` FROM contacts c WHERE c.id IN (?`+strings.Repeat(",?", len(chunk)-1)+`)`, args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				c, err := scanContact(rows)
				if err != nil {
					return err
				}
				out[c.ID] = c
			}
			return rows.Err()
		}()
		if err != nil {
			return nil, fmt.Errorf("store: contacts of a batch: %w", err)
		}
	}
	return out, nil
}

// ReleaseSends puts claimed sends that were never tried back in the queue at
// once, as when sending stops for a shutdown or a pause mid-batch.
func (s *Store) ReleaseSends(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `UPDATE sends SET status = `+cancelledOr+`, lease_until = NULL, updated_at = ? WHERE id = ? AND status = 'sending'`)
		if err != nil {
			return err
		}
		defer st.Close()
		now := unix(s.now())
		for _, id := range ids {
			if _, err := st.ExecContext(ctx, SendQueued, now, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: release sends: %w", err)
	}
	return nil
}

// RequeueInFlight puts every send marked sending back in the queue. Only one
// Herald runs on a data directory, so at startup any such send belongs to a
// process that stopped without recording it; waiting out its lease would
// only delay the campaign.
func (s *Store) RequeueInFlight(ctx context.Context) (int, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE sends SET status = `+cancelledOr+`, lease_until = NULL, updated_at = ? WHERE status = 'sending'`,
		SendQueued, unix(s.now()))
	if err != nil {
		return 0, fmt.Errorf("store: requeue sends in flight: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// ContactSend is one campaign message to a contact, for their timeline.
type ContactSend struct {
	Send
	CampaignName string
}

// ContactSends returns a page of the campaign messages a contact was sent
// or is due to be sent, in o's order, and how many there are; a page read
// by cursor is not counted.
func (s *Store) ContactSends(ctx context.Context, contactID int64, o Order, limit, offset int) ([]ContactSend, int, error) {
	sorts := map[string]string{}
	for k, v := range SendSorts {
		sorts[k] = "s." + v
	}
	_, _, cursor, cargs, orderBy := o.sql(sorts, "s.id", "")
	var total int
	if o.Cursor {
		offset = 0
	} else if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM sends WHERE contact_id = ?`, contactID).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count contact sends: %w", err)
	}
	sends, err := queryAll(ctx, s, "contact sends", func(row scanner) (ContactSend, error) {
		var cs ContactSend
		var err error
		cs.Send, err = scanSendWith(row, &cs.CampaignName)
		return cs, err
	}, `SELECT `+sendColumnsOf("s")+`, c.name
FROM sends s JOIN campaigns c ON c.id = s.campaign_id WHERE s.contact_id = ?`+cursor+orderBy+` LIMIT ? OFFSET ?`,
		append(append([]any{contactID}, cargs...), limit, offset)...)
	return sends, total, err
}
