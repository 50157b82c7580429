package outbound

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"herald/mailer"
	"herald/mailer/track"
	"herald/store"
)

// campaignRun is one run of one campaign: what it sends, through which
// relays, and what stops it.
type campaignRun struct {
	d        *Dispatcher
	id       int64
	content  *mailer.Content
	compiled *mailer.Compiled
	route    *route
	// general is read once per run, not on every message: the retry delay,
	// the domain limits and the auto-pause thresholds.
	general store.General
	// settled counts messages sent or failed, before this run and in it,
	// for the bounce and complaint rates.
	settled atomic.Int64
	// held is set when a relay's daily cap stops the run.
	held atomic.Pointer[held]
	// stopped is set when the campaign stops sending mid-run, so the
	// workers leave what they were fed untried.
	stopped atomic.Bool
	// stalled is set when the relays stop answering: the workers leave
	// what they were fed untried, and the next run probes with one message
	// a connection.
	stalled atomic.Bool
	// writer writes the rest of the audience while the run sends; nil
	// once it was all written before the run began.
	writer *audienceWriter
	// fed counts the sends claimed and not yet taken up by a worker.
	fed sync.WaitGroup
	// answered is set once a relay of this run has answered a message:
	// until then the run claims one message a connection.
	answered atomic.Bool
	// refused says why the relays refuse the whole campaign, such as an SES
	// account with sending paused; the run then pauses it.
	refused atomic.Pointer[string]
	// links and org are read once per run, for every message.
	links Links
	org   mailer.OrgData
	// signer signs each message with the sending domain's DKIM key; nil
	// when the domain has none.
	signer *mailer.DKIMSigner
	// feedbackID names the campaign in each message's Feedback-ID.
	feedbackID string
	// links holds the ids of the campaign's tracked links.
	linkIDs *linkCache
	// variants are an A/B test's, each send rendered from its own.
	variants []variantContent
}

func (d *Dispatcher) newRun(ctx context.Context, c store.Campaign, content *mailer.Content, compiled *mailer.Compiled, rt *route) (*campaignRun, error) {
	g, err := d.s.st.General(ctx)
	if err != nil {
		return nil, err
	}
	n, err := d.s.st.SendCounts(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	j := &campaignRun{d: d, id: c.ID, content: content, compiled: compiled, route: rt, general: g,
		links: d.s.linksAt(g.BaseURL), org: orgOf(g), feedbackID: fmt.Sprintf("%d:herald", c.ID), linkIDs: newLinkCache(d.s.st, c.ID, 0, content.Tracking.UTM)}
	if j.signer, err = d.s.signer(ctx, content.FromEmail); err != nil {
		return nil, fmt.Errorf("campaign %d: DKIM key: %w", c.ID, err)
	}
	if j.variants, err = d.s.variantContents(ctx, c.ID); err != nil {
		return nil, err
	}
	j.settled.Store(int64(n[store.SendSent] + n[store.SendFailed]))
	return j, nil
}

// mustWait checks, before each batch, whether the campaign must stop: its
// relay's daily cap is reached (it is held until the next day), or its
// bounce or complaint rate passed its threshold (it pauses itself and the
// owners are told).
func (j *campaignRun) mustWait(ctx context.Context, c store.Campaign) (bool, error) {
	h, err := j.route.full(ctx)
	if err != nil {
		return true, err
	}
	if h != nil {
		return true, j.d.s.st.HoldCampaign(ctx, c.ID, h.reason, h.until)
	}
	if c.HeldReason != "" {
		if err := j.d.s.st.HoldCampaign(ctx, c.ID, "", time.Time{}); err != nil {
			return true, err
		}
	}
	reason := j.overThreshold(c)
	if reason == "" {
		return false, nil
	}
	return true, j.pauseItself(ctx, c.Name, reason)
}

// pauseItself pauses the campaign, says why, and tells the owners.
func (j *campaignRun) pauseItself(ctx context.Context, name, reason string) error {
	return j.d.pauseItself(ctx, j.id, name, reason)
}

// overThreshold says why the campaign must pause, or "" when it need not.
func (j *campaignRun) overThreshold(c store.Campaign) string {
	settled := j.settled.Load() - int64(c.RatesFrom.Settled)
	if settled < store.MinSendsForPause {
		return ""
	}
	for _, x := range []struct {
		what  string
		count int
		limit float64
	}{{"hard-bounced", c.Bounces - c.RatesFrom.Bounces, j.general.BouncePausePercent},
		{"were reported as spam", c.Complaints - c.RatesFrom.Complaints, j.general.ComplaintPausePercent}} {
		if rate := 100 * float64(x.count) / float64(settled); rate > x.limit {
			return fmt.Sprintf("Campaign %q paused itself: %d of its %d messages so far %s (%.2f%%), over the %g%% set in Settings → General. "+
				"A high rate hurts the reputation of everything you send; check where the list came from before resuming.",
				c.Name, x.count, settled, x.what, rate, x.limit)
		}
	}
	return ""
}

// prepare renders one recipient's message, in *buf, which it keeps for the
// next: the message is the caller's until then. When it cannot, it returns
// the outcome that says why instead.
func (j *campaignRun) prepare(buf *[]byte, sd store.Send, contact store.Contact, found bool) ([]byte, *store.Outcome) {
	if !found {
		return nil, &store.Outcome{SendID: sd.ID, Status: store.SendFailed, Response: "the contact was deleted before the message went"}
	}
	now := j.d.s.now()
	content, compiled, signer := j.content, j.compiled, j.signer
	if len(j.variants) > 0 {
		// A test's send has its variant; one to the rest, the winner's.
		v := sd.Variant % store.VariantWinner
		if v < 0 || v >= len(j.variants) {
			v = 0
		}
		content, compiled, signer = j.variants[v].content, j.variants[v].compiled, j.variants[v].signer
	}
	// Tracking goes in as the message is built, before it is signed.
	msg, err := content.Build((*buf)[:0], compiled, j.id, mailer.Recipient{
		SendID:     sd.ID,
		Contact:    mailer.ContactData{Email: sd.Email, FirstName: contact.FirstName, LastName: contact.LastName, Attributes: contact.Attributes},
		Links:      j.links.Campaign(sd.ContactID, j.id),
		Org:        j.org,
		Date:       now,
		FeedbackID: j.feedbackID,
		MessageTag: j.d.s.tracker.MessageTag(j.id, sd.ID),
		// With a bounce domain, a mailto unsubscribe names the send.
		UnsubscribeMailto: j.d.s.unsubscribeMailto(j.general, content.UnsubscribeMailto, j.id, sd.ID),
		Track: j.d.s.tracking(content.Tracking, j.links.Base(),
			track.Ref{Campaign: j.id, Send: sd.ID, Sent: now, Private: content.Tracking.Private}, j.linkIDs),
	})
	if err != nil {
		// A template that cannot render for this recipient fails them
		// visibly, with the reason, rather than skipping them.
		return nil, &store.Outcome{SendID: sd.ID, Status: store.SendFailed, Response: err.Error()}
	}
	*buf = msg
	if signer != nil {
		if msg, err = signer.Sign(msg); err != nil {
			return nil, &store.Outcome{SendID: sd.ID, Status: store.SendFailed, Response: "DKIM signing: " + err.Error()}
		}
	}
	return msg, nil
}

// deliver sends one prepared message and says what became of it; an
// outcome without a status means it was never tried.
func (j *campaignRun) deliver(ctx context.Context, committed func() error, sd store.Send, msg []byte) store.Outcome {
	out := store.Outcome{SendID: sd.ID}
	var counted []store.Counter
	if domain := domainOf(sd.Email); j.general.DomainLimit(domain) > 0 {
		c, err := j.d.gates.takeDomain(ctx, domain, j.general.DomainLimit(domain))
		if h, ok := err.(*held); ok {
			return store.Outcome{SendID: sd.ID, Status: store.SendQueued, Response: h.reason, NextAttempt: h.until}
		}
		if err != nil {
			return j.retry(sd, out, err)
		}
		counted = append(counted, c)
	}
	res, relay, err := j.route.Deliver(ctx, committed, j.d.s.returnPath(j.general, j.content.FromEmail, j.id, sd.ID), sd.Email, msg)
	if h, ok := err.(*held); ok {
		// The whole campaign waits, not this message: it goes back to the
		// queue untried, and goes as soon as the relay may send again,
		// whether the day turns or its quota is raised.
		j.held.Store(h)
		return store.Outcome{SendID: sd.ID}
	}
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) || errors.Is(err, errNotRecorded) {
		// Stopped before the message left: untried, not failed. After a
		// failed commit, nothing more goes out in this run.
		if errors.Is(err, errNotRecorded) {
			j.stopped.Store(true)
		}
		return store.Outcome{SendID: sd.ID}
	}
	if relay.ID != 0 {
		j.d.s.noteRelay(ctx, relay, err)
	}
	if mailer.Failing(err) {
		// The relay does not answer, and no other is left to fall over to:
		// this message is retried, and the rest of the batch goes back to
		// the queue untried rather than wait in turn for the same silence.
		j.stalled.Store(true)
	} else {
		j.answered.Store(true)
	}
	var se *mailer.SendError
	if errors.As(err, &se) {
		out.Code = se.Code
		if se.AccountRefused {
			// No message can go until a person acts: the campaign pauses,
			// and this one waits in the queue untried.
			reason := fmt.Sprintf("Paused itself: relay %s refuses to send anything for now (%v). Fix it with the provider, then resume.", relay.Name, err)
			j.refused.Store(&reason)
			j.stopped.Store(true)
			return store.Outcome{SendID: sd.ID}
		}
	}
	switch mailer.Classify(err) {
	case mailer.Delivered:
		out.Status, out.Code, out.Response, out.ProviderID = store.SendSent, 250, res.Reply, res.ProviderID
		out.Count = append(counted, store.Counter{Scope: relayScope(relay.ID), Window: day(j.d.s.now())})
	case mailer.HardBounce:
		out.Status, out.Response, out.HardBounce = store.SendFailed, err.Error(), true
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if berr := j.d.s.st.HardBounce(bctx, sd.ContactID, sd.Email, err.Error()); berr != nil {
			j.d.s.log.Error("recording a hard bounce", "campaign", j.id, "send", sd.ID, "err", berr)
		}
	case mailer.Permanent:
		out.Status, out.Response = store.SendFailed, err.Error()
	default:
		return j.retry(sd, out, err)
	}
	j.settled.Add(1)
	return out
}

// domainOf is the domain of an address, lower-cased.
func domainOf(email string) string {
	_, domain, _ := strings.Cut(email, "@")
	return strings.ToLower(domain)
}

// retry schedules another attempt after a temporary failure, or gives up
// by the one rule, retryAt.
func (j *campaignRun) retry(sd store.Send, out store.Outcome, err error) store.Outcome {
	out.Response = answerOf(err)
	next, giveUp := retryAt(sd.Attempts+1, j.d.s.firstRetry(j.general), j.d.s.now())
	if giveUp {
		out.Status, out.Response = store.SendFailed, gaveUp(err)
		return out
	}
	out.Status, out.NextAttempt = store.SendRetrying, next
	return out
}
