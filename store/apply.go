package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"
	"unicode/utf8"
)

// applier applies results inside one write transaction. It keeps each
// send's or message's counts in memory as it goes and gathers the events,
// the counters per campaign and hour, per link and per contact, and writes
// them all at the end, each kind in one statement: a fold of thousands of
// hits costs a few statements, not a few per hit.
type applier struct {
	ctx context.Context
	// s records the email.* events of what is applied; nil records none.
	s  *Store
	tx *sql.Tx
	// prepared are the hot statements, prepared on the writer before the
	// transaction began; bound holds them bound to this transaction.
	prepared map[string]*sql.Stmt
	bound    map[string]*sql.Stmt
	// targets are the sends (by id) and messages (by -id) read so far,
	// with their counts as this transaction leaves them.
	targets   map[int64]*target
	events    []eventRow
	counts    tally
	links     map[int64]*linkTally
	clicked   map[linkKey]*clickCount
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

// linkKey names one send's or message's clicks on one link.
type linkKey struct{ target, link int64 }

type clickCount struct{ all, human int }

// target is the send or transactional message a result concerns, with its
// counts.
type target struct {
	campaign, send, message, contact int64
	email                            string
	opens, humanOpens                int
	clicks, humanClicks              int
	// openedAt and clickedAt are the first open and click this
	// transaction saw, for a target it changed (dirty).
	openedAt, clickedAt int64
	dirty               bool
}

func (t *target) key() int64 {
	if t.message != 0 {
		return -t.message
	}
	return t.send
}

type eventRow struct {
	at             int64
	kind           string
	machine        bool
	t              target
	link           int64
	source, detail string
}

func newApplier(ctx context.Context, s *Store, tx *sql.Tx, prepared map[string]*sql.Stmt) *applier {
	return &applier{ctx: ctx, s: s, tx: tx, prepared: prepared, bound: map[string]*sql.Stmt{}, targets: map[int64]*target{},
		counts: tally{}, links: map[int64]*linkTally{}, clicked: map[linkKey]*clickCount{}, lastOpen: map[int64]int64{}, lastClick: map[int64]int64{},
		kinds: map[kindKey]int{}, bounces: map[bounceKey]*bounceTally{}}
}

// load returns the send (of that campaign) or message a result names.
func (a *applier) load(campaign, send, message int64) (*target, error) {
	t := &target{campaign: campaign, send: send, message: message}
	key := t.key()
	if seen, ok := a.targets[key]; ok {
		if seen.campaign != campaign && send != 0 {
			return nil, ErrUnknownSend
		}
		return seen, nil
	}
	var err error
	switch {
	case send != 0:
		err = a.queryRow(loadSend, send, campaign).Scan(&t.contact, &t.email, &t.opens, &t.humanOpens, &t.clicks, &t.humanClicks)
	case message != 0:
		err = a.tx.QueryRowContext(a.ctx, `SELECT coalesce((SELECT id FROM contacts WHERE email = to_email), 0), to_email, opens, human_opens, clicks, human_clicks
FROM messages WHERE id = ?`, message).Scan(&t.contact, &t.email, &t.opens, &t.humanOpens, &t.clicks, &t.humanClicks)
	default:
		return nil, ErrUnknownSend
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrUnknownSend
	}
	if err != nil {
		return nil, err
	}
	a.targets[key] = t
	return t, nil
}

// preload reads the sends that hits name, in one query, so that applying
// them reads nothing more.
func (a *applier) preload(hits []Hit) error {
	var ids jsonArray
	seen := map[int64]bool{}
	for _, h := range hits {
		if h.SendID != 0 && a.targets[h.SendID] == nil && !seen[h.SendID] {
			seen[h.SendID] = true
			ids.int(h.SendID)
		}
	}
	if ids.empty() {
		return nil
	}
	rows, err := a.tx.QueryContext(a.ctx, preloadSends, ids.String())
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		t := &target{}
		if err := rows.Scan(&t.send, &t.campaign, &t.contact, &t.email, &t.opens, &t.humanOpens, &t.clicks, &t.humanClicks); err != nil {
			return err
		}
		a.targets[t.send] = t
	}
	return rows.Err()
}

// touch notes that a target's counts changed at a time.
func (t *target) touch(at int64) {
	t.dirty = true
	if t.opens > 0 && t.openedAt == 0 {
		t.openedAt = at
	}
	if t.clicks > 0 && t.clickedAt == 0 {
		t.clickedAt = at
	}
}

func (a *applier) event(kind string, at time.Time, machine bool, t target, link int64, source, detail string) {
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
	a.events = append(a.events, eventRow{at: unix(at), kind: kind, machine: machine, t: t, link: link, source: source, detail: detail})
}

// flush writes what was gathered: the targets' counts, the events,
// counters per campaign and hour, link counts, and each contact's last
// open and click.
func (a *applier) flush() error {
	if err := a.saveTargets(); err != nil {
		return err
	}
	if len(a.events) > 0 {
		var rows jsonArray
		for _, e := range a.events {
			rows.row(e.at, e.kind, b2i(e.machine), e.t.campaign, e.t.send, e.t.message, e.t.contact, e.link, e.source, e.detail)
		}
		if _, err := a.exec(insertEvents, rows.String()); err != nil {
			return err
		}
		for _, e := range a.events {
			if a.s == nil {
				break
			}
			if err := a.s.emitResult(a.ctx, a.tx, e); err != nil {
				return err
			}
		}
		if a.s != nil {
			if err := a.s.engaged(a.ctx, a.tx, a.events); err != nil {
				return err
			}
		}
	}
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
	for q, last := range map[string]map[int64]int64{noteLastOpen: a.lastOpen, noteLastClick: a.lastClick} {
		if len(last) == 0 {
			continue
		}
		var rows jsonArray
		for id, at := range last {
			rows.row(id, at)
		}
		if _, err := a.exec(q, rows.String()); err != nil {
			return err
		}
	}
	return nil
}

// saveTargets writes the counts of the sends and messages that changed,
// and when each was first opened and clicked.
func (a *applier) saveTargets() error {
	var sends, messages jsonArray
	for _, t := range a.targets {
		if !t.dirty {
			continue
		}
		rows, id := &sends, t.send
		if t.message != 0 {
			rows, id = &messages, t.message
		}
		rows.row(id, t.opens, t.humanOpens, t.clicks, t.humanClicks, t.openedAt, t.clickedAt)
	}
	for q, rows := range map[string]*jsonArray{saveSendCounts: &sends, saveMessageCounts: &messages} {
		if rows.empty() {
			continue
		}
		if _, err := a.exec(q, rows.String()); err != nil {
			return err
		}
	}
	return nil
}

// jsonArray builds the JSON array a statement reads with json_each: one
// value, or one array of values, per row.
type jsonArray struct{ b []byte }

func (j *jsonArray) empty() bool { return len(j.b) == 0 }

func (j *jsonArray) sep() {
	if len(j.b) == 0 {
		j.b = append(j.b, '[')
	} else {
		j.b = append(j.b, ',')
	}
}

func (j *jsonArray) int(v int64) {
	j.sep()
	j.b = strconv.AppendInt(j.b, v, 10)
}

func (j *jsonArray) string(v string) {
	j.sep()
	j.b = appendJSONString(j.b, v)
}

// row adds an array of ints (int or int64) and strings.
func (j *jsonArray) row(vs ...any) {
	j.sep()
	j.b = append(j.b, '[')
	for i, v := range vs {
		if i > 0 {
			j.b = append(j.b, ',')
		}
		switch v := v.(type) {
		case int64:
			j.b = strconv.AppendInt(j.b, v, 10)
		case int:
			j.b = strconv.AppendInt(j.b, int64(v), 10)
		case string:
			j.b = appendJSONString(j.b, v)
		default:
			panic("store: jsonArray takes ints and strings")
		}
	}
	j.b = append(j.b, ']')
}

func (j *jsonArray) String() string {
	if len(j.b) == 0 {
		return "[]"
	}
	return string(j.b) + "]"
}

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes
// U+FFFD, as encoding/json does.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[r>>4], hex[r&0xf])
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return append(b, '"')
}
