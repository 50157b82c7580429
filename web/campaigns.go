package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"herald/mailer"
	"herald/store"
	"herald/templates"
)

func (s *Server) campaignList(c *echo.Context) error {
	return s.campaignsPage(c, http.StatusOK, templates.CampaignsProps{})
}

// campaignsPerPage is the length of a page of the campaigns list.
const campaignsPerPage = 50

func (s *Server) campaignsPage(c *echo.Context, status int, p templates.CampaignsProps) error {
	var err error
	if p.Page, err = pageNumber(c); err != nil {
		return err
	}
	p.Status = c.QueryParam("status")
	cs, total, err := s.store.CampaignsPage(c.Request().Context(), store.CampaignFilter{Status: p.Status, Order: store.Newest}, campaignsPerPage, (p.Page-1)*campaignsPerPage)
	if err != nil {
		return err
	}
	p.Total, p.Pages = total, pageCount(total, campaignsPerPage)
	p.Shell = s.shell(c, "campaigns", "Campaigns")
	for _, x := range cs {
		p.Campaigns = append(p.Campaigns, templates.CampaignRow{ID: x.ID, Name: x.Name, Subject: x.Subject, Status: x.Status,
			Recipients: x.Recipients, SendAt: x.SendAt, StartedAt: x.StartedAt, UpdatedAt: x.UpdatedAt, RepeatsAt: x.RecurNextAt})
	}
	return s.render(c, status, templates.CampaignsPage(p))
}

// campaignCreate starts a draft with a body that previews at once.
func (s *Server) campaignCreate(c *echo.Context) error {
	name := c.FormValue("name")
	_, body := starterBody(store.KindCampaign, mailer.FormatMarkdown)
	format := mailer.FormatMarkdown
	x, err := s.store.CreateCampaign(c.Request().Context(), store.CampaignInput{Name: &name, Format: &format, Body: &body})
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		return s.campaignsPage(c, http.StatusUnprocessableEntity, templates.CampaignsProps{Name: name, Errors: ve.Fields})
	}
	if err != nil {
		return err
	}
	return redirect(c, "/campaigns/"+itoa(x.ID))
}

func campaignFormOf(x store.Campaign, loc *time.Location) templates.CampaignForm {
	f := templates.CampaignForm{Name: x.Name, Subject: x.Subject, Preheader: x.Preheader, FromName: x.FromName, FromEmail: x.FromEmail,
		ReplyTo: x.ReplyTo, TemplateID: idString(x.TemplateID), Format: x.Format, Body: x.Body, TextBody: x.TextBody,
		LayoutID: idString(x.LayoutID), ListIDs: idStrings(x.ListIDs), SegmentID: idString(x.SegmentID),
		ExcludeListIDs: idStrings(x.ExcludeListIDs), ExcludeSegmentID: idString(x.ExcludeSegmentID), RelayID: idString(x.RelayID),
		TrackOpens: x.Tracking.Opens, TrackClicks: x.Tracking.Clicks,
		UTMSource: x.Tracking.UTMSource, UTMMedium: x.Tracking.UTMMedium, UTMCampaign: x.Tracking.UTMCampaign}
	if !x.SendAt.IsZero() {
		f.SendAt = x.SendAt.In(loc).Format("2006-01-02T15:04")
	}
	f.LocalAt, f.ABPercent, f.ABMetric, f.ABWait = x.LocalAt, "20", store.MetricOpen, "240"
	if x.AB != nil {
		f.ABOn, f.ABPercent, f.ABMetric, f.ABWait = true, strconv.Itoa(x.AB.TestPercent), x.AB.Metric, strconv.Itoa(x.AB.WaitMinutes)
		for i, v := range x.AB.Variants[1:] {
			if i < len(f.ABVariants) {
				f.ABVariants[i] = templates.ABVariantForm{Subject: v.Subject, Preheader: v.Preheader, FromName: v.FromName, TemplateID: idString(v.TemplateID),
					Kept: v.Body != "" && v.TemplateID == 0}
			}
		}
	}
	if r := x.Recurrence; r != nil {
		f.RecurEvery, f.RecurAt, f.RecurWeekday, f.RecurCron, f.RecurFeed = r.Every, r.At, strconv.Itoa(r.Weekday), r.Cron, r.OnlyIfNew
		if r.Day != 0 {
			f.RecurDay = strconv.Itoa(r.Day)
		}
	}
	return f
}

// keepHiddenVariantFields keeps what the editor does not show of a test's
// variants (set through the API): variant A's own changes, and each
// variant's body, matched by the form slot it was shown in.
func keepHiddenVariantFields(ab, old *store.ABTest, slots []int) {
	if ab == nil || old == nil || len(ab.Variants) == 0 || len(old.Variants) == 0 {
		return
	}
	ab.Variants[0] = old.Variants[0]
	for k, slot := range slots {
		if from := slot + 1; k+1 < len(ab.Variants) && from < len(old.Variants) && ab.Variants[k+1].TemplateID == 0 {
			ab.Variants[k+1].Body = old.Variants[from].Body
		}
	}
}

// readCampaignExtras reads the editor's local time, A/B test and
// schedule into f and in.
func readCampaignExtras(values url.Values, f *templates.CampaignForm, in *store.CampaignInput, errs templates.FieldErrors) {
	f.LocalAt = values.Get("local_at")
	in.LocalAt = &f.LocalAt
	f.ABOn, f.ABPercent, f.ABMetric, f.ABWait = values.Get("ab_on") == "1", values.Get("ab_percent"), values.Get("ab_metric"), values.Get("ab_wait")
	ab := &store.ABTest{}
	if f.ABOn {
		ab.TestPercent = formInt(errs, "ab.test_percent", f.ABPercent, false, "Give the test share as a whole percentage.")
		ab.WaitMinutes = formInt(errs, "ab.wait_minutes", f.ABWait, true, "Give the wait in whole minutes.")
		ab.Metric = f.ABMetric
		ab.Variants = []store.ABVariant{{}}
		for i := range f.ABVariants {
			n := strconv.Itoa(i + 1)
			v := templates.ABVariantForm{Subject: values.Get("ab_subject_" + n), Preheader: values.Get("ab_preheader_" + n),
				FromName: values.Get("ab_from_name_" + n), TemplateID: values.Get("ab_template_" + n), Kept: values.Get("ab_keep_"+n) == "1"}
			f.ABVariants[i] = v
			if v == (templates.ABVariantForm{}) {
				continue
			}
			tid, _ := strconv.ParseInt(v.TemplateID, 10, 64)
			f.ABSlots = append(f.ABSlots, i)
			ab.Variants = append(ab.Variants, store.ABVariant{Subject: v.Subject, Preheader: v.Preheader, FromName: v.FromName, TemplateID: tid})
		}
		if len(ab.Variants) < 2 {
			errs["ab.variants"] = "Fill in at least variant B: what it changes from the campaign as written (A)."
		}
	}
	in.AB = ab
	f.RecurEvery, f.RecurAt, f.RecurWeekday, f.RecurDay = values.Get("recur_every"), values.Get("recur_at"), values.Get("recur_weekday"), values.Get("recur_day")
	f.RecurCron, f.RecurFeed = strings.TrimSpace(values.Get("recur_cron")), strings.TrimSpace(values.Get("recur_feed"))
	r := &store.Recurrence{Every: f.RecurEvery}
	if r.Every != "" {
		r.At, r.Cron, r.OnlyIfNew = f.RecurAt, f.RecurCron, f.RecurFeed
		switch r.Every {
		case store.RecurWeekly:
			r.Weekday = formInt(errs, "recurrence.weekday", f.RecurWeekday, true, "Choose the day.")
		case store.RecurMonthly:
			r.Day = formInt(errs, "recurrence.day", f.RecurDay, false, "Give the day of the month, 1 to 28.")
		}
	}
	in.Recurrence = r
}

// readCampaignForm reads the editor. The body fields are there only while
// the campaign is written here; without them the stored body stays. The
// error is a *store.ValidationError for fields it cannot take, or why the
// form could not be read.
func readCampaignForm(c *echo.Context) (templates.CampaignForm, store.CampaignInput, error) {
	values, err := formValues(c)
	if err != nil {
		return templates.CampaignForm{}, store.CampaignInput{}, err
	}
	f := templates.CampaignForm{Name: values.Get("name"), Subject: values.Get("subject"), Preheader: values.Get("preheader"),
		FromName: values.Get("from_name"), FromEmail: values.Get("from_email"), ReplyTo: values.Get("reply_to"),
		TemplateID: values.Get("template_id"), Format: values.Get("format"), Body: values.Get("body"), TextBody: values.Get("text_body"),
		LayoutID: values.Get("layout_id"), ListIDs: values["list_ids"], SegmentID: values.Get("segment_id"),
		ExcludeListIDs: values["exclude_list_ids"], ExcludeSegmentID: values.Get("exclude_segment_id"), RelayID: values.Get("relay_id"),
		SendAt: values.Get("send_at")}
	errs := templates.FieldErrors{}
	id := func(field, v string) *int64 {
		n, err := strconv.ParseInt(v, 10, 64)
		if v != "" && (err != nil || n < 1) {
			errs[field] = "Choose from the menu."
		}
		return &n
	}
	ids := func(field string, vs []string) *[]int64 {
		out := []int64{}
		for _, v := range vs {
			out = append(out, *id(field, v))
		}
		return &out
	}
	in := store.CampaignInput{Name: &f.Name, Subject: &f.Subject, Preheader: &f.Preheader, FromName: &f.FromName, FromEmail: &f.FromEmail,
		ReplyTo: &f.ReplyTo, TemplateID: id("template_id", f.TemplateID), LayoutID: id("layout_id", f.LayoutID),
		ListIDs: ids("list_ids", f.ListIDs), SegmentID: id("segment_id", f.SegmentID), ExcludeListIDs: ids("exclude_list_ids", f.ExcludeListIDs),
		ExcludeSegmentID: id("exclude_segment_id", f.ExcludeSegmentID), RelayID: id("relay_id", f.RelayID)}
	if values.Has("body") {
		in.Format, in.Body, in.TextBody = &f.Format, &f.Body, &f.TextBody
	}
	if values.Has("extras") {
		readCampaignExtras(values, &f, &in, errs)
	}
	if values.Has("tracking") {
		f.TrackOpens, f.TrackClicks = values.Get("track_opens") == "1", values.Get("track_clicks") == "1"
		f.UTMSource, f.UTMMedium, f.UTMCampaign = values.Get("utm_source"), values.Get("utm_medium"), values.Get("utm_campaign")
		in.Tracking = &store.Tracking{Opens: f.TrackOpens, Clicks: f.TrackClicks, UTMSource: f.UTMSource, UTMMedium: f.UTMMedium, UTMCampaign: f.UTMCampaign}
	}
	if len(errs) > 0 {
		return f, in, &store.ValidationError{Fields: errs}
	}
	return f, in, nil
}

// campaignProps loads a campaign's page: what the editor offers, or the
// progress and details of a started campaign.
func (s *Server) campaignProps(c *echo.Context, x store.Campaign) (templates.CampaignProps, error) {
	ctx := c.Request().Context()
	loc := s.location()
	g := s.general()
	p := templates.CampaignProps{Shell: s.shell(c, "campaigns", x.Name), ID: x.ID, Status: x.Status, Editable: x.Editable(),
		Form: campaignFormOf(x, loc), Timezone: loc.String(), DefaultFrom: "Settings → General's sender"}
	if g.FromEmail != "" {
		p.DefaultFrom = g.FromEmail
	}
	if !x.SendAt.IsZero() {
		p.SendAtLocal = x.SendAt.In(loc).Format("Mon 2 Jan 2006 at 15:04")
	}
	if x.Status == store.CampaignDraft || x.Recurrence != nil {
		p.Missed = x.PausedReason
	}
	p.Recurring = x.Recurrence != nil
	if p.Recurring && !x.RecurNextAt.IsZero() && x.Status == store.CampaignScheduled {
		p.Series = x.RecurNextAt.In(loc).Format("Mon 2 Jan 2006 at 15:04")
	}
	if !p.Editable {
		var err error
		if p.Progress, err = s.progressOf(ctx, x, 0, time.Time{}); err != nil {
			return p, err
		}
		p.Details, p.Preview = s.campaignDetails(ctx, x)
		if p.AB, err = s.abView(ctx, x.ID); err != nil {
			return p, err
		}
		return p, nil
	}
	if u, ok := currentUser(c); ok {
		p.TestTo = u.Email
	}
	var err error
	if p.Lists, p.Segments, _, err = s.audienceOptions(c); err != nil {
		return p, err
	}
	ts, err := s.store.Templates(ctx, "")
	if err != nil {
		return p, err
	}
	for _, t := range ts {
		switch t.Kind {
		case store.KindCampaign:
			p.Templates = append(p.Templates, templates.Option{Value: itoa(t.ID), Label: t.Name})
		case store.KindLayout:
			p.Layouts = append(p.Layouts, templates.Option{Value: itoa(t.ID), Label: t.Name})
		}
	}
	if p.Relays, p.Contacts, err = s.testOptions(ctx); err != nil {
		return p, err
	}
	p.Preview = s.campaignPreview(ctx, x)
	return p, nil
}

// campaignPreview renders a draft as it stands, for sample data.
func (s *Server) campaignPreview(ctx context.Context, x store.Campaign) templates.PreviewProps {
	src, err := s.out.CampaignSource(ctx, x)
	if err != nil {
		return templates.PreviewProps{Errors: []string{validationText(err)}}
	}
	return s.previewSource(ctx, src, x.Name)
}

// previewSource renders a message for sample data into the preview frame.
func (s *Server) previewSource(ctx context.Context, src mailer.Source, name string) templates.PreviewProps {
	if strings.TrimSpace(src.Body) == "" {
		return templates.PreviewProps{Errors: []string{"Write the email, or choose a template."}}
	}
	r, err := s.out.RenderSource(ctx, src, name)
	if err != nil {
		return templates.PreviewProps{Errors: []string{err.Error()}}
	}
	return s.previewRendered(r.Subject, r.HTML, r.Text)
}

// campaignDetails lists what a started campaign sent, from its frozen
// content, and previews that content.
func (s *Server) campaignDetails(ctx context.Context, x store.Campaign) ([]templates.Option, templates.PreviewProps) {
	content, err := s.out.SentContent(ctx, x.ID)
	if err != nil {
		return nil, templates.PreviewProps{Errors: []string{"The campaign's frozen content cannot be read: " + err.Error()}}
	}
	var audience []string
	for _, id := range x.ListIDs {
		if l, err := s.store.ListHead(ctx, id); err == nil {
			audience = append(audience, "list "+l.Name)
		}
	}
	if x.SegmentID != 0 {
		if sg, err := s.store.Segment(ctx, x.SegmentID); err == nil {
			audience = append(audience, "segment "+sg.Name)
		}
	}
	from := content.FromEmail
	if content.FromName != "" {
		from = content.FromName + " <" + content.FromEmail + ">"
	}
	d := []templates.Option{{Label: "Subject", Value: content.Source.Subject}, {Label: "From", Value: from}, {Label: "Audience", Value: strings.Join(audience, ", ")}}
	if content.ReplyTo != "" {
		d = append(d, templates.Option{Label: "Reply-To", Value: content.ReplyTo})
	}
	if !x.StartedAt.IsZero() {
		d = append(d, templates.Option{Label: "Started", Value: x.StartedAt.In(s.location()).Format("2 Jan 2006 15:04 MST")})
	}
	if !x.FinishedAt.IsZero() {
		d = append(d, templates.Option{Label: "Finished", Value: x.FinishedAt.In(s.location()).Format("2 Jan 2006 15:04 MST")})
	}
	return d, s.previewSource(ctx, content.Source, content.Name)
}

func (s *Server) campaignShow(c *echo.Context) error {
	x, err := s.pathCampaign(c)
	if err != nil {
		return err
	}
	p, err := s.campaignProps(c, x)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, templates.CampaignPage(p))
}

// campaignSave stores the editor's state; then, for send and schedule, it
// does what the button said. What stops it comes back in the editor, with
// the form as it was typed.
func (s *Server) campaignSave(action string) echo.HandlerFunc {
	return func(c *echo.Context) error {
		ctx := c.Request().Context()
		old, err := s.pathCampaign(c)
		if err != nil {
			return err
		}
		if !old.Editable() {
			s.flash(c, "error", "The campaign has started; it can no longer be edited.")
			return redirect(c, "/campaigns/"+itoa(old.ID))
		}
		f, in, err := readCampaignForm(c)
		if err != nil {
			return s.campaignEditorFailed(c, old, f, err)
		}
		keepHiddenVariantFields(in.AB, old.AB, f.ABSlots)
		x, err := s.out.UpdateCampaign(ctx, old.ID, in)
		switch {
		case err != nil:
		case action == "send":
			err = s.out.Send(ctx, x.ID)
		case action == "schedule":
			_, err = s.out.Schedule(ctx, x.ID, f.SendAt)
		case action == "series":
			_, err = s.out.StartSeries(ctx, x.ID)
		}
		if err != nil {
			return s.campaignEditorFailed(c, old, f, err)
		}
		switch action {
		case "send":
			s.flash(c, "success", "Sending has started.")
		case "schedule":
			s.flash(c, "success", "Scheduled.")
		case "series":
			s.flash(c, "success", "The schedule has started: a copy goes out at each time.")
		default:
			s.flash(c, "success", "Saved.")
		}
		return redirect(c, "/campaigns/"+itoa(x.ID))
	}
}

func (s *Server) campaignEditorFailed(c *echo.Context, old store.Campaign, f templates.CampaignForm, err error) error {
	var ve *store.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	x, lerr := s.store.Campaign(c.Request().Context(), old.ID)
	if lerr != nil {
		return lerr
	}
	p, perr := s.campaignProps(c, x)
	if perr != nil {
		return perr
	}
	if !p.Editable {
		s.flash(c, "error", validationText(err))
		return redirect(c, "/campaigns/"+itoa(x.ID))
	}
	p.Form, p.Errors = f, ve.Fields
	if f.TemplateID == "" && f.Format == "" {
		p.Form.Format, p.Form.Body, p.Form.TextBody = x.Format, x.Body, x.TextBody
	}
	return s.render(c, http.StatusUnprocessableEntity, templates.CampaignPage(p))
}
