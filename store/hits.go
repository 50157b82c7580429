package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Kinds of result event.
const (
	ResultOpen        = "open"
	ResultClick       = "click"
	ResultDelivered   = "delivered"
	ResultHardBounce  = "hard_bounce"
	ResultSoftBounce  = "soft_bounce"
	ResultComplaint   = "complaint"
	ResultUnsubscribe = "unsubscribe"
	ResultDelayed     = "delayed"
	ResultRejected    = "rejected"
	ResultView        = "view"
	ResultPreferences = "preferences"
)

// ResultKinds lists every kind of result event.
var ResultKinds = []string{ResultOpen, ResultClick, ResultDelivered, ResultHardBounce, ResultSoftBounce, ResultComplaint,
	ResultUnsubscribe, ResultDelayed, ResultRejected, ResultView, ResultPreferences}

// Hit is one open or click of a tracked message.
type Hit struct {
	Kind string
	At   time.Time
	// Machine flags an image proxy's open or a scanner's click; Detail
	// says which rule flagged it.
	Machine bool
	Detail  string
	// CampaignID and SendID name a campaign's message, MessageID a
	// transactional one; LinkID the link clicked.
	CampaignID, SendID, MessageID, LinkID int64
	// Private keeps counts only, with no record of who opened or clicked.
	Private bool
	// OpensOff says the message does not track opens: a click is then not
	// taken for an open.
	OpensOff bool
	// Source says who saw it: "" for Herald's own tracking, or a provider.
	Source string
}

// ErrUnknownSend is returned for a hit on a send or message that does not
// exist (any more), or a link that is not its message's.
var ErrUnknownSend = errors.New("store: no such send")

// HitWriter records opens and clicks through one goroutine that commits
// them in groups: each caller returns only after its hit is committed, so
// a hit that got its answer survives a crash, and many hits share one
// commit.
type HitWriter struct {
	s       *Store
	in      chan *hitReq
	stopped chan struct{}
}

type hitReq struct {
	hit  Hit
	done chan error
}

// maxHitBatch bounds the hits committed together.
const maxHitBatch = 1000

// NewHitWriter returns the store's hit writer; Run must be running for
// Record to return.
func (s *Store) NewHitWriter() *HitWriter {
	return &HitWriter{s: s, in: make(chan *hitReq, maxHitBatch), stopped: make(chan struct{})}
}

// Record commits one hit. It returns ErrUnknownSend when the hit names
// nothing that exists.
func (w *HitWriter) Record(ctx context.Context, h Hit) error {
	r := &hitReq{hit: h, done: make(chan error, 1)}
	select {
	case w.in <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-w.stopped:
		return errors.New("store: the hit writer has stopped")
	}
	select {
	case err := <-r.done:
		return err
	case <-w.stopped:
		// Run answers every hit it took before it stops.
		return <-r.done
	}
}

// Run commits hits until ctx ends, then answers what it holds and returns.
func (w *HitWriter) Run(ctx context.Context) error {
	defer close(w.stopped)
	prepared, err := w.s.prepareHot(ctx)
	if err != nil {
		if ctx.Err() != nil {
			// Stopped before it began: nothing was taken, nothing is lost.
			return nil
		}
		return fmt.Errorf("store: hit writer: %w", err)
	}
	batch := make([]*hitReq, 0, maxHitBatch)
	for {
		select {
		case <-ctx.Done():
			return nil
		case r := <-w.in:
			batch = append(batch[:0], r)
		}
	fill:
		for len(batch) < maxHitBatch {
			select {
			case r := <-w.in:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		w.commit(batch, prepared)
	}
}

// commit writes a batch in one transaction and answers each hit. Hits on
// unknown sends are answered as such and leave the rest unharmed.
func (w *HitWriter) commit(batch []*hitReq, prepared map[string]*sql.Stmt) {
	ctx := context.Background()
	errs := make([]error, len(batch))
	err := w.s.Tx(ctx, func(tx *sql.Tx) error {
		a := newApplier(ctx, tx, prepared)
		defer a.close()
		for i, r := range batch {
			errs[i] = a.hit(r.hit)
			if errs[i] != nil && !errors.Is(errs[i], ErrUnknownSend) {
				return errs[i]
			}
		}
		return a.flush()
	})
	for i, r := range batch {
		if err != nil {
			errs[i] = fmt.Errorf("store: record %s: %w", r.hit.Kind, err)
		}
		r.done <- errs[i]
	}
}
