package store

import (
	"context"
	"database/sql"
	"fmt"
)

// SegmentBatch is how many contacts one look at a segment trigger covers in
// one transaction, so the writer is never held for long.
const SegmentBatch = 10000

// SegmentAutomations returns the active automations a segment starts.
func (s *Store) SegmentAutomations(ctx context.Context) ([]Automation, error) {
	return queryAll(ctx, s, "segment automations", scanAutomation, `SELECT `+automationColumns+` FROM automations
WHERE status = 'active' AND trigger_kind = 'segment'`)
}

// CheckSegment looks at the contacts with ids in (after, after+SegmentBatch]
// for automation a's segment: those who came into it since the last look
// enter a (unless this is the first look, which only notes who is in), and
// those who left it are forgotten, so they enter again if they come back
// (as its entry rules allow). It returns where the next batch starts, and
// done when no contact is left past it.
func (s *Store) CheckSegment(ctx context.Context, a Automation, after int64) (next int64, done bool, err error) {
	g, err := s.Segment(ctx, a.Trigger.SegmentID)
	if err != nil {
		return 0, true, err
	}
	rule, err := CompileRule(g.Rules, s.now())
	if err != nil {
		return 0, true, err
	}
	upto := after + SegmentBatch
	in := `SELECT c.id FROM contacts c WHERE c.id > ? AND c.id <= ? AND c.erased_at IS NULL AND (` + rule.Where + `)`
	inArgs := append([]any{after, upto}, rule.Args...)
	err = s.Tx(ctx, func(tx *sql.Tx) error {
		var seeded bool
		var last int64
		if err := tx.QueryRowContext(ctx, `SELECT segment_seeded, (SELECT coalesce(max(id), 0) FROM contacts) FROM automations WHERE id = ? AND status = 'active'`, a.ID).
			Scan(&seeded, &last); err != nil {
			return err
		}
		entered, err := queryIDs(ctx, tx, `INSERT INTO automation_segment_members (automation_id, contact_id) SELECT ?, id FROM (`+in+`) WHERE true
ON CONFLICT DO NOTHING RETURNING contact_id`, append([]any{a.ID}, inArgs...)...)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM automation_segment_members WHERE automation_id = ? AND contact_id > ? AND contact_id <= ?
	AND contact_id NOT IN (`+in+`)`, append([]any{a.ID, after, upto}, inArgs...)...); err != nil {
			return err
		}
		if seeded {
			e := enrollingOf(a)
			for _, id := range entered {
				if _, err := s.enroll(ctx, tx, e, Enrollment{ContactID: id, Source: "entered " + g.Name}); err != nil {
					return err
				}
			}
		}
		done = upto >= last
		if done && !seeded {
			_, err = tx.ExecContext(ctx, `UPDATE automations SET segment_seeded = 1 WHERE id = ?`, a.ID)
		}
		return err
	})
	if err != nil {
		return 0, true, fmt.Errorf("store: automation %d segment: %w", a.ID, err)
	}
	return upto, done, nil
}
