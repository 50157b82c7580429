package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"herald/store"
	"herald/templates"

	"github.com/labstack/echo/v5"
)

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
