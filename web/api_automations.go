package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v5"

	"herald/store"
)

// automationJSON is an automation as the API shows it, with how many
// contacts each step holds and has passed, and its email steps' results.
type automationJSON struct {
	ID        int64         `json:"id"`
	Name      string        `json:"name"`
	Status    string        `json:"status"`
	Trigger   store.Trigger `json:"trigger"`
	Entry     store.Entry   `json:"entry"`
	GoalEvent string        `json:"goal_event"`
	Flow      store.Flow    `json:"flow"`
	Entered   int           `json:"entered"`
	Completed int           `json:"completed"`
	Exited    int           `json:"exited"`
	Converted int           `json:"converted"`
	// Steps are each step's numbers, by step id.
	Steps       map[string]stepStatsJSON `json:"steps"`
	CreatedAt   time.Time                `json:"created_at"`
	UpdatedAt   time.Time                `json:"updated_at"`
	ActivatedAt *time.Time               `json:"activated_at"`
}

type stepStatsJSON struct {
	Waiting int `json:"waiting"`
	Passed  int `json:"passed"`
	Sent    int `json:"sent,omitempty"`
	Opened  int `json:"opened,omitempty"`
	Clicked int `json:"clicked,omitempty"`
}

// automationBody creates or changes an automation; in a change, what is
// left out stays. move, with a new flow, says where contacts waiting at a
// step it drops go: {"<step id>": <step id, or 0 to end their journeys>}.
type automationBody struct {
	Name    *string        `json:"name"`
	Trigger *store.Trigger `json:"trigger"`
	// Entry changes the entry rules given; those left out stay (a new
	// automation takes contacts out when they unsubscribe).
	Entry     *entryBody       `json:"entry"`
	GoalEvent *string          `json:"goal_event"`
	Flow      *store.Flow      `json:"flow"`
	Move      map[string]int64 `json:"move"`
}

// entryBody is a change to an automation's entry rules.
type entryBody struct {
	Again             *bool `json:"again"`
	EveryDays         *int  `json:"every_days"`
	ExitOnUnsubscribe *bool `json:"exit_on_unsubscribe"`
}

// input is the change b asks for, its entry rules laid over was.
func (b automationBody) input(was store.Entry) (store.AutomationInput, error) {
	in := store.AutomationInput{Name: b.Name, Trigger: b.Trigger, GoalEvent: b.GoalEvent, Flow: b.Flow}
	if b.Entry != nil {
		e := was
		if b.Entry.Again != nil {
			e.Again = *b.Entry.Again
		}
		if b.Entry.EveryDays != nil {
			e.EveryDays = *b.Entry.EveryDays
		}
		if b.Entry.ExitOnUnsubscribe != nil {
			e.ExitOnUnsubscribe = *b.Entry.ExitOnUnsubscribe
		}
		in.Entry = &e
	}
	if len(b.Move) > 0 {
		in.MoveFrom = map[int64]int64{}
		for k, v := range b.Move {
			id, err := strconv.ParseInt(k, 10, 64)
			if err != nil {
				return in, &apiError{Status: http.StatusUnprocessableEntity, Code: "invalid", Message: "move is keyed by step id: {\"4\": 7}.",
					Fields: map[string]string{"move": "Key it by step id."}}
			}
			in.MoveFrom[id] = v
		}
	}
	return in, nil
}

// journeyJSON is one contact's journey through an automation.
type journeyJSON struct {
	ID        int64         `json:"id"`
	ContactID int64         `json:"contact_id"`
	Email     string        `json:"email"`
	Entry     int           `json:"entry"`
	Status    string        `json:"status"`
	StepID    int64         `json:"step_id"`
	DueAt     *time.Time    `json:"due_at"`
	Waiting   string        `json:"waiting_for,omitempty"`
	Test      bool          `json:"test"`
	Source    string        `json:"source"`
	EndReason string        `json:"end_reason,omitempty"`
	EnteredAt time.Time     `json:"entered_at"`
	EndedAt   *time.Time    `json:"ended_at"`
	History   []historyJSON `json:"history,omitempty"`
}

type historyJSON struct {
	StepID  int64     `json:"step_id"`
	At      time.Time `json:"at"`
	Outcome string    `json:"outcome"`
	Detail  string    `json:"detail"`
}

func toJourneyJSON(j store.Journey, hs []store.HistoryEntry) journeyJSON {
	out := journeyJSON{ID: j.ID, ContactID: j.ContactID, Email: j.Email, Entry: j.Entry, Status: j.Status, StepID: j.StepID, Waiting: j.WaitingFor,
		Test: j.Test, Source: j.Source, EndReason: j.EndReason, EnteredAt: j.EnteredAt, EndedAt: optTime(j.EndedAt)}
	if j.Status == store.JourneyActive {
		out.DueAt = optTime(j.DueAt)
	}
	for _, h := range hs {
		out.History = append(out.History, historyJSON{StepID: h.StepID, At: h.At, Outcome: h.Outcome, Detail: h.Detail})
	}
	return out
}

func (s *Server) toAutomationJSON(c *echo.Context, a store.Automation) (automationJSON, error) {
	stats, err := s.store.AutomationStats(c.Request().Context(), a.ID)
	if err != nil {
		return automationJSON{}, err
	}
	out := automationJSON{ID: a.ID, Name: a.Name, Status: a.Status, Trigger: a.Trigger, Entry: a.Entry, GoalEvent: a.GoalEvent, Flow: a.Flow,
		Entered: a.Entered, Completed: a.Completed, Exited: a.Exited, Converted: a.Converted, Steps: map[string]stepStatsJSON{},
		CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt, ActivatedAt: optTime(a.ActivatedAt)}
	a.Flow.Walk(func(st *store.Step) {
		n := stats[st.ID]
		out.Steps[itoa(st.ID)] = stepStatsJSON{Waiting: n.Waiting, Passed: n.Passed, Sent: n.Sent, Opened: n.Opened, Clicked: n.Clicked}
	})
	return out, nil
}

// answerAutomation answers with an automation, or the error that came
// instead.
func (s *Server) answerAutomation(c *echo.Context, status int, a store.Automation, err error) error {
	if err != nil {
		return err
	}
	out, err := s.toAutomationJSON(c, a)
	if err != nil {
		return err
	}
	if status == http.StatusCreated {
		c.Response().Header().Set("Location", "/api/v1/automations/"+itoa(a.ID))
	}
	return apiData(c, status, out)
}

func (s *Server) apiAutomationList(c *echo.Context) error {
	q, err := readList(c, namedList, s.location())
	if err != nil {
		return err
	}
	as, err := s.store.Automations(c.Request().Context(), c.QueryParam("status"))
	if err != nil {
		return err
	}
	out := make([]automationJSON, len(as))
	for i, a := range as {
		if out[i], err = s.toAutomationJSON(c, a); err != nil {
			return err
		}
	}
	out, m := pageOf(out, q, func(j automationJSON) listed { return named(j.ID, j.CreatedAt, j.Name) })
	return apiList(c, out, m)
}

func (s *Server) apiAutomationCreate(c *echo.Context) error {
	var b automationBody
	if err := bindJSON(c, &b); err != nil {
		return err
	}
	in, err := b.input(store.Entry{ExitOnUnsubscribe: true})
	if err != nil {
		return err
	}
	a, err := s.automations.Create(c.Request().Context(), in)
	return s.answerAutomation(c, http.StatusCreated, a, err)
}

func (s *Server) apiAutomationGet(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	a, err := s.store.Automation(c.Request().Context(), id)
	return s.answerAutomation(c, http.StatusOK, a, err)
}

func (s *Server) apiAutomationUpdate(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var b automationBody
	if err := bindJSON(c, &b); err != nil {
		return err
	}
	was, err := s.store.Automation(c.Request().Context(), id)
	if err != nil {
		return err
	}
	in, err := b.input(was.Entry)
	if err != nil {
		return err
	}
	a, err := s.automations.Update(c.Request().Context(), id, in)
	return s.answerAutomation(c, http.StatusOK, a, err)
}

// apiAutomationStatus answers /activate, /pause and /archive.
func (s *Server) apiAutomationStatus(to string) echo.HandlerFunc {
	return func(c *echo.Context) error {
		id, err := pathID(c)
		if err != nil {
			return err
		}
		a, err := s.changeAutomation(c, id, to)
		return s.answerAutomation(c, http.StatusOK, a, err)
	}
}

// apiAutomationCheck says what stops an automation from being activated:
// {"ok": true} or the problems by field and step.
func (s *Server) apiAutomationCheck(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	errs, err := s.automations.Check(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if errs == nil {
		errs = map[string]string{}
	}
	return apiData(c, http.StatusOK, map[string]any{"ok": len(errs) == 0, "problems": errs})
}

// apiAutomationJourneys answers /contacts (who is in it now, by step) and
// /runs (every journey, ended ones too, with its history; test=true for
// the test runs).
func (s *Server) apiAutomationJourneys(all bool) echo.HandlerFunc {
	return func(c *echo.Context) error {
		id, err := pathID(c)
		if err != nil {
			return err
		}
		ctx := c.Request().Context()
		if _, err := s.store.Automation(ctx, id); err != nil {
			return err
		}
		m, err := page(c)
		if err != nil {
			return err
		}
		f := store.JourneyFilter{Status: store.JourneyActive}
		if all {
			f.Status, f.Test = c.QueryParam("status"), c.QueryParam("test") == "true"
		}
		if v := c.QueryParam("step"); v != "" {
			if f.StepID, err = strconv.ParseInt(v, 10, 64); err != nil {
				return apiErr(http.StatusBadRequest, "bad_request", "step must be a step id.")
			}
		}
		if v := c.QueryParam("contact_id"); v != "" {
			if f.ContactID, err = strconv.ParseInt(v, 10, 64); err != nil {
				return apiErr(http.StatusBadRequest, "bad_request", "contact_id must be a contact's id.")
			}
		}
		js, total, err := s.store.Journeys(ctx, id, f, m.PerPage, m.offset())
		if err != nil {
			return err
		}
		out := make([]journeyJSON, len(js))
		for i, j := range js {
			var hs []store.HistoryEntry
			if all {
				if hs, err = s.store.JourneyHistory(ctx, j.ID); err != nil {
					return err
				}
			}
			out[i] = toJourneyJSON(j, hs)
		}
		m.Total = total
		return apiList(c, out, m)
	}
}

// enrollBody names contacts to put into an automation: by id or address,
// 1,000 at most.
type enrollBody struct {
	ContactIDs []int64  `json:"contact_ids"`
	Emails     []string `json:"emails"`
}

// maxEnroll is how many contacts one enrollment names at most.
const maxEnroll = 1000

func (s *Server) apiAutomationEnroll(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var b enrollBody
	if err := bindJSON(c, &b); err != nil {
		return err
	}
	res, err := s.enroll(c, id, b, "api")
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, map[string]any{"entered": res.Entered, "skipped": res.Skipped})
}

// enroll puts the contacts b names into automation id.
func (s *Server) enroll(c *echo.Context, id int64, b enrollBody, source string) (store.EnrollResult, error) {
	ctx := c.Request().Context()
	if n := len(b.ContactIDs) + len(b.Emails); n == 0 || n > maxEnroll {
		return store.EnrollResult{}, &store.ValidationError{Fields: map[string]string{"contact_ids": "Name 1 to 1,000 contacts, by contact_ids or emails."}}
	}
	ids := append([]int64{}, b.ContactIDs...)
	for i, e := range b.Emails {
		contact, err := s.store.ContactByEmail(ctx, e)
		if err != nil {
			return store.EnrollResult{}, &store.ValidationError{Fields: map[string]string{"emails[" + strconv.Itoa(i) + "]": "There is no contact " + e + "."}}
		}
		ids = append(ids, contact.ID)
	}
	return s.automations.Enroll(ctx, id, ids, source)
}

func (s *Server) apiAutomationTest(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var b struct {
		ContactID int64  `json:"contact_id"`
		Email     string `json:"email"`
	}
	if err := bindJSON(c, &b); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if b.Email != "" {
		contact, err := s.store.ContactByEmail(ctx, b.Email)
		if err != nil {
			return &store.ValidationError{Fields: map[string]string{"email": "There is no contact " + b.Email + "."}}
		}
		b.ContactID = contact.ID
	}
	jid, err := s.automations.Test(ctx, id, b.ContactID)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", "/api/v1/automations/"+itoa(id)+"/runs?test=true&contact_id="+itoa(b.ContactID))
	return apiData(c, http.StatusAccepted, map[string]any{"journey_id": jid})
}

// changeAutomation activates, pauses or archives an automation.
func (s *Server) changeAutomation(c *echo.Context, id int64, to string) (store.Automation, error) {
	ctx := c.Request().Context()
	switch to {
	case store.AutomationActive:
		return s.automations.Activate(ctx, id)
	case store.AutomationPaused:
		return s.automations.Pause(ctx, id)
	}
	return s.automations.Archive(ctx, id)
}
