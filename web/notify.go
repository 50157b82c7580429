package web

import (
	"context"
	"time"
)

// NotifyOwners emails every user about something that needs them, such as
// a campaign that paused itself, through the default relay. A failure is
// logged: the reason also shows in the admin UI.
func (s *Server) NotifyOwners(ctx context.Context, subject, text string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	emails, err := s.store.UserEmails(ctx)
	if err != nil {
		s.log.Error("listing users to notify", "err", err)
		return
	}
	for _, to := range emails {
		if err := s.sendSystemEmail(ctx, to, "[Herald] "+subject, text); err != nil {
			s.log.Error("notifying a user", "to", to, "subject", subject, "err", err)
		}
	}
}
