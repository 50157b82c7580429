package web

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/labstack/echo/v5"

	"herald/store"
)

// queueJSON is how a durable queue stands.
type queueJSON struct {
	Name string `json:"name"`
	// Priority orders the queues: 1 is served first.
	Priority int            `json:"priority"`
	Counts   queueCountJSON `json:"counts"`
	// OldestWaiting is when the item waiting longest became due.
	OldestWaiting *time.Time `json:"oldest_waiting"`
	// DoneLastMinute and DoneLastHour are the queue's throughput.
	DoneLastMinute int        `json:"done_last_minute"`
	DoneLastHour   int        `json:"done_last_hour"`
	LastError      string     `json:"last_error"`
	Pausable       bool       `json:"pausable"`
	Paused         bool       `json:"paused"`
	PausedAt       *time.Time `json:"paused_at"`
	PausedBy       string     `json:"paused_by"`
	// PerMinute caps the transactional lane's messages a minute; 0 is none.
	PerMinute int `json:"per_minute"`
}

type queueCountJSON struct {
	Waiting  int `json:"waiting"`
	Delayed  int `json:"delayed"`
	Running  int `json:"running"`
	Retrying int `json:"retrying"`
	Failed   int `json:"failed"`
	// DoneToday counts what finished since midnight in the organisation's
	// timezone.
	DoneToday int `json:"done_today"`
}

// queueItemJSON is one piece of work in a queue.
type queueItemJSON struct {
	ID     int64  `json:"id"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
	// RefID is what it belongs to: its campaign, source or endpoint.
	RefID    int64  `json:"ref_id"`
	State    string `json:"state"`
	Attempts int    `json:"attempts"`
	// Due is when it is next tried, or for a done item when it finished.
	Due       *time.Time `json:"due"`
	LastError string     `json:"last_error"`
	// Retryable says a failed item can be retried.
	Retryable bool `json:"retryable"`
}

// queueActionJSON says how many items an action on a queue touched.
type queueActionJSON struct {
	Count int `json:"count"`
}

// queueItemBody names the failed items to retry or discard: one by its
// id, or all.
type queueItemBody struct {
	ID  int64 `json:"id"`
	All bool  `json:"all"`
}

// target is the item a body names, or store.AllItems.
func (b queueItemBody) target() (int64, error) {
	switch {
	case b.All && b.ID == 0:
		return store.AllItems, nil
	case !b.All && b.ID > 0:
		return b.ID, nil
	}
	return 0, &store.ValidationError{Fields: map[string]string{"id": "Name the failed item by its id, or give all: true for every failed item of the queue."}}
}

// queueThrottleBody caps the transactional lane.
type queueThrottleBody struct {
	PerMinute int `json:"per_minute"`
}

// dayStart is the start of today in the organisation's timezone.
func (s *Server) dayStart(now time.Time) time.Time {
	t := now.In(s.location())
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
}

// queueState reads how a queue stands now.
func (s *Server) queueState(ctx context.Context, name string) (queueJSON, error) {
	if name == store.QueueCron {
		// The cron jobs are no table: /api/v1/jobs lists them; here they
		// are paused and resumed like a queue.
		ctl, err := s.store.QueueControl(ctx, name)
		return queueJSON{Name: name, Priority: len(store.Queues) + 1, Pausable: true, Paused: ctl.Paused, PausedAt: optTime(ctl.PausedAt),
			PausedBy: ctl.PausedBy}, err
	}
	now := s.store.Now()
	q, err := s.store.QueueStats(ctx, name, now, s.dayStart(now))
	if err != nil {
		return queueJSON{}, err
	}
	minute, err := s.store.QueueDone(ctx, name, now, now.Add(-time.Minute))
	if err != nil {
		return queueJSON{}, err
	}
	hour, err := s.store.QueueDone(ctx, name, now, now.Add(-time.Hour))
	if err != nil {
		return queueJSON{}, err
	}
	out := queueJSON{Name: name, Counts: queueCountJSON{Waiting: q.Waiting, Delayed: q.Delayed, Running: q.Running, Retrying: q.Retrying,
		Failed: q.Failed, DoneToday: q.Done}, OldestWaiting: optTime(q.OldestWaiting), DoneLastMinute: minute, DoneLastHour: hour,
		LastError: q.LastError, Pausable: store.Pausable(name), Paused: q.Paused, PausedAt: optTime(q.PausedAt), PausedBy: q.PausedBy, PerMinute: q.PerMinute}
	for i, n := range store.Queues {
		if n == name {
			out.Priority = i + 1
		}
	}
	return out, nil
}

// pathQueue is the queue the path names, or the cron jobs, which pause
// like one.
func pathQueue(c *echo.Context) (string, error) {
	name := c.Param("name")
	if slices.Contains(store.Queues, name) || name == store.QueueCron {
		return name, nil
	}
	return "", store.ErrNoQueue
}

func (s *Server) apiQueueList(c *echo.Context) error {
	out := make([]queueJSON, 0, len(store.Queues)+1)
	for _, name := range append(slices.Clone(store.Queues), store.QueueCron) {
		q, err := s.queueState(c.Request().Context(), name)
		if err != nil {
			return err
		}
		out = append(out, q)
	}
	return apiData(c, http.StatusOK, out)
}

func (s *Server) apiQueueGet(c *echo.Context) error {
	name, err := pathQueue(c)
	if err != nil {
		return err
	}
	q, err := s.queueState(c.Request().Context(), name)
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, q)
}

func (s *Server) apiQueueItems(c *echo.Context) error {
	name, err := pathQueue(c)
	if err != nil {
		return err
	}
	state := c.QueryParam("state")
	if state == "" {
		state = store.QueueWaiting
	}
	limit := 100
	if v := c.QueryParam("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 200 {
			return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Message: "limit is a number from 1 to 200."}
		}
	}
	if name == store.QueueCron {
		return apiData(c, http.StatusOK, []queueItemJSON{}) // see /api/v1/jobs
	}
	now := s.store.Now()
	offset := 0
	if v := c.QueryParam("offset"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
			return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Message: "offset is a whole number, 0 or more."}
		}
	}
	items, err := s.store.QueueItems(c.Request().Context(), name, state, now, s.dayStart(now), limit, offset)
	if err != nil {
		return err
	}
	out := make([]queueItemJSON, len(items))
	for i, it := range items {
		out[i] = queueItemJSON{ID: it.ID, Title: it.Title, Detail: it.Detail, RefID: it.RefID, State: it.State, Attempts: it.Attempts,
			Due: optTime(it.Due), LastError: it.LastError, Retryable: it.Retryable}
	}
	return apiData(c, http.StatusOK, out)
}

// setQueuePaused pauses or resumes a queue, waking its worker on resume.
func (s *Server) setQueuePaused(c *echo.Context, name string, paused bool) error {
	if _, err := s.store.PauseQueue(c.Request().Context(), name, paused, actor(c)); err != nil {
		return err
	}
	if !paused {
		s.wakeQueue(name)
	}
	return nil
}

// wakeQueue makes a queue's worker look for work now.
func (s *Server) wakeQueue(name string) {
	switch name {
	case store.QueueCampaigns:
		s.out.Dispatcher().Wake()
	case store.QueueTransactional, store.QueueSystem:
		s.out.Lane().Wake()
	case store.QueueImports:
		s.imports.Wake()
	case store.QueueSources:
		s.sources.Wake()
	case store.QueueWebhooks:
		s.webhooks.Wake()
	}
}

func (s *Server) apiQueuePause(paused bool) echo.HandlerFunc {
	return func(c *echo.Context) error {
		name, err := pathQueue(c)
		if err != nil {
			return err
		}
		if err := s.setQueuePaused(c, name, paused); err != nil {
			return err
		}
		return s.apiQueueGet(c)
	}
}

// onFailedItems retries or discards a queue's failed items: the one the
// body names, or all.
func (s *Server) onFailedItems(c *echo.Context, name string, id int64, retry bool) (int, error) {
	ctx := c.Request().Context()
	if !retry {
		return s.store.DiscardFailed(ctx, name, id)
	}
	n, err := s.store.RetryFailed(ctx, name, id)
	if err == nil && n > 0 {
		s.wakeQueue(name)
	}
	return n, err
}

func (s *Server) apiQueueFailed(retry bool) echo.HandlerFunc {
	return func(c *echo.Context) error {
		name, err := pathQueue(c)
		if err != nil {
			return err
		}
		var b queueItemBody
		if err := bindJSON(c, &b); err != nil {
			return err
		}
		id, err := b.target()
		if err != nil {
			return err
		}
		n, err := s.onFailedItems(c, name, id, retry)
		if err != nil {
			return err
		}
		return apiData(c, http.StatusOK, queueActionJSON{Count: n})
	}
}

func (s *Server) apiQueueThrottle(c *echo.Context) error {
	name, err := pathQueue(c)
	if err != nil {
		return err
	}
	var b queueThrottleBody
	if err := bindJSON(c, &b); err != nil {
		return err
	}
	if _, err := s.store.ThrottleQueue(c.Request().Context(), name, b.PerMinute); err != nil {
		return err
	}
	s.wakeQueue(name)
	return s.apiQueueGet(c)
}
