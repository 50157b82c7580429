package outbound

import (
	"context"
	"sync"

	"herald/mailer"
	"herald/mailer/ses"
	"herald/store"
)

// route is how one campaign run's messages leave: through the campaign's
// relay, and when that one is down, through the next enabled relay, each
// opened the first time it is needed. A later run starts again with the
// campaign's own relay.
type route struct {
	d      *Dispatcher
	relays []store.Relay
	// conns is how many messages go at once: the first relay's maximum.
	conns int

	gates []*relayGate

	mu     sync.Mutex
	cur    int
	opened []mailer.Transport
}

// afterDeliverer is a transport that can send a message's envelope and body
// before it hands the message over for good: the SMTP pool.
type afterDeliverer interface {
	DeliverAfter(ctx context.Context, before func() error, from, to string, msg []byte) (mailer.Result, error)
}

// quotaReader is a transport that can say what its account may send: SES.
type quotaReader interface {
	Quota(ctx context.Context) (ses.Quota, error)
}

// openRoute lines up the relays for a campaign by the one rule,
// relayOrder: its own (id 0: the first enabled one), then every other
// enabled relay, those known to fail last.
func (d *Dispatcher) openRoute(ctx context.Context, id int64) (*route, error) {
	relays, err := d.s.relays(ctx, id)
	if err != nil {
		return nil, err
	}
	relays = d.s.answeringFirst(relays)
	rt := &route{d: d, relays: relays, conns: max(relays[0].MaxConnections, 1), opened: make([]mailer.Transport, len(relays))}
	for _, r := range relays {
		rt.gates = append(rt.gates, d.gates.relay(r))
	}
	return rt, nil
}

// current returns the relay in use, opening it if need be.
func (rt *route) current(ctx context.Context) (int, mailer.Transport, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	i := rt.cur
	if rt.opened[i] == nil {
		t, err := rt.d.s.open(ctx, rt.relays[i])
		if err != nil {
			return i, nil, &mailer.SendError{Stage: "connect", Temporary: true, Err: err}
		}
		rt.opened[i] = t
		if q, ok := t.(quotaReader); ok {
			quota, err := q.Quota(ctx)
			if err == nil {
				err = rt.d.gates.useSESQuota(ctx, rt.gates[i], quota)
			}
			if err != nil {
				rt.d.s.log.Warn("the SES account's quota could not be read; sending without it", "relay", rt.relays[i].Name, "err", err)
			}
		}
	}
	return i, rt.opened[i], nil
}

// fallOver moves on from relay i, if it is still the one in use and
// another is left; it reports whether there is one to try.
func (rt *route) fallOver(i int, why error) bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.cur != i {
		return true
	}
	if i+1 >= len(rt.relays) {
		return false
	}
	rt.cur = i + 1
	rt.d.s.log.Warn("relay down; falling over to the next enabled relay", "relay", rt.relays[i].Name, "next", rt.relays[i+1].Name, "err", why)
	return true
}

// Deliver sends one message through the relay in use, at its pace, and
// through the next when that one is down. It says which relay took it. A
// relay whose daily cap is reached holds the message back: the error is a
// *held. The message is handed over for good only once before returns nil
// (nil: at once).
func (rt *route) Deliver(ctx context.Context, before func() error, from, to string, msg []byte) (mailer.Result, store.Relay, error) {
	for {
		i, t, err := rt.current(ctx)
		if err == nil {
			err = rt.d.gates.take(ctx, rt.gates[i])
		}
		var res mailer.Result
		if err == nil {
			if ad, ok := t.(afterDeliverer); ok {
				res, err = ad.DeliverAfter(ctx, before, from, to, msg)
			} else if before == nil {
				res, err = t.Deliver(ctx, from, to, msg)
			} else if err = before(); err == nil {
				res, err = t.Deliver(ctx, from, to, msg)
			}
		}
		if err == nil || !mailer.Down(err) || ctx.Err() != nil {
			return res, rt.relays[i], err
		}
		rt.d.s.noteRelay(ctx, rt.relays[i], err)
		if !rt.fallOver(i, err) {
			return res, rt.relays[i], err
		}
	}
}

// failing says whether the relay in use did not answer at its last attempt.
func (rt *route) failing() bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.d.s.relayFailing(rt.relays[rt.cur])
}

// full says whether the relay in use has reached its daily cap.
func (rt *route) full(ctx context.Context) (*held, error) {
	// Opening the relay reads an SES account's quota afresh, so a hold by
	// it lifts when SES allows more. A relay that cannot be opened shows
	// when a message tries it.
	rt.current(ctx)
	rt.mu.Lock()
	rg := rt.gates[rt.cur]
	rt.mu.Unlock()
	return rt.d.gates.full(ctx, rg)
}

// Close closes every relay the run opened.
func (rt *route) Close() {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for _, t := range rt.opened {
		if t != nil {
			t.Close()
		}
	}
}
