package outbound

import (
	"context"
	"errors"
	"sync"

	"herald/mailer"
	"herald/mailer/track"
	"herald/store"
)

// trackingOf is what a campaign tracks: what it asks for, less what the
// install switched off, in privacy mode when the install is.
func trackingOf(t store.Tracking, g store.General) mailer.Tracking {
	return mailer.Tracking{
		Opens: t.Opens && !g.NoOpenTracking, Clicks: t.Clicks && !g.NoClickTracking, Private: g.TrackingPrivacy,
		UTM: track.UTM{Source: t.UTMSource, Medium: t.UTMMedium, Campaign: t.UTMCampaign},
	}
}

// Tracker is the one signer of tracking tokens, for the messages that
// carry them and the endpoints that read them.
func (s *Service) Tracker() *track.Signer { return s.tracker }

// linkCache holds the ids of one campaign's (or message's) stored links, so
// each destination is stored once however many messages carry it.
type linkCache struct {
	st       *store.Store
	campaign int64
	message  int64
	utm      track.UTM
	mu       sync.Mutex
	// ids maps each href as written to its stored link's id, 0 for one
	// left untracked.
	ids map[string]int64
}

func newLinkCache(st *store.Store, campaign, message int64, utm track.UTM) *linkCache {
	return &linkCache{st: st, campaign: campaign, message: message, utm: utm, ids: map[string]int64{}}
}

// id returns the stored id of the link to href, with the UTM parameters
// added; false leaves the link untracked, as when the campaign has too
// many distinct links or the store fails (the message still goes, with
// that link as written).
func (c *linkCache) id(href string) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if id, ok := c.ids[href]; ok {
		return id, id != 0
	}
	id, err := c.st.LinkID(context.Background(), c.campaign, c.message, c.utm.Apply(href))
	if err != nil && !errors.Is(err, store.ErrUntracked) {
		return 0, false
	}
	c.ids[href] = id
	return id, id != 0
}

// tracking returns the tracker of one message. One that tracks nothing
// still takes the notrack attributes out.
func (s *Service) tracking(t mailer.Tracking, base string, ref track.Ref, links *linkCache) *track.Message {
	if base == "" {
		// No public URL for the pixel and redirects to live at.
		t.Opens, t.Clicks = false, false
	}
	ref.OpensOff = !t.Opens
	return &track.Message{Signer: s.tracker, Base: base, Ref: ref, Opens: t.Opens, Clicks: t.Clicks, Link: links.id}
}
