package store

import (
	"context"
	"database/sql"
	"fmt"
)

// StepEmailContent is what an automation's email step sends, checked and frozen
// as a campaign's content is when it starts.
type StepEmailContent struct {
	StepID     int64
	Name       string
	Subject    string
	FromName   string
	FromEmail  string
	TemplateID int64
	RelayID    int64
	Tracking   Tracking
	Frozen     string
}

// SetStepEmails makes or updates the campaign each email step of
// automation id sends through, with its frozen content: for every entry,
// so a change reaches the journeys already under way. The campaigns are
// sending from the start, with no audience of their own; journeys add
// their sends.
func (s *Store) SetStepEmails(ctx context.Context, id int64, emails []StepEmailContent) error {
	now := unix(s.now())
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		for _, e := range emails {
			args := []any{e.Name, e.Subject, e.FromName, e.FromEmail, nullID(e.TemplateID), nullID(e.RelayID), e.Tracking.Opens, e.Tracking.Clicks,
				e.Tracking.UTMSource, e.Tracking.UTMMedium, e.Tracking.UTMCampaign, e.Frozen, now}
			res, err := tx.ExecContext(ctx, `UPDATE campaigns SET name = ?, subject = ?, from_name = ?, from_email = ?, template_id = ?, relay_id = ?,
	track_opens = ?, track_clicks = ?, utm_source = ?, utm_medium = ?, utm_campaign = ?, frozen = ?, updated_at = ?,
	status = 'sending', finished_at = NULL
WHERE automation_id = ? AND automation_step = ?`, append(args, id, e.StepID)...)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n > 0 {
				continue
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO campaigns (name, subject, from_name, from_email, template_id, relay_id,
	track_opens, track_clicks, utm_source, utm_medium, utm_campaign, frozen, updated_at, created_at, started_at,
	status, materialised, automation_id, automation_step, automation_entry)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'sending', 1, ?, ?, 1)`, append(args, now, now, id, e.StepID)...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: automation %d emails: %w", id, err)
	}
	return nil
}

// StepCampaigns returns the ids of the campaigns that send automation
// id's email steps, by step, for its first entry: their reports are the
// steps'.
func (s *Store) StepCampaigns(ctx context.Context, id int64) (map[int64]int64, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT automation_step, id FROM campaigns WHERE automation_id = ? AND automation_entry = 1`, id)
	if err != nil {
		return nil, fmt.Errorf("store: automation %d campaigns: %w", id, err)
	}
	defer rows.Close()
	out := map[int64]int64{}
	for rows.Next() {
		var step, c int64
		if err := rows.Scan(&step, &c); err != nil {
			return nil, err
		}
		out[step] = c
	}
	return out, rows.Err()
}
