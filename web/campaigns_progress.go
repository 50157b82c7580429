package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"herald/store"
	"herald/templates"
)

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
	if x.AB != nil {
		if p.ForWinner, err = s.store.HeldForWinner(ctx, x.ID); err != nil {
			return p, err
		}
		p.Queued -= p.ForWinner
	}
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
	pageNo, err := pageNumber(c)
	if err != nil {
		return err
	}
	const perPage = 100
	sends, total, err := s.store.CampaignSends(ctx, x.ID, status, store.Order{}, perPage, (pageNo-1)*perPage)
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
