package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v5"

	"herald/store"
	"herald/templates"
)

// The Automations section: the list, an automation's flow with its side
// panel, its settings, its contacts and each journey's history. The pages
// read the form and call the automations service, as the API does.

func (s *Server) automationList(c *echo.Context) error {
	ctx := c.Request().Context()
	as, err := s.store.Automations(ctx, "")
	if err != nil {
		return err
	}
	p := templates.AutomationsProps{Shell: s.shell(c, "automations", "Automations")}
	for _, a := range as {
		row, err := s.automationRow(ctx, a)
		if err != nil {
			return err
		}
		p.Rows = append(p.Rows, row)
	}
	return s.render(c, http.StatusOK, templates.AutomationsPage(p))
}

// automationRow is an automation as its list and pages show it.
func (s *Server) automationRow(ctx context.Context, a store.Automation) (templates.AutomationRow, error) {
	stats, err := s.store.AutomationStats(ctx, a.ID)
	if err != nil {
		return templates.AutomationRow{}, err
	}
	in := 0
	for _, st := range stats {
		in += st.Waiting
	}
	return templates.AutomationRow{ID: a.ID, Name: a.Name, Status: a.Status, Trigger: s.triggerText(ctx, a.Trigger), Entry: entryText(a.Entry),
		Goal: a.GoalEvent, Entered: a.Entered, Completed: a.Completed, Exited: a.Exited, Converted: a.Converted, InFlow: in, UpdatedAt: a.UpdatedAt}, nil
}

// triggerText says what starts an automation, in words.
func (s *Server) triggerText(ctx context.Context, t store.Trigger) string {
	switch t.Kind {
	case store.TriggerList:
		name := fmt.Sprintf("list %d", t.ListID)
		if l, err := s.store.ListHead(ctx, t.ListID); err == nil {
			name = l.Name
		}
		return "A contact joins " + name
	case store.TriggerTag:
		return "A contact is tagged " + t.Tag
	case store.TriggerEvent:
		return "The event " + t.Event + " arrives"
	case store.TriggerDate:
		out := "The date in " + t.Attribute + " comes round"
		if t.Yearly {
			out += ", each year"
		}
		if t.OffsetDays != 0 {
			out += fmt.Sprintf(" (%+d days)", t.OffsetDays)
		}
		at := t.At
		if at == "" {
			at = "09:00"
		}
		return out + " at " + at
	case store.TriggerOpen, store.TriggerClick:
		name := fmt.Sprintf("campaign %d", t.CampaignID)
		if x, err := s.store.Campaign(ctx, t.CampaignID); err == nil {
			name = x.Name
		}
		if t.Kind == store.TriggerOpen {
			return "A contact opens " + name
		}
		if t.URL != "" {
			return "A contact clicks " + t.URL + " in " + name
		}
		return "A contact clicks a link in " + name
	case store.TriggerSegment:
		name := fmt.Sprintf("segment %d", t.SegmentID)
		if g, err := s.store.Segment(ctx, t.SegmentID); err == nil {
			name = g.Name
		}
		return "A contact comes into " + name
	}
	return "Contacts are added by hand or through the API"
}

// entryText says who may enter, in words.
func entryText(e store.Entry) string {
	out := "Each contact once ever"
	if e.Again {
		out = "Contacts may enter again once their journey ends"
		if e.EveryDays > 0 {
			out += fmt.Sprintf(", at most once every %d days", e.EveryDays)
		}
	}
	if e.ExitOnUnsubscribe {
		out += "; unsubscribing takes them out"
	}
	return out + "."
}

func (s *Server) automationNew(c *echo.Context) error {
	return s.automationForm(c, http.StatusOK, templates.AutomationForm{TriggerKind: store.TriggerList, ExitOnUnsubscribe: true}, nil)
}

func (s *Server) automationForm(c *echo.Context, status int, f templates.AutomationForm, errs templates.FieldErrors) error {
	ctx := c.Request().Context()
	lists, err := s.listOptions(ctx)
	if err != nil {
		return err
	}
	props := templates.AutomationFormProps{Form: f, Errors: errs, Lists: lists}
	cs, err := s.store.StartedCampaigns(ctx, 100)
	if err != nil {
		return err
	}
	for _, x := range cs {
		props.Campaigns = append(props.Campaigns, templates.Option{Value: itoa(x.ID), Label: x.Name})
	}
	gs, err := s.store.Segments(ctx)
	if err != nil {
		return err
	}
	for _, g := range gs {
		props.Segments = append(props.Segments, templates.Option{Value: itoa(g.ID), Label: g.Name})
	}
	title := "New automation"
	if f.ID != 0 {
		title = "Automation settings"
	}
	props.Shell = s.shell(c, "automations", title)
	return s.render(c, status, templates.AutomationFormPage(props))
}

// listOptions are every list, for a select.
func (s *Server) listOptions(ctx context.Context) ([]templates.Option, error) {
	ls, err := s.store.Lists(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]templates.Option, len(ls))
	for i, l := range ls {
		out[i] = templates.Option{Value: itoa(l.ID), Label: l.Name}
	}
	return out, nil
}

// readAutomationForm reads the settings form into the form as typed and
// the input it makes.
func readAutomationForm(c *echo.Context, id int64) (templates.AutomationForm, store.AutomationInput, templates.FieldErrors) {
	f := templates.AutomationForm{ID: id, Name: c.FormValue("name"), TriggerKind: c.FormValue("trigger_kind"), ListID: c.FormValue("list_id"),
		Tag: strings.TrimSpace(c.FormValue("tag")), Event: strings.TrimSpace(c.FormValue("event")), EveryDays: strings.TrimSpace(c.FormValue("every_days")),
		GoalEvent: strings.TrimSpace(c.FormValue("goal_event")), Again: c.FormValue("again") == "1", ExitOnUnsubscribe: c.FormValue("exit_on_unsubscribe") == "1",
		CampaignID: c.FormValue("campaign_id"), URL: strings.TrimSpace(c.FormValue("url")), SegmentID: c.FormValue("segment_id"),
		Attribute: strings.TrimSpace(c.FormValue("attribute")), OffsetDays: strings.TrimSpace(c.FormValue("offset_days")), At: c.FormValue("at"),
		Yearly: c.FormValue("yearly") == "1"}
	errs := templates.FieldErrors{}
	t := store.Trigger{Kind: f.TriggerKind}
	switch t.Kind {
	case store.TriggerList:
		t.ListID = int64(formInt(errs, "trigger.list_id", f.ListID, true, "Choose a list."))
	case store.TriggerTag:
		t.Tag = f.Tag
	case store.TriggerEvent:
		t.Event = f.Event
	case store.TriggerDate:
		t.Attribute, t.Yearly, t.At = f.Attribute, f.Yearly, f.At
		t.OffsetDays = formInt(errs, "trigger.offset_days", f.OffsetDays, true, "Give a whole number of days.")
	case store.TriggerOpen, store.TriggerClick:
		t.CampaignID = int64(formInt(errs, "trigger.campaign_id", f.CampaignID, true, "Choose a campaign."))
		if t.Kind == store.TriggerClick {
			t.URL = f.URL
		}
	case store.TriggerSegment:
		t.SegmentID = int64(formInt(errs, "trigger.segment_id", f.SegmentID, true, "Choose a segment."))
	}
	e := store.Entry{Again: f.Again, ExitOnUnsubscribe: f.ExitOnUnsubscribe, EveryDays: formInt(errs, "entry.every_days", f.EveryDays, true, "Give a whole number of days.")}
	return f, store.AutomationInput{Name: &f.Name, Trigger: &t, Entry: &e, GoalEvent: &f.GoalEvent}, errs
}

func (s *Server) automationCreate(c *echo.Context) error {
	f, in, errs := readAutomationForm(c, 0)
	if len(errs) > 0 {
		return s.automationForm(c, http.StatusUnprocessableEntity, f, errs)
	}
	a, err := s.automations.Create(c.Request().Context(), in)
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		return s.automationForm(c, http.StatusUnprocessableEntity, f, templates.FieldErrors(ve.Fields))
	}
	if err != nil {
		return err
	}
	s.flash(c, "success", "Automation created as a draft: add its steps, then activate it.")
	return redirect(c, "/automations/"+itoa(a.ID))
}

func (s *Server) automationSettings(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	a, err := s.store.Automation(c.Request().Context(), id)
	if err != nil {
		return err
	}
	f := templates.AutomationForm{ID: a.ID, Name: a.Name, TriggerKind: a.Trigger.Kind, Tag: a.Trigger.Tag, Event: a.Trigger.Event,
		GoalEvent: a.GoalEvent, Again: a.Entry.Again, ExitOnUnsubscribe: a.Entry.ExitOnUnsubscribe, URL: a.Trigger.URL,
		Attribute: a.Trigger.Attribute, At: a.Trigger.At, Yearly: a.Trigger.Yearly}
	for dst, v := range map[*string]int64{&f.CampaignID: a.Trigger.CampaignID, &f.SegmentID: a.Trigger.SegmentID, &f.OffsetDays: int64(a.Trigger.OffsetDays)} {
		if v != 0 {
			*dst = itoa(v)
		}
	}
	if a.Trigger.ListID != 0 {
		f.ListID = itoa(a.Trigger.ListID)
	}
	if a.Entry.EveryDays != 0 {
		f.EveryDays = strconv.Itoa(a.Entry.EveryDays)
	}
	return s.automationForm(c, http.StatusOK, f, nil)
}

func (s *Server) automationSettingsSave(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	f, in, errs := readAutomationForm(c, id)
	if len(errs) > 0 {
		return s.automationForm(c, http.StatusUnprocessableEntity, f, errs)
	}
	_, err = s.automations.Update(c.Request().Context(), id, in)
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		return s.automationForm(c, http.StatusUnprocessableEntity, f, templates.FieldErrors(ve.Fields))
	}
	if err != nil {
		return err
	}
	s.flash(c, "success", "Settings saved.")
	return redirect(c, "/automations/"+itoa(id))
}

// automationShow draws an automation's flow. ?step= opens a step in the
// side panel; ?new=1 (with after, or parent and branch) the choice of a new
// step, and with kind its form; ?check=1 checks the flow.
func (s *Server) automationShow(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	a, err := s.store.Automation(c.Request().Context(), id)
	if err != nil {
		return err
	}
	p, err := s.automationProps(c, a)
	if err != nil {
		return err
	}
	q := c.QueryParams()
	switch {
	case q.Get("new") != "":
		pos := positionOf(q)
		if q.Get("kind") == "" {
			p.Panel = &templates.StepPanel{Mode: templates.PanelChoose, AutomationID: id, After: pos.After, Parent: pos.Parent, Branch: pos.Branch}
			for _, k := range store.StepKinds {
				p.Panel.Kinds = append(p.Panel.Kinds, templates.Option{Value: k, Label: templates.StepKindLabels[k]})
			}
			break
		}
		if p.Panel, err = s.stepPanel(c.Request().Context(), a, templates.PanelNew, templates.StepForm{Kind: q.Get("kind"), Unit: "days"}); err != nil {
			return err
		}
		p.Panel.After, p.Panel.Parent, p.Panel.Branch = pos.After, pos.Parent, pos.Branch
	case q.Get("step") != "":
		stepID, _ := strconv.ParseInt(q.Get("step"), 10, 64)
		st, ok := a.Flow.Find(stepID)
		if !ok {
			return store.ErrNotFound
		}
		if p.Panel, err = s.stepPanel(c.Request().Context(), a, templates.PanelEdit, stepFormOf(*st)); err != nil {
			return err
		}
		markSelected(p.Steps, stepID)
	case q.Get("check") != "":
		if err := s.checkInto(c, &p); err != nil {
			return err
		}
	}
	return s.render(c, http.StatusOK, templates.AutomationPage(p))
}

// checkInto checks the automation and puts what it found on the page.
func (s *Server) checkInto(c *echo.Context, p *templates.AutomationProps) error {
	problems, err := s.automations.Check(c.Request().Context(), p.A.ID)
	if err != nil {
		return err
	}
	p.Checked = true
	for _, k := range sortedKeys(problems) {
		p.Problems = append(p.Problems, problems[k])
		if id, ok := strings.CutPrefix(k, "step "); ok {
			n, _ := strconv.ParseInt(strings.Fields(id)[0], 10, 64)
			markProblem(p.Steps, n, problems[k])
		}
	}
	return nil
}

func markSelected(steps []templates.StepView, id int64) {
	for i := range steps {
		steps[i].Selected = steps[i].ID == id
		for b := range steps[i].Branches {
			markSelected(steps[i].Branches[b].Steps, id)
		}
	}
}

func markProblem(steps []templates.StepView, id int64, msg string) {
	for i := range steps {
		if steps[i].ID == id {
			steps[i].Problem = msg
		}
		for b := range steps[i].Branches {
			markProblem(steps[i].Branches[b].Steps, id, msg)
		}
	}
}

// positionOf reads where a new step goes from a query or a form.
func positionOf(v url.Values) store.Position {
	after, _ := strconv.ParseInt(v.Get("after"), 10, 64)
	parent, _ := strconv.ParseInt(v.Get("parent"), 10, 64)
	branch, _ := strconv.Atoi(v.Get("branch"))
	return store.Position{After: after, Parent: parent, Branch: branch}
}

// automationProps are an automation's page without a panel.
func (s *Server) automationProps(c *echo.Context, a store.Automation) (templates.AutomationProps, error) {
	ctx := c.Request().Context()
	row, err := s.automationRow(ctx, a)
	if err != nil {
		return templates.AutomationProps{}, err
	}
	stats, err := s.store.AutomationStats(ctx, a.ID)
	if err != nil {
		return templates.AutomationProps{}, err
	}
	campaigns, err := s.store.StepCampaigns(ctx, a.ID)
	if err != nil {
		return templates.AutomationProps{}, err
	}
	p := templates.AutomationProps{Shell: s.shell(c, "automations", a.Name), A: row, Editable: a.Status != store.AutomationArchived}
	p.Steps = s.stepViews(ctx, a.Flow.Steps, stats, campaigns)
	return p, nil
}

// stepViews draws steps, with their numbers.
func (s *Server) stepViews(ctx context.Context, steps []store.Step, stats map[int64]store.StepStats, campaigns map[int64]int64) []templates.StepView {
	out := make([]templates.StepView, len(steps))
	for i, st := range steps {
		n := stats[st.ID]
		v := templates.StepView{ID: st.ID, Kind: st.Kind, Title: templates.StepKindLabels[st.Kind], Summary: s.stepSummary(ctx, st),
			Waiting: n.Waiting, Passed: n.Passed, Last: st.Branching() || st.Kind == store.StepExit}
		if st.Kind == store.StepEmail {
			v.Email, v.Sent, v.OpenRate, v.ClickRate = true, n.Sent, percentOf(n.Opened, n.Sent), percentOf(n.Clicked, n.Sent)
			if id := campaigns[st.ID]; id != 0 {
				v.Report = "/campaigns/" + itoa(id) + "/report"
			}
		}
		labels := st.BranchLabels()
		for b, branch := range st.Branches {
			label := fmt.Sprintf("Branch %d", b+1)
			if b < len(labels) {
				label = labels[b]
			}
			v.Branches = append(v.Branches, templates.BranchView{Label: label, Parent: st.ID, Index: b, Steps: s.stepViews(ctx, branch, stats, campaigns)})
		}
		out[i] = v
	}
	return out
}

func percentOf(n, of int) string {
	if of == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(n)/float64(of))
}

// stepSummary says what a step does, in a few words.
func (s *Server) stepSummary(ctx context.Context, st store.Step) string {
	switch st.Kind {
	case store.StepEmail:
		name := fmt.Sprintf("template %d", st.TemplateID)
		if t, err := s.store.Template(ctx, st.TemplateID); err == nil {
			name = t.Name
		}
		if st.Subject != "" {
			return name + ": " + st.Subject
		}
		return name
	case store.StepWait:
		if st.Seconds > 0 {
			return "For " + durationText(st.Seconds)
		}
		days := "any day"
		if len(st.Weekdays) > 0 {
			var names []string
			for _, d := range st.Weekdays {
				names = append(names, templates.WeekdayNames[d])
			}
			days = strings.Join(names, ", ")
		}
		return "Until " + days + " at " + st.At
	case store.StepWaitEvent:
		return st.Event + ", at most " + durationText(st.Seconds)
	case store.StepAddTag, store.StepRemoveTag:
		return st.Tag
	case store.StepAddList, store.StepRemoveList:
		if l, err := s.store.ListHead(ctx, st.ListID); err == nil {
			return l.Name
		}
		return fmt.Sprintf("list %d", st.ListID)
	case store.StepSetAttribute:
		return st.Attribute + " = " + string(st.Value)
	case store.StepCondition:
		if st.Rule != nil {
			b, _ := json.Marshal(st.Rule.Conditions)
			return ruleText(b)
		}
	case store.StepSplit:
		return strings.Trim(strings.ReplaceAll(fmt.Sprint(st.Percents), " ", "% / "), "[]") + "%"
	case store.StepWebhook:
		if w, err := s.store.Webhook(ctx, st.WebhookID); err == nil {
			return hostOf(w.URL)
		}
	case store.StepNotify:
		return st.Subject
	}
	return ""
}

// ruleText shortens a condition's rules for the flow.
func ruleText(b []byte) string {
	if len(b) > 80 {
		return string(b[:77]) + "…"
	}
	return string(b)
}

// durationText says a number of seconds in the largest whole unit.
func durationText(secs int64) string {
	for _, u := range []struct {
		n    int64
		name string
	}{{7 * 86400, "week"}, {86400, "day"}, {3600, "hour"}, {60, "minute"}} {
		if secs%u.n == 0 {
			n := secs / u.n
			if n == 1 {
				return "1 " + u.name
			}
			return fmt.Sprintf("%d %ss", n, u.name)
		}
	}
	return fmt.Sprintf("%d seconds", secs)
}
