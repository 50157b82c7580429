package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/mail"
	"strings"
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
}

func optID(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func toCampaignJSON(c store.Campaign) campaignJSON {
	out := campaignJSON{ID: c.ID, Name: c.Name, Subject: c.Subject, Preheader: c.Preheader, FromName: c.FromName, FromEmail: c.FromEmail,
		ReplyTo: c.ReplyTo, TemplateID: optID(c.TemplateID), LayoutID: optID(c.LayoutID), ListIDs: c.ListIDs, SegmentID: optID(c.SegmentID),
		ExcludeListIDs: c.ExcludeListIDs, ExcludeSegmentID: optID(c.ExcludeSegmentID), RelayID: optID(c.RelayID), Status: c.Status, SendAt: optTime(c.SendAt),
		Recipients: c.Recipients, Skipped: c.Skipped, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
		StartedAt: optTime(c.StartedAt), FinishedAt: optTime(c.FinishedAt), HeldReason: c.HeldReason, HeldUntil: optTime(c.HeldUntil),
		PausedReason: c.PausedReason, Bounces: c.Bounces, Complaints: c.Complaints}
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
		ReplyTo: b.ReplyTo, ListIDs: b.ListIDs, ExcludeListIDs: b.ExcludeListIDs}
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
	m, err := page(c)
	if err != nil {
		return err
	}
	cs, total, err := s.store.CampaignsPage(c.Request().Context(), c.QueryParam("status"), m.PerPage, m.offset())
	if err != nil {
		return err
	}
	out := []campaignJSON{}
	m.Total = total
	for _, x := range cs {
		out = append(out, toCampaignJSON(x))
	}
	return apiList(c, out, m)
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
	x, err := s.store.UpdateCampaign(c.Request().Context(), id, in)
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, toCampaignJSON(x))
}

// campaignContent resolves what a campaign will send, checked: its body
// from a template or its own, in its layout, rendered once with sample data,
// with a sender, an audience, a relay and the public URL its links need.
// It returns the content compiled too, for callers that render it.
func (s *Server) campaignContent(ctx context.Context, x store.Campaign) (mailer.Content, *mailer.Compiled, error) {
	return s.checkCampaign(ctx, x, false)
}

// checkCampaign is campaignContent; a test send needs no audience.
func (s *Server) checkCampaign(ctx context.Context, x store.Campaign, test bool) (mailer.Content, *mailer.Compiled, error) {
	errs := map[string]string{}
	g := s.general()
	content := mailer.Content{Name: x.Name, FromName: x.FromName, FromEmail: x.FromEmail, ReplyTo: x.ReplyTo}
	if content.FromEmail == "" {
		content.FromName, content.FromEmail = g.FromName, g.FromEmail
	}
	if content.FromEmail == "" {
		errs["from_email"] = "Give a from address, here or as the default sender in Settings → General."
	}
	if g.BaseURL == "" {
		errs["status"] = "Set the public base URL in Settings → General first: every message links back to it to unsubscribe."
	}
	if len(x.ListIDs) == 0 && x.SegmentID == 0 && !test {
		errs["list_ids"] = "Choose at least one list or a segment to send to."
	}
	if _, err := s.pickRelay(ctx, x.RelayID); err != nil {
		errs["relay_id"] = "No relay to send through: " + err.Error()
	}
	src, err := s.campaignSource(ctx, x)
	if err != nil {
		return content, nil, err
	}
	if strings.TrimSpace(src.Subject) == "" {
		errs["subject"] = "Give the campaign a subject."
	}
	if strings.TrimSpace(src.Body) == "" {
		errs["body"] = "Write the email, or choose a template."
	}
	var compiled *mailer.Compiled
	if len(errs) == 0 {
		if compiled, err = mailer.Compile(src); err != nil {
			errs["body"] = err.Error()
		}
	}
	if len(errs) > 0 {
		return content, nil, &store.ValidationError{Fields: errs}
	}
	content.Source = src
	// The mailto of List-Unsubscribe, for mail programs that do not take
	// the one-click link: replies reach the sender, who can act on them.
	content.UnsubscribeMailto = content.FromEmail
	if content.ReplyTo != "" {
		content.UnsubscribeMailto = content.ReplyTo
	}
	if len(x.ListIDs) > 0 {
		if l, err := s.store.List(ctx, x.ListIDs[0]); err == nil {
			content.ListName, content.ListID = l.Name, fmt.Sprintf("list-%d.%s", l.ID, helloName(g.BaseURL))
		}
	}
	return content, compiled, nil
}

// campaignSource is the message a campaign sends, before any recipient: its
// own body or its template's, with its preheader, in its layout.
func (s *Server) campaignSource(ctx context.Context, x store.Campaign) (mailer.Source, error) {
	src := mailer.Source{Subject: x.Subject, Format: x.Format, Body: x.Body, Text: x.TextBody, Layout: mailer.DefaultLayout}
	if x.TemplateID != 0 {
		t, err := s.store.Template(ctx, x.TemplateID)
		if err != nil {
			return src, err
		}
		if src, err = s.templateSource(ctx, t); err != nil {
			return src, err
		}
		if x.Subject != "" {
			src.Subject = x.Subject
		}
	}
	src.Preheader = x.Preheader
	if x.LayoutID != 0 {
		l, err := s.store.Template(ctx, x.LayoutID)
		if err != nil {
			return src, err
		}
		src.Layout = l.Body
	}
	return src, nil
}

// StartCampaign checks what a campaign will send, freezes it and sets the
// campaign sending. The dispatcher calls it for scheduled campaigns.
func (s *Server) StartCampaign(ctx context.Context, id int64) error {
	x, err := s.store.Campaign(ctx, id)
	if err != nil {
		return err
	}
	if !x.Editable() {
		return &store.ValidationError{Fields: map[string]string{"status": "The campaign is " + x.Status + "; only a draft or scheduled campaign can be sent."}}
	}
	content, compiled, err := s.campaignContent(ctx, x)
	if err != nil {
		return err
	}
	frozen, err := json.Marshal(content)
	if err != nil {
		return err
	}
	if _, err = s.store.StartCampaign(ctx, id, string(frozen)); err != nil {
		return err
	}
	s.archiveCampaign(ctx, x, content.Name, compiled)
	return nil
}

// archiveCampaign adds a started campaign to the archive of each public
// list it goes to, rendered for nobody in particular: no name, and links
// that lead to the archive rather than to anyone's preferences.
func (s *Server) archiveCampaign(ctx context.Context, x store.Campaign, name string, compiled *mailer.Compiled) {
	base := strings.TrimRight(s.general().BaseURL, "/")
	for _, listID := range x.ListIDs {
		l, err := s.store.List(ctx, listID)
		if err != nil || l.Visibility != store.VisibilityPublic {
			continue
		}
		archive := base + "/archive/" + itoa(l.ID)
		r, err := compiled.Render(mailer.Data{Campaign: mailer.CampaignData{Name: name}, Org: s.Org(),
			Links: mailer.Links{Unsubscribe: archive, Preferences: archive, WebView: archive}})
		if err != nil {
			s.log.Warn("campaign not archived: it does not render without a recipient", "campaign", x.ID, "err", err)
			continue
		}
		if _, err := s.store.AddArchiveEntry(ctx, store.ArchiveEntry{ListID: l.ID, Title: r.Subject, HTML: r.HTML, Text: r.Text}); err != nil {
			s.log.Error("archiving a campaign", "campaign", x.ID, "list", l.ID, "err", err)
		}
	}
}

func (s *Server) apiCampaignSend(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if err := s.StartCampaign(c.Request().Context(), id); err != nil {
		return err
	}
	s.kick(id)
	x, err := s.store.Campaign(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return apiData(c, http.StatusAccepted, toCampaignJSON(x))
}

// parseSendAt reads a time to send: RFC 3339 with its offset, or a local
// "2026-05-01T09:00" in the organisation's timezone.
func (s *Server) parseSendAt(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	loc := s.location()
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, &store.ValidationError{Fields: map[string]string{"send_at": "Give a time like 2026-05-01T09:00 (in your timezone, " + loc.String() + ") or 2026-05-01T09:00:00+02:00."}}
}

func (s *Server) apiCampaignSchedule(c *echo.Context) error {
	ctx := c.Request().Context()
	x, err := s.pathCampaign(c)
	if err != nil {
		return err
	}
	var b struct {
		SendAt string `json:"send_at"`
	}
	if err := bindJSON(c, &b); err != nil {
		return err
	}
	at, err := s.parseSendAt(b.SendAt)
	if err != nil {
		return err
	}
	// Check now what would stop it at its time, rather than fail then.
	if _, _, err := s.campaignContent(ctx, x); err != nil {
		return err
	}
	if x, err = s.store.ScheduleCampaign(ctx, x.ID, at); err != nil {
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

// testResult is what one address of a test send got.
type testResult struct {
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
	var b struct {
		Emails    []string `json:"emails"`
		ContactID int64    `json:"contact_id"`
	}
	if err := bindJSON(c, &b); err != nil {
		return err
	}
	out, err := s.campaignTest(ctx, x, b.Emails, b.ContactID)
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, map[string]any{"results": out})
}

// campaignTest sends the campaign as it would go out, rendered for a chosen
// contact or sample data, to each address: subject marked [TEST], sample
// links that unsubscribe nobody, nothing recorded.
func (s *Server) campaignTest(ctx context.Context, x store.Campaign, emails []string, contactID int64) ([]testResult, error) {
	if len(emails) == 0 || len(emails) > maxTestRecipients {
		return nil, &store.ValidationError{Fields: map[string]string{"emails": fmt.Sprintf("Give 1 to %d addresses.", maxTestRecipients)}}
	}
	for _, e := range emails {
		if msg := store.CheckEmail(e); msg != "" {
			return nil, &store.ValidationError{Fields: map[string]string{"emails": e + ": " + msg}}
		}
	}
	content, compiled, err := s.checkCampaign(ctx, x, true)
	if err != nil {
		return nil, err
	}
	base := strings.TrimRight(s.general().BaseURL, "/")
	d, err := s.renderData(ctx, base, contactID, nil, x.ID)
	if err != nil {
		return nil, &store.ValidationError{Fields: map[string]string{"contact_id": fmt.Sprintf("There is no contact %d.", contactID)}}
	}
	d.Links, d.Campaign = sampleLinks(base), mailer.CampaignData{Name: x.Name}
	r, err := compiled.Render(d)
	if err != nil {
		return nil, &store.ValidationError{Fields: map[string]string{"body": "It does not render for this contact: " + mailer.RenderError(err)}}
	}
	relay, err := s.pickRelay(ctx, x.RelayID)
	if err != nil {
		return nil, &store.ValidationError{Fields: map[string]string{"relay_id": err.Error()}}
	}
	out := []testResult{}
	for _, addr := range emails {
		m := mailer.Message{From: mail.Address{Name: content.FromName, Address: content.FromEmail}, To: mail.Address{Address: addr},
			Subject: "[TEST] " + r.Subject, Text: r.Text, HTML: r.HTML, ListName: content.ListName, ListID: content.ListID,
			UnsubscribeURL: d.Links.Unsubscribe}
		if content.ReplyTo != "" {
			m.ReplyTo = &mail.Address{Address: content.ReplyTo}
		}
		tctx, cancel := context.WithTimeout(ctx, testTimeout)
		res, err := s.sendOne(tctx, relay, content.FromEmail, addr, m.Bytes())
		cancel()
		line := testResult{Email: addr, Delivered: err == nil, Reply: res.Reply}
		if err != nil {
			line.Error = failureDetail(err)
		}
		out = append(out, line)
	}
	return out, nil
}

// kick asks the dispatcher to start on a campaign now.
func (s *Server) kick(id int64) {
	if s.dispatch != nil {
		s.dispatch(id)
	}
}

// apiCampaignStatus moves a campaign between statuses: pause, resume, cancel.
func (s *Server) apiCampaignStatus(to string, from ...string) echo.HandlerFunc {
	return func(c *echo.Context) error {
		id, err := pathID(c)
		if err != nil {
			return err
		}
		x, err := s.store.SetCampaignStatus(c.Request().Context(), id, to, from...)
		if err != nil {
			return err
		}
		if to == store.CampaignSending {
			s.kick(id)
		}
		return apiData(c, http.StatusOK, toCampaignJSON(x))
	}
}

func (s *Server) apiCampaignResendFailed(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	n, err := s.store.ResendFailed(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if n > 0 {
		s.kick(id)
	}
	return apiData(c, http.StatusOK, map[string]int{"queued": n})
}

// campaignStats is a campaign's progress: its outbox by status, and who
// was left out of it, by reason.
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
	return apiData(c, http.StatusOK, campaignStats{Recipients: x.Recipients, Queued: n[store.SendQueued], Sending: n[store.SendSending],
		Sent: n[store.SendSent], Failed: n[store.SendFailed], Retrying: n[store.SendRetrying], Cancelled: n[store.SendCancelled],
		Suppressed: x.Skipped[store.SkipSuppressed], Bounced: x.Skipped[store.SkipBounced], Complained: x.Skipped[store.SkipComplained],
		Unsubscribed: x.Skipped[store.SkipUnsubscribed], Unconfirmed: x.Skipped[store.SkipUnconfirmed]})
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
	m, err := page(c)
	if err != nil {
		return err
	}
	status := c.QueryParam("status")
	if status != "" && !store.SendStatus(status) {
		return &store.ValidationError{Fields: map[string]string{"status": "status is one of queued, sending, sent, retrying, failed, cancelled."}}
	}
	sends, total, err := s.store.CampaignSends(ctx, x.ID, status, m.PerPage, (m.Page-1)*m.PerPage)
	if err != nil {
		return err
	}
	m.Total = total
	out := []sendJSON{}
	for _, sd := range sends {
		out = append(out, toSendJSON(sd))
	}
	return apiList(c, out, m)
}

// contactSendJSON is one campaign message to a contact.
type contactSendJSON struct {
	sendJSON
	CampaignID   int64  `json:"campaign_id"`
	CampaignName string `json:"campaign_name"`
}

func toSendJSON(sd store.Send) sendJSON {
	j := sendJSON{ID: sd.ID, ContactID: sd.ContactID, Email: sd.Email, Status: sd.Status, Attempts: sd.Attempts, LastCode: sd.LastCode,
		LastResponse: sd.LastResponse, UpdatedAt: sd.UpdatedAt, SentAt: optTime(sd.SentAt)}
	if sd.Status == store.SendRetrying {
		j.NextAttempt = optTime(sd.NextAttempt)
	}
	return j
}

func (s *Server) apiContactSends(c *echo.Context) error {
	ctx := c.Request().Context()
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if _, err := s.store.Contact(ctx, id); err != nil {
		return err
	}
	sends, err := s.store.ContactSends(ctx, id, 500)
	if err != nil {
		return err
	}
	out := []contactSendJSON{}
	for _, sd := range sends {
		out = append(out, contactSendJSON{sendJSON: toSendJSON(sd.Send), CampaignID: sd.CampaignID, CampaignName: sd.CampaignName})
	}
	return apiData(c, http.StatusOK, out)
}
