package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v5"

	"herald/store"
	"herald/templates"
)

// stepPanel is the side panel for a step's form, with the choices its
// selects offer.
func (s *Server) stepPanel(ctx context.Context, a store.Automation, mode string, f templates.StepForm) (*templates.StepPanel, error) {
	p := &templates.StepPanel{Mode: mode, AutomationID: a.ID, Form: f, Errors: templates.FieldErrors{}}
	var err error
	switch f.Kind {
	case store.StepEmail:
		ts, err := s.store.Templates(ctx, store.KindCampaign)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			p.Templates = append(p.Templates, templates.Option{Value: itoa(t.ID), Label: t.Name})
		}
	case store.StepAddList, store.StepRemoveList:
		p.Lists, err = s.listOptions(ctx)
	case store.StepWebhook:
		ws, err := s.store.Webhooks(ctx)
		if err != nil {
			return nil, err
		}
		for _, w := range ws {
			p.Webhooks = append(p.Webhooks, templates.Option{Value: itoa(w.ID), Label: w.URL})
		}
	case store.StepCondition:
		gs, err := s.store.Segments(ctx)
		if err != nil {
			return nil, err
		}
		for _, g := range gs {
			p.Segments = append(p.Segments, templates.Option{Value: itoa(g.ID), Label: g.Name})
		}
		for _, f := range []string{"tag", "list", "email", "first_name", "last_name", "status", "opened", "clicked", "event"} {
			p.Fields = append(p.Fields, templates.Option{Value: f, Label: f})
		}
		p.Fields = append(p.Fields, templates.Option{Value: "attributes.", Label: "attributes.<name> (type the name in Value as name=value)"})
	case "":
		return nil, store.ErrNotFound
	default:
		if templates.StepKindLabels[f.Kind] == "" {
			return nil, store.ErrNotFound
		}
	}
	return p, err
}

// stepFormOf is a saved step as its form shows it.
func stepFormOf(st store.Step) templates.StepForm {
	f := templates.StepForm{ID: st.ID, Kind: st.Kind, At: st.At, Event: st.Event, Subject: st.Subject, FromName: st.FromName, FromEmail: st.FromEmail,
		Tag: st.Tag, Attribute: st.Attribute, Text: st.Text, Unit: "days"}
	if st.Seconds > 0 {
		f.Amount, f.Unit = secondsToForm(st.Seconds)
	}
	for _, d := range st.Weekdays {
		f.Weekdays = append(f.Weekdays, strconv.Itoa(d))
	}
	if st.TemplateID != 0 {
		f.TemplateID = itoa(st.TemplateID)
	}
	if st.ListID != 0 {
		f.ListID = itoa(st.ListID)
	}
	if st.WebhookID != 0 {
		f.WebhookID = itoa(st.WebhookID)
	}
	if st.Tracking != nil {
		f.NoOpens, f.NoClicks = !st.Tracking.Opens, !st.Tracking.Clicks
	}
	if len(st.Value) > 0 {
		var v string
		if json.Unmarshal(st.Value, &v) == nil {
			f.Value = v
		} else {
			f.Value = string(st.Value)
		}
	}
	if len(st.Percents) > 0 {
		var ps []string
		for _, p := range st.Percents {
			ps = append(ps, strconv.Itoa(p))
		}
		f.Percents = strings.Join(ps, ", ")
	}
	if st.Rule != nil {
		b, _ := json.Marshal(st.Rule)
		f.Rule = string(b)
	}
	return f
}

var stepUnits = map[string]int64{"minutes": 60, "hours": 3600, "days": 86400, "weeks": 7 * 86400}

func secondsToForm(secs int64) (string, string) {
	for _, u := range []string{"weeks", "days", "hours", "minutes"} {
		if secs%stepUnits[u] == 0 {
			return strconv.FormatInt(secs/stepUnits[u], 10), u
		}
	}
	return strconv.FormatInt(secs/60, 10), "minutes"
}

// readStepForm reads a step's form into the form as typed and the step it
// makes; errs holds what cannot even be read.
func (s *Server) readStepForm(c *echo.Context) (templates.StepForm, store.Step, templates.FieldErrors) {
	ctx := c.Request().Context()
	form, _ := c.FormValues()
	f := templates.StepForm{Kind: c.FormValue("kind"), Amount: strings.TrimSpace(c.FormValue("amount")), Unit: c.FormValue("unit"),
		Weekdays: form["weekdays"], At: c.FormValue("at"), Event: strings.TrimSpace(c.FormValue("event")), TemplateID: c.FormValue("template_id"),
		Subject: strings.TrimSpace(c.FormValue("subject")), FromName: strings.TrimSpace(c.FormValue("from_name")), FromEmail: strings.TrimSpace(c.FormValue("from_email")),
		NoOpens: c.FormValue("no_opens") == "1", NoClicks: c.FormValue("no_clicks") == "1", Tag: strings.TrimSpace(c.FormValue("tag")),
		ListID: c.FormValue("list_id"), Attribute: strings.TrimSpace(c.FormValue("attribute")), Value: c.FormValue("value"),
		RuleSegment: c.FormValue("rule_segment"), Field: c.FormValue("field"), Op: strings.TrimSpace(c.FormValue("op")), RuleValue: c.FormValue("rule_value"),
		Percents: c.FormValue("percents"), WebhookID: c.FormValue("webhook_id"), Text: c.FormValue("text"), Rule: c.FormValue("rule")}
	errs := templates.FieldErrors{}
	st := store.Step{Kind: f.Kind, At: f.At, Event: f.Event, Subject: f.Subject, FromName: f.FromName, FromEmail: f.FromEmail, Tag: f.Tag,
		Attribute: f.Attribute, Text: strings.TrimSpace(f.Text)}
	if f.Amount != "" {
		n := formInt(errs, "amount", f.Amount, false, "Give a whole number.")
		st.Seconds = int64(n) * stepUnits[f.Unit]
	}
	for _, d := range f.Weekdays {
		n, _ := strconv.Atoi(d)
		st.Weekdays = append(st.Weekdays, n)
	}
	if st.Kind == store.StepWait && st.Seconds > 0 {
		st.Weekdays, st.At = nil, ""
	}
	st.TemplateID = int64(formInt(errs, "template_id", f.TemplateID, true, "Choose a template."))
	st.ListID = int64(formInt(errs, "list_id", f.ListID, true, "Choose a list."))
	st.WebhookID = int64(formInt(errs, "webhook_id", f.WebhookID, true, "Choose an endpoint."))
	if st.Kind == store.StepEmail {
		st.Tracking = &store.Tracking{Opens: !f.NoOpens, Clicks: !f.NoClicks}
	}
	if st.Kind == store.StepSetAttribute {
		st.Value = attributeValue(f.Value)
	}
	if st.Kind == store.StepSplit {
		for _, p := range splitList(f.Percents) {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(p), "%"))
			if err != nil {
				errs["percents"] = "Give whole percentages separated by commas, such as 50, 50."
				break
			}
			st.Percents = append(st.Percents, n)
		}
	}
	if st.Kind == store.StepCondition {
		r, msg := s.conditionRule(ctx, f)
		if msg != "" {
			errs["rule"] = msg
		}
		st.Rule = r
	}
	return f, st, errs
}

// attributeValue reads an attribute's new value: JSON when it is a number,
// true, false, null or quoted, text otherwise.
func attributeValue(v string) json.RawMessage {
	t := strings.TrimSpace(v)
	var x any
	if t != "" && json.Unmarshal([]byte(t), &x) == nil {
		if _, isObj := x.(map[string]any); !isObj {
			if _, isArr := x.([]any); !isArr {
				return json.RawMessage(t)
			}
		}
	}
	b, _ := json.Marshal(v)
	return b
}

// conditionRule is the rule a condition step's form gives: a segment's
// rules, the one condition typed, or the rules it had.
func (s *Server) conditionRule(ctx context.Context, f templates.StepForm) (*store.Rule, string) {
	if f.RuleSegment != "" {
		id, _ := strconv.ParseInt(f.RuleSegment, 10, 64)
		g, err := s.store.Segment(ctx, id)
		if err != nil {
			return nil, "That segment no longer exists."
		}
		r := g.Rules
		return &r, ""
	}
	if strings.TrimSpace(f.RuleValue) == "" && f.Rule != "" {
		r, err := store.ParseRule([]byte(f.Rule))
		if err != nil {
			return nil, "The step's rules cannot be read: " + err.Error()
		}
		return &r, ""
	}
	field, value := f.Field, strings.TrimSpace(f.RuleValue)
	if field == "attributes." {
		name, v, ok := strings.Cut(value, "=")
		if !ok {
			return nil, "For an attribute, type the value as name=value, such as city=Paris."
		}
		field, value = "attributes."+strings.TrimSpace(name), strings.TrimSpace(v)
	}
	op := f.Op
	if op == "" {
		op = "eq"
	}
	raw, _ := json.Marshal(value)
	if _, err := strconv.ParseFloat(value, 64); err == nil && field != "tag" && !strings.HasPrefix(field, "attributes.") {
		raw = json.RawMessage(value)
	}
	return &store.Rule{Match: "all", Conditions: []store.Rule{{Field: field, Op: op, Value: raw}}}, ""
}

// endEmptyBranches gives the new branching step (the one without an id
// yet) an Exit in each branch it has no step in: a running flow must stay
// whole, and an Exit is what an empty branch does.
func endEmptyBranches(f *store.Flow) {
	f.Walk(func(st *store.Step) {
		if st.ID != 0 || !st.Branching() {
			return
		}
		for b := range st.Branches {
			if len(st.Branches[b]) == 0 {
				st.Branches[b] = []store.Step{{Kind: store.StepExit}}
			}
		}
	})
}

// stepProblem is the message the store gave for a step of the flow it
// refused, for the step's panel.
func stepProblem(ve *store.ValidationError) string {
	var out []string
	for _, k := range sortedKeys(ve.Fields) {
		out = append(out, ve.Fields[k])
	}
	return strings.Join(out, " ")
}

// automationStepCreate adds a step where the form says.
func (s *Server) automationStepCreate(c *echo.Context) error {
	return s.saveStep(c, 0)
}

// automationStepSave changes a step.
func (s *Server) automationStepSave(c *echo.Context) error {
	stepID, err := parseID(c.Param("step"))
	if err != nil {
		return err
	}
	return s.saveStep(c, stepID)
}

// saveStep adds a step (stepID 0) or changes one, and answers with the
// flow, or the panel again with what is wrong.
func (s *Server) saveStep(c *echo.Context, stepID int64) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	a, err := s.store.Automation(ctx, id)
	if err != nil {
		return err
	}
	f, st, errs := s.readStepForm(c)
	f.ID = stepID
	if len(errs) == 0 {
		flow := a.Flow
		if stepID == 0 {
			form, _ := c.FormValues()
			if err = flow.Insert(positionOf(form), st); err == nil && a.Status != store.AutomationDraft {
				endEmptyBranches(&flow)
			}
		} else {
			err = flow.Replace(stepID, st)
		}
		if err != nil {
			errs["step"] = upperFirst(err.Error()) + "."
		} else if _, err = s.automations.Update(ctx, id, store.AutomationInput{Flow: &flow}); err != nil {
			var ve *store.ValidationError
			if !errors.As(err, &ve) {
				return err
			}
			errs["step"] = stepProblem(ve)
		}
	}
	if len(errs) > 0 {
		a, err = s.store.Automation(ctx, id) // as it was: the change did not stand
		if err != nil {
			return err
		}
		return s.renderPanel(c, a, stepID, f, errs)
	}
	if stepID == 0 {
		s.flash(c, "success", templates.StepKindLabels[st.Kind]+": step added.")
	} else {
		s.flash(c, "success", "Step saved.")
	}
	return redirect(c, "/automations/"+itoa(id))
}

// renderPanel answers 422 with the page and the step's panel showing what
// is wrong.
func (s *Server) renderPanel(c *echo.Context, a store.Automation, stepID int64, f templates.StepForm, errs templates.FieldErrors) error {
	p, err := s.automationProps(c, a)
	if err != nil {
		return err
	}
	mode := templates.PanelEdit
	if stepID == 0 {
		mode = templates.PanelNew
	}
	if p.Panel, err = s.stepPanel(c.Request().Context(), a, mode, f); err != nil {
		return err
	}
	form, _ := c.FormValues()
	pos := positionOf(form)
	p.Panel.After, p.Panel.Parent, p.Panel.Branch, p.Panel.Errors = pos.After, pos.Parent, pos.Branch, errs
	markSelected(p.Steps, stepID)
	return s.render(c, http.StatusUnprocessableEntity, templates.AutomationPage(p))
}

// automationStepDelete removes a step, with the steps in its branches.
// When contacts are at any of them it asks where they go first.
func (s *Server) automationStepDelete(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	stepID, err := parseID(c.Param("step"))
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	a, err := s.store.Automation(ctx, id)
	if err != nil {
		return err
	}
	flow := a.Flow
	removed, _ := flow.Find(stepID)
	if removed == nil {
		return store.ErrNotFound
	}
	kind := removed.Kind
	gone, err := flow.Remove(stepID)
	if err != nil {
		return err
	}
	stats, err := s.store.AutomationStats(ctx, id)
	if err != nil {
		return err
	}
	holding := 0
	for _, g := range gone {
		holding += stats[g].Waiting
	}
	in := store.AutomationInput{Flow: &flow}
	if holding > 0 {
		v := c.FormValue("move_to")
		if v == "" {
			return s.askWhereTo(c, a, flow, stepID, kind, holding)
		}
		to, err := strconv.ParseInt(v, 10, 64)
		if err != nil || to < 0 {
			return s.askWhereTo(c, a, flow, stepID, kind, holding)
		}
		in.MoveFrom = map[int64]int64{}
		for _, g := range gone {
			in.MoveFrom[g] = to
		}
	}
	if _, err := s.automations.Update(ctx, id, in); err != nil {
		var ve *store.ValidationError
		if !errors.As(err, &ve) {
			return err
		}
		s.flash(c, "error", "The step was not removed: "+stepProblem(ve))
		return redirect(c, "/automations/"+itoa(id)+"?step="+itoa(stepID))
	}
	s.flash(c, "success", "Step removed.")
	return redirect(c, "/automations/"+itoa(id))
}

// askWhereTo answers with the panel that asks where the contacts at a step
// being removed go: a step left in the flow, or out of the automation.
func (s *Server) askWhereTo(c *echo.Context, a store.Automation, left store.Flow, stepID int64, kind string, holding int) error {
	p, err := s.automationProps(c, a)
	if err != nil {
		return err
	}
	p.Panel = &templates.StepPanel{Mode: templates.PanelRemove, AutomationID: a.ID, Form: templates.StepForm{ID: stepID, Kind: kind}, Holding: holding}
	left.Walk(func(st *store.Step) {
		p.Panel.MoveTargets = append(p.Panel.MoveTargets, templates.Option{Value: itoa(st.ID),
			Label: fmt.Sprintf("Step %d: %s", st.ID, templates.StepKindLabels[st.Kind])})
	})
	p.Panel.MoveTargets = append(p.Panel.MoveTargets, templates.Option{Value: "0", Label: "Out of the automation (their journeys end)"})
	markSelected(p.Steps, stepID)
	return s.render(c, http.StatusOK, templates.AutomationPage(p))
}

// automationChange activates, pauses or archives an automation; what stops
// activation shows on the flow.
func (s *Server) automationChange(to string) echo.HandlerFunc {
	return func(c *echo.Context) error {
		id, err := pathID(c)
		if err != nil {
			return err
		}
		_, err = s.changeAutomation(c, id, to)
		var ve *store.ValidationError
		if errors.As(err, &ve) && to == store.AutomationActive {
			a, err := s.store.Automation(c.Request().Context(), id)
			if err != nil {
				return err
			}
			p, err := s.automationProps(c, a)
			if err != nil {
				return err
			}
			if err := s.checkInto(c, &p); err != nil {
				return err
			}
			if len(p.Problems) == 0 {
				p.Checked, p.Problems = true, []string{stepProblem(ve)}
			}
			return s.render(c, http.StatusUnprocessableEntity, templates.AutomationPage(p))
		}
		if errors.As(err, &ve) {
			s.flash(c, "error", stepProblem(ve))
			return redirect(c, "/automations/"+itoa(id))
		}
		if err != nil {
			return err
		}
		s.flash(c, "success", map[string]string{store.AutomationActive: "Activated: its trigger now brings contacts in.",
			store.AutomationPaused:   "Paused: nobody enters, and everyone waits where they are.",
			store.AutomationArchived: "Archived: everyone in it has left."}[to])
		return redirect(c, "/automations/"+itoa(id))
	}
}

func (s *Server) automationDelete(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	err = s.store.DeleteAutomation(c.Request().Context(), id)
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		s.flash(c, "error", stepProblem(ve))
		return redirect(c, "/automations/"+itoa(id))
	}
	if err != nil {
		return err
	}
	s.flash(c, "success", "Automation deleted.")
	return redirect(c, "/automations")
}

// automationTest runs the flow for the contact with the address typed,
// and shows their journey as it goes.
func (s *Server) automationTest(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	email := strings.TrimSpace(c.FormValue("email"))
	var jid int64
	contact, err := s.store.ContactByEmail(ctx, email)
	if err == nil {
		jid, err = s.automations.Test(ctx, id, contact.ID)
	} else if errors.Is(err, store.ErrNotFound) {
		err = &store.ValidationError{Fields: map[string]string{"email": "There is no contact " + email + ": add them in Contacts first."}}
	}
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		a, err := s.store.Automation(ctx, id)
		if err != nil {
			return err
		}
		p, err := s.automationProps(c, a)
		if err != nil {
			return err
		}
		p.TestEmail, p.TestError = email, stepProblem(ve)
		return s.render(c, http.StatusUnprocessableEntity, templates.AutomationPage(p))
	}
	if err != nil {
		return err
	}
	return redirect(c, fmt.Sprintf("/automations/%d/journeys/%d", id, jid))
}
