package store

import (
	"context"
	"database/sql"
	"strings"
)

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
