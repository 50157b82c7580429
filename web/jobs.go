package web

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/labstack/echo/v5"

	"herald/store"
	"herald/templates"
)

// Settings → Jobs: the durable queues and the scheduler's cron jobs. The
// pages read the same state as /api/v1/queues, through queueState.

func queueRow(q queueJSON, now time.Time) templates.QueueRow {
	r := templates.QueueRow{Name: q.Name, Label: templates.QueueLabel(q.Name), Blurb: templates.QueueBlurb(q.Name), Waiting: q.Counts.Waiting,
		Delayed: q.Counts.Delayed, Running: q.Counts.Running, Retrying: q.Counts.Retrying, Failed: q.Counts.Failed, DoneToday: q.Counts.DoneToday,
		DoneLastMinute: q.DoneLastMinute, DoneLastHour: q.DoneLastHour, LastError: q.LastError, Pausable: q.Pausable, Paused: q.Paused,
		PausedBy: q.PausedBy, PerMinute: q.PerMinute, CanRetry: store.Retryable(q.Name), CanDiscard: store.Discardable(q.Name)}
	if q.OldestWaiting != nil {
		r.OldestWaiting, r.OldestAge = *q.OldestWaiting, tookText(max(now.Sub(*q.OldestWaiting), 0))
	}
	if q.PausedAt != nil {
		r.PausedAt = *q.PausedAt
	}
	return r
}

func (s *Server) jobList(c *echo.Context) error {
	p := templates.JobsProps{Shell: s.shell(c, "settings", "Jobs")}
	for _, name := range store.Queues {
		q, err := s.queueState(c.Request().Context(), name)
		if err != nil {
			return err
		}
		p.Queues = append(p.Queues, queueRow(q, s.store.Now()))
	}
	var err error
	if p.CronPaused, err = s.store.QueuePaused(c.Request().Context(), store.QueueCron); err != nil {
		return err
	}
	for _, j := range s.jobs() {
		p.Jobs = append(p.Jobs, templates.JobRow{Name: j.Name, Spec: j.Spec, LastRun: j.LastRun, NextRun: j.NextRun, LastError: j.LastError})
	}
	return s.render(c, http.StatusOK, templates.JobsPage(p))
}

// queueItemsPerPage is the length of a page of a queue's items.
const queueItemsPerPage = 200

// queueItemLink is the page of what a queue's item belongs to.
func queueItemLink(queue string, it store.QueueItem) string {
	switch queue {
	case store.QueueTransactional, store.QueueSystem:
		return "/messages/" + itoa(it.ID)
	case store.QueueCampaigns:
		return "/campaigns/" + itoa(it.RefID)
	case store.QueueImports:
		return "/contacts/import/" + itoa(it.ID)
	case store.QueueSources:
		return "/contacts/sources/" + itoa(it.RefID)
	case store.QueueWebhooks:
		return webhookPathOf(it.RefID)
	}
	return ""
}

func (s *Server) queuePage(c *echo.Context, status int, name string, errs templates.FieldErrors) error {
	ctx := c.Request().Context()
	q, err := s.queueState(ctx, name)
	if err != nil {
		return err
	}
	now := s.store.Now()
	row := queueRow(q, now)
	state := c.QueryParam("state")
	if !slices.Contains(store.QueueStates, state) {
		// The first state that holds something, failed before the rest.
		state = store.QueueWaiting
		for _, st := range []string{store.QueueFailed, store.QueueRetrying, store.QueueWaiting, store.QueueRunning, store.QueueDelayed} {
			if templates.QueueCount(row, st) > 0 {
				state = st
				break
			}
		}
	}
	pageNo, err := pageNumber(c)
	if err != nil {
		return err
	}
	items, err := s.store.QueueItems(ctx, name, state, now, s.dayStart(now), queueItemsPerPage, (pageNo-1)*queueItemsPerPage)
	if err != nil {
		return err
	}
	p := templates.QueueProps{Shell: s.shell(c, "settings", templates.QueueLabel(name)), Queue: row, State: state, Errors: errs,
		Throttle: strconv.Itoa(q.PerMinute), Page: pageNo}
	if total := templates.QueueCount(row, state); total > 0 {
		p.Pages, p.Total = pageCount(total, queueItemsPerPage), total
	}
	if errs["per_minute"] != "" {
		p.Throttle = c.FormValue("per_minute") // as typed, beside what is wrong
	}
	for _, it := range items {
		p.Items = append(p.Items, templates.QueueItemRow{ID: it.ID, Title: it.Title, Detail: it.Detail, Link: queueItemLink(name, it),
			Attempts: it.Attempts, Due: it.Due, LastError: it.LastError, Retryable: it.Retryable})
	}
	return s.render(c, status, templates.QueuePage(p))
}

func (s *Server) queueShow(c *echo.Context) error {
	name, err := pathQueue(c)
	if err != nil {
		return err
	}
	if name == store.QueueCron {
		return redirect(c, "/settings/jobs") // its jobs are listed there
	}
	return s.queuePage(c, http.StatusOK, name, nil)
}

func (s *Server) queuePause(c *echo.Context) error {
	name, err := pathQueue(c)
	if err != nil {
		return err
	}
	paused := c.FormValue("paused") == "1"
	if err := s.setQueuePaused(c, name, paused); err != nil {
		return err
	}
	if paused {
		s.flash(c, "success", templates.QueueLabel(name)+" paused: what runs finishes, and nothing new starts until you resume it.")
	} else {
		s.flash(c, "success", templates.QueueLabel(name)+" resumed.")
	}
	if name == store.QueueCron {
		return redirect(c, "/settings/jobs")
	}
	return redirect(c, templates.QueuePathOf(name))
}

// queueFailedForm retries or discards a queue's failed items: the one the
// form names, or all.
func (s *Server) queueFailedForm(retry bool) echo.HandlerFunc {
	return func(c *echo.Context) error {
		name, err := pathQueue(c)
		if err != nil {
			return err
		}
		id := int64(store.AllItems)
		if c.FormValue("all") != "1" {
			if id, err = parseID(c.FormValue("id")); err != nil {
				return err
			}
		}
		n, err := s.onFailedItems(c, name, id, retry)
		if errors.Is(err, store.ErrConflict) {
			s.flash(c, "error", upperFirst(err.Error())+".")
			return redirect(c, templates.QueuePathOf(name)+"?state=failed")
		}
		if err != nil {
			return err
		}
		what := "Failed items discarded: "
		if retry {
			what = "Failed items queued again: "
		}
		s.flash(c, "success", what+strconv.Itoa(n)+".")
		return redirect(c, templates.QueuePathOf(name)+"?state=failed")
	}
}

func (s *Server) queueThrottle(c *echo.Context) error {
	name, err := pathQueue(c)
	if err != nil {
		return err
	}
	errs := templates.FieldErrors{}
	n := formInt(errs, "per_minute", c.FormValue("per_minute"), true, "Give a number of messages a minute, or 0 for no cap.")
	if len(errs) == 0 {
		_, err = s.store.ThrottleQueue(c.Request().Context(), name, n)
		var ve *store.ValidationError
		if errors.As(err, &ve) {
			errs = ve.Fields
		} else if err != nil {
			return err
		}
	}
	if len(errs) > 0 {
		return s.queuePage(c, http.StatusUnprocessableEntity, name, errs)
	}
	s.wakeQueue(name)
	s.flash(c, "success", "Throttle saved.")
	return redirect(c, templates.QueuePathOf(name))
}

// jobJSON is one scheduled job as the API shows it.
type jobJSON struct {
	Name      string     `json:"name"`
	Spec      string     `json:"spec"`
	LastRun   *time.Time `json:"last_run"`
	NextRun   *time.Time `json:"next_run"`
	LastError string     `json:"last_error"`
}

func (s *Server) apiJobList(c *echo.Context) error {
	out := []jobJSON{}
	for _, j := range s.jobs() {
		out = append(out, jobJSON{Name: j.Name, Spec: j.Spec, LastRun: optTime(j.LastRun), NextRun: optTime(j.NextRun), LastError: j.LastError})
	}
	return apiData(c, http.StatusOK, out)
}
