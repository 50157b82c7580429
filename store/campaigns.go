package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Statuses of a campaign.
const (
	CampaignDraft     = "draft"
	CampaignScheduled = "scheduled"
	CampaignSending   = "sending"
	CampaignPaused    = "paused"
	CampaignCancelled = "cancelled"
	CampaignSent      = "sent"
)

// Campaign is one email sent to an audience.
type Campaign struct {
	ID        int64
	Name      string
	Subject   string
	Preheader string
	FromName  string
	FromEmail string
	ReplyTo   string
	// TemplateID names a campaign design to take the body from; 0 means the
	// body is written here, in Format.
	TemplateID int64
	Format     string
	Body       string
	TextBody   string
	// LayoutID is the layout around the body; 0 means the default layout.
	LayoutID         int64
	ListIDs          []int64
	SegmentID        int64
	ExcludeListIDs   []int64
	ExcludeSegmentID int64
	RelayID          int64
	Tracking         Tracking
	Status           string
	SendAt           time.Time
	// Recipients is the size of the outbox so far, and Skipped who in the
	// audience was left out, by reason.
	Recipients   int
	Skipped      map[string]int
	Materialised bool
	// HeldReason says why a sending campaign waits, such as a relay's
	// daily quota, until HeldUntil; empty when it is not held.
	HeldReason string
	HeldUntil  time.Time
	// PausedReason says why the campaign paused itself, if it did.
	PausedReason string
	// Bounces and Complaints count its hard bounces and spam complaints,
	// which its auto-pause reads.
	Bounces    int
	Complaints int
	// RatesFrom is where the bounce and complaint rates are counted from:
	// the counts when the campaign was last resumed after pausing itself.
	RatesFrom RateBase
	// AutomationID and AutomationStep name the automation email step this
	// campaign sends for; such a campaign never finishes, and is not
	// listed with the others.
	AutomationID   int64
	AutomationStep int64
	// AB makes the campaign an A/B test; nil when it is not one.
	AB *ABTest
	// LocalAt ("09:00") sends to each contact at that time in their own
	// timezone attribute, or the organisation's; "" sends at once.
	LocalAt string
	// Recurrence makes the campaign a series that sends a copy of itself on
	// a schedule; RecurNextAt is its next time. RecurParent names the
	// series a campaign was sent from.
	Recurrence  *Recurrence
	RecurNextAt time.Time
	RecurParent int64
	// RecurSeen is what the series' feed held at its last send.
	RecurSeen  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	StartedAt  time.Time
	FinishedAt time.Time
}

// Tracking says which of a campaign's results are tracked, and the UTM
// parameters added to its links.
type Tracking struct {
	Opens       bool   `json:"opens"`
	Clicks      bool   `json:"clicks"`
	UTMSource   string `json:"utm_source,omitempty"`
	UTMMedium   string `json:"utm_medium,omitempty"`
	UTMCampaign string `json:"utm_campaign,omitempty"`
}

// RateBase is a campaign's messages settled (sent or failed), bounces and
// complaints at one moment.
type RateBase struct {
	Settled    int
	Bounces    int
	Complaints int
}

// Editable reports whether the campaign's content and audience may change:
// only before it starts sending.
func (c Campaign) Editable() bool {
	return c.Status == CampaignDraft || c.Status == CampaignScheduled
}

// CampaignInput creates or changes a campaign; nil fields keep their value.
type CampaignInput struct {
	Name             *string
	Subject          *string
	Preheader        *string
	FromName         *string
	FromEmail        *string
	ReplyTo          *string
	TemplateID       *int64
	Format           *string
	Body             *string
	TextBody         *string
	LayoutID         *int64
	ListIDs          *[]int64
	SegmentID        *int64
	ExcludeListIDs   *[]int64
	ExcludeSegmentID *int64
	RelayID          *int64
	Tracking         *Tracking
	// AB, LocalAt and Recurrence: a pointer to the zero value clears each.
	AB         *ABTest
	LocalAt    *string
	Recurrence *Recurrence
}

func (in CampaignInput) apply(c *Campaign) {
	set(&c.Name, in.Name)
	set(&c.Subject, in.Subject)
	set(&c.Preheader, in.Preheader)
	set(&c.FromName, in.FromName)
	set(&c.FromEmail, in.FromEmail)
	set(&c.ReplyTo, in.ReplyTo)
	set(&c.TemplateID, in.TemplateID)
	set(&c.Format, in.Format)
	set(&c.Body, in.Body)
	set(&c.TextBody, in.TextBody)
	set(&c.LayoutID, in.LayoutID)
	set(&c.ListIDs, in.ListIDs)
	set(&c.SegmentID, in.SegmentID)
	set(&c.ExcludeListIDs, in.ExcludeListIDs)
	set(&c.ExcludeSegmentID, in.ExcludeSegmentID)
	set(&c.RelayID, in.RelayID)
	set(&c.Tracking, in.Tracking)
	if in.AB != nil {
		c.AB = in.AB
		if len(in.AB.Variants) == 0 {
			c.AB = nil
		}
	}
	set(&c.LocalAt, in.LocalAt)
	if in.Recurrence != nil {
		c.Recurrence = in.Recurrence
		if in.Recurrence.Every == "" {
			c.Recurrence = nil
		}
	}
	c.Name = strings.TrimSpace(c.Name)
	c.FromEmail = NormalizeEmail(c.FromEmail)
	c.ReplyTo = NormalizeEmail(c.ReplyTo)
}

// validate checks the fields on their own; references to lists, segments,
// templates and relays are checked against the database by checkRefs.
func (c Campaign) validate() map[string]string {
	errs := map[string]string{}
	if c.Name == "" {
		errs["name"] = "Give the campaign a name, like \"May newsletter\"."
	} else if msg := CheckLine(c.Name, 200); msg != "" {
		errs["name"] = msg
	}
	for field, line := range map[string]struct {
		text string
		max  int
	}{"subject": {c.Subject, 998}, "preheader": {c.Preheader, 500}, "from_name": {c.FromName, 200}} {
		if msg := CheckLine(line.text, line.max); msg != "" {
			errs[field] = msg
		}
	}
	for field, v := range map[string]string{"from_email": c.FromEmail, "reply_to": c.ReplyTo} {
		if v != "" {
			if msg := CheckEmail(v); msg != "" {
				errs[field] = msg
			}
		}
	}
	if c.Format != "html" && c.Format != "markdown" && c.Format != "text" {
		errs["format"] = "Format must be html, markdown or text."
	}
	if len(c.Body) > maxCampaignBody || len(c.TextBody) > maxCampaignBody {
		errs["body"] = "A campaign body holds at most 1 MB."
	}
	for field, v := range map[string]string{"utm_source": c.Tracking.UTMSource, "utm_medium": c.Tracking.UTMMedium, "utm_campaign": c.Tracking.UTMCampaign} {
		if msg := CheckLine(v, 200); msg != "" {
			errs[field] = msg
		}
	}
	if len(c.ListIDs) > 100 || len(c.ExcludeListIDs) > 100 {
		errs["list_ids"] = "A campaign names at most 100 lists."
	}
	if c.AB != nil {
		c.AB.check(errs)
		if c.LocalAt != "" {
			errs["local_at"] = "An A/B test sends its winner when it is picked; it cannot also wait for each contact's local time."
		}
	}
	if c.LocalAt != "" && !clockRE.MatchString(c.LocalAt) {
		errs["local_at"] = "Give the local time to send at as HH:MM, such as 09:00."
	}
	if c.Recurrence != nil {
		c.Recurrence.check(errs)
		if c.AB != nil {
			errs["recurrence"] = "A recurring campaign cannot also be an A/B test."
		}
	}
	return errs
}

// maxCampaignBody is the most a campaign's body holds.
const maxCampaignBody = 1 << 20

// extrasJSON are the ab and recurrence columns' values.
func (c Campaign) extrasJSON() (ab, recurrence string) {
	if c.AB != nil {
		b, _ := json.Marshal(c.AB)
		ab = string(b)
	}
	if c.Recurrence != nil {
		b, _ := json.Marshal(c.Recurrence)
		recurrence = string(b)
	}
	return ab, recurrence
}

// checkRefs makes sure every list, segment, template and relay a campaign
// names exists and is of the right kind.
func (s *Store) checkRefs(ctx context.Context, c Campaign, errs map[string]string) error {
	exists := func(q string, id int64) (bool, error) {
		var n int
		err := s.r.QueryRowContext(ctx, q, id).Scan(&n)
		return n > 0, err
	}
	lists := map[string][]int64{"list_ids": c.ListIDs, "exclude_list_ids": c.ExcludeListIDs}
	for field, ids := range lists {
		for _, id := range ids {
			ok, err := exists(`SELECT count(*) FROM lists WHERE id = ?`, id)
			if err != nil {
				return err
			}
			if !ok {
				errs[field] = fmt.Sprintf("There is no list %d.", id)
			}
		}
	}
	checks := []struct {
		field, q, msg string
		id            int64
	}{
		{"segment_id", `SELECT count(*) FROM segments WHERE id = ?`, "There is no segment %d.", c.SegmentID},
		{"exclude_segment_id", `SELECT count(*) FROM segments WHERE id = ?`, "There is no segment %d.", c.ExcludeSegmentID},
		{"template_id", `SELECT count(*) FROM templates WHERE id = ? AND kind = 'campaign'`, "Template %d is not a campaign design.", c.TemplateID},
		{"layout_id", `SELECT count(*) FROM templates WHERE id = ? AND kind = 'layout'`, "Template %d is not a layout.", c.LayoutID},
		{"relay_id", `SELECT count(*) FROM relays WHERE id = ?`, "There is no relay %d.", c.RelayID},
	}
	if c.AB != nil {
		for i, v := range c.AB.Variants {
			checks = append(checks, struct {
				field, q, msg string
				id            int64
			}{fmt.Sprintf("ab.variants[%d]", i), `SELECT count(*) FROM templates WHERE id = ? AND kind = 'campaign'`, "Template %d is not a campaign design.", v.TemplateID})
		}
	}
	for _, ch := range checks {
		if ch.id == 0 {
			continue
		}
		ok, err := exists(ch.q, ch.id)
		if err != nil {
			return err
		}
		if !ok {
			errs[ch.field] = fmt.Sprintf(ch.msg, ch.id)
		}
	}
	return nil
}

func (s *Store) validCampaign(ctx context.Context, c Campaign) error {
	errs := c.validate()
	if err := s.checkRefs(ctx, c, errs); err != nil {
		return fmt.Errorf("store: campaign references: %w", err)
	}
	if len(errs) > 0 {
		return &ValidationError{Fields: errs}
	}
	return nil
}

func idsJSON(ids []int64) string {
	if ids == nil {
		ids = []int64{}
	}
	b, _ := json.Marshal(ids)
	return string(b)
}

// CreateCampaign validates and stores a draft campaign.
func (s *Store) CreateCampaign(ctx context.Context, in CampaignInput) (Campaign, error) {
	c := Campaign{Format: "markdown", Status: CampaignDraft, Tracking: Tracking{Opens: true, Clicks: true}}
	in.apply(&c)
	if err := s.validCampaign(ctx, c); err != nil {
		return Campaign{}, err
	}
	now := unix(s.now())
	ab, recurrence := c.extrasJSON()
	err := s.w.QueryRowContext(ctx, `INSERT INTO campaigns (name, subject, preheader, from_name, from_email, reply_to, template_id, format, body, text_body,
	layout_id, list_ids, segment_id, exclude_list_ids, exclude_segment_id, relay_id, track_opens, track_clicks, utm_source, utm_medium, utm_campaign,
	ab, local_at, recurrence, status, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'draft', ?, ?) RETURNING id`,
		c.Name, c.Subject, c.Preheader, c.FromName, c.FromEmail, c.ReplyTo, nullID(c.TemplateID), c.Format, c.Body, c.TextBody,
		nullID(c.LayoutID), idsJSON(c.ListIDs), nullID(c.SegmentID), idsJSON(c.ExcludeListIDs), nullID(c.ExcludeSegmentID), nullID(c.RelayID),
		c.Tracking.Opens, c.Tracking.Clicks, c.Tracking.UTMSource, c.Tracking.UTMMedium, c.Tracking.UTMCampaign, ab, c.LocalAt, recurrence, now, now).Scan(&c.ID)
	if err != nil {
		return Campaign{}, fmt.Errorf("store: create campaign: %w", err)
	}
	return s.Campaign(ctx, c.ID)
}

// UpdateCampaign changes a campaign that has not started sending.
func (s *Store) UpdateCampaign(ctx context.Context, id int64, in CampaignInput) (Campaign, error) {
	c, err := s.Campaign(ctx, id)
	if err != nil {
		return Campaign{}, err
	}
	if !c.Editable() {
		return Campaign{}, &ValidationError{Fields: map[string]string{"status": "A campaign that has started sending cannot change; duplicate it instead."}}
	}
	in.apply(&c)
	if err := s.validCampaign(ctx, c); err != nil {
		return Campaign{}, err
	}
	ab, recurrence := c.extrasJSON()
	_, err = s.w.ExecContext(ctx, `UPDATE campaigns SET name = ?, subject = ?, preheader = ?, from_name = ?, from_email = ?, reply_to = ?,
	template_id = ?, format = ?, body = ?, text_body = ?, layout_id = ?, list_ids = ?, segment_id = ?, exclude_list_ids = ?,
	exclude_segment_id = ?, relay_id = ?, track_opens = ?, track_clicks = ?, utm_source = ?, utm_medium = ?, utm_campaign = ?,
	ab = ?, local_at = ?, recurrence = ?, updated_at = ? WHERE id = ? AND status IN ('draft', 'scheduled')`,
		c.Name, c.Subject, c.Preheader, c.FromName, c.FromEmail, c.ReplyTo, nullID(c.TemplateID), c.Format, c.Body, c.TextBody,
		nullID(c.LayoutID), idsJSON(c.ListIDs), nullID(c.SegmentID), idsJSON(c.ExcludeListIDs), nullID(c.ExcludeSegmentID), nullID(c.RelayID),
		c.Tracking.Opens, c.Tracking.Clicks, c.Tracking.UTMSource, c.Tracking.UTMMedium, c.Tracking.UTMCampaign, ab, c.LocalAt, recurrence, unix(s.now()), id)
	if err != nil {
		return Campaign{}, fmt.Errorf("store: update campaign %d: %w", id, err)
	}
	return s.Campaign(ctx, id)
}

// PreviewCampaign is campaign id as in would make it, checked, without
// saving it: what to check further before UpdateCampaign saves the same.
func (s *Store) PreviewCampaign(ctx context.Context, id int64, in CampaignInput) (Campaign, error) {
	c, err := s.Campaign(ctx, id)
	if err != nil {
		return Campaign{}, err
	}
	in.apply(&c)
	return c, s.validCampaign(ctx, c)
}

// DeleteCampaign removes a draft. Campaigns that were sent stay, as the
// record of who got what.
func (s *Store) DeleteCampaign(ctx context.Context, id int64) error {
	c, err := s.Campaign(ctx, id)
	if err != nil {
		return err
	}
	if c.Status != CampaignDraft {
		return &ValidationError{Fields: map[string]string{"status": "Only a draft can be deleted; cancel the campaign instead."}}
	}
	if _, err := s.w.ExecContext(ctx, `DELETE FROM campaigns WHERE id = ? AND status = 'draft'`, id); err != nil {
		return fmt.Errorf("store: delete campaign %d: %w", id, err)
	}
	return nil
}

const campaignColumns = `id, name, subject, preheader, from_name, from_email, reply_to, coalesce(template_id, 0), format, body, text_body,
	coalesce(layout_id, 0), list_ids, coalesce(segment_id, 0), exclude_list_ids, coalesce(exclude_segment_id, 0), coalesce(relay_id, 0),
	status, send_at, recipients, skipped_suppressed, skipped_unsubscribed, skipped_bounced, skipped_complained, skipped_unconfirmed,
	materialised, created_at, updated_at, started_at, finished_at, held_reason, coalesce(held_until, 0), paused_reason, bounces, complaints,
	rates_from_settled, rates_from_bounces, rates_from_complaints, track_opens, track_clicks, utm_source, utm_medium, utm_campaign,
	coalesce(automation_id, 0), automation_step, ab, local_at, recurrence, coalesce(recur_next_at, 0), coalesce(recur_parent, 0), recur_seen`

func scanCampaign(row scanner) (Campaign, error) {
	var c Campaign
	var lists, excluded string
	var sendAt, started, finished sql.NullInt64
	var created, updated, heldUntil int64
	var sup, uns, bnc, cmp, unc int
	var ab, recurrence string
	var recurNext int64
	err := row.Scan(&c.ID, &c.Name, &c.Subject, &c.Preheader, &c.FromName, &c.FromEmail, &c.ReplyTo, &c.TemplateID, &c.Format, &c.Body, &c.TextBody,
		&c.LayoutID, &lists, &c.SegmentID, &excluded, &c.ExcludeSegmentID, &c.RelayID,
		&c.Status, &sendAt, &c.Recipients, &sup, &uns, &bnc, &cmp, &unc,
		&c.Materialised, &created, &updated, &started, &finished, &c.HeldReason, &heldUntil, &c.PausedReason, &c.Bounces, &c.Complaints,
		&c.RatesFrom.Settled, &c.RatesFrom.Bounces, &c.RatesFrom.Complaints,
		&c.Tracking.Opens, &c.Tracking.Clicks, &c.Tracking.UTMSource, &c.Tracking.UTMMedium, &c.Tracking.UTMCampaign,
		&c.AutomationID, &c.AutomationStep, &ab, &c.LocalAt, &recurrence, &recurNext, &c.RecurParent, &c.RecurSeen)
	if errors.Is(err, sql.ErrNoRows) {
		return Campaign{}, ErrNotFound
	}
	if err != nil {
		return Campaign{}, err
	}
	if err := json.Unmarshal([]byte(lists), &c.ListIDs); err != nil {
		return Campaign{}, fmt.Errorf("list_ids: %w", err)
	}
	if err := json.Unmarshal([]byte(excluded), &c.ExcludeListIDs); err != nil {
		return Campaign{}, fmt.Errorf("exclude_list_ids: %w", err)
	}
	if ab != "" {
		c.AB = &ABTest{}
		if err := json.Unmarshal([]byte(ab), c.AB); err != nil {
			return Campaign{}, fmt.Errorf("ab: %w", err)
		}
	}
	if recurrence != "" {
		c.Recurrence = &Recurrence{}
		if err := json.Unmarshal([]byte(recurrence), c.Recurrence); err != nil {
			return Campaign{}, fmt.Errorf("recurrence: %w", err)
		}
	}
	if recurNext != 0 {
		c.RecurNextAt = fromUnix(recurNext)
	}
	c.Skipped = map[string]int{}
	for k, v := range map[string]int{SkipSuppressed: sup, SkipUnsubscribed: uns, SkipBounced: bnc, SkipComplained: cmp, SkipUnconfirmed: unc} {
		if v > 0 {
			c.Skipped[k] = v
		}
	}
	c.CreatedAt, c.UpdatedAt = fromUnix(created), fromUnix(updated)
	if heldUntil != 0 {
		c.HeldUntil = fromUnix(heldUntil)
	}
	for _, t := range []struct {
		dst *time.Time
		v   sql.NullInt64
	}{{&c.SendAt, sendAt}, {&c.StartedAt, started}, {&c.FinishedAt, finished}} {
		if t.v.Valid {
			*t.dst = fromUnix(t.v.Int64)
		}
	}
	return c, nil
}

// Campaign returns one campaign.
func (s *Store) Campaign(ctx context.Context, id int64) (Campaign, error) {
	c, err := scanCampaign(s.r.QueryRowContext(ctx, `SELECT `+campaignColumns+` FROM campaigns WHERE id = ?`, id))
	if err != nil {
		return Campaign{}, fmt.Errorf("store: campaign %d: %w", id, err)
	}
	return c, nil
}

// Campaigns returns campaigns, newest first, optionally of one status.
func (s *Store) Campaigns(ctx context.Context, status string) ([]Campaign, error) {
	return queryAll(ctx, s, "campaigns", scanCampaign, `SELECT `+campaignColumns+` FROM campaigns
WHERE (? = '' OR status = ?) AND automation_id IS NULL ORDER BY id DESC`, status, status)
}

// SendingCampaigns returns the campaigns the dispatcher runs: those
// sending, and of the campaigns of automation email steps, those with a
// send due.
func (s *Store) SendingCampaigns(ctx context.Context) ([]Campaign, error) {
	return queryAll(ctx, s, "sending campaigns", scanCampaign, `SELECT `+campaignColumns+` FROM campaigns
WHERE status = 'sending' AND (automation_id IS NULL OR EXISTS (SELECT 1 FROM sends
	WHERE campaign_id = campaigns.id AND status IN ('queued', 'retrying') AND next_attempt_at <= ?))`, unix(s.now()))
}

// StartedCampaigns returns the newest campaigns that began sending, up to
// limit, for choosing one in a segment rule.
func (s *Store) StartedCampaigns(ctx context.Context, limit int) ([]Campaign, error) {
	return queryAll(ctx, s, "started campaigns", scanCampaign, `SELECT `+campaignColumns+` FROM campaigns
WHERE started_at IS NOT NULL AND automation_id IS NULL ORDER BY id DESC LIMIT ?`, limit)
}

// CampaignsPage returns one page of campaigns, newest first, optionally of
// one status, and how many there are in all.
func (s *Store) CampaignsPage(ctx context.Context, f CampaignFilter, limit, offset int) ([]Campaign, int, error) {
	where, args := ` FROM campaigns WHERE (? = '' OR status = ?) AND automation_id IS NULL`, []any{f.Status, f.Status}
	if q := strings.TrimSpace(f.Q); q != "" {
		where, args = where+` AND (name LIKE ? ESCAPE '\' OR subject LIKE ? ESCAPE '\')`, append(args, "%"+likeEscape(q)+"%", "%"+likeEscape(q)+"%")
	}
	window, wargs, _, _, orderBy := f.Order.sql(CampaignSorts, "id", "created_at")
	return queryPage(ctx, s, "campaigns", scanCampaign, `SELECT count(*)`+where+window,
		`SELECT `+campaignColumns+where+window+orderBy+` LIMIT ? OFFSET ?`, append(args, wargs...), limit, offset)
}

// CampaignFilter narrows a list of campaigns: by status, and by a Q in the
// name or subject.
type CampaignFilter struct {
	Status string
	Q      string
	Order  Order
}

// CampaignSorts are the fields a list of campaigns sorts by, beyond id.
var CampaignSorts = map[string]string{"created_at": "created_at", "updated_at": "updated_at", "name": "name", "send_at": "send_at", "status": "status"}

// CampaignAudience resolves the segments a campaign names into an Audience.
func (s *Store) CampaignAudience(ctx context.Context, c Campaign) (Audience, error) {
	a := Audience{Lists: c.ListIDs, ExcludeLists: c.ExcludeListIDs}
	for _, seg := range []struct {
		id  int64
		dst **Rule
	}{{c.SegmentID, &a.Segment}, {c.ExcludeSegmentID, &a.ExcludeSegment}} {
		if seg.id == 0 {
			continue
		}
		g, err := s.Segment(ctx, seg.id)
		if err != nil {
			return Audience{}, err
		}
		r := g.Rules
		*seg.dst = &r
	}
	return a, nil
}

// StartCampaign moves a draft or scheduled campaign to sending, with its
// content frozen as given, so later edits to its template or layout change
// nothing that is already going out.
func (s *Store) StartCampaign(ctx context.Context, id int64, frozen string) (Campaign, error) {
	now := unix(s.now())
	var n int64
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE campaigns SET status = 'sending', paused_reason = '', frozen = ?, started_at = ?, updated_at = ?
WHERE id = ? AND status IN ('draft', 'scheduled')`, frozen, now, now, id)
		if err != nil {
			return err
		}
		if n, _ = res.RowsAffected(); n == 0 {
			return nil
		}
		return s.emitCampaign(ctx, tx, EventCampaignStarted, id)
	})
	if err != nil {
		return Campaign{}, fmt.Errorf("store: start campaign %d: %w", id, err)
	}
	c, err := s.Campaign(ctx, id)
	if err != nil {
		return Campaign{}, err
	}
	if n == 0 {
		return Campaign{}, &ValidationError{Fields: map[string]string{"status": fmt.Sprintf("The campaign is %s; only a draft or scheduled campaign can start.", c.Status)}}
	}
	return c, nil
}

// CampaignFrozen returns the content a sending campaign froze when it started.
func (s *Store) CampaignFrozen(ctx context.Context, id int64) (string, error) {
	return s.campaignFrozen(ctx, id, `frozen`)
}

// CampaignFrozenTracking is the tracking part of what CampaignFrozen
// returns, as JSON: a report needs it, not the whole message.
func (s *Store) CampaignFrozenTracking(ctx context.Context, id int64) (string, error) {
	// Content frozen before campaigns tracked anything tracks nothing: {}.
	return s.campaignFrozen(ctx, id, `CASE WHEN frozen IS NOT NULL THEN coalesce(json_extract(frozen, '$.tracking'), '{}') END`)
}

// campaignFrozen reads expr, a constant expression of the frozen column.
func (s *Store) campaignFrozen(ctx context.Context, id int64, expr string) (string, error) {
	var frozen sql.NullString
	err := s.r.QueryRowContext(ctx, `SELECT `+expr+` FROM campaigns WHERE id = ?`, id).Scan(&frozen)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("store: campaign %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("store: campaign %d frozen content: %w", id, err)
	}
	return frozen.String, nil
}

// FinishCampaign marks a sending campaign sent once its whole audience is in
// the outbox and no send is still queued, retrying or in flight. It reports
// whether the campaign is now sent.
func (s *Store) FinishCampaign(ctx context.Context, id int64) (bool, error) {
	now := unix(s.now())
	var n int64
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE campaigns SET status = 'sent', finished_at = ?, updated_at = ?,
	ab_status = CASE ab_status WHEN 'testing' THEN 'done' ELSE ab_status END
WHERE id = ? AND status = 'sending' AND materialised = 1 AND automation_id IS NULL
	AND NOT EXISTS (SELECT 1 FROM sends WHERE campaign_id = ? AND status IN ('queued', 'retrying', 'sending'))`, now, now, id, id)
		if err != nil {
			return err
		}
		if n, _ = res.RowsAffected(); n == 0 {
			return nil
		}
		return s.emitCampaign(ctx, tx, EventCampaignSent, id)
	})
	if err != nil {
		return false, fmt.Errorf("store: finish campaign %d: %w", id, err)
	}
	return n == 1, nil
}

// HardBounce records that an address does not exist: the contact becomes
// bounced, with the server's answer on their timeline, and the address is
// suppressed so nothing is sent to it again.
func (s *Store) HardBounce(ctx context.Context, contactID int64, email, answer string) error {
	now := unix(s.now())
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		return suppressContact(ctx, tx, contactID, email, StatusBounced, answer, now)
	})
	if err != nil {
		return fmt.Errorf("store: hard bounce of contact %d: %w", contactID, err)
	}
	return nil
}

// suppressContact records that an address must get no more mail because it
// bounced hard or its owner complained: the contact takes that status,
// with the reason on their timeline, and the address is suppressed.
func suppressContact(ctx context.Context, tx *sql.Tx, contactID int64, email, status, reason string, now int64) error {
	source, event, from := "bounce", EventBounced, `('active')`
	if status == StatusComplained {
		source, event, from = "complaint", EventComplained, `('active', 'unsubscribed', 'bounced')`
	}
	res, err := tx.ExecContext(ctx, `UPDATE contacts SET status = ?, updated_at = ? WHERE id = ? AND status IN `+from, status, now, contactID)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO suppressions (kind, value, reason, source, created_at) VALUES ('email', ?, ?, ?, ?)
ON CONFLICT (kind, value) DO NOTHING`, NormalizeEmail(email), reason, source, now); err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 && status == StatusComplained {
		return nil
	}
	var exists int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM contacts WHERE id = ?`, contactID).Scan(&exists); err != nil || exists == 0 {
		return err
	}
	return recordEvent(ctx, tx, contactID, event, reason, now)
}

// The changes a person may make to a campaign's status, from its page or
// the API.
const (
	ActionPause      = "pause"
	ActionResume     = "resume"
	ActionCancel     = "cancel"
	ActionUnschedule = "unschedule"
)

// campaignTransition is the one list of those changes: the status action
// moves a campaign to, and the statuses it may come from.
func campaignTransition(action string) (to string, from []string, ok bool) {
	switch action {
	case ActionPause:
		return CampaignPaused, []string{CampaignSending}, true
	case ActionResume:
		return CampaignSending, []string{CampaignPaused}, true
	case ActionCancel:
		return CampaignCancelled, []string{CampaignSending, CampaignPaused, CampaignScheduled}, true
	case ActionUnschedule:
		return CampaignDraft, []string{CampaignScheduled}, true
	}
	return "", nil, false
}

// ChangeCampaign pauses, resumes, cancels or unschedules a campaign, and
// says in words why not when its status does not allow it.
func (s *Store) ChangeCampaign(ctx context.Context, id int64, action string) (Campaign, error) {
	to, from, ok := campaignTransition(action)
	if !ok {
		return Campaign{}, &ValidationError{Fields: map[string]string{"action": fmt.Sprintf("%q is not something a campaign can do; use pause, resume, cancel or unschedule.", action)}}
	}
	if err := s.notStepCampaign(ctx, id); err != nil {
		return Campaign{}, err
	}
	return s.setCampaignStatus(ctx, id, to, from...)
}

// notStepCampaign refuses to act on the campaign of an automation's email
// step: the automation owns it.
func (s *Store) notStepCampaign(ctx context.Context, id int64) error {
	var automation sql.NullInt64
	if err := s.r.QueryRowContext(ctx, `SELECT automation_id FROM campaigns WHERE id = ?`, id).Scan(&automation); errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: campaign %d: %w", id, ErrNotFound)
	} else if err != nil {
		return fmt.Errorf("store: campaign %d: %w", id, err)
	}
	if automation.Valid {
		return &ValidationError{Fields: map[string]string{"status": fmt.Sprintf("This campaign sends an email step of automation %d: pause or archive the automation instead.", automation.Int64)}}
	}
	return nil
}

// setCampaignStatus moves a campaign from one of the from statuses to to,
// and says in words why not when it is in another. Cancelling also cancels
// every send not yet tried, so nothing more goes out.
func (s *Store) setCampaignStatus(ctx context.Context, id int64, to string, from ...string) (Campaign, error) {
	c, err := s.Campaign(ctx, id)
	if err != nil {
		return Campaign{}, err
	}
	if !contains(from, c.Status) {
		return Campaign{}, &ValidationError{Fields: map[string]string{"status": fmt.Sprintf("The campaign is %s; it can become %s only when it is %s.", c.Status, to, strings.Join(from, " or "))}}
	}
	now := unix(s.now())
	err = s.Tx(ctx, func(tx *sql.Tx) error {
		args := append([]any{to, now, id}, toAny(from)...)
		res, err := tx.ExecContext(ctx, `UPDATE campaigns SET status = ?, updated_at = ?, paused_reason = '', held_reason = '', held_until = NULL
WHERE id = ? AND status IN (?`+strings.Repeat(",?", len(from)-1)+`)`, args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &ValidationError{Fields: map[string]string{"status": "The campaign changed meanwhile; reload and try again."}}
		}
		if to == CampaignSending && c.PausedReason != "" {
			// Resumed after pausing itself: its rates count afresh, or the
			// same bounces would pause it again at once.
			_, err = tx.ExecContext(ctx, `UPDATE campaigns SET rates_from_bounces = bounces, rates_from_complaints = complaints,
	rates_from_settled = (SELECT count(*) FROM sends WHERE campaign_id = ? AND status IN ('sent', 'failed')) WHERE id = ?`, id, id)
		}
		if to == CampaignCancelled {
			_, err = tx.ExecContext(ctx, `UPDATE sends SET status = 'cancelled', updated_at = ? WHERE campaign_id = ? AND status IN ('queued', 'retrying')`, now, id)
			if err == nil {
				_, err = tx.ExecContext(ctx, `UPDATE campaigns SET finished_at = ? WHERE id = ?`, now, id)
			}
		}
		if err == nil && to == CampaignPaused {
			err = s.emitCampaign(ctx, tx, EventCampaignPaused, id)
		}
		return err
	})
	if err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			return Campaign{}, err
		}
		return Campaign{}, fmt.Errorf("store: campaign %d to %s: %w", id, to, err)
	}
	return s.Campaign(ctx, id)
}

func toAny[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// CampaignSends pages through a campaign's outbox, optionally of one status.
func (s *Store) CampaignSends(ctx context.Context, id int64, status string, o Order, limit, offset int) ([]Send, int, error) {
	var total int
	_, _, cursor, cargs, orderBy := o.sql(SendSorts, "id", "")
	if o.Cursor {
		offset = 0
	} else if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM sends WHERE campaign_id = ? AND (? = '' OR status = ?)`, id, status, status).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: campaign %d sends: %w", id, err)
	}
	sends, err := queryAll(ctx, s, "sends", scanSend, `SELECT `+sendColumns+` FROM sends WHERE campaign_id = ? AND (? = '' OR status = ?)`+cursor+orderBy+
		` LIMIT ? OFFSET ?`, append(append([]any{id, status, status}, cargs...), limit, offset)...)
	return sends, total, err
}

// SendSorts are the fields a list of sends sorts by, beyond id.
var SendSorts = map[string]string{"updated_at": "updated_at", "email": "email", "status": "status"}

// ResendFailed queues a campaign's failed sends again, say after fixing a
// relay, and sets the campaign sending if it had finished. Hard bounces and
// anyone since suppressed or unsubscribed stay failed. It returns how many
// were queued.
func (s *Store) ResendFailed(ctx context.Context, id int64) (int, error) {
	if err := s.notStepCampaign(ctx, id); err != nil {
		return 0, err
	}
	c, err := s.Campaign(ctx, id)
	if err != nil {
		return 0, err
	}
	if c.Status != CampaignSending && c.Status != CampaignSent && c.Status != CampaignPaused {
		return 0, &ValidationError{Fields: map[string]string{"status": "The campaign is " + c.Status + "; only a campaign that has sent can resend to its failed recipients."}}
	}
	var n int64
	now := unix(s.now())
	err = s.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE sends SET status = 'queued', next_attempt_at = ?1, updated_at = ?1
WHERE campaign_id = ? AND status = 'failed' AND `+SendRetryable, now, id)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE campaigns SET status = CASE status WHEN 'sent' THEN 'sending' ELSE status END,
	finished_at = NULL, updated_at = ? WHERE id = ?`, now, id)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: resend failed of campaign %d: %w", id, err)
	}
	return int(n), nil
}

// ScheduleCampaign sets a draft or scheduled campaign to start at a time.
func (s *Store) ScheduleCampaign(ctx context.Context, id int64, at time.Time) (Campaign, error) {
	now := s.now()
	if !at.After(now) || at.After(now.AddDate(1, 0, 0)) {
		return Campaign{}, &ValidationError{Fields: map[string]string{"send_at": "Choose a time in the future, within a year."}}
	}
	res, err := s.w.ExecContext(ctx, `UPDATE campaigns SET status = 'scheduled', paused_reason = '', send_at = ?, updated_at = ? WHERE id = ? AND status IN ('draft', 'scheduled')`,
		unix(at), unix(now), id)
	if err != nil {
		return Campaign{}, fmt.Errorf("store: schedule campaign %d: %w", id, err)
	}
	c, err := s.Campaign(ctx, id)
	if err != nil {
		return Campaign{}, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Campaign{}, &ValidationError{Fields: map[string]string{"status": "The campaign is " + c.Status + "; only a draft or scheduled campaign can be scheduled."}}
	}
	return c, nil
}

// MissSchedule makes a scheduled campaign that could not start at its time
// a draft again, with the reason, until it is scheduled or sent anew.
func (s *Store) MissSchedule(ctx context.Context, id int64, reason string) error {
	_, err := s.w.ExecContext(ctx, `UPDATE campaigns SET status = 'draft', paused_reason = ?, updated_at = ? WHERE id = ? AND status = 'scheduled'`,
		reason, unix(s.now()), id)
	if err != nil {
		return fmt.Errorf("store: campaign %d missed its schedule: %w", id, err)
	}
	return nil
}

// MissedSchedules returns the drafts that were scheduled and could not
// start at their time, until they are scheduled or sent anew.
func (s *Store) MissedSchedules(ctx context.Context) ([]Campaign, error) {
	return queryAll(ctx, s, "missed schedules", scanCampaign, `SELECT `+campaignColumns+` FROM campaigns
WHERE status = 'draft' AND paused_reason != '' ORDER BY updated_at DESC LIMIT 20`)
}

// DueCampaigns returns the scheduled campaigns whose time has come.
func (s *Store) DueCampaigns(ctx context.Context) ([]Campaign, error) {
	return queryAll(ctx, s, "due campaigns", scanCampaign, `SELECT `+campaignColumns+` FROM campaigns
WHERE status = 'scheduled' AND send_at <= ? ORDER BY send_at`, unix(s.now()))
}

// DuplicateCampaign makes a new draft with a campaign's content, audience
// and settings, named "Copy of …".
func (s *Store) DuplicateCampaign(ctx context.Context, id int64) (Campaign, error) {
	c, err := s.Campaign(ctx, id)
	if err != nil {
		return Campaign{}, err
	}
	if c.AutomationID != 0 {
		return Campaign{}, s.notStepCampaign(ctx, id)
	}
	name := "Copy of " + c.Name
	if len(name) > 200 {
		name = name[:200]
	}
	return s.CreateCampaign(ctx, CampaignInput{Name: &name, Subject: &c.Subject, Preheader: &c.Preheader, FromName: &c.FromName,
		FromEmail: &c.FromEmail, ReplyTo: &c.ReplyTo, TemplateID: &c.TemplateID, Format: &c.Format, Body: &c.Body, TextBody: &c.TextBody,
		LayoutID: &c.LayoutID, ListIDs: &c.ListIDs, SegmentID: &c.SegmentID, ExcludeListIDs: &c.ExcludeListIDs,
		ExcludeSegmentID: &c.ExcludeSegmentID, RelayID: &c.RelayID, Tracking: &c.Tracking, AB: c.AB, LocalAt: &c.LocalAt})
}

// HoldCampaign records why a sending campaign waits and until when, or,
// with an empty reason, that it no longer does.
func (s *Store) HoldCampaign(ctx context.Context, id int64, reason string, until time.Time) error {
	var at any
	if reason != "" {
		at = unix(until)
	}
	if _, err := s.w.ExecContext(ctx, `UPDATE campaigns SET held_reason = ?, held_until = ? WHERE id = ?`, reason, at, id); err != nil {
		return fmt.Errorf("store: hold campaign %d: %w", id, err)
	}
	return nil
}

// AutoPause pauses a sending campaign and says why; it reports whether the
// campaign was still sending.
func (s *Store) AutoPause(ctx context.Context, id int64, reason string) (bool, error) {
	var n int64
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE campaigns SET status = 'paused', paused_reason = ?, updated_at = ? WHERE id = ? AND status = 'sending'`,
			reason, unix(s.now()), id)
		if err != nil {
			return err
		}
		if n, _ = res.RowsAffected(); n == 0 {
			return nil
		}
		return s.emitCampaign(ctx, tx, EventCampaignPaused, id)
	})
	if err != nil {
		return false, fmt.Errorf("store: pause campaign %d: %w", id, err)
	}
	return n == 1, nil
}

// CampaignStatus returns a campaign's status alone, for a sender that
// checks it often.
func (s *Store) CampaignStatus(ctx context.Context, id int64) (string, error) {
	var status string
	err := s.r.QueryRowContext(ctx, `SELECT status FROM campaigns WHERE id = ?`, id).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("store: campaign %d status: %w", id, err)
	}
	return status, nil
}

// complaintWindow is how long after a campaign's message a spam complaint
// is held against that campaign.
const complaintWindow = 30 * 24 * 60 * 60

// countComplaint holds a contact's spam complaint against the last
// campaign that reached them in the past 30 days, for its complaint rate.
func countComplaint(ctx context.Context, tx *sql.Tx, contactID, now int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE campaigns SET complaints = complaints + 1 WHERE id = (
	SELECT campaign_id FROM sends WHERE contact_id = ? AND status = 'sent' AND sent_at >= ? ORDER BY sent_at DESC LIMIT 1)`,
		contactID, now-complaintWindow)
	return err
}
