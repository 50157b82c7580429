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
}

// relayFailing reports whether relay id was failing at its last attempt.
func (s *Service) relayFailing(id int64) bool {
	s.health.mu.Lock()
	defer s.health.mu.Unlock()
	return s.health.failing[id]
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
	if s.health.failing == nil {
		s.health.failing = map[int64]bool{}
	}
	s.health.failing[r.ID] = failing
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
