package outbound

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"herald/mailer/feedback"
	"herald/scheduler/inbound"
	"herald/store"
)

// BadNotificationError is a notification that is not what it claims to be:
// a forged or damaged signature, or a body that does not parse. Nothing of
// it is recorded; the sender should be told (400), not asked to retry.
type BadNotificationError struct{ Err error }

func (e *BadNotificationError) Error() string { return e.Err.Error() }
func (e *BadNotificationError) Unwrap() error { return e.Err }

func badNotification(err error) error { return &BadNotificationError{Err: err} }

// TakeSNS takes one delivery Amazon SNS posted to the notification URL of
// the relay with the given feedback token: it checks SNS's signature,
// confirms a subscription, and records the SES notification in a
// Notification. It returns nil only after the notification is committed.
func (s *Service) TakeSNS(ctx context.Context, token string, body []byte) (int, error) {
	relay, err := s.st.RelayByFeedbackToken(ctx, token)
	if err != nil {
		return 0, err
	}
	m, err := feedback.ParseSNS(body)
	if err != nil {
		return 0, badNotification(err)
	}
	if err := s.sns.Verify(ctx, m); err != nil {
		var fetch *feedback.CertFetchError
		if errors.As(err, &fetch) {
			// Not the message's fault: an error status makes SNS retry.
			return 0, fmt.Errorf("SES notification for relay token: %w", err)
		}
		return 0, badNotification(err)
	}
	// The first topic confirmed is the relay's; any other is refused, so a
	// leaked address takes nothing from someone else's AWS account.
	topic, err := s.st.RelayTopic(ctx, relay.ID)
	if err != nil {
		return 0, err
	}
	if topic != "" && m.TopicArn != topic {
		return 0, badNotification(fmt.Errorf("topic %q is not the one this address subscribed to", m.TopicArn))
	}
	switch m.Type {
	case feedback.SNSSubscriptionConfirmation:
		if err := s.sns.Confirm(ctx, m); err != nil {
			return 0, err
		}
		if err := s.st.SetRelayTopic(ctx, relay.ID, m.TopicArn); err != nil {
			return 0, err
		}
		s.log.Info("confirmed the SNS subscription for SES notifications", "relay", relay.Name, "topic", m.TopicArn)
		return 0, nil
	case feedback.SNSNotification:
	default:
		return 0, nil
	}
	reports, err := feedback.ParseSES(m.Message)
	if err != nil {
		return 0, badNotification(err)
	}
	for i := range reports {
		if reports[i].EventID == "" {
			reports[i].EventID = m.MessageId + "/" + reports[i].Recipient
		}
	}
	return s.TakeReports(ctx, reports, "ses")
}

// TakeMail takes one message that came back to Herald by email; it is the
// inbound listener's and poller's Handler. A bounce or complaint to a VERP
// return path, bounces+<token>@…, is about the send the token names; a
// message to unsubscribe+<token>@… is a mailto unsubscribe request (RFC
// 8058) from that send's contact. Mail that says nothing Herald records is
// accepted and dropped. It returns nil only after what the message says is
// committed.
func (s *Service) TakeMail(ctx context.Context, m inbound.Mail) error {
	via := m.Via
	var verp *store.FeedbackTarget
	for _, addr := range m.To {
		local, token := addressToken(addr)
		if token == "" {
			continue
		}
		t, err := s.verpTarget(ctx, token)
		if errors.Is(err, store.ErrNotFound) {
			s.log.Debug("mail to an address with an unknown token", "via", via, "to", addr)
			continue
		}
		if err != nil {
			return err
		}
		switch local {
		case "unsubscribe":
			r := feedback.Report{Kind: feedback.Unsubscribe, Provider: "mailto", EventID: "unsubscribe/" + strings.ToLower(token)}
			if _, err := s.takeReports(ctx, []feedback.Report{r}, via, &t); err != nil {
				return err
			}
		case "bounces":
			verp = &t
		}
	}
	reports, err := feedback.ParseMail(m.Raw)
	if err != nil {
		// Said where it shows by default: from a mailbox, it is deleted.
		s.log.Info("mail that is no bounce or complaint, taken and dropped", "via", via, "err", err)
		return nil
	}
	if _, err := s.takeReports(ctx, reports, via, verp); err != nil {
		return fmt.Errorf("taking mail: %w", err)
	}
	return nil
}

// addressToken splits a bounces+<token>@ or unsubscribe+<token>@ address
// into its lower-case base and its token; the token is "" for any other.
func addressToken(addr string) (local, token string) {
	if t, ok := feedback.VERPToken(addr); ok {
		return "bounces", t
	}
	a := strings.Trim(strings.TrimSpace(addr), "<>")
	at := strings.LastIndexByte(a, '@')
	if at < 0 {
		return "", ""
	}
	const prefix = "unsubscribe+"
	if l := a[:at]; len(l) > len(prefix) && strings.EqualFold(l[:len(prefix)], prefix) {
		return "unsubscribe", l[len(prefix):]
	}
	return "", ""
}

// returnPath is the envelope sender of a campaign's send: its VERP address
// when Settings → General has a bounce domain, else from.
func (s *Service) returnPath(g store.General, from string, campaign, send int64) string {
	if g.BounceDomain == "" {
		return from
	}
	return "bounces+" + s.tracker.SignVERP(campaign, send) + "@" + g.BounceDomain
}

// unsubscribeMailto is the List-Unsubscribe mailto of a campaign's send
// when Settings → General has a bounce domain, else def.
func (s *Service) unsubscribeMailto(g store.General, def string, campaign, send int64) string {
	if g.BounceDomain == "" {
		return def
	}
	return "unsubscribe+" + s.tracker.SignVERP(campaign, send) + "@" + g.BounceDomain
}

// MailboxConfig is the mailbox poller's settings, from Settings → Bounces &
// webhooks, and whether polling is on (a mailbox host is set).
func (s *Service) MailboxConfig(ctx context.Context) (inbound.PollerConfig, bool, error) {
	h, err := s.st.FeedbackHooks(ctx)
	if err != nil || h.Mailbox.Host == "" {
		return inbound.PollerConfig{}, false, err
	}
	m := h.Mailbox
	return inbound.PollerConfig{Protocol: m.Protocol, Host: m.Host, Port: m.Port, TLS: m.TLS, Username: m.Username, Password: m.Password,
		Folder: m.Folder}, true, nil
}
