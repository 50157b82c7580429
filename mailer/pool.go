package mailer

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"
)

// Pool keeps up to a relay's maximum of connections open and reuses them,
// so a campaign pays for the handshake, TLS and AUTH once per connection
// rather than once per message.
type Pool struct {
	relay SMTPRelay
	// slots holds a token for every open connection, bounding them.
	slots chan struct{}
	// idle holds open connections waiting for their next message.
	idle chan *SMTPConn

	mu     sync.Mutex
	closed bool
}

// NewPool returns a pool of at most n connections to relay.
func NewPool(relay SMTPRelay, n int) *Pool {
	n = max(n, 1)
	return &Pool{relay: relay, slots: make(chan struct{}, n), idle: make(chan *SMTPConn, n)}
}

// errPoolClosed is returned by Deliver after Close.
var errPoolClosed = &SendError{Stage: "connect", Temporary: true, Err: errors.New("the relay's connection pool is closed")}

// get returns an idle connection, or dials a new one when fewer than the
// maximum are open, or waits for one to come free. reused says whether the
// connection has carried a message before.
func (p *Pool) get(ctx context.Context) (c *SMTPConn, reused bool, err error) {
	for {
		// An idle connection first, and only then a new one.
		select {
		case c = <-p.idle:
		default:
			select {
			case c = <-p.idle:
			case p.slots <- struct{}{}:
				c, err := p.relay.Dial(ctx)
				if err != nil {
					<-p.slots
					return nil, false, err
				}
				return c, false, nil
			case <-ctx.Done():
				return nil, false, classify("connect", ctx.Err())
			}
		}
		if c.alive() {
			return c, true, nil
		}
		// Closed by the relay while it was idle, with a 421 or without a
		// word: another takes its place.
		p.discard(c)
	}
}

// put returns a healthy connection to the pool, or closes it when the pool
// has been closed.
func (p *Pool) put(c *SMTPConn) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		p.discard(c)
		return
	}
	p.idle <- c
}

// discard closes a connection and frees its slot.
func (p *Pool) discard(c *SMTPConn) {
	c.Close()
	<-p.slots
}

// Deliver sends one message over a pooled connection. After a success the
// connection goes straight on to the next message; after a refusal it is
// reset and kept; after a network failure it is closed. A reused connection
// that the relay dropped while idle is replaced once, without counting as a
// failure of the message.
func (p *Pool) Deliver(ctx context.Context, from, to string, msg []byte) (Result, error) {
	return p.DeliverAfter(ctx, nil, from, to, msg)
}

// DeliverAfter is Deliver, except that the relay gets the message only once
// before has returned nil: called once the relay has taken the envelope,
// which crosses the wire while the caller finishes what must come first,
// or before anything is sent where the message goes with its envelope in
// BDAT. When before fails, the message is abandoned and not delivered.
func (p *Pool) DeliverAfter(ctx context.Context, before func() error, from, to string, msg []byte) (Result, error) {
	return p.deliver(ctx, before, from, []string{to}, msg)
}

// DeliverTo delivers one message to several recipients at once; see send
// for what becomes of one the relay refuses.
func (p *Pool) DeliverTo(ctx context.Context, from string, to []string, msg []byte) (Result, error) {
	return p.deliver(ctx, nil, from, to, msg)
}

func (p *Pool) deliver(ctx context.Context, before func() error, from string, to []string, msg []byte) (Result, error) {
	for attempt := 0; ; attempt++ {
		p.mu.Lock()
		closed := p.closed
		p.mu.Unlock()
		if closed {
			return Result{}, errPoolClosed
		}
		c, reused, err := p.get(ctx)
		if err != nil {
			return Result{}, err
		}
		stop := closeWhenStopped(ctx, c)
		res, err := send(c, from, to, msg, before)
		stop()
		if err == nil && !c.broken {
			p.put(c)
			return res, nil
		}
		if err == nil {
			p.discard(c)
			return res, nil
		}
		var se *SendError
		if errors.As(err, &se) && se.Code != 0 && !c.broken {
			// The relay answered: the connection still works once reset.
			if c.Reset() == nil {
				p.put(c)
			} else {
				p.discard(c)
			}
			return res, err
		}
		p.discard(c)
		if !reused || attempt > 0 || se == nil || se.Stage != "mail" {
			return res, err
		}
	}
}

// Close says goodbye on every idle connection; connections still carrying a
// message are closed when they come back.
func (p *Pool) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	for {
		select {
		case c := <-p.idle:
			c.Quit()
			<-p.slots
		default:
			return
		}
	}
}

// stopGrace is how long a message under way may go on once its context
// ends, as when Herald stops, before its connection is closed under it: a
// relay that answers finishes well within it, one that hangs would
// otherwise hold the stop for its full timeout.
const stopGrace = 3 * time.Second

// closeWhenStopped closes c if ctx ends and stopGrace passes before the
// function it returns is called.
func closeWhenStopped(ctx context.Context, c io.Closer) (stop func()) {
	var mu sync.Mutex
	var timer *time.Timer
	done := false
	unhook := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if !done {
			timer = time.AfterFunc(stopGrace, func() { c.Close() })
		}
	})
	return func() {
		unhook()
		mu.Lock()
		defer mu.Unlock()
		done = true
		if timer != nil {
			timer.Stop()
		}
	}
}
