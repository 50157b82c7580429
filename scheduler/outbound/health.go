package outbound

import (
	"context"
	"sync"
	"time"

	"herald/mailer"
	"herald/store"
)

// health remembers which relays answer, so the store is written only when
// a relay starts or stops failing, not for every message.
type health struct {
	mu sync.Mutex
	// failing holds each relay's state as last written: true while it
	// fails, false once a message went through it; absent until this
	// process has sent through it.
	failing map[int64]bool
	// probed is when mail last went first to a failing relay, to see
	// whether it answers again.
	probed map[int64]time.Time
}

// probeEvery is how often a failing relay gets mail first again, to see
// whether it answers, while other relays take the rest.
const probeEvery = time.Minute

// relayFailing reports whether r failed at its last attempt: as this
// process saw it, or, before it has sent through r, as the store says.
func (s *Service) relayFailing(r store.Relay) bool {
	s.health.mu.Lock()
	defer s.health.mu.Unlock()
	if failing, known := s.health.failing[r.ID]; known {
		return failing
	}
	return !r.FailingSince.IsZero()
}

// answeringFirst orders a route so that relays known to fail come after
// the others, keeping the order otherwise: mail goes at once through a
// relay that answers rather than wait for one that does not. A failing
// relay still goes first once every probeEvery, so it is seen to answer
// again, and stays last in the route while others are left to try.
func (s *Service) answeringFirst(route []store.Relay) []store.Relay {
	var ok, failing []store.Relay
	now := s.now()
	for _, r := range route {
		if !s.relayFailing(r) || s.probeDue(r.ID, now) {
			ok = append(ok, r)
		} else {
			failing = append(failing, r)
		}
	}
	return append(ok, failing...)
}

// probeDue reports whether failing relay id may get mail first again, and
// if so counts this as its probe.
func (s *Service) probeDue(id int64, now time.Time) bool {
	s.health.mu.Lock()
	defer s.health.mu.Unlock()
	if last, ok := s.health.probed[id]; ok && now.Sub(last) < probeEvery {
		return false
	}
	s.health.probed[id] = now
	return true
}

// noteRelay records what an attempt through r says of it: that it failed
// (mailer.Failing), with the error, or that it answers again. A relay's
// failure shows on the pages of the campaigns that use it and on the
// dashboard until a message goes through it.
func (s *Service) noteRelay(ctx context.Context, r store.Relay, err error) {
	failing := mailer.Failing(err)
	if err != nil && !failing {
		return
	}
	s.health.mu.Lock()
	was, known := s.health.failing[r.ID]
	s.health.failing[r.ID] = failing
	if failing && !was {
		// It has just been tried: its next probe is due a while from now.
		s.health.probed[r.ID] = s.now()
	}
	s.health.mu.Unlock()
	if known && was == failing && !failing {
		return
	}
	// Its own context: what a stopping run saw is still written down.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var werr error
	if failing {
		werr = s.st.RelayFailing(wctx, r.ID, err.Error())
	} else {
		werr = s.st.RelayAnswering(wctx, r.ID)
	}
	if werr != nil {
		s.log.Error("recording whether a relay answers", "relay", r.Name, "err", werr)
	}
}
