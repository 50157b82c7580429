package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Link is a destination a campaign or a transactional message carries;
// a click redirect only ever leads to one of these.
type Link struct {
	ID                int64  `json:"id"`
	CampaignID        int64  `json:"campaign_id,omitempty"`
	MessageID         int64  `json:"message_id,omitempty"`
	URL               string `json:"url"`
	Clicks            int    `json:"clicks"`
	HumanClicks       int    `json:"human_clicks"`
	UniqueClicks      int    `json:"unique_clicks"`
	UniqueHumanClicks int    `json:"unique_human_clicks"`
}

// Bounds on stored links: beyond them a link goes out untracked, as
// written, rather than grow the table without end (a link made per
// recipient, say).
const (
	MaxLinksPerCampaign = 2000
	MaxLinkLength       = 4096
)

// ErrUntracked is returned for a link that is not stored: too long, or
// one too many for its campaign.
var ErrUntracked = errors.New("store: link left untracked")

// LinkID returns the id of a campaign's (or, with campaignID 0, a
// message's) link to url, storing it the first time.
func (s *Store) LinkID(ctx context.Context, campaignID, messageID int64, url string) (int64, error) {
	var id int64
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = linkID(ctx, tx, campaignID, messageID, url, unix(s.now()))
		return err
	})
	if err != nil && !errors.Is(err, ErrUntracked) {
		err = fmt.Errorf("store: link of campaign %d, message %d: %w", campaignID, messageID, err)
	}
	return id, err
}

func linkID(ctx context.Context, tx *sql.Tx, campaignID, messageID int64, url string, now int64) (int64, error) {
	if len(url) > MaxLinkLength || (campaignID == 0) == (messageID == 0) {
		return 0, ErrUntracked
	}
	owner, id := "campaign_id", campaignID
	if messageID != 0 {
		owner, id = "message_id", messageID
	}
	var link int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM links WHERE `+owner+` = ? AND url = ?`, id, url).Scan(&link)
	if err == nil || !errors.Is(err, sql.ErrNoRows) {
		return link, err
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM links WHERE `+owner+` = ?`, id).Scan(&n); err != nil {
		return 0, err
	}
	if n >= MaxLinksPerCampaign {
		return 0, ErrUntracked
	}
	err = tx.QueryRowContext(ctx, `INSERT INTO links (`+owner+`, url, created_at) VALUES (?, ?, ?) RETURNING id`, id, url, now).Scan(&link)
	return link, err
}

const linkColumns = `id, coalesce(campaign_id, 0), coalesce(message_id, 0), url, clicks, human_clicks, unique_clicks, unique_human_clicks`

func scanLink(row scanner) (Link, error) {
	var l Link
	err := row.Scan(&l.ID, &l.CampaignID, &l.MessageID, &l.URL, &l.Clicks, &l.HumanClicks, &l.UniqueClicks, &l.UniqueHumanClicks)
	return l, err
}

// LinkByID returns a stored link.
func (s *Store) LinkByID(ctx context.Context, id int64) (Link, error) {
	l, err := scanLink(s.r.QueryRowContext(ctx, `SELECT `+linkColumns+` FROM links WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Link{}, ErrNotFound
	}
	if err != nil {
		return Link{}, fmt.Errorf("store: link %d: %w", id, err)
	}
	return l, nil
}

// CampaignLinks returns a campaign's links, most clicked first.
func (s *Store) CampaignLinks(ctx context.Context, campaignID int64, limit int) ([]Link, error) {
	return queryAll(ctx, s, fmt.Sprintf("links of campaign %d", campaignID), scanLink,
		`SELECT `+linkColumns+` FROM links WHERE campaign_id = ? ORDER BY unique_clicks DESC, clicks DESC, id LIMIT ?`, campaignID, limit)
}

// SendOf returns the id of a campaign's send to a contact.
func (s *Store) SendOf(ctx context.Context, campaignID, contactID int64) (int64, error) {
	var id int64
	err := s.r.QueryRowContext(ctx, `SELECT id FROM sends WHERE campaign_id = ? AND contact_id = ?`, campaignID, contactID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("store: send of campaign %d to contact %d: %w", campaignID, contactID, err)
	}
	return id, nil
}

// CountEvents counts a campaign's events of one kind.
func (s *Store) CountEvents(ctx context.Context, campaignID int64, kind string) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM events WHERE campaign_id = ? AND kind = ?`, campaignID, kind).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: %s events of campaign %d: %w", kind, campaignID, err)
	}
	return n, nil
}
