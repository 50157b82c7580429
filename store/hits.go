package store

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
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

// ErrUnknownSend is what applying a result on a send or message that does
// not exist (any more), or a link that is not its message's, gives.
var ErrUnknownSend = errors.New("store: no such send")

// HitWriter records opens and clicks. Each hit is first committed to the
// hit log, one lean row, in a group with the others waiting, and answered
// only then: a hit that got its answer survives a crash, and many share one
// commit. The same goroutine folds the log into events, sends, contacts
// and the counters in far larger batches, a fraction of a second behind,
// deleting what it applies in the same transaction: each hit is applied
// once, across crashes too.
type HitWriter struct {
	s       *Store
	in      chan *hitReq
	syncs   chan chan error
	stopped chan struct{}
	onError func(error)
	// lag is how long a logged hit waits for its fold at most (foldLag).
	lag time.Duration
}

type hitReq struct {
	hit  Hit
	done chan error
}

const (
	// maxHitBatch bounds the hits logged in one commit.
	maxHitBatch = 1000
	// A fold starts once foldAt hits wait in the log, or the oldest has
	// waited foldLag; one fold transaction applies at most maxFold.
	foldAt  = 10000
	foldLag = 250 * time.Millisecond
	maxFold = 20000
)

// NewHitWriter returns the store's hit writer; Run must be running for
// Record to return. onError, if not nil, hears of a fold that failed: its
// hits stay in the log and the next fold tries them again.
func (s *Store) NewHitWriter(onError func(error)) *HitWriter {
	if onError == nil {
		onError = func(error) {}
	}
	return &HitWriter{s: s, in: make(chan *hitReq, maxHitBatch), syncs: make(chan chan error), stopped: make(chan struct{}), onError: onError, lag: foldLag}
}

// Record commits one hit. Its effects on counts and reports follow within
// foldLag, or at once after Sync; a hit that names nothing that exists
// (any more) counts for nothing then.
func (w *HitWriter) Record(ctx context.Context, h Hit) error {
	if h.Kind != ResultOpen && h.Kind != ResultClick {
		return fmt.Errorf("store: a hit is an open or a click, not %q", h.Kind)
	}
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
		// Run answers every hit it takes before it stops; one it never
		// took was not recorded.
		select {
		case err := <-r.done:
			return err
		default:
			return errors.New("store: the hit writer stopped before it took the hit")
		}
	}
}

// Sync applies every hit logged so far to the counts, and returns once
// they are committed.
func (w *HitWriter) Sync(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case w.syncs <- reply:
	case <-ctx.Done():
		return ctx.Err()
	case <-w.stopped:
		return errors.New("store: the hit writer has stopped")
	}
	return <-reply
}

// Run commits hits until ctx ends, then answers what it holds, folds a
// batch more and returns; the rest of the log waits for the next start,
// which folds it first. A long log is folded a batch at a time, with the
// hits that arrive meanwhile logged and answered between the batches. A
// fold that fails is reported and tried again after a pause that doubles
// up to a minute; hits go on being logged meanwhile.
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
	lag := time.NewTimer(w.lag)
	lag.Stop()
	// pending counts the hits logged and not yet folded (at least); retry
	// is the pause before the next try, after a fold failed.
	pending, retry := 1, time.Duration(0)
	failed := func(err error) error {
		w.onError(err)
		retry = min(max(2*retry, time.Second), time.Minute)
		lag.Reset(retry)
		return err
	}
	// foldSome folds a batch, and comes back for the next at once when
	// more wait.
	foldSome := func() {
		lag.Stop()
		n, err := w.fold(prepared)
		switch {
		case err != nil:
			failed(err)
		case n == maxFold:
			retry = 0
			lag.Reset(0)
		default:
			pending, retry = 0, 0
		}
	}
	foldSome()
	for {
		select {
		case <-ctx.Done():
			// What waits is logged and answered.
			for batch = batch[:0]; len(w.in) > 0; {
				batch = append(batch, <-w.in)
			}
			if len(batch) > 0 {
				w.log(batch, prepared)
			}
			lag.Stop()
			if _, err := w.fold(prepared); err != nil {
				w.onError(err)
			}
			return nil
		case reply := <-w.syncs:
			lag.Stop()
			if err := w.foldAll(prepared); err != nil {
				reply <- failed(err)
				continue
			}
			pending, retry = 0, 0
			reply <- nil
			continue
		case <-lag.C:
			foldSome()
			continue
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
		n := w.log(batch, prepared)
		if pending == 0 && n > 0 {
			lag.Reset(w.lag)
		}
		if pending += n; pending >= foldAt && retry == 0 {
			foldSome()
		}
	}
}

// hitLine is how a hit is kept in the log: its fields as one line of
// text, the free text in hex, which SQLite stores and reads back in bulk
// at little cost. The first field is the line's format, hitLineFormat.
func hitLine(h Hit) string {
	b := make([]byte, 0, 64+2*(len(h.Source)+len(h.Detail)))
	b = append(b, hitLineFormat...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, unix(h.At), 10)
	b = append(b, ' ')
	b = append(b, h.Kind...)
	for _, n := range []int64{int64(b2i(h.Machine)), h.CampaignID, h.SendID, h.MessageID, h.LinkID, int64(b2i(h.Private)), int64(b2i(h.OpensOff))} {
		b = append(b, ' ')
		b = strconv.AppendInt(b, n, 10)
	}
	b = append(b, ' ')
	b = hex.AppendEncode(b, []byte(h.Source))
	b = append(b, ' ')
	b = hex.AppendEncode(b, []byte(h.Detail))
	return string(b)
}

const hitLineFormat = "1"

// log commits a batch to the hit log in one transaction and answers each
// hit; it returns how many it logged.
func (w *HitWriter) log(batch []*hitReq, prepared map[string]*sql.Stmt) int {
	ctx := context.Background()
	var lines jsonArray
	for _, r := range batch {
		lines.string(hitLine(r.hit))
	}
	_, err := prepared[logLines].ExecContext(ctx, lines.String())
	if err != nil {
		err = fmt.Errorf("store: record hits: %w", err)
	}
	for _, r := range batch {
		r.done <- err
	}
	if err != nil {
		return 0
	}
	return len(batch)
}

// PendingHits counts the hits logged and not yet applied to the counts.
// The log is only ever cut from its oldest end, so its ids run without a
// gap and the count costs two lookups however long it is.
func (s *Store) PendingHits(ctx context.Context) (int, error) {
	var n int
	// Two subqueries: SQLite finds a lone min or max at the end of the
	// index, but scans for both in one.
	if err := s.r.QueryRowContext(ctx, `SELECT coalesce((SELECT max(id) FROM hit_log) - (SELECT min(id) FROM hit_log) + 1, 0)`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: pending hits: %w", err)
	}
	return n, nil
}

// foldAll folds the whole hit log, maxFold hits a transaction.
func (w *HitWriter) foldAll(prepared map[string]*sql.Stmt) error {
	for {
		n, err := w.fold(prepared)
		if err != nil || n < maxFold {
			return err
		}
	}
}

// The hit log's statements. logLines adds the lines of a JSON array, in
// order; readLog reads the oldest hits as one text, a line a hit, which
// costs a single call into SQLite however many there are.
const (
	logLines = `INSERT INTO hit_log (hit) SELECT value FROM jsonb_each(?) ORDER BY key`
	readLog  = `SELECT coalesce(max(id), 0), coalesce(group_concat(hit, char(10) ORDER BY id), '')
FROM (SELECT id, hit FROM hit_log ORDER BY id LIMIT ?)`
	deleteLog = `DELETE FROM hit_log WHERE id <= ?`
)

// fold applies the oldest hits in the log and deletes them, in one
// transaction; it returns how many it took. A hit whose send has gone
// since it was logged counts for nothing.
func (w *HitWriter) fold(prepared map[string]*sql.Stmt) (int, error) {
	ctx := context.Background()
	var hits []Hit
	var bad []string
	err := w.s.Tx(ctx, func(tx *sql.Tx) error {
		var last int64
		var text string
		if err := tx.StmtContext(ctx, prepared[readLog]).QueryRowContext(ctx, maxFold).Scan(&last, &text); err != nil {
			return err
		}
		if last == 0 {
			return nil
		}
		hits, bad = parseLog(text)
		a := newApplier(ctx, w.s, tx, prepared)
		defer a.close()
		if err := a.preload(hits); err != nil {
			return err
		}
		for _, h := range hits {
			if err := a.hit(h); err != nil && !errors.Is(err, ErrUnknownSend) {
				return err
			}
		}
		if err := a.flush(); err != nil {
			return err
		}
		_, err := a.exec(deleteLog, last)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: fold the hit log: %w", err)
	}
	for _, line := range bad {
		w.onError(fmt.Errorf("store: a line of the hit log that cannot be read was dropped: %q", line))
	}
	return len(hits) + len(bad), nil
}

// parseLog reads readLog's text: lines as hitLine writes them. It returns
// the lines it cannot read apart; they can only come from a damaged file.
func parseLog(text string) (hits []Hit, bad []string) {
	hits = make([]Hit, 0, strings.Count(text, "\n")+1)
	for line := range strings.SplitSeq(text, "\n") {
		h, err := parseHitLine(line)
		if err != nil {
			bad = append(bad, line)
			continue
		}
		hits = append(hits, h)
	}
	return hits, bad
}

func parseHitLine(line string) (Hit, error) {
	f := strings.Split(line, " ")
	if len(f) != 12 || f[0] != hitLineFormat || f[2] != ResultOpen && f[2] != ResultClick {
		return Hit{}, errors.New("not a hit")
	}
	var n [10]int64
	for i, v := range f[1:10] {
		if i == 1 {
			continue
		}
		var err error
		if n[i], err = strconv.ParseInt(v, 10, 64); err != nil {
			return Hit{}, err
		}
	}
	source, err1 := hex.DecodeString(f[10])
	detail, err2 := hex.DecodeString(f[11])
	if err := errors.Join(err1, err2); err != nil {
		return Hit{}, err
	}
	return Hit{At: time.Unix(n[0], 0), Kind: f[2], Machine: n[2] != 0, CampaignID: n[3], SendID: n[4], MessageID: n[5],
		LinkID: n[6], Private: n[7] != 0, OpensOff: n[8] != 0, Source: string(source), Detail: string(detail)}, nil
}
