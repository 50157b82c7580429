package store

import (
	"context"
	"database/sql"
	"strings"
)

// The statements every fold of opens and clicks runs, prepared once. The
// set-based ones take a JSON array, one row per element.
const (
	// preloadSends reads the sends of a JSON array of ids.
	preloadSends = `SELECT s.id, s.campaign_id, s.contact_id, s.email, s.opens, s.human_opens, s.clicks, s.human_clicks
FROM jsonb_each(?) j JOIN sends s ON s.id = j.value`
	loadSend = `SELECT contact_id, email, opens, human_opens, clicks, human_clicks FROM sends WHERE id = ? AND campaign_id = ?`
	// Each row: [id, opens, human opens, clicks, human clicks, first open, first click].
	saveSendCounts    = `UPDATE sends SET ` + setCounts + ` WHERE sends.id = j.value->>0`
	saveMessageCounts = `UPDATE messages SET ` + setCounts + ` WHERE messages.id = j.value->>0`
	setCounts         = `opens = j.value->>1, human_opens = j.value->>2, clicks = j.value->>3, human_clicks = j.value->>4,
	opened_at = CASE WHEN j.value->>1 > 0 THEN coalesce(opened_at, j.value->>5) END,
	clicked_at = CASE WHEN j.value->>3 > 0 THEN coalesce(clicked_at, j.value->>6) END
FROM jsonb_each(?) j`
	// Each row: [contact, at]. An open also ends a run of soft bounces:
	// those after it (its fold may come later than they) start the next.
	noteLastOpen = `UPDATE contacts SET last_open_at = max(coalesce(last_open_at, 0), j.value->>1),
	soft_bounces = CASE WHEN soft_bounces = 0 THEN 0 ELSE min(soft_bounces, (SELECT count(*) FROM events e
		WHERE e.contact_id = contacts.id AND ` + indexedByContact + ` AND e.kind = 'soft_bounce' AND e.at > j.value->>1)) END
FROM jsonb_each(?) j WHERE contacts.id = j.value->>0`
	noteLastClick = `UPDATE contacts SET last_click_at = max(coalesce(last_click_at, 0), j.value->>1)
FROM jsonb_each(?) j WHERE contacts.id = j.value->>0`
	// Each row: [at, kind, machine, campaign, send, message, contact, link, source, detail], in order.
	insertEvents = `INSERT INTO events (at, kind, machine, campaign_id, send_id, message_id, contact_id, link_id, source, detail)
SELECT value->>0, value->>1, value->>2, nullif(value->>3, 0), nullif(value->>4, 0), nullif(value->>5, 0), nullif(value->>6, 0),
	nullif(value->>7, 0), value->>8, value->>9
FROM jsonb_each(?) ORDER BY key`
)

const addBounces = `INSERT INTO campaign_bounces (campaign_id, kind, category, n, example) VALUES (?, ?, ?, ?, ?)
` + bouncesAdded

// bouncesAdded adds bounces to those a campaign has of a kind and cause,
// keeping the newest example.
const bouncesAdded = `ON CONFLICT (campaign_id, kind, category) DO UPDATE SET n = n + excluded.n, example = excluded.example`

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

// A link's owner, and the clicks of a send or a message on a link so far.
const (
	loadLink          = `SELECT campaign_id, message_id FROM links WHERE id = ?`
	sendLinkClicks    = `SELECT count(*), coalesce(sum(machine = 0), 0) FROM events WHERE send_id = ? AND link_id = ?`
	messageLinkClicks = `SELECT count(*), coalesce(sum(machine = 0), 0) FROM events WHERE message_id = ? AND link_id = ?`
)

// hotStatements are prepared once per writer for the applier.
var hotStatements = []string{logLines, readLog, deleteLog, loadSend, saveSendCounts, insertEvents, noteLastOpen, noteLastClick, addCountsSQL, addKindCount,
	loadLink, sendLinkClicks}

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
