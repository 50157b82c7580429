package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
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

// The statements every open or click runs, prepared once.
const (
	loadSend          = `SELECT contact_id, email, opens, human_opens, clicks, human_clicks FROM sends WHERE id = ? AND campaign_id = ?`
	saveSendCounts    = `UPDATE sends SET opens = ?, human_opens = ?, clicks = ?, human_clicks = ?, opened_at = CASE WHEN ? > 0 THEN coalesce(opened_at, ?) END, clicked_at = CASE WHEN ? > 0 THEN coalesce(clicked_at, ?) END WHERE id = ?`
	saveMessageCounts = `UPDATE messages SET opens = ?, human_opens = ?, clicks = ?, human_clicks = ?, opened_at = CASE WHEN ? > 0 THEN coalesce(opened_at, ?) END, clicked_at = CASE WHEN ? > 0 THEN coalesce(clicked_at, ?) END WHERE id = ?`
	noteLastOpen      = `UPDATE contacts SET last_open_at = max(coalesce(last_open_at, 0), ?), soft_bounces = 0 WHERE id = ?`
	noteLastClick     = `UPDATE contacts SET last_click_at = max(coalesce(last_click_at, 0), ?) WHERE id = ?`
)

// countSendOpen counts an open of a campaign's send in one statement, the
// commonest hit of all; the counts it returns say whether it was the first.
const countSendOpen = `UPDATE sends SET opens = opens + 1, human_opens = human_opens + ?, opened_at = coalesce(opened_at, ?)
WHERE id = ? AND campaign_id = ? RETURNING contact_id, opens, human_opens`

const addBounces = `INSERT INTO campaign_bounces (campaign_id, kind, category, n, example) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (campaign_id, kind, category) DO UPDATE SET n = n + excluded.n, example = excluded.example`

// BounceCategory is the cause a bounce's detail starts with, as the intake
// writes it ("user-unknown: 550 5.1.1 …"), or "other".
func BounceCategory(detail string) string {
	c, _, ok := strings.Cut(detail, ": ")
	if !ok || c == "" || len(c) > 32 || strings.ContainsAny(c, " \t") {
		return "other"
	}
	return c
}

const addKindCount = `INSERT INTO campaign_event_counts (campaign_id, kind, n) VALUES (?, ?, ?)
ON CONFLICT (campaign_id, kind) DO UPDATE SET n = n + excluded.n`

// hotStatements are prepared once per writer for the applier.
var hotStatements = []string{countSendOpen, loadSend, saveSendCounts, insertEvent, noteLastOpen, noteLastClick, addCountsSQL, addKindCount}

// sendOpen applies an open of a campaign's send.
func (a *applier) sendOpen(h Hit) error {
	human := b2i(!h.Machine)
	at := unix(h.At)
	t := target{campaign: h.CampaignID, send: h.SendID}
	err := a.queryRow(countSendOpen, human, at, h.SendID, h.CampaignID).Scan(&t.contact, &t.opens, &t.humanOpens)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrUnknownSend
	}
	if err != nil {
		return err
	}
	c := a.counts.at(t.campaign, h.At)
	c.addOpenOrClick(ResultOpen, human == 1)
	c.UniqueOpens += b2i(t.opens == 1)
	c.UniqueHumanOpens += b2i(human == 1 && t.humanOpens == 1)
	if human == 1 {
		a.lastOpen[t.contact] = max(a.lastOpen[t.contact], at)
	}
	return a.event(ResultOpen, h.At, h.Machine, t, 0, h.Source, h.Detail)
}

// prepareHot prepares the hot statements on the writer; call it outside
// any transaction, which would hold the only writer connection.
func (s *Store) prepareHot(ctx context.Context) (map[string]*sql.Stmt, error) {
	m := map[string]*sql.Stmt{}
	for _, q := range hotStatements {
		st, err := s.writeStmt(ctx, q)
		if err != nil {
			return nil, err
		}
		m[q] = st
	}
	return m, nil
}

// stmt returns q bound to the transaction, prepared once where it can be.
func (a *applier) stmt(q string) (*sql.Stmt, bool) {
	if st, ok := a.bound[q]; ok {
		return st, true
	}
	p, ok := a.prepared[q]
	if !ok {
		return nil, false
	}
	st := a.tx.StmtContext(a.ctx, p)
	a.bound[q] = st
	return st, true
}

func (a *applier) exec(q string, args ...any) (sql.Result, error) {
	if st, ok := a.stmt(q); ok {
		return st.ExecContext(a.ctx, args...)
	}
	return a.tx.ExecContext(a.ctx, q, args...)
}

func (a *applier) queryRow(q string, args ...any) *sql.Row {
	if st, ok := a.stmt(q); ok {
		return st.QueryRowContext(a.ctx, args...)
	}
	return a.tx.QueryRowContext(a.ctx, q, args...)
}

// close releases the statements bound to the transaction.
func (a *applier) close() {
	for _, st := range a.bound {
		st.Close()
	}
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

// hit applies one open or click.
func (a *applier) hit(h Hit) error {
	if h.Kind == ResultOpen && h.SendID != 0 && !h.Private {
		return a.sendOpen(h)
	}
	t, err := a.load(h.CampaignID, h.SendID, h.MessageID)
	if err != nil {
		return err
	}
	var lt *linkTally
	if h.Kind == ResultClick {
		if lt, err = a.link(h.LinkID, t); err != nil {
			return err
		}
	} else if h.Kind != ResultOpen {
		return fmt.Errorf("store: a hit is an open or a click, not %q", h.Kind)
	}
	human := !h.Machine
	c := a.counts.at(t.campaign, h.At)
	at := unix(h.At)
	if h.Private {
		// Counts only: no record of who, so nothing unique either.
		c.addOpenOrClick(h.Kind, human)
		if lt != nil {
			lt.add(human, false, false)
		}
		return a.event(h.Kind, h.At, h.Machine, target{campaign: t.campaign, message: t.message}, h.LinkID, h.Source, h.Detail)
	}
	before := t
	switch h.Kind {
	case ResultOpen:
		c.addOpenOrClick(ResultOpen, human)
		t.opens++
		if human {
			t.humanOpens++
		}
	case ResultClick:
		c.addOpenOrClick(ResultClick, human)
		t.clicks++
		if human {
			t.humanClicks++
			a.lastClick[t.contact] = max(a.lastClick[t.contact], at)
		}
		// A click is an open too, when no open was seen (images blocked)
		// and the message tracks opens at all.
		if t.opens == 0 && !h.OpensOff {
			c.Opens++
			t.opens = 1
		}
		if human && t.humanOpens == 0 && !h.OpensOff {
			c.HumanOpens++
			t.humanOpens = 1
		}
		n, nHuman, err := a.linkClicks(t, h.LinkID)
		if err != nil {
			return err
		}
		lt.add(human, n == 0, human && nHuman == 0)
	}
	c.UniqueOpens += b2i(before.opens == 0 && t.opens > 0)
	c.UniqueHumanOpens += b2i(before.humanOpens == 0 && t.humanOpens > 0)
	c.UniqueClicks += b2i(before.clicks == 0 && t.clicks > 0)
	c.UniqueHumanClicks += b2i(before.humanClicks == 0 && t.humanClicks > 0)
	if t.contact != 0 && human && (h.Kind == ResultOpen || !h.OpensOff) {
		// People's opens only, as the reports count them; a click is one
		// where the message tracks opens.
		a.lastOpen[t.contact] = max(a.lastOpen[t.contact], at)
	}
	if err := a.saveCounts(t, at); err != nil {
		return err
	}
	return a.event(h.Kind, h.At, h.Machine, t, h.LinkID, h.Source, h.Detail)
}

func (c *Counts) addOpenOrClick(kind string, human bool) {
	if kind == ResultOpen {
		c.Opens++
		c.HumanOpens += b2i(human)
		return
	}
	c.Clicks++
	c.HumanClicks += b2i(human)
}

func (l *linkTally) add(human, unique, uniqueHuman bool) {
	l.clicks++
	l.human += b2i(human)
	l.unique += b2i(unique)
	l.uniqueHuman += b2i(uniqueHuman)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
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

// link checks that a link belongs to the hit's campaign or message.
func (a *applier) link(id int64, t target) (*linkTally, error) {
	if lt, ok := a.links[id]; ok {
		if lt.owner.campaign != t.campaign || lt.owner.message != t.message {
			return nil, ErrUnknownSend
		}
		return lt, nil
	}
	var campaign, message sql.NullInt64
	err := a.tx.QueryRowContext(a.ctx, `SELECT campaign_id, message_id FROM links WHERE id = ?`, id).Scan(&campaign, &message)
	if errors.Is(err, sql.ErrNoRows) || err == nil && (campaign.Int64 != t.campaign || message.Int64 != t.message) {
		return nil, ErrUnknownSend
	}
	if err != nil {
		return nil, err
	}
	lt := &linkTally{owner: target{campaign: campaign.Int64, message: message.Int64}}
	a.links[id] = lt
	return lt, nil
}

// linkClicks counts the earlier clicks of a send or message on a link:
// all, and people's.
func (a *applier) linkClicks(t target, link int64) (n, human int, err error) {
	q, id := `SELECT count(*), coalesce(sum(machine = 0), 0) FROM events WHERE send_id = ? AND link_id = ?`, t.send
	if t.message != 0 {
		q, id = `SELECT count(*), coalesce(sum(machine = 0), 0) FROM events WHERE message_id = ? AND link_id = ?`, t.message
	}
	err = a.tx.QueryRowContext(a.ctx, q, id, link).Scan(&n, &human)
	return n, human, err
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
