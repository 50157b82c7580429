package outbound

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"herald/mailer/ses"
	"herald/store"
)

// gates are the dispatcher's rate limits, shared by every campaign it runs:
// each relay's pace and daily cap, and the hourly cap of limited recipient
// domains. Counts start from the usage counters, which the recorded
// outcomes keep, so a restart does not reset them.
type gates struct {
	st  *store.Store
	now func() time.Time

	mu      sync.Mutex
	relays  map[int64]*relayGate
	domains map[string]*domainGate
}

func newGates(st *store.Store) *gates {
	return &gates{st: st, now: st.Now, relays: map[int64]*relayGate{}, domains: map[string]*domainGate{}}
}

// relayGate paces one relay and counts its messages of the day.
type relayGate struct {
	mu sync.Mutex
	r  store.Relay
	// next is when the next message may go, at the relay's rate.
	next time.Time
	// sesRate is the SES account's highest rate, 0 when not known.
	sesRate float64
	// sesPaused says AWS has paused the account's sending.
	sesPaused bool
	day       time.Time
	used      int
	// reload asks for the day's count to be read again.
	reload bool
	// sesCap is the count at which the SES account's 24-hour quota is
	// spent, or -1.
	sesCap int
}

// held says a message may not go before until, and why.
type held struct {
	until  time.Time
	reason string
}

func (h *held) Error() string { return h.reason }

func day(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }

// relayScope is the usage counter scope of a relay's messages.
func relayScope(id int64) string { return "relay:" + strconv.FormatInt(id, 10) }

// relay returns the gate of r, with r's current settings.
func (g *gates) relay(r store.Relay) *relayGate {
	g.mu.Lock()
	defer g.mu.Unlock()
	rg := g.relays[r.ID]
	if rg == nil {
		rg = &relayGate{sesCap: -1}
		g.relays[r.ID] = rg
	}
	rg.mu.Lock()
	// With new settings, the day's count is read again too: it has what
	// the transactional lane sent meanwhile.
	rg.r, rg.reload = r, true
	rg.mu.Unlock()
	return rg
}

// roll moves a gate to today, reading today's count so far; the caller
// holds rg.mu.
func (g *gates) roll(ctx context.Context, rg *relayGate, now time.Time) error {
	d := day(now)
	if rg.day.Equal(d) && !rg.reload {
		return nil
	}
	n, err := g.st.Usage(ctx, store.Counter{Scope: relayScope(rg.r.ID), Window: d})
	if err != nil {
		return err
	}
	// Within a day, what the SES account has left is the same whatever
	// the count; a new day waits for the quota to be read again.
	if rg.sesCap >= 0 && rg.day.Equal(d) {
		rg.sesCap = n + max(rg.sesCap-rg.used, 0)
	} else {
		rg.sesCap = -1
	}
	rg.day, rg.used, rg.reload = d, n, false
	return nil
}

// dailyCap is the most messages the relay may send today and what sets
// it; capped is false when nothing does.
func (rg *relayGate) dailyCap(now time.Time) (limit int, why string, capped bool) {
	if rg.r.DailyQuota > 0 {
		limit, why, capped = rg.r.DailyQuota, "its daily quota", true
	}
	if rg.r.WarmupDays > 0 && !rg.r.WarmupFrom.IsZero() {
		k := int(day(now).Sub(day(rg.r.WarmupFrom)) / (24 * time.Hour))
		if w := warmupCap(rg.r.WarmupStart, rg.r.DailyQuota, rg.r.WarmupDays, k); k < rg.r.WarmupDays && (!capped || w < limit) {
			limit, why, capped = w, fmt.Sprintf("its warm-up cap for day %d of %d", k+1, rg.r.WarmupDays), true
		}
	}
	if rg.sesCap >= 0 && (!capped || rg.sesCap < limit) {
		limit, why, capped = rg.sesCap, "the SES account's 24-hour quota", true
		if rg.sesPaused {
			why = "a pause of the SES account's sending by AWS"
		}
	}
	return limit, why, capped
}

// warmupCap is day k's cap (day 0 the first) of a warm-up that starts at
// start messages and grows evenly, by the same factor each day, to quota
// over days days; without a quota it doubles daily.
func warmupCap(start, quota, days, k int) int {
	if quota <= 0 {
		return int(min(float64(start)*math.Pow(2, float64(k)), math.MaxInt32))
	}
	return int(math.Round(float64(start) * math.Pow(float64(quota)/float64(start), float64(k)/float64(days))))
}

// full returns a *held when the relay has reached its daily cap.
func (g *gates) full(ctx context.Context, rg *relayGate) (*held, error) {
	now := g.now()
	rg.mu.Lock()
	defer rg.mu.Unlock()
	if err := g.roll(ctx, rg, now); err != nil {
		return nil, err
	}
	return rg.capReached(now), nil
}

// capReached returns a *held when the day's cap is reached; the caller
// holds rg.mu.
func (rg *relayGate) capReached(now time.Time) *held {
	limit, why, capped := rg.dailyCap(now)
	if !capped || rg.used < limit {
		return nil
	}
	next := rg.day.Add(24 * time.Hour)
	return &held{until: next, reason: fmt.Sprintf("Relay %s reached %s (%d messages); sending resumes at %s UTC.",
		rg.r.Name, why, limit, next.Format("2 Jan 15:04"))}
}

// take counts one message against the relay's day and waits for its pace.
// When the day's cap is reached it returns a *held instead.
func (g *gates) take(ctx context.Context, rg *relayGate) error {
	wait, err := g.reserve(ctx, rg)
	if err != nil || wait <= 0 {
		return err
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// reserve counts one message against the relay's day and says how long it
// must wait for the relay's pace.
func (g *gates) reserve(ctx context.Context, rg *relayGate) (time.Duration, error) {
	now := g.now()
	rg.mu.Lock()
	defer rg.mu.Unlock()
	if err := g.roll(ctx, rg, now); err != nil {
		return 0, err
	}
	if h := rg.capReached(now); h != nil {
		return 0, h
	}
	rg.used++
	rate := rg.rate()
	if rate <= 0 {
		return 0, nil
	}
	interval := time.Duration(float64(time.Second) / rate)
	rg.next = later(rg.next, now).Add(interval)
	return rg.next.Sub(now) - interval, nil
}

// rate is the relay's pace in messages a second, 0 for none: its own
// setting, or the SES account's highest rate if that is lower.
func (rg *relayGate) rate() float64 {
	rate := rg.r.RatePerSecond
	if rg.sesRate > 0 && (rate == 0 || rg.sesRate < rate) {
		rate = rg.sesRate
	}
	return rate
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// useSESQuota applies an SES account's sending allowance to its relay:
// its highest rate, and what is left of its 24-hour quota.
func (g *gates) useSESQuota(ctx context.Context, rg *relayGate, q ses.Quota) error {
	rg.mu.Lock()
	defer rg.mu.Unlock()
	if err := g.roll(ctx, rg, g.now()); err != nil {
		return err
	}
	rg.sesRate, rg.sesPaused = q.MaxPerSecond, !q.SendingEnabled
	switch {
	case !q.SendingEnabled:
		rg.sesCap = rg.used
	case q.Max24Hour > 0:
		rg.sesCap = rg.used + max(int(q.Max24Hour-q.SentLast24Hours), 0)
	}
	return nil
}

// domainGate counts the messages of the hour to one limited domain.
type domainGate struct {
	hour time.Time
	used int
}

func domainScope(domain string) string { return "domain:" + domain }

// takeDomain counts one message to a domain capped at limit an hour, or
// returns a *held until the next hour when the cap is reached.
func (g *gates) takeDomain(ctx context.Context, domain string, limit int) (store.Counter, error) {
	now := g.now()
	hour := now.UTC().Truncate(time.Hour)
	counter := store.Counter{Scope: domainScope(domain), Window: hour}
	g.mu.Lock()
	defer g.mu.Unlock()
	dg := g.domains[domain]
	if dg == nil || !dg.hour.Equal(hour) {
		n, err := g.st.Usage(ctx, counter)
		if err != nil {
			return counter, err
		}
		dg = &domainGate{hour: hour, used: n}
		g.domains[domain] = dg
	}
	if dg.used >= limit {
		next := hour.Add(time.Hour)
		return counter, &held{until: next, reason: fmt.Sprintf("Held back: %s takes %d messages an hour; this one waits for %s UTC.",
			domain, limit, next.Format("15:04"))}
	}
	dg.used++
	return counter, nil
}
