package store

import (
	"context"
	"database/sql"
)

// sendAtLocalTime sets, for a batch of a campaign's outbox (contacts with
// ids in (after, upto]), when each send is due: the next time the clock
// reads at in the contact's own timezone attribute, or the
// organisation's. Sends held back for a test's winner stay held.
func (s *Store) sendAtLocalTime(ctx context.Context, tx *sql.Tx, campaignID, after, upto int64, at string) error {
	org := s.location(ctx)
	now := s.now()
	rows, err := tx.QueryContext(ctx, `SELECT s.id, coalesce(c.attributes ->> '$.timezone', '') FROM sends s JOIN contacts c ON c.id = s.contact_id
WHERE s.campaign_id = ? AND s.contact_id > ? AND s.contact_id <= ? AND s.variant >= 0 AND s.status = 'queued'`, campaignID, after, upto)
	if err != nil {
		return err
	}
	var due jsonArray
	for rows.Next() {
		var id int64
		var zone string
		if err := rows.Scan(&id, &zone); err != nil {
			rows.Close()
			return err
		}
		loc := contactLocation(map[string]any{"timezone": zone}, org)
		due.row(id, unix(nextWeekdayAt(now, nil, at, loc)))
	}
	rows.Close()
	if err := rows.Err(); err != nil || due.empty() {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE sends SET next_attempt_at = j.value ->> 1 FROM json_each(?) j WHERE sends.id = j.value ->> 0`, due.String())
	return err
}
