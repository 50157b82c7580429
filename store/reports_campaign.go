package store

import (
	"context"
	"fmt"
	"time"
)

// Breakdown is a campaign's results for one group of its recipients: a
// domain or a list.
type Breakdown struct {
	Name      string `json:"name"`
	Sent      int    `json:"sent"`
	Delivered int    `json:"delivered"`
	Opened    int    `json:"opened"`
	Clicked   int    `json:"clicked"`
	Bounced   int    `json:"bounced"`
}

// breakdownColumns count a group of sends; the two first placeholders say
// whether machine opens and clicks count, the third whether deliveries
// are reported (see Counts.DeliveredCount).
const breakdownColumns = `count(*),
	CASE WHEN ? THEN count(s.delivered_at) ELSE count(*) - count(nullif(s.bounce, '')) END,
	count(CASE WHEN (CASE WHEN ? THEN s.opens ELSE s.human_opens END) > 0 THEN 1 END),
	count(CASE WHEN (CASE WHEN ? THEN s.clicks ELSE s.human_clicks END) > 0 THEN 1 END),
	count(nullif(s.bounce, ''))`

func scanBreakdown(row scanner) (Breakdown, error) {
	var b Breakdown
	err := row.Scan(&b.Name, &b.Sent, &b.Delivered, &b.Opened, &b.Clicked, &b.Bounced)
	return b, err
}

const domainsSQL = `SELECT lower(substr(s.email, instr(s.email, '@') + 1)) AS domain, ` + breakdownColumns + `
FROM sends s WHERE s.campaign_id = ? AND s.status = 'sent' GROUP BY domain ORDER BY 2 DESC, domain LIMIT 20`

// CampaignDomains returns a campaign's results by recipient domain, the 20
// domains it sent most to first.
func (s *Store) CampaignDomains(ctx context.Context, id int64, all bool) ([]Breakdown, error) {
	reported, err := s.deliveriesReported(ctx, id)
	if err != nil {
		return nil, err
	}
	return queryAll(ctx, s, fmt.Sprintf("domains of campaign %d", id), scanBreakdown, domainsSQL, reported, all, all, id)
}

func (s *Store) deliveriesReported(ctx context.Context, id int64) (bool, error) {
	n, err := s.CampaignCounts(ctx, id)
	return n.Delivered > 0, err
}

const listBreakdownSQL = `SELECT l.name, ` + breakdownColumns + `
FROM sends s JOIN list_members m ON m.contact_id = s.contact_id AND m.list_id = ? JOIN lists l ON l.id = m.list_id
WHERE s.campaign_id = ? AND s.status = 'sent' GROUP BY l.id`

// CampaignLists returns a campaign's results for the members of each of
// its lists it was sent to. A list deleted since is left out.
func (s *Store) CampaignLists(ctx context.Context, c Campaign, all bool) ([]Breakdown, error) {
	reported, err := s.deliveriesReported(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	var out []Breakdown
	for _, list := range c.ListIDs {
		rows, err := queryAll(ctx, s, fmt.Sprintf("list %d of campaign %d", list, c.ID), scanBreakdown, listBreakdownSQL,
			reported, all, all, list, c.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
	}
	return out, nil
}

// BounceReason is how many of a campaign's bounces of one kind gave one
// reason.
type BounceReason struct {
	Kind string `json:"kind"`
	// Category is the cause ("user-unknown", "mailbox-full", …), Reason
	// the latest bounce's words.
	Category string `json:"category"`
	Reason   string `json:"reason"`
	Count    int    `json:"count"`
}

// bounceReasonsSQL reads a campaign's bounces by type and cause, counted
// as they were recorded.
const bounceReasonsSQL = `SELECT kind, category, example, n FROM campaign_bounces WHERE campaign_id = ?
ORDER BY n DESC, kind, category LIMIT 20`

// CampaignBounces returns the 20 commonest types and causes of a
// campaign's bounces, each with the latest reason in the server's words.
func (s *Store) CampaignBounces(ctx context.Context, id int64) ([]BounceReason, error) {
	return queryAll(ctx, s, fmt.Sprintf("bounces of campaign %d", id), func(row scanner) (BounceReason, error) {
		var b BounceReason
		err := row.Scan(&b.Kind, &b.Category, &b.Reason, &b.Count)
		return b, err
	}, bounceReasonsSQL, id)
}

// Filters of a campaign's recipients in its report.
const (
	FilterOpened       = "opened"
	FilterClicked      = "clicked"
	FilterNotOpened    = "not_opened"
	FilterBounced      = "bounced"
	FilterUnsubscribed = "unsubscribed"
)

// RecipientFilters are the filters of CampaignRecipients, by name.
var RecipientFilters = map[string]string{
	FilterOpened:       `(CASE WHEN ? THEN s.opens ELSE s.human_opens END) > 0`,
	FilterClicked:      `(CASE WHEN ? THEN s.clicks ELSE s.human_clicks END) > 0`,
	FilterNotOpened:    `(CASE WHEN ? THEN s.opens ELSE s.human_opens END) = 0 AND s.bounce = ''`,
	FilterBounced:      `s.bounce != '' AND ? IS NOT NULL`,
	FilterUnsubscribed: `s.unsubscribed_at IS NOT NULL AND ? IS NOT NULL`,
}

// Recipient is one recipient of a campaign and what they did with it.
type Recipient struct {
	SendID       int64     `json:"send_id"`
	ContactID    int64     `json:"contact_id"`
	Email        string    `json:"email"`
	FirstName    string    `json:"first_name"`
	LastName     string    `json:"last_name"`
	Opens        int       `json:"opens"`
	Clicks       int       `json:"clicks"`
	OpenedAt     time.Time `json:"opened_at"`
	ClickedAt    time.Time `json:"clicked_at"`
	Bounce       string    `json:"bounce"`
	Unsubscribed bool      `json:"unsubscribed"`
}

// CampaignRecipients returns up to limit of a campaign's sent recipients
// that pass filter (a key of RecipientFilters), after the send afterID, in
// send order. Opens and clicks are of people unless all.
func (s *Store) CampaignRecipients(ctx context.Context, id int64, filter string, all bool, afterID int64, limit int) ([]Recipient, error) {
	where, ok := RecipientFilters[filter]
	if !ok {
		return nil, fmt.Errorf("store: recipients of campaign %d: no filter %q", id, filter)
	}
	q := `SELECT s.id, s.contact_id, s.email, coalesce(c.first_name, ''), coalesce(c.last_name, ''),
	CASE WHEN ? THEN s.opens ELSE s.human_opens END, CASE WHEN ? THEN s.clicks ELSE s.human_clicks END,
	coalesce(s.opened_at, 0), coalesce(s.clicked_at, 0), s.bounce, s.unsubscribed_at IS NOT NULL
FROM sends s LEFT JOIN contacts c ON c.id = s.contact_id
WHERE s.campaign_id = ? AND s.status = 'sent' AND s.id > ? AND ` + where + ` ORDER BY s.id LIMIT ?`
	return queryAll(ctx, s, fmt.Sprintf("recipients of campaign %d", id), scanRecipient, q, all, all, id, afterID, all, limit)
}

func scanRecipient(row scanner) (Recipient, error) {
	var r Recipient
	var opened, clicked int64
	err := row.Scan(&r.SendID, &r.ContactID, &r.Email, &r.FirstName, &r.LastName, &r.Opens, &r.Clicks, &opened, &clicked, &r.Bounce, &r.Unsubscribed)
	// The first open or click of any kind; none is shown where the
	// counts asked for (people's, by default) have none.
	if opened > 0 && r.Opens > 0 {
		r.OpenedAt = fromUnix(opened)
	}
	if clicked > 0 && r.Clicks > 0 {
		r.ClickedAt = fromUnix(clicked)
	}
	return r, err
}

// ResultEvent is one event of a campaign, as its report lists them.
type ResultEvent struct {
	ID        int64     `json:"id"`
	At        time.Time `json:"at"`
	Kind      string    `json:"kind"`
	Machine   bool      `json:"machine"`
	ContactID int64     `json:"contact_id,omitempty"`
	Email     string    `json:"email,omitempty"`
	URL       string    `json:"url,omitempty"`
	Source    string    `json:"source"`
	Detail    string    `json:"detail"`
}

// campaignEventsFrom reads a campaign's events, through the index of its
// events (of one kind, when one is given).
const (
	campaignEventsFrom = `SELECT e.id, e.at, e.kind, e.machine, coalesce(e.contact_id, 0), coalesce(c.email, ''), coalesce(l.url, ''), e.source, e.detail
FROM events e LEFT JOIN contacts c ON c.id = e.contact_id LEFT JOIN links l ON l.id = e.link_id
WHERE e.campaign_id = ?`
)

// CampaignEvents returns a page of a campaign's events of one kind (all
// kinds when kind is ""), in o's order, and how many there are: counted as
// they were recorded, so however many there are it costs nothing, unless
// o windows them by time; a page read by cursor is not counted.
func (s *Store) CampaignEvents(ctx context.Context, id int64, kind string, o Order, limit, offset int) ([]ResultEvent, int, error) {
	where, args := "", []any{id}
	if kind != "" {
		where, args = ` AND e.kind = ?`, append(args, kind)
	}
	window, wargs, cursor, cargs, orderBy := o.sql(nil, "e.id", "e.at")
	where, args = where+window, append(args, wargs...)
	var total int
	var err error
	switch {
	case o.Cursor:
		offset = 0
	case window != "":
		err = s.r.QueryRowContext(ctx, `SELECT count(*) FROM events e WHERE e.campaign_id = ?`+where, args...).Scan(&total)
	default:
		err = s.r.QueryRowContext(ctx, `SELECT coalesce(sum(n), 0) FROM campaign_event_counts WHERE campaign_id = ?1 AND (?2 = '' OR kind = ?2)`, id, kind).Scan(&total)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("store: events of campaign %d: %w", id, err)
	}
	q := campaignEventsFrom + where + cursor + orderBy + ` LIMIT ? OFFSET ?`
	args = append(append(args, cargs...), limit, offset)
	events, err := queryAll(ctx, s, fmt.Sprintf("events of campaign %d", id), func(row scanner) (ResultEvent, error) {
		var e ResultEvent
		var at int64
		err := row.Scan(&e.ID, &at, &e.Kind, &e.Machine, &e.ContactID, &e.Email, &e.URL, &e.Source, &e.Detail)
		e.At = fromUnix(at)
		return e, err
	}, q, args...)
	return events, total, err
}
