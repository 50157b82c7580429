package outbound

import (
	"context"
	"time"

	"herald/store"
)

// Quota warning levels: a relay's day is nearly spent.
const (
	QuotaOK       = "ok"
	QuotaWarning  = "warning"  // 80% used
	QuotaCritical = "critical" // 95% used
)

// RelayQuota is what a relay may still send: for SES, the account's
// allowance as SES reports it; for any relay, the daily limit set in
// Herald and what Herald sent through it today (UTC).
type RelayQuota struct {
	Relay store.Relay
	// Max24Hour, MaxPerSecond and SentLast24Hours are SES's; Max24Hour is
	// -1 when unlimited. SES is false for an SMTP relay.
	SES                                    bool
	Max24Hour, MaxPerSecond, SentLast24Hrs float64
	SendingEnabled, ProductionAccess       bool
	// SESError says why SES's figures could not be read.
	SESError string
	// DailyQuota is Herald's own limit for the relay, 0 for none, and
	// SentToday what went through it this UTC day.
	DailyQuota, SentToday int
	// TodayCap is what the relay may send today in Herald, its warm-up
	// included, and CapReason what sets it; 0 and "" without a limit.
	TodayCap  int
	CapReason string
	// Used is the largest share of an allowance spent: 0 to 1, more when
	// over. Level says whether that calls for a warning; SES's paused
	// sending, or figures that cannot be read, are critical and a warning.
	Used  float64
	Level string
}

// usedLevel says how worrying a share of an allowance spent is.
func usedLevel(used float64) string {
	switch {
	case used >= 0.95:
		return QuotaCritical
	case used >= 0.8:
		return QuotaWarning
	}
	return QuotaOK
}

// RelayQuota reads a relay's allowance without sending anything: SES's
// GetAccount for an SES relay, and Herald's own count for every relay.
func (s *Service) RelayQuota(ctx context.Context, id int64) (RelayQuota, error) {
	r, err := s.st.Relay(ctx, id)
	if err != nil {
		return RelayQuota{}, err
	}
	q := RelayQuota{Relay: r, DailyQuota: r.DailyQuota, SentToday: r.SentToday}
	if limit, why, capped := (&relayGate{r: r, sesCap: -1}).dailyCap(s.now()); capped {
		q.TodayCap, q.CapReason = limit, why
		q.Used = float64(r.SentToday) / float64(max(limit, 1))
	}
	if r.Kind == store.RelaySES {
		q.SES = true
		sq, err := s.sesQuota(ctx, r)
		if err != nil {
			q.SESError = FailureDetail(err)
		} else {
			q.Max24Hour, q.MaxPerSecond, q.SentLast24Hrs = sq.Max24Hour, sq.MaxPerSecond, sq.SentLast24Hours
			q.SendingEnabled, q.ProductionAccess = sq.SendingEnabled, sq.ProductionAccess
			if sq.Max24Hour > 0 {
				q.Used = max(q.Used, sq.SentLast24Hours/sq.Max24Hour)
			}
		}
	}
	q.Level = usedLevel(q.Used)
	switch {
	case q.SES && q.SESError == "" && !q.SendingEnabled:
		q.Level = QuotaCritical
	case q.SESError != "" && q.Level == QuotaOK:
		q.Level = QuotaWarning
	}
	return q, nil
}

// Costs estimates what was sent between from and to cost, by campaign,
// category and month in loc, at each relay's price; mail that names no
// relay counts at the price of the one it goes through.
func (s *Service) Costs(ctx context.Context, from, to time.Time, loc *time.Location) (store.Costs, error) {
	var def int64
	if r, err := s.Relay(ctx, 0); err == nil {
		def = r.ID
	}
	return s.st.Costs(ctx, from, to, loc, def)
}
