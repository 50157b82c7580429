package outbound

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"herald/mailer/feedback"
	"herald/store"
)

// The intake: every bounce, complaint, delivery and unsubscribe that comes
// back, by email or by a provider's webhook, goes through TakeReports,
// which finds the send or message each report is about and records them
// all in one transaction.

// feedbackKinds maps what a report says to the result it records; bounces
// are mapped by severity, unsubscribes and auto-replies apart.
var feedbackKinds = map[feedback.Kind]string{
	feedback.Complaint: store.ResultComplaint,
	feedback.Delivery:  store.ResultDelivered,
	feedback.Delay:     store.ResultDelayed,
	feedback.Reject:    store.ResultRejected,
	feedback.Open:      store.ResultOpen,
	feedback.Click:     store.ResultClick,
}

// TakeReports records what reports say and returns how many were new.
// via names how they came ("smtp", "pop3", "ses", "postmark", …). Reports
// on no send or message Herald knows are counted in the log, not errors.
// It returns nil only after everything is committed.
func (s *Service) TakeReports(ctx context.Context, reports []feedback.Report, via string) (int, error) {
	return s.takeReports(ctx, reports, via, nil)
}

// takeReports is TakeReports with the target a VERP return path named, if any.
func (s *Service) takeReports(ctx context.Context, reports []feedback.Report, via string, verp *store.FeedbackTarget) (int, error) {
	var fs []store.Feedback
	var unsubscribe []int64
	unmatched := 0
	for _, r := range reports {
		kind := resultKind(r)
		if kind == "" {
			continue
		}
		t, err := s.findTarget(ctx, r, verp)
		if errors.Is(err, store.ErrNotFound) {
			unmatched++
			s.log.Debug("feedback on no known message", "via", via, "kind", r.Kind, "message_id", r.MessageID, "recipient", r.Recipient)
			continue
		}
		if err != nil {
			return 0, err
		}
		fs = append(fs, s.feedbackOf(r, kind, via, t))
		if kind == store.ResultUnsubscribe && t.ContactID != 0 {
			unsubscribe = append(unsubscribe, t.ContactID)
		}
	}
	if unmatched > 0 {
		s.log.Debug("feedback reports matched no message", "via", via, "unmatched", unmatched, "reports", len(reports))
	}
	if len(fs) == 0 {
		return 0, nil
	}
	n, err := s.st.RecordFeedback(ctx, fs, s.general(ctx).SoftBounceLimit)
	if err != nil {
		return 0, err
	}
	for _, id := range unsubscribe {
		if err := s.st.Unsubscribe(ctx, id, 0, "by a request to "+via); err != nil && !errors.Is(err, store.ErrNotFound) {
			return n, err
		}
	}
	return n, nil
}

// resultKind is the result a report records, or "" for one that records
// nothing, such as an automatic reply.
func resultKind(r feedback.Report) string {
	switch r.Kind {
	case feedback.Bounce:
		if r.Severity == feedback.Hard {
			return store.ResultHardBounce
		}
		return store.ResultSoftBounce
	case feedback.Unsubscribe:
		return store.ResultUnsubscribe
	}
	return feedbackKinds[r.Kind]
}

// feedbackOf is the store's record of one report on target t.
func (s *Service) feedbackOf(r feedback.Report, kind, via string, t store.FeedbackTarget) store.Feedback {
	at := r.At
	if at.IsZero() {
		at = s.now()
	}
	return store.Feedback{Kind: kind, At: at, CampaignID: t.CampaignID, SendID: t.SendID, MessageID: t.MessageID,
		Detail: feedbackDetail(r), Source: orDefault(r.Provider, via), Key: feedbackKey(r, via), URL: r.URL, Recipient: r.Recipient}
}

// feedbackKey names a report so one delivered twice counts once: the
// provider's event id, or a hash of what the report says.
func feedbackKey(r feedback.Report, via string) string {
	if r.EventID != "" {
		return via + ":" + r.EventID
	}
	at := ""
	if !r.At.IsZero() {
		at = r.At.UTC().Format(time.RFC3339Nano)
	}
	h := sha256.Sum256([]byte(strings.Join([]string{via, r.MessageID, r.Recipient, string(r.Kind), string(r.Severity), at}, "\x00")))
	return via + ":" + hex.EncodeToString(h[:16])
}

// feedbackDetail is a report's category and reason, as the owner reads it.
func feedbackDetail(r feedback.Report) string {
	switch {
	case r.Category != "" && r.Reason != "":
		return r.Category + ": " + r.Reason
	case r.Category != "":
		return r.Category
	}
	return r.Reason
}

// findTarget finds the send or message a report is about: by the VERP
// return path it came to, by the id the provider gave the message, or by
// the Message-ID Herald gave it (which an SES report carries beside its own
// id when it includes the original headers).
func (s *Service) findTarget(ctx context.Context, r feedback.Report, verp *store.FeedbackTarget) (store.FeedbackTarget, error) {
	if verp != nil {
		return *verp, nil
	}
	if t, err := s.st.FindByProviderID(ctx, r.MessageID); !errors.Is(err, store.ErrNotFound) {
		return t, err
	}
	if campaign, send, tag, ok := campaignMessageID(r.MessageID); ok && s.tracker.CheckMessageTag(tag, campaign, send) {
		return s.st.SendTarget(ctx, campaign, send)
	}
	for _, mid := range []string{r.MessageID, r.HeaderID} {
		if id, created, tag, ok := transactionalMessageID(mid); ok && s.tracker.CheckMessageTag(tag, id, created) {
			return store.FeedbackTarget{MessageID: id}, nil
		}
	}
	return store.FeedbackTarget{}, store.ErrNotFound
}

// Message-IDs Herald gives: c<campaign>.s<send>.<tag>@domain for a
// campaign's message (mailer/campaign.go), m<message>.<created>.<tag>@domain
// for a transactional one (lane_relays.go); the tag is a MAC of the two
// numbers (track.Signer.MessageTag), which the caller checks.
var (
	campaignID      = regexp.MustCompile(`^c([0-9]{1,18})\.s([0-9]{1,18})\.([a-zA-Z0-9]{8,64})@`)
	transactionalID = regexp.MustCompile(`^m([0-9]{1,18})\.([0-9]{1,18})\.([a-zA-Z0-9]{8,64})@`)
)

// campaignMessageID reads a campaign message's Message-ID.
func campaignMessageID(id string) (campaign, send int64, tag string, ok bool) {
	return twoNumbersAndTag(campaignID, id)
}

// transactionalMessageID reads a transactional message's Message-ID.
func transactionalMessageID(id string) (message, created int64, tag string, ok bool) {
	return twoNumbersAndTag(transactionalID, id)
}

func twoNumbersAndTag(re *regexp.Regexp, id string) (a, b int64, tag string, ok bool) {
	m := re.FindStringSubmatch(strings.Trim(id, "<>"))
	if m == nil {
		return 0, 0, "", false
	}
	a, err1 := strconv.ParseInt(m[1], 10, 64)
	b, err2 := strconv.ParseInt(m[2], 10, 64)
	return a, b, m[3], err1 == nil && err2 == nil
}

// verpTarget is the send a VERP token names, or an error when the token
// is not one Herald signed.
func (s *Service) verpTarget(ctx context.Context, token string) (store.FeedbackTarget, error) {
	campaign, send, err := s.tracker.ParseVERP(token)
	if err != nil {
		return store.FeedbackTarget{}, fmt.Errorf("%w: %v", store.ErrNotFound, err)
	}
	return s.st.SendTarget(ctx, campaign, send)
}
