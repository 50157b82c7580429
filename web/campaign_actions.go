package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"herald/store"
	"herald/templates"
)

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
		x, err := s.store.UpdateCampaign(ctx, old.ID, in)
		switch {
		case err != nil:
		case action == "send":
			err = s.out.Send(ctx, x.ID)
		case action == "schedule":
			_, err = s.out.Schedule(ctx, x.ID, f.SendAt)
		}
		if err != nil {
			return s.campaignEditorFailed(c, old, f, err)
		}
		switch action {
		case "send":
			s.flash(c, "success", "Sending has started.")
		case "schedule":
			s.flash(c, "success", "Scheduled.")
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

// campaignActions are the changes of status a campaign's page and the API
// offer, each on a route of its own; store.ChangeCampaign says which
// statuses allow each.
var campaignActions = []string{store.ActionPause, store.ActionResume, store.ActionCancel, store.ActionUnschedule}

// campaignActionDone is what the page says after each action.
func campaignActionDone(action string) string {
	switch action {
	case store.ActionPause:
		return "Paused. Messages already on their way finish; nothing more goes until you resume."
	case store.ActionResume:
		return "Resumed."
	case store.ActionCancel:
		return "Cancelled. Nobody left in the queue will get it."
	}
	return "Unscheduled: it is a draft again."
}

// campaignChange pauses, resumes, cancels or unschedules a campaign from
// its page.
func (s *Server) campaignChange(action string) echo.HandlerFunc {
	return func(c *echo.Context) error {
		id, err := pathID(c)
		if err != nil {
			return err
		}
		if _, err := s.out.Change(c.Request().Context(), id, action); err != nil {
			return s.campaignFlashError(c, id, err)
		}
		s.flash(c, "success", campaignActionDone(action))
		return redirect(c, "/campaigns/"+itoa(id))
	}
}

// campaignFlashError shows why an action on a campaign was refused.
func (s *Server) campaignFlashError(c *echo.Context, id int64, err error) error {
	var ve *store.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	s.flash(c, "error", validationText(err))
	return redirect(c, "/campaigns/"+itoa(id))
}

func (s *Server) campaignDuplicate(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	x, err := s.store.DuplicateCampaign(c.Request().Context(), id)
	if err != nil {
		return s.campaignFlashError(c, id, err)
	}
	s.flash(c, "success", "This is a copy; edit it and send it when ready.")
	return redirect(c, "/campaigns/"+itoa(x.ID))
}

func (s *Server) campaignDelete(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if err := s.store.DeleteCampaign(c.Request().Context(), id); err != nil {
		return s.campaignFlashError(c, id, err)
	}
	s.flash(c, "success", "Draft deleted.")
	return redirect(c, "/campaigns")
}

func (s *Server) campaignResendFailed(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	n, err := s.out.ResendFailed(c.Request().Context(), id)
	if err != nil {
		return s.campaignFlashError(c, id, err)
	}
	s.flash(c, "success", fmt.Sprintf("%d failed recipients queued again.", n))
	return redirect(c, "/campaigns/"+itoa(id))
}

// campaignTestSend sends the saved campaign to a few addresses as a test.
func (s *Server) campaignTestSend(c *echo.Context) error {
	x, err := s.pathCampaign(c)
	if err != nil {
		return err
	}
	contactID, _ := strconv.ParseInt(c.FormValue("contact_id"), 10, 64)
	res, err := s.out.TestCampaign(c.Request().Context(), x, splitList(c.FormValue("to")), contactID)
	view := testResultView(res)
	if err != nil {
		var ve *store.ValidationError
		if !errors.As(err, &ve) {
			return err
		}
		view.Error = validationText(err)
	}
	if c.Request().Header.Get("HX-Request") == "true" {
		return s.render(c, http.StatusOK, templates.TestResult(view))
	}
	kind, msg := "success", "Test sent."
	if view.Error != "" {
		kind, msg = "error", view.Error
	}
	for _, l := range view.Lines {
		if !l.OK {
			kind, msg = "error", l.To+": not sent, "+l.Reply
		}
	}
	s.flash(c, kind, msg)
	return redirect(c, "/campaigns/"+itoa(x.ID))
}

// campaignProgressShow is the progress card alone, for its poll. The poll
// carries how many were done at its last look, and when, for the rate.
func (s *Server) campaignProgressShow(c *echo.Context) error {
	x, err := s.pathCampaign(c)
	if err != nil {
		return err
	}
	done, _ := strconv.Atoi(c.QueryParam("done"))
	var at time.Time
	if ms, err := strconv.ParseInt(c.QueryParam("at"), 10, 64); err == nil {
		at = time.UnixMilli(ms)
	}
	p, err := s.progressOf(c.Request().Context(), x, done, at)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, templates.CampaignProgressCard(p))
}

// progressOf counts a campaign's outbox and works out its pace: since the
// last look when there was one, else since it started.
func (s *Server) progressOf(ctx context.Context, x store.Campaign, prevDone int, prevAt time.Time) (templates.CampaignProgress, error) {
	n, err := s.store.SendCounts(ctx, x.ID)
	if err != nil {
		return templates.CampaignProgress{}, err
	}
	p := templates.CampaignProgress{ID: x.ID, Status: x.Status, Preparing: x.Status == store.CampaignSending && !x.Materialised,
		Recipients: x.Recipients, Queued: n[store.SendQueued], Sending: n[store.SendSending], Sent: n[store.SendSent],
		Failed: n[store.SendFailed], Retrying: n[store.SendRetrying], Cancelled: n[store.SendCancelled],
		Suppressed: x.Skipped[store.SkipSuppressed], Unsubscribed: x.Skipped[store.SkipUnsubscribed], Bounced: x.Skipped[store.SkipBounced],
		Complained: x.Skipped[store.SkipComplained], Unconfirmed: x.Skipped[store.SkipUnconfirmed],
		StartedAt: x.StartedAt, FinishedAt: x.FinishedAt, Left: -1, Held: x.HeldReason, PausedReason: x.PausedReason}
	if x.Status == store.CampaignSending {
		if r, err := s.out.Relay(ctx, x.RelayID); err == nil {
			p.RelayTrouble = r.Trouble()
		}
	}
	now := time.Now()
	done := p.Sent + p.Failed
	switch {
	case !prevAt.IsZero() && now.Sub(prevAt) > 500*time.Millisecond:
		p.Rate = float64(done-prevDone) / now.Sub(prevAt).Seconds()
	case !x.StartedAt.IsZero() && now.Sub(x.StartedAt) > time.Second:
		p.Rate = float64(done) / now.Sub(x.StartedAt).Seconds()
	}
	if p.Rate > 0 && p.Queued+p.Sending > 0 {
		p.Left = time.Duration(float64(p.Queued+p.Sending) / p.Rate * float64(time.Second))
	}
	if x.Status == store.CampaignSending {
		p.Next = fmt.Sprintf("/campaigns/%d/progress?done=%d&at=%d", x.ID, done, now.UnixMilli())
	}
	return p, nil
}

// campaignRecipients pages through a campaign's recipients, by status.
func (s *Server) campaignRecipients(c *echo.Context) error {
	ctx := c.Request().Context()
	x, err := s.pathCampaign(c)
	if err != nil {
		return err
	}
	status := c.QueryParam("status")
	if status != "" && !store.SendStatus(status) {
		status = ""
	}
	pageNo, _ := strconv.Atoi(c.QueryParam("page"))
	pageNo = max(pageNo, 1)
	const perPage = 100
	sends, total, err := s.store.CampaignSends(ctx, x.ID, status, perPage, (pageNo-1)*perPage)
	if err != nil {
		return err
	}
	counts, err := s.store.SendCounts(ctx, x.ID)
	if err != nil {
		return err
	}
	p := templates.CampaignRecipientsProps{Shell: s.shell(c, "campaigns", x.Name+": recipients"), ID: x.ID, Name: x.Name, Status: status,
		Counts: counts, Total: total, Page: pageNo, Pages: (total + perPage - 1) / perPage}
	for _, sd := range sends {
		answer := sd.LastResponse
		if code := strconv.Itoa(sd.LastCode); sd.LastCode != 0 && !strings.HasPrefix(answer, code) {
			answer = strings.TrimSpace(code + " " + answer)
		}
		p.Rows = append(p.Rows, templates.RecipientRow{ContactID: sd.ContactID, Email: sd.Email, Status: sd.Status, Attempts: sd.Attempts,
			Answer: answer, NextAttempt: sd.NextAttempt, UpdatedAt: sd.UpdatedAt})
	}
	return s.render(c, http.StatusOK, templates.CampaignRecipientsPage(p))
}
