package automations

import (
	"context"
	"errors"
	"maps"

	"herald/store"
)

// Create adds a draft automation.
func (e *Engine) Create(ctx context.Context, in store.AutomationInput) (store.Automation, error) {
	return e.st.CreateAutomation(ctx, in)
}

// Update changes an automation. The flow of an active or paused one must
// stay whole, and its email steps are checked and frozen again, so the
// change reaches journeys under way; every contact keeps their place.
func (e *Engine) Update(ctx context.Context, id int64, in store.AutomationInput) (store.Automation, error) {
	in, a, err := e.st.PreviewAutomation(ctx, id, in)
	if err != nil {
		return a, err
	}
	running := a.Status == store.AutomationActive || a.Status == store.AutomationPaused
	if running {
		// Checked before the change, frozen once it stands: a change that
		// is refused leaves the email as it was.
		if err := e.out.CheckAutomationEmails(ctx, a); err != nil {
			return a, err
		}
	}
	a, err = e.st.UpdateAutomation(ctx, id, in)
	if err != nil || !running {
		return a, err
	}
	return a, e.out.PrepareAutomation(ctx, a)
}

// Check says what stops an automation from running: problems in its
// trigger or flow, by field or step, and email steps that would not send.
// It returns nil when the automation could be activated.
func (e *Engine) Check(ctx context.Context, id int64) (map[string]string, error) {
	a, err := e.st.Automation(ctx, id)
	if err != nil {
		return nil, err
	}
	errs := map[string]string{}
	var ve *store.ValidationError
	if err := e.st.CheckAutomation(ctx, a); errors.As(err, &ve) {
		maps.Copy(errs, ve.Fields)
	} else if err != nil {
		return nil, err
	}
	if err := e.out.CheckAutomationEmails(ctx, a); errors.As(err, &ve) {
		for k, v := range ve.Fields {
			if errs[k] == "" {
				errs[k] = v
			}
		}
	} else if err != nil {
		return nil, err
	}
	if len(errs) == 0 {
		return nil, nil
	}
	return errs, nil
}

// Activate checks an automation, freezes its email and starts it: from
// now on its trigger brings contacts in, and journeys paused in it go on.
func (e *Engine) Activate(ctx context.Context, id int64) (store.Automation, error) {
	errs, err := e.Check(ctx, id)
	if err != nil {
		return store.Automation{}, err
	}
	if errs != nil {
		return store.Automation{}, &store.ValidationError{Fields: errs}
	}
	a, err := e.st.Automation(ctx, id)
	if err != nil {
		return a, err
	}
	if err := e.out.PrepareAutomation(ctx, a); err != nil {
		return a, err
	}
	a, err = e.st.SetAutomationStatus(ctx, id, store.AutomationActive)
	e.Wake()
	return a, err
}

// Pause stops an automation: nobody enters, and every contact waits where
// they are until it is activated again.
func (e *Engine) Pause(ctx context.Context, id int64) (store.Automation, error) {
	return e.st.SetAutomationStatus(ctx, id, store.AutomationPaused)
}

// Archive ends an automation for good, and every journey in it.
func (e *Engine) Archive(ctx context.Context, id int64) (store.Automation, error) {
	return e.st.SetAutomationStatus(ctx, id, store.AutomationArchived)
}

// Enroll puts contacts into an active automation, by hand or through the
// API, under its entry rules.
func (e *Engine) Enroll(ctx context.Context, id int64, contactIDs []int64, source string) (store.EnrollResult, error) {
	in := make([]store.Enrollment, len(contactIDs))
	for i, c := range contactIDs {
		in[i] = store.Enrollment{ContactID: c, Source: source}
	}
	res, err := e.st.Enroll(ctx, id, in)
	if err == nil && res.Entered > 0 {
		e.Wake()
	}
	return res, err
}

// Test runs an automation for one contact at once, active or not (but not
// archived), with every wait shortened to seconds: its email is sent for
// real, and its history shows each step as it happens. It returns the test
// journey's id.
func (e *Engine) Test(ctx context.Context, id, contactID int64) (int64, error) {
	errs, err := e.Check(ctx, id)
	if err != nil {
		return 0, err
	}
	if errs != nil {
		return 0, &store.ValidationError{Fields: errs}
	}
	a, err := e.st.Automation(ctx, id)
	if err != nil {
		return 0, err
	}
	if a.Status == store.AutomationArchived {
		return 0, &store.ValidationError{Fields: map[string]string{"status": "An archived automation cannot be tested."}}
	}
	if err := e.out.PrepareAutomation(ctx, a); err != nil {
		return 0, err
	}
	res, err := e.st.Enroll(ctx, id, []store.Enrollment{{ContactID: contactID, Source: "test", Test: true}})
	if err != nil {
		return 0, err
	}
	if res.Entered == 0 {
		for why := range res.Skipped {
			return 0, &store.ValidationError{Fields: map[string]string{"contact_id": "That contact cannot be tested with: " + why + "."}}
		}
	}
	e.Wake()
	js, _, err := e.st.Journeys(ctx, id, store.JourneyFilter{ContactID: contactID, Test: true}, 1, 0)
	if err != nil || len(js) == 0 {
		return 0, err
	}
	return js[0].ID, nil
}
