package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
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
WHERE (list_rank IS NOT NULL OR in_segment) AND NOT excluded`
	return q, args
}

// MaterialiseStep freezes the next batch of a sending campaign's audience
// into its outbox: one queued sends row per recipient, never two for the
// same contact, and counts of who was skipped and why. The rows, the counts
// and the campaign's place commit together, so a step cut short by a crash
// is simply done again. Call it until Done.
func (s *Store) MaterialiseStep(ctx context.Context, campaignID int64, a Audience) (Materialised, error) {
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
	err = s.Tx(ctx, func(tx *sql.Tx) error {
		var through int64
		var last sql.NullInt64
		var done bool
		err := tx.QueryRowContext(ctx, `SELECT through_contact, last_contact, materialised FROM campaigns WHERE id = ?`, campaignID).Scan(&through, &last, &done)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		if !last.Valid {
			// Contacts added after sending starts are not in the audience.
			if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM contacts`).Scan(&last.Int64); err != nil {
				return err
			}
		}
		if !done {
			upto := min(through+materialiseBatch, last.Int64)
			batch := append(append([]any{}, args...), through, upto)
			now := unix(s.now())
			res, err := tx.ExecContext(ctx, `INSERT INTO sends (campaign_id, contact_id, email, updated_at)
SELECT ?, id, email, ? FROM (`+q+`) WHERE skip IS NULL ORDER BY id ON CONFLICT DO NOTHING`,
				append([]any{campaignID, now}, batch...)...)
			if err != nil {
				return err
			}
			added, err := res.RowsAffected()
			if err != nil {
				return err
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
	return Materialised{Done: c.Materialised, Recipients: c.Recipients, Skipped: c.Skipped}, nil
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
