package outbound

import (
	"context"
	"errors"
	"sync"

	"herald/mailer/track"
	"herald/store"
)

// Hit is what a tracking request shows of who made it.
type Hit struct {
	Method    string
	UserAgent string
}

// Hits is the writer that commits opens and clicks; run it with its Run
// method before the web server starts, and stop it after.
func (s *Service) Hits() *store.HitWriter { return s.hits }

// Open records an open from a message's pixel, committed before it
// returns. A forged token gives store.ErrNotFound; one naming a send
// deleted since counts for nothing.
func (s *Service) Open(ctx context.Context, token string, h Hit) error {
	ref, err := s.tracker.Parse(token)
	if err != nil || ref.Link != 0 {
		return store.ErrNotFound
	}
	machine, why := track.MachineOpen(track.Hit{Method: h.Method, UserAgent: h.UserAgent, After: s.now().Sub(ref.Sent)})
	return s.hit(ctx, store.ResultOpen, ref, machine, why)
}

// Click records a click, committed before it returns, and says where it
// leads: only ever a link stored for the message's campaign or message.
func (s *Service) Click(ctx context.Context, token string, h Hit) (string, error) {
	ref, err := s.tracker.Parse(token)
	if err != nil || ref.Link == 0 {
		return "", store.ErrNotFound
	}
	l, err := s.destinations.get(ctx, s.st, ref.Link)
	if err != nil {
		return "", err
	}
	if l.CampaignID != ref.Campaign || l.MessageID != ref.Message {
		return "", store.ErrNotFound
	}
	machine, why := track.ScannerClick(track.Hit{Method: h.Method, UserAgent: h.UserAgent, After: s.now().Sub(ref.Sent)})
	if err := s.hit(ctx, store.ResultClick, ref, machine, why); err != nil {
		return "", err
	}
	return l.URL, nil
}

func (s *Service) hit(ctx context.Context, kind string, ref track.Ref, machine bool, why string) error {
	return s.hits.Record(ctx, store.Hit{Kind: kind, At: s.now(), Machine: machine, Detail: why,
		CampaignID: ref.Campaign, SendID: ref.Send, MessageID: ref.Message, LinkID: ref.Link, Private: ref.Private, OpensOff: ref.OpensOff})
}

// NoteLink counts a visit through one of a campaign message's own links
// (store.ResultUnsubscribe, ResultPreferences or ResultView) against that
// campaign. It is best effort: the visit itself has already been served.
func (s *Service) NoteLink(ctx context.Context, kind string, campaignID, contactID int64) {
	if campaignID == 0 {
		return
	}
	send, err := s.st.SendOf(ctx, campaignID, contactID)
	if err == nil {
		_, err = s.st.RecordFeedback(ctx, []store.Feedback{{Kind: kind, At: s.now(), CampaignID: campaignID, SendID: send}}, 0)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.Error("recording a visit", "kind", kind, "campaign", campaignID, "contact", contactID, "err", err)
	}
}

// destinations caches stored links by id for click redirects; links never
// change once stored, so the cache needs only a bound.
type destinations struct {
	mu    sync.Mutex
	links map[int64]store.Link
}

const maxCachedLinks = 10000

func (d *destinations) get(ctx context.Context, st *store.Store, id int64) (store.Link, error) {
	d.mu.Lock()
	l, ok := d.links[id]
	d.mu.Unlock()
	if ok {
		return l, nil
	}
	l, err := st.LinkByID(ctx, id)
	if err != nil {
		return l, err
	}
	d.mu.Lock()
	if d.links == nil || len(d.links) >= maxCachedLinks {
		d.links = map[int64]store.Link{}
	}
	d.links[id] = l
	d.mu.Unlock()
	return l, nil
}
