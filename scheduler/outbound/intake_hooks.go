package outbound

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"

	"herald/mailer/feedback"
	"herald/store"
)

// The provider webhooks. Each provider's URL carries its own token from
// Settings → Bounces & webhooks; a wrong token is store.ErrNotFound, a
// forged or damaged body BadNotificationError. Each returns nil only after
// what the body says is committed.

// hookToken checks a webhook URL's token against the saved one, in
// constant time, and returns the webhook settings.
func (s *Service) hookToken(ctx context.Context, token string, saved func(store.FeedbackHooks) string) (store.FeedbackHooks, error) {
	h, err := s.st.FeedbackHooks(ctx)
	if err != nil {
		return h, err
	}
	want := saved(h)
	if want == "" || subtle.ConstantTimeCompare([]byte(token), []byte(want)) != 1 {
		return h, store.ErrNotFound
	}
	return h, nil
}

// TakePostmark takes one Postmark webhook post. Postmark does not sign its
// posts: the token in the URL is what proves them.
func (s *Service) TakePostmark(ctx context.Context, token string, body []byte) (int, error) {
	if _, err := s.hookToken(ctx, token, func(h store.FeedbackHooks) string { return h.PostmarkToken }); err != nil {
		return 0, err
	}
	reports, err := feedback.ParsePostmark(body)
	if err != nil {
		return 0, badNotification(err)
	}
	return s.TakeReports(ctx, reports, "postmark")
}

// TakeSendGrid takes one post of SendGrid's Signed Event Webhook, checked
// with the verification key the owner pasted.
func (s *Service) TakeSendGrid(ctx context.Context, token, signature, timestamp string, body []byte) (int, error) {
	h, err := s.hookToken(ctx, token, func(h store.FeedbackHooks) string { return h.SendGridToken })
	if err != nil {
		return 0, err
	}
	if h.SendGridKey == "" {
		return 0, badNotification(errors.New("no SendGrid verification key is saved in Settings → Bounces & webhooks"))
	}
	if err := feedback.VerifySendGrid(h.SendGridKey, signature, timestamp, body); err != nil {
		return 0, badNotification(err)
	}
	reports, err := feedback.ParseSendGrid(body)
	if err != nil {
		return 0, badNotification(err)
	}
	return s.TakeReports(ctx, reports, "sendgrid")
}

// TakeMailgun takes one Mailgun webhook post, checked with the signing key
// the owner pasted.
func (s *Service) TakeMailgun(ctx context.Context, token string, body []byte) (int, error) {
	h, err := s.hookToken(ctx, token, func(h store.FeedbackHooks) string { return h.MailgunToken })
	if err != nil {
		return 0, err
	}
	if h.MailgunKey == "" {
		return 0, badNotification(errors.New("no Mailgun signing key is saved in Settings → Bounces & webhooks"))
	}
	reports, sig, perr := feedback.ParseMailgun(body)
	if err := sig.Verify(h.MailgunKey, s.now()); err != nil {
		return 0, badNotification(err)
	}
	if perr != nil {
		return 0, badNotification(perr)
	}
	// Mailgun signs the timestamp and token, not the body: a token that
	// came before with another body is a captured signature reused.
	sum := sha256.Sum256(body)
	ok, err := s.st.ClaimSignature(ctx, "mailgun", sig.Token, hex.EncodeToString(sum[:]))
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, badNotification(errors.New("this signature came before with another body"))
	}
	return s.TakeReports(ctx, reports, "mailgun")
}
