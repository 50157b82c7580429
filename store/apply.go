package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// applier applies results inside one write transaction: it updates each
// send's or message's own counts and inserts the events as it goes, and
// gathers the counters per campaign and hour, per link and per contact, to
// write them once at the end.
type applier struct {
	ctx context.Context
	tx  *sql.Tx
	// prepared are the hot statements, prepared on the writer before the
	// transaction began; bound holds them bound to this transaction.
	prepared  map[string]*sql.Stmt
	bound     map[string]*sql.Stmt
	counts    tally
	links     map[int64]*linkTally
	lastOpen  map[int64]int64
	lastClick map[int64]int64
	// kinds counts the events inserted per campaign and kind, and
	// bounces the bounces per campaign, kind and cause.
	kinds   map[kindKey]int
	bounces map[bounceKey]*bounceTally
}

type bounceKey struct {
	campaign       int64
	kind, category string
}

type bounceTally struct {
	n       int
	example string
}

type kindKey struct {
	campaign int64
	kind     string
}

type linkTally struct {
	owner                              target
	clicks, human, unique, uniqueHuman int
}

// target is the send or transactional message a result concerns, with its
// counts before this result.
type target struct {
	campaign, send, message, contact int64
	email                            string
	opens, humanOpens                int
	clicks, humanClicks              int
}

func newApplier(ctx context.Context, tx *sql.Tx, prepared map[string]*sql.Stmt) *applier {
	return &applier{ctx: ctx, tx: tx, prepared: prepared, bound: map[string]*sql.Stmt{},
		counts: tally{}, links: map[int64]*linkTally{}, lastOpen: map[int64]int64{}, lastClick: map[int64]int64{}, kinds: map[kindKey]int{},
		bounces: map[bounceKey]*bounceTally{}}
}

// load reads the send (of that campaign) or message a result names.
func (a *applier) load(campaign, send, message int64) (target, error) {
	t := target{campaign: campaign, send: send, message: message}
	var err error
	switch {
	case send != 0:
		err = a.queryRow(loadSend, send, campaign).Scan(&t.contact, &t.email, &t.opens, &t.humanOpens, &t.clicks, &t.humanClicks)
	case message != 0:
		err = a.tx.QueryRowContext(a.ctx, `SELECT coalesce((SELECT id FROM contacts WHERE email = to_email), 0), to_email, opens, human_opens, clicks, human_clicks
FROM messages WHERE id = ?`, message).Scan(&t.contact, &t.email, &t.opens, &t.humanOpens, &t.clicks, &t.humanClicks)
	default:
		return t, ErrUnknownSend
	}
	if errors.Is(err, sql.ErrNoRows) {
		return t, ErrUnknownSend
	}
	return t, err
}

// saveCounts writes a send's or message's counts, and when it was first
// opened and clicked.
func (a *applier) saveCounts(t target, at int64) error {
	q, id := saveSendCounts, t.send
	if t.message != 0 {
		q, id = saveMessageCounts, t.message
	}
	_, err := a.exec(q, t.opens, t.humanOpens, t.clicks, t.humanClicks, t.opens, at, t.clicks, at, id)
	return err
}

const insertEvent = `INSERT INTO events (at, kind, machine, campaign_id, send_id, message_id, contact_id, link_id, source, detail)
VALUES (?, ?, ?, nullif(?, 0), nullif(?, 0), nullif(?, 0), nullif(?, 0), nullif(?, 0), ?, ?)`

func (a *applier) event(kind string, at time.Time, machine bool, t target, link int64, source, detail string) error {
	if t.campaign != 0 {
		a.kinds[kindKey{t.campaign, kind}]++
		if kind == ResultHardBounce || kind == ResultSoftBounce {
			k := bounceKey{t.campaign, kind, BounceCategory(detail)}
			if a.bounces[k] == nil {
				a.bounces[k] = &bounceTally{}
			}
			a.bounces[k].n++
			a.bounces[k].example = detail
		}
	}
	_, err := a.exec(insertEvent, unix(at), kind, b2i(machine), t.campaign, t.send, t.message, t.contact, link, source, detail)
	return err
}

// flush writes what was gathered: counters per campaign and hour, link
// counts, and each contact's last open and click.
func (a *applier) flush() error {
	for k, c := range a.counts {
		if _, err := a.exec(addCountsSQL, append([]any{k.campaign, k.hour}, c.values()...)...); err != nil {
			return err
		}
	}
	for k, n := range a.kinds {
		if _, err := a.exec(addKindCount, k.campaign, k.kind, n); err != nil {
			return err
		}
	}
	for k, b := range a.bounces {
		if _, err := a.exec(addBounces, k.campaign, k.kind, k.category, b.n, b.example); err != nil {
			return err
		}
	}
	for id, l := range a.links {
		if _, err := a.tx.ExecContext(a.ctx, `UPDATE links SET clicks = clicks + ?, human_clicks = human_clicks + ?,
	unique_clicks = unique_clicks + ?, unique_human_clicks = unique_human_clicks + ? WHERE id = ?`, l.clicks, l.human, l.unique, l.uniqueHuman, id); err != nil {
			return err
		}
	}
	for id, at := range a.lastOpen {
		if _, err := a.exec(noteLastOpen, at, id); err != nil {
			return err
		}
	}
	for id, at := range a.lastClick {
		if _, err := a.exec(noteLastClick, at, id); err != nil {
			return err
		}
	}
	return nil
}
