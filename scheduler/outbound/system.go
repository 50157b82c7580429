package outbound

import (
	"context"
	"errors"
	"strings"
	"time"

	"herald/mailer"
	"herald/store"
)

// System mail is Herald's own: sign-up confirmations and alerts to the
// owners. It goes through the transactional lane like any message, so it
// is retried, kept with its history, signed, and falls over between
// relays; it is listed as kind "system".

// ConfirmResend is how long a sign-up waits before it may send the same
// person another confirmation for the same list.
const ConfirmResend = 10 * time.Minute

// NotifyOwners emails every user about something that needs them, such as
// a campaign that paused itself. A failure to queue it is logged: the
// reason also shows in the admin UI.
func (s *Service) NotifyOwners(ctx context.Context, subject, text string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	emails, err := s.st.UserEmails(ctx)
	if err != nil {
		s.log.Error("listing users to notify", "err", err)
		return
	}
	for _, to := range emails {
		// Alerts reach the owners whatever the suppression list says.
		if _, err := s.system(ctx, to, "[Herald] "+subject, text, true); err != nil {
			s.log.Error("notifying a user", "to", to, "subject", subject, "err", err)
		}
	}
}

// OwnerAlerts are the messages NotifyOwners would queue, for a caller that
// queues them in a transaction of its own, such as an automation step.
func (s *Service) OwnerAlerts(ctx context.Context, subject, text string) ([]store.NewMessage, error) {
	emails, err := s.st.UserEmails(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]store.NewMessage, len(emails))
	for i, to := range emails {
		out[i] = s.systemMessage(ctx, to, "[Herald] "+subject, text, true)
	}
	return out, nil
}

// Confirmation is a sign-up waiting for its double opt-in email.
type Confirmation struct {
	ContactID int64
	Email     string
	FirstName string
	List      store.List
}

// Confirm queues the email that confirms a sign-up to a double opt-in
// list, at most once every ConfirmResend per person and list. It says
// whether it queued one.
func (s *Service) Confirm(ctx context.Context, c Confirmation) (queued bool, err error) {
	if !s.confirmations.allow(c.ContactID, c.List.ID, s.now(), ConfirmResend) {
		s.log.Info("confirmation email recently sent; not sending again yet", "list", c.List.ID, "contact", c.ContactID)
		return false, nil
	}
	defer func() {
		if err != nil {
			// Not queued: the next sign-up may try again at once.
			s.confirmations.forget(c.ContactID, c.List.ID)
		}
	}()
	g := s.general(ctx)
	if g.BaseURL == "" {
		return false, errors.New("the public base URL is not set, so the confirmation link would lead nowhere")
	}
	tmpl, err := s.st.ConfirmEmail(ctx)
	if err != nil {
		return false, err
	}
	token := s.st.Box().SignToken(store.Token{Purpose: store.PurposeConfirm, ContactID: c.ContactID, ListID: c.List.ID,
		Expires: s.now().Add(store.ConfirmTokenTTL)})
	subject, text, err := mailer.RenderText(tmpl.Subject, tmpl.Text, mailer.ConfirmData{ListName: c.List.Name, FirstName: c.FirstName,
		Org: g.OrgName, ConfirmURL: strings.TrimRight(g.BaseURL, "/") + "/subscribe/confirm/" + token})
	if err != nil {
		return false, err
	}
	m, err := s.system(ctx, c.Email, subject, text, false)
	if err != nil {
		return false, err
	}
	s.log.Info("confirmation email queued", "list", c.List.ID, "contact", c.ContactID, "message", m.ID)
	return true, nil
}

// systemMessage is a plain-text email from the organisation's default
// sender. System mail goes after transactional mail of high and normal
// priority, and before every campaign.
func (s *Service) systemMessage(ctx context.Context, to, subject, text string, essential bool) store.NewMessage {
	r, _ := s.Relay(ctx, 0) // only for its username, when there is no default sender
	g := s.general(ctx)
	return store.NewMessage{Message: store.Message{Kind: store.MessageSystem, Priority: store.PriorityLow, ToEmail: to, FromName: g.FromName,
		FromEmail: systemFrom(g, r), Subject: subject, Text: text, Essential: essential}}
}

// system queues a plain-text email from the organisation's default sender.
// It is queued whether or not a relay is enabled now: the lane picks the
// first enabled relay when it sends, and retries until there is one.
func (s *Service) system(ctx context.Context, to, subject, text string, essential bool) (store.Message, error) {
	in, err := s.screen(ctx, s.systemMessage(ctx, to, subject, text, essential))
	if err != nil {
		return store.Message{}, err
	}
	m, _, err := s.create(ctx, in)
	return m, err
}
