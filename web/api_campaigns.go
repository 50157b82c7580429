package web

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/labstack/echo/v5"

	"herald/mailer"
	"herald/store"
)

// campaignJSON is a campaign as the API shows it.
type campaignJSON struct {
	ID               int64          `json:"id"`
	Name             string         `json:"name"`
	Subject          string         `json:"subject"`
	Preheader        string         `json:"preheader"`
	FromName         string         `json:"from_name"`
	FromEmail        string         `json:"from_email"`
	ReplyTo          string         `json:"reply_to"`
	TemplateID       *int64         `json:"template_id"`
	HTML             string         `json:"html"`
	Markdown         string         `json:"markdown"`
	Text             string         `json:"text"`
	LayoutID         *int64         `json:"layout_id"`
	ListIDs          []int64        `json:"list_ids"`
	SegmentID        *int64         `json:"segment_id"`
	ExcludeListIDs   []int64        `json:"exclude_list_ids"`
	ExcludeSegmentID *int64         `json:"exclude_segment_id"`
	RelayID          *int64         `json:"relay_id"`
	Status           string         `json:"status"`
	SendAt           *time.Time     `json:"send_at"`
	Recipients       int            `json:"recipients"`
	Skipped          map[string]int `json:"skipped"`
	CreatedAt        time.Time      `json:"created_at"`
	UpdatedAt        time.Time      `json:"updated_at"`
	StartedAt        *time.Time     `json:"started_at"`
	FinishedAt       *time.Time     `json:"finished_at"`
	// HeldReason says why a sending campaign waits (a relay's daily cap),
	// until HeldUntil; PausedReason why it paused itself.
	HeldReason   string     `json:"held_reason"`
	HeldUntil    *time.Time `json:"held_until"`
	PausedReason string     `json:"paused_reason"`
	Bounces      int        `json:"bounces"`
	Complaints   int        `json:"complaints"`
	// Tracking says what the campaign tracks, and the UTM parameters.
	Tracking store.Tracking `json:"tracking"`
	// AB makes it an A/B test; null when it is not one.
	AB *store.ABTest `json:"ab"`
	// LocalAt ("09:00") sends to each contact at that time in their
	// timezone attribute, or the organisation's; "" at once.
	LocalAt string `json:"local_at"`
	// Recurrence makes it a series that sends a copy of itself on a
	// schedule; RecurNextAt is when. RecurParent names the series a
	// campaign was sent from.
	Recurrence  *store.Recurrence `json:"recurrence"`
	RecurNextAt *time.Time        `json:"recur_next_at"`
	RecurParent *int64            `json:"recur_parent_id"`
}

func toCampaignJSON(c store.Campaign) campaignJSON {
	out := campaignJSON{ID: c.ID, Name: c.Name, Subject: c.Subject, Preheader: c.Preheader, FromName: c.FromName, FromEmail: c.FromEmail,
		ReplyTo: c.ReplyTo, TemplateID: optID(c.TemplateID), LayoutID: optID(c.LayoutID), ListIDs: c.ListIDs, SegmentID: optID(c.SegmentID),
		ExcludeListIDs: c.ExcludeListIDs, ExcludeSegmentID: optID(c.ExcludeSegmentID), RelayID: optID(c.RelayID), Status: c.Status, SendAt: optTime(c.SendAt),
		Recipients: c.Recipients, Skipped: c.Skipped, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
		StartedAt: optTime(c.StartedAt), FinishedAt: optTime(c.FinishedAt), HeldReason: c.HeldReason, HeldUntil: optTime(c.HeldUntil),
		PausedReason: c.PausedReason, Bounces: c.Bounces, Complaints: c.Complaints, Tracking: c.Tracking,
		AB: c.AB, LocalAt: c.LocalAt, Recurrence: c.Recurrence, RecurNextAt: optTime(c.RecurNextAt), RecurParent: optID(c.RecurParent)}
	switch c.Format {
	case mailer.FormatMarkdown:
		out.Markdown = c.Body
	case mailer.FormatText:
		out.Text = c.Body
	default:
		out.HTML, out.Text = c.Body, c.TextBody
	}
	return out
}

// campaignBody is a campaign request. The body goes in html, markdown or
// text, which sets its format, or comes from template_id. Ids may be null to
// clear them.
type campaignBody struct {
	Name             *string         `json:"name"`
	Subject          *string         `json:"subject"`
	Preheader        *string         `json:"preheader"`
	FromName         *string         `json:"from_name"`
	FromEmail        *string         `json:"from_email"`
	ReplyTo          *string         `json:"reply_to"`
	TemplateID       json.RawMessage `json:"template_id"`
	HTML             *string         `json:"html"`
	Markdown         *string         `json:"markdown"`
	Text             *string         `json:"text"`
	LayoutID         json.RawMessage `json:"layout_id"`
	ListIDs          *[]int64        `json:"list_ids"`
	SegmentID        json.RawMessage `json:"segment_id"`
	ExcludeListIDs   *[]int64        `json:"exclude_list_ids"`
	ExcludeSegmentID json.RawMessage `json:"exclude_segment_id"`
	RelayID          json.RawMessage `json:"relay_id"`
	// Tracking replaces the campaign's tracking settings as a whole.
	Tracking *store.Tracking `json:"tracking"`
	// AB replaces the A/B test as a whole; {} (no variants) makes it a
	// plain campaign again.
	AB      *store.ABTest `json:"ab"`
	LocalAt *string       `json:"local_at"`
	// Recurrence replaces the schedule; {} stops it recurring.
	Recurrence *store.Recurrence `json:"recurrence"`
}

// rawID reads an optional id: absent leaves it, null clears it.
func rawID(raw json.RawMessage, field string, errs map[string]string) *int64 {
	if len(raw) == 0 {
		return nil
	}
	var id int64
	if string(raw) != "null" {
		if err := json.Unmarshal(raw, &id); err != nil || id < 1 {
			errs[field] = field + " is an id, like 3, or null."
			return nil
		}
	}
	return &id
}

func (b campaignBody) input() (store.CampaignInput, error) {
	in := store.CampaignInput{Name: b.Name, Subject: b.Subject, Preheader: b.Preheader, FromName: b.FromName, FromEmail: b.FromEmail,
		ReplyTo: b.ReplyTo, ListIDs: b.ListIDs, ExcludeListIDs: b.ExcludeListIDs, Tracking: b.Tracking, AB: b.AB, LocalAt: b.LocalAt, Recurrence: b.Recurrence}
	errs := map[string]string{}
	in.TemplateID = rawID(b.TemplateID, "template_id", errs)
	in.LayoutID = rawID(b.LayoutID, "layout_id", errs)
	in.SegmentID = rawID(b.SegmentID, "segment_id", errs)
	in.ExcludeSegmentID = rawID(b.ExcludeSegmentID, "exclude_segment_id", errs)
	in.RelayID = rawID(b.RelayID, "relay_id", errs)
	format := func(f string) *string { return &f }
	switch {
	case b.HTML != nil && b.Markdown != nil:
		errs["markdown"] = "Send either html or markdown, not both."
	case b.Markdown != nil:
		in.Format, in.Body = format(mailer.FormatMarkdown), b.Markdown
	case b.HTML != nil:
		in.Format, in.Body, in.TextBody = format(mailer.FormatHTML), b.HTML, b.Text
	case b.Text != nil:
		in.Format, in.Body, in.TextBody = format(mailer.FormatText), b.Text, new(string)
	}
	if len(errs) > 0 {
		return in, &store.ValidationError{Fields: errs}
	}
	return in, nil
}

func (s *Server) apiCampaignList(c *echo.Context) error {
	q, err := readList(c, campaignList, s.location())
	if err != nil {
		return err
	}
	f := store.CampaignFilter{Status: c.QueryParam("status"), Q: q.Q, Order: q.Order}
	cs, total, err := s.store.CampaignsPage(c.Request().Context(), f, q.PerPage, q.offset())
	if err != nil {
		return err
	}
	out := []campaignJSON{}
	for _, x := range cs {
		out = append(out, toCampaignJSON(x))
	}
	return apiPage(c, q, out, total, func(x campaignJSON) int64 { return x.ID })
}

func (s *Server) apiCampaignCreate(c *echo.Context) error {
	var b campaignBody
	if err := bindJSON(c, &b); err != nil {
		return err
	}
	in, err := b.input()
	if err != nil {
		return err
	}
	x, err := s.store.CreateCampaign(c.Request().Context(), in)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", "/api/v1/campaigns/"+itoa(x.ID))
	return apiData(c, http.StatusCreated, toCampaignJSON(x))
}

// pathCampaign is the campaign the path's :id names.
func (s *Server) pathCampaign(c *echo.Context) (store.Campaign, error) {
	id, err := pathID(c)
	if err != nil {
		return store.Campaign{}, err
	}
	return s.store.Campaign(c.Request().Context(), id)
}

func (s *Server) apiCampaignGet(c *echo.Context) error {
	x, err := s.pathCampaign(c)
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, toCampaignJSON(x))
}

func (s *Server) apiCampaignUpdate(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var b campaignBody
	if err := bindJSON(c, &b); err != nil {
		return err
	}
	in, err := b.input()
	if err != nil {
		return err
	}
	x, err := s.out.UpdateCampaign(c.Request().Context(), id, in)
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, toCampaignJSON(x))
}

func (s *Server) apiCampaignSend(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if err := s.out.Send(c.Request().Context(), id); err != nil {
		return err
	}
	x, err := s.store.Campaign(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return apiData(c, http.StatusAccepted, toCampaignJSON(x))
}

func (s *Server) apiCampaignSchedule(c *echo.Context) error {
	ctx := c.Request().Context()
	x, err := s.pathCampaign(c)
	if err != nil {
		return err
	}
	var b scheduleBody
	if err := bindJSON(c, &b); err != nil {
		return err
	}
	if x, err = s.out.Schedule(ctx, x.ID, b.SendAt); err != nil {
		return err
	}
	return apiData(c, http.StatusOK, toCampaignJSON(x))
}

func (s *Server) apiCampaignDuplicate(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	x, err := s.store.DuplicateCampaign(c.Request().Context(), id)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", "/api/v1/campaigns/"+itoa(x.ID))
	return apiData(c, http.StatusCreated, toCampaignJSON(x))
}

// testSendJSON is what one address of a test send got.
type testSendJSON struct {
	Email     string `json:"email"`
	Delivered bool   `json:"delivered"`
	Reply     string `json:"reply,omitempty"`
	Error     string `json:"error,omitempty"`
}

// apiCampaignTest sends the campaign to up to 5 addresses as a test.
func (s *Server) apiCampaignTest(c *echo.Context) error {
	ctx := c.Request().Context()
	x, err := s.pathCampaign(c)
	if err != nil {
		return err
	}
	var b campaignTestBody
	if err := bindJSON(c, &b); err != nil {
		return err
	}
	res, err := s.out.TestCampaign(ctx, x, b.Emails, b.ContactID)
	if err != nil {
		return err
	}
	out := []testSendJSON{}
	for _, r := range res {
		out = append(out, testSendJSON{Email: r.Email, Delivered: r.Delivered, Reply: r.Reply, Error: r.Detail})
	}
	return apiData(c, http.StatusOK, testResultsJSON{out})
}

// apiCampaignChange pauses, resumes, cancels or unschedules a campaign.
func (s *Server) apiCampaignChange(action string) echo.HandlerFunc {
	return func(c *echo.Context) error {
		id, err := pathID(c)
		if err != nil {
			return err
		}
		x, err := s.out.Change(c.Request().Context(), id, action)
		if err != nil {
			return err
		}
		return apiData(c, http.StatusOK, toCampaignJSON(x))
	}
}

func (s *Server) apiCampaignResendFailed(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	n, err := s.out.ResendFailed(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, queuedJSON{n})
}

// campaignStats is a campaign's progress: its outbox by status, who was
// left out of it, by reason, and its results so far.
type campaignStats struct {
	Recipients   int `json:"recipients"`
	Queued       int `json:"queued"`
	Sending      int `json:"sending"`
	Sent         int `json:"sent"`
	Failed       int `json:"failed"`
	Retrying     int `json:"retrying"`
	Cancelled    int `json:"cancelled"`
	Suppressed   int `json:"suppressed"`
	Bounced      int `json:"bounced"`
	Complained   int `json:"complained"`
	Unsubscribed int `json:"unsubscribed"`
	Unconfirmed  int `json:"unconfirmed"`
	// Results, from the same counters as the report.
	Delivered    int         `json:"delivered"`
	Opened       engagedJSON `json:"opened"`
	Clicked      engagedJSON `json:"clicked"`
	Rates        store.Rates `json:"rates"`
	HardBounces  int         `json:"hard_bounces"`
	SoftBounces  int         `json:"soft_bounces"`
	Complaints   int         `json:"complaints"`
	Unsubscribes int         `json:"unsubscribes"`
}

func (s *Server) apiCampaignStats(c *echo.Context) error {
	ctx := c.Request().Context()
	x, err := s.pathCampaign(c)
	if err != nil {
		return err
	}
	id := x.ID
	n, err := s.store.SendCounts(ctx, id)
	if err != nil {
		return err
	}
	counts, err := s.store.CampaignCounts(ctx, id)
	if err != nil {
		return err
	}
	r := toCountsJSON(counts)
	return apiData(c, http.StatusOK, campaignStats{Recipients: x.Recipients, Queued: n[store.SendQueued], Sending: n[store.SendSending],
		Sent: n[store.SendSent], Failed: n[store.SendFailed], Retrying: n[store.SendRetrying], Cancelled: n[store.SendCancelled],
		Suppressed: x.Skipped[store.SkipSuppressed], Bounced: x.Skipped[store.SkipBounced], Complained: x.Skipped[store.SkipComplained],
		Unsubscribed: x.Skipped[store.SkipUnsubscribed], Unconfirmed: x.Skipped[store.SkipUnconfirmed],
		Delivered: r.Delivered, Opened: r.Opened, Clicked: r.Clicked, Rates: r.Rates, HardBounces: r.HardBounces, SoftBounces: r.SoftBounces,
		Complaints: r.Complaints, Unsubscribes: r.Unsubscribes})
}

// sendJSON is one recipient's row in a campaign's outbox.
type sendJSON struct {
	ID           int64      `json:"id"`
	ContactID    int64      `json:"contact_id"`
	Email        string     `json:"email"`
	Status       string     `json:"status"`
	Attempts     int        `json:"attempts"`
	NextAttempt  *time.Time `json:"next_attempt_at"`
	LastCode     int        `json:"last_code"`
	LastResponse string     `json:"last_response"`
	UpdatedAt    time.Time  `json:"updated_at"`
	SentAt       *time.Time `json:"sent_at"`
}

func (s *Server) apiCampaignRecipients(c *echo.Context) error {
	ctx := c.Request().Context()
	x, err := s.pathCampaign(c)
	if err != nil {
		return err
	}
	q, err := readList(c, recipientList, s.location())
	if err != nil {
		return err
	}
	status := c.QueryParam("status")
	if status != "" && !store.SendStatus(status) {
		return &store.ValidationError{Fields: map[string]string{"status": "status is one of queued, sending, sent, retrying, failed, cancelled."}}
	}
	sends, total, err := s.store.CampaignSends(ctx, x.ID, status, q.Order, q.limit(), q.offset())
	if err != nil {
		return err
	}
	out := []sendJSON{}
	for _, sd := range sends {
		out = append(out, toSendJSON(sd))
	}
	return apiPage(c, q, out, total, func(sd sendJSON) int64 { return sd.ID })
}

func toSendJSON(sd store.Send) sendJSON {
	j := sendJSON{ID: sd.ID, ContactID: sd.ContactID, Email: sd.Email, Status: sd.Status, Attempts: sd.Attempts, LastCode: sd.LastCode,
		LastResponse: sd.LastResponse, UpdatedAt: sd.UpdatedAt, SentAt: optTime(sd.SentAt)}
	if sd.Status == store.SendRetrying {
		j.NextAttempt = optTime(sd.NextAttempt)
	}
	return j
}

// scheduleBody schedules a campaign: a time in RFC 3339, or in the
// organisation's timezone without an offset.
type scheduleBody struct {
	SendAt string `json:"send_at"`
}

// campaignTestBody sends a test of a campaign to a few addresses, rendered
// for a contact.
type campaignTestBody struct {
	Emails    []string `json:"emails"`
	ContactID int64    `json:"contact_id"`
}

// testResultsJSON is how each test message went.
type testResultsJSON struct {
	Results []testSendJSON `json:"results"`
}

// queuedJSON is how many messages were queued again.
type queuedJSON struct {
	Queued int `json:"queued"`
}
