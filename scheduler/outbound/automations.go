package outbound

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"herald/store"
)

// PrepareAutomation checks every email step of an automation as a
// campaign's send is checked (a sender, a relay, the public URL, a
// template that compiles and renders for the sample contact) and freezes
// each into the campaign it sends through. Problems come back as field
// errors keyed by step ("step 4"), so a draft can be checked before it is
// activated.
func (s *Service) PrepareAutomation(ctx context.Context, a store.Automation) error {
	emails, err := s.stepEmails(ctx, a)
	if err != nil {
		return err
	}
	return s.st.SetStepEmails(ctx, a.ID, emails)
}

// CheckAutomationEmails checks an automation's email steps as
// PrepareAutomation does, and changes nothing.
func (s *Service) CheckAutomationEmails(ctx context.Context, a store.Automation) error {
	_, err := s.stepEmails(ctx, a)
	return err
}

// stepEmails checks and freezes each email step of a.
func (s *Service) stepEmails(ctx context.Context, a store.Automation) ([]store.StepEmailContent, error) {
	errs := map[string]string{}
	var emails []store.StepEmailContent
	var walkErr error
	a.Flow.Walk(func(st *store.Step) {
		if st.Kind != store.StepEmail || walkErr != nil {
			return
		}
		key := fmt.Sprintf("step %d", st.ID)
		tracking := store.Tracking{Opens: true, Clicks: true}
		if st.Tracking != nil {
			tracking = *st.Tracking
		}
		x := store.Campaign{Name: fmt.Sprintf("%s · step %d", a.Name, st.ID), Subject: st.Subject, FromName: st.FromName, FromEmail: st.FromEmail,
			TemplateID: st.TemplateID, RelayID: st.RelayID, Tracking: tracking, AutomationID: a.ID, AutomationStep: st.ID}
		content, _, err := s.checkCampaign(ctx, x, true)
		var ve *store.ValidationError
		if errors.As(err, &ve) {
			errs[key] = fmt.Sprintf("%s: %s", st.Title(), fieldText(ve))
			return
		}
		if errors.Is(err, store.ErrNotFound) {
			errs[key] = fmt.Sprintf("%s: its template or layout no longer exists; choose another.", st.Title())
			return
		}
		if err != nil {
			walkErr = err
			return
		}
		if _, err := s.RenderSource(ctx, content.Source, content.Name); err != nil {
			errs[key] = fmt.Sprintf("%s: the email does not render: %s", st.Title(), err)
			return
		}
		frozen, err := json.Marshal(content)
		if err != nil {
			walkErr = err
			return
		}
		emails = append(emails, store.StepEmailContent{StepID: st.ID, Name: x.Name, Subject: st.Subject, FromName: st.FromName, FromEmail: st.FromEmail,
			TemplateID: st.TemplateID, RelayID: st.RelayID, Tracking: tracking, Frozen: string(frozen)})
	})
	if walkErr != nil {
		return nil, walkErr
	}
	if len(errs) > 0 {
		return nil, &store.ValidationError{Fields: errs}
	}
	return emails, nil
}
