package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/labstack/echo/v5"

	"herald/store"
	"herald/templates"
)

// automationContacts lists an automation's journeys: who is in it, at
// which step, and who went through; ?test=1 the test runs.
func (s *Server) automationContacts(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	a, err := s.store.Automation(ctx, id)
	if err != nil {
		return err
	}
	row, err := s.automationRow(ctx, a)
	if err != nil {
		return err
	}
	n, err := pageNumber(c)
	if err != nil {
		return err
	}
	const perPage = 50
	f := store.JourneyFilter{Status: c.QueryParam("status"), Test: c.QueryParam("test") == "1"}
	if !slices.Contains([]string{"", store.JourneyActive, store.JourneyCompleted, store.JourneyExited, store.JourneyConverted, store.JourneyFailed}, f.Status) {
		f.Status = ""
	}
	f.StepID, _ = strconv.ParseInt(c.QueryParam("step"), 10, 64)
	js, total, err := s.store.Journeys(ctx, id, f, perPage, (n-1)*perPage)
	if err != nil {
		return err
	}
	p := templates.JourneysProps{Shell: s.shell(c, "automations", a.Name+": contacts"), A: row, Status: f.Status, Test: f.Test,
		Page: n, Pages: (total + perPage - 1) / perPage, Total: total}
	if f.StepID != 0 {
		p.Step = itoa(f.StepID)
	}
	a.Flow.Walk(func(st *store.Step) {
		p.Steps = append(p.Steps, templates.Option{Value: itoa(st.ID), Label: stepName(a, st.ID)})
	})
	for _, j := range js {
		p.Rows = append(p.Rows, journeyRow(a, j))
	}
	q := url.Values{}
	for k, v := range map[string]string{"status": f.Status, "step": p.Step} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Test {
		q.Set("test", "1")
	}
	p.Query = q.Encode()
	return s.render(c, http.StatusOK, templates.JourneysPage(p))
}

// stepName names a step of a for people: "Step 3: Send an email".
func stepName(a store.Automation, id int64) string {
	if id == 0 {
		return "Entry"
	}
	if st, ok := a.Flow.Find(id); ok {
		return fmt.Sprintf("Step %d: %s", id, templates.StepKindLabels[st.Kind])
	}
	return fmt.Sprintf("Step %d (removed)", id)
}

func journeyRow(a store.Automation, j store.Journey) templates.JourneyRow {
	return templates.JourneyRow{ID: j.ID, ContactID: j.ContactID, Email: j.Email, Status: j.Status, Step: stepName(a, j.StepID), Source: j.Source,
		EndReason: j.EndReason, Entry: j.Entry, Test: j.Test, EnteredAt: j.EnteredAt, DueAt: j.DueAt, Ended: j.EndedAt}
}

// automationJourney shows one journey's history; a journey under way is
// followed as it goes.
func (s *Server) automationJourney(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	jid, err := parseID(c.Param("journey"))
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	a, err := s.store.Automation(ctx, id)
	if err != nil {
		return err
	}
	j, err := s.store.Journey(ctx, jid)
	if err != nil {
		return err
	}
	if j.AutomationID != id {
		return store.ErrNotFound
	}
	hs, err := s.store.JourneyHistory(ctx, jid)
	if err != nil {
		return err
	}
	row, err := s.automationRow(ctx, a)
	if err != nil {
		return err
	}
	p := templates.JourneyProps{Shell: s.shell(c, "automations", j.Email), A: row, J: journeyRow(a, j), Live: j.Status == store.JourneyActive}
	for _, h := range hs {
		p.History = append(p.History, templates.HistoryRow{Step: stepName(a, h.StepID), Outcome: h.Outcome, Detail: h.Detail, At: h.At})
	}
	return s.render(c, http.StatusOK, templates.JourneyPage(p))
}
