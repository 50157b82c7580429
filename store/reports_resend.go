package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// addNotOpenedSQL makes every recipient a campaign was sent to, who did not
// bounce and whom no person is known to have opened it, a confirmed member
// of a list. An image proxy's open does not count as one.
const addNotOpenedSQL = `INSERT INTO list_members (list_id, contact_id, status, created_at, updated_at)
SELECT ?, s.contact_id, 'confirmed', ?, ? FROM sends s JOIN contacts c ON c.id = s.contact_id
WHERE s.campaign_id = ? AND s.status = 'sent' AND s.human_opens = 0 AND s.bounce = ''
ON CONFLICT (list_id, contact_id) DO NOTHING`

// ResendToNotOpened prepares a campaign's second chance: a static list,
// "Not opened: <name>", of the recipients who did not open it, and a draft
// copy of the campaign whose audience is that list alone. Sending the draft
// still leaves out whoever unsubscribed or bounced since.
func (s *Store) ResendToNotOpened(ctx context.Context, id int64) (Campaign, error) {
	c, err := s.Campaign(ctx, id)
	if err != nil {
		return Campaign{}, err
	}
	list, err := s.freeList(ctx, "Not opened: "+c.Name)
	if err != nil {
		return Campaign{}, err
	}
	now := unix(s.now())
	err = s.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, addNotOpenedSQL, list.ID, now, now, id)
		return err
	})
	if err != nil {
		return Campaign{}, fmt.Errorf("store: not opened of campaign %d: %w", id, err)
	}
	draft, err := s.DuplicateCampaign(ctx, id)
	if err != nil {
		return Campaign{}, err
	}
	none := int64(0)
	return s.UpdateCampaign(ctx, draft.ID, CampaignInput{ListIDs: &[]int64{list.ID}, SegmentID: &none})
}

// freeList creates a private list named name, or name (2), (3)… when the
// name is taken.
func (s *Store) freeList(ctx context.Context, name string) (List, error) {
	if r := []rune(name); len(r) > 90 {
		name = string(r[:90])
	}
	for i := 1; ; i++ {
		n := name
		if i > 1 {
			n = fmt.Sprintf("%s (%d)", name, i)
		}
		l, err := s.CreateList(ctx, ListInput{Name: &n})
		if !errors.Is(err, ErrConflict) || i == 100 {
			return l, err
		}
	}
}
