package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Herald's durable queues, highest priority first. Each is a table whose
// rows are its items; QueueStats counts them by state, QueueItems lists
// them, and the owner can pause most of them and retry or discard what
// failed.
const (
	QueueTransactional = "transactional"
	QueueSystem        = "system"
	QueueCampaigns     = "campaigns"
	QueueImports       = "imports"
	QueueSources       = "sources"
	QueueWebhooks      = "webhooks"
	// QueueCron is the scheduler's cron jobs: not a table, but paused
	// like a queue.
	QueueCron = "cron"
)

// Queues are the durable queues, highest priority first.
var Queues = []string{QueueTransactional, QueueSystem, QueueCampaigns, QueueImports, QueueSources, QueueWebhooks}

// Queue item states.
const (
	QueueWaiting  = "waiting"
	QueueDelayed  = "delayed"
	QueueRunning  = "running"
	QueueRetrying = "retrying"
	QueueFailed   = "failed"
	QueueDone     = "done"
)

// QueueStates are the states an item can be listed by.
var QueueStates = []string{QueueWaiting, QueueDelayed, QueueRunning, QueueRetrying, QueueFailed, QueueDone}

// QueueStats is how a queue stands.
type QueueStats struct {
	Name string
	// Counts by state; Done counts what finished since the start of the
	// day given.
	Waiting, Delayed, Running, Retrying, Failed, Done int
	// OldestWaiting is when the item waiting longest became due.
	OldestWaiting time.Time
	// LastError is the newest failure's reason.
	LastError string
	QueueControl
}

// QueueControl is what the owner set on a queue.
type QueueControl struct {
	Paused   bool
	PausedAt time.Time
	PausedBy string
	// PerMinute caps the transactional lane's messages a minute; 0 is none.
	PerMinute int
}

// QueueItem is one piece of work in a queue.
type QueueItem struct {
	ID int64
	// Title says what the item is (a recipient, a file, a source), and
	// Detail where it belongs (a campaign, a subject, an event type).
	Title, Detail string
	// RefID is what the item belongs to: its campaign, source or endpoint.
	RefID    int64
	State    string
	Attempts int
	// Due is when it is next tried (for a waiting item, since when it has
	// waited), or for a failed or done item when it ended.
	Due       time.Time
	LastError string
	// Retryable says a failed item can be retried.
	Retryable bool
}

// queueDef is how a queue's table reads: its rows (from, and for counting
// only, count), each state as a condition on them (given the time now as
// ?1 and the start of the day, or of a window, as ?2), the columns of an
// item, and what retrying and discarding failed items do (?1 the time now,
// and each statement ends in a condition that names the items).
type queueDef struct {
	from, count string
	states      map[string]string
	// item selects id, title, detail, ref id, attempts, due, last error,
	// and whether it can be retried.
	item string
	// due orders the items, and for waiting ones says since when they
	// wait; lastErr is the column with an item's last error.
	due, lastErr   string
	retry, discard string
	pausable       bool
	// done, when set, reads the done state from other rows: a source's
	// done items are its runs.
	done *queueDef
}

// SendRetryable is the rule for queueing a failed send again: its contact
// is still active and neither its address nor its domain is suppressed.
// Resending a campaign's failed recipients follows it too.
const SendRetryable = `EXISTS (SELECT 1 FROM contacts k WHERE k.id = sends.contact_id AND k.status = 'active')
	AND NOT EXISTS (SELECT 1 FROM suppressions sp WHERE (sp.kind = 'email' AND sp.value = sends.email)
		OR (sp.kind = 'domain' AND sp.value = substr(sends.email, instr(sends.email, '@') + 1)))`

// activeCampaign is the condition that a send's campaign still sends, so
// that the queue may retry or discard it; a finished campaign's failures
// are its report's, and its own "resend" retries them.
const activeCampaign = `campaign_id IN (SELECT id FROM campaigns WHERE status IN ('sending', 'paused'))`

// The campaigns queue holds the sends of campaigns that are sending or
// paused, or finished today; a paused campaign's sends wait, as delayed,
// and a scheduled campaign's do not exist yet, so it counts as one delayed
// item of its own.
var queueDefs = map[string]queueDef{
	QueueTransactional: messageQueue("transactional"),
	QueueSystem:        messageQueue("system"),
	QueueCampaigns: {
		// Campaigns first (CROSS JOIN keeps that order), so each reads a
		// range of sends_due by campaign and status.
		from: `campaigns c CROSS JOIN sends s ON s.campaign_id = c.id WHERE (c.status IN ('sending', 'paused') OR c.finished_at >= ?2)`,
		states: map[string]string{
			// Bounds that hang on the campaign alone keep each a range.
			QueueWaiting:  `s.status = 'queued' AND s.next_attempt_at <= CASE WHEN c.status = 'sending' THEN ?1 ELSE -1 END`,
			QueueDelayed:  `s.status = 'queued' AND s.next_attempt_at > CASE WHEN c.status = 'sending' THEN ?1 ELSE -1 END`,
			QueueRunning:  `s.status = 'sending'`,
			QueueRetrying: `s.status = 'retrying'`,
			QueueFailed:   `s.status = 'failed'`,
			// A send that is over keeps when it ended in next_attempt_at.
			QueueDone: `s.status = 'sent' AND s.next_attempt_at >= ?2`,
		},
		// A send is due from when it was written (sends from before then
		// have 0, and no age).
		item: `s.id, s.email, c.name, c.id, s.attempts, s.next_attempt_at,
	CASE WHEN s.status = 'sent' THEN '' ELSE s.last_response END, c.status IN ('sending', 'paused')`,
		due:     `s.next_attempt_at`,
		lastErr: `s.last_response`,
		retry: `UPDATE sends SET status = 'queued', attempts = 0, next_attempt_at = ?1, lease_until = NULL, updated_at = ?1
WHERE status = 'failed' AND ` + activeCampaign + ` AND ` + SendRetryable,
		discard:  `UPDATE sends SET status = 'cancelled', updated_at = ?1 WHERE status = 'failed' AND ` + activeCampaign,
		pausable: true,
	},
	QueueImports: {
		from: `import_jobs j WHERE j.origin = 'csv'`,
		states: map[string]string{
			QueueWaiting:  `j.status = 'queued'`,
			QueueDelayed:  `0`,
			QueueRunning:  `j.status = 'running'`,
			QueueRetrying: `j.status = 'paused'`,
			QueueFailed:   `j.status = 'failed'`,
			QueueDone:     `j.status = 'done' AND j.finished_at >= ?2`,
		},
		item:     `j.id, j.file_name, j.mode, 0, 0, coalesce(j.finished_at, j.started_at, j.created_at), CASE WHEN j.status = 'done' THEN '' ELSE j.error END, 0`,
		due:      `j.created_at`,
		lastErr:  `j.error`,
		discard:  `UPDATE import_jobs SET status = 'cancelled', finished_at = coalesce(finished_at, ?1) WHERE status = 'failed' AND origin = 'csv'`,
		pausable: true,
	},
	QueueSources: {
		from: `sources x LEFT JOIN source_runs r ON r.source_id = x.id AND r.status = 'running' WHERE true`,
		states: map[string]string{
			QueueWaiting:  `r.id IS NULL AND x.enabled AND coalesce(x.next_run_at, 0) <= ?1`,
			QueueDelayed:  `r.id IS NULL AND x.enabled AND x.failures = 0 AND x.next_run_at > ?1`,
			QueueRunning:  `r.id IS NOT NULL`,
			QueueRetrying: `r.id IS NULL AND x.enabled AND x.failures > 0 AND x.next_run_at > ?1`,
			QueueFailed:   `r.id IS NULL AND NOT x.enabled AND x.disabled_reason != ''`,
			QueueDone:     `0`,
		},
		// A disabled source is due never: it shows when it last ran.
		item:    `x.id, x.name, x.url, x.id, x.failures, ` + sourceDue + `, x.last_error, 1`,
		due:     sourceDue,
		lastErr: `x.last_error`,
		retry: `UPDATE sources SET enabled = 1, failures = 0, disabled_reason = '', next_run_at = ?1, resume_cursor = '', resume_since = NULL, resume_run = NULL
WHERE NOT enabled AND disabled_reason != ''`,
		pausable: true,
		done: &queueDef{
			from:   `source_runs r JOIN sources x ON x.id = r.source_id WHERE true`,
			states: map[string]string{QueueDone: `r.status = 'done' AND r.finished_at >= ?2`},
			item:   `r.id, x.name, x.url, x.id, r.pages, r.finished_at, '', 0`,
			due:    `r.finished_at`,
		},
	},
	QueueWebhooks: {
		from:  `webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id JOIN webhook_events e ON e.id = d.event_id WHERE true`,
		count: `webhook_deliveries d WHERE true`,
		states: map[string]string{
			QueueWaiting:  `d.status = 'pending' AND d.attempts = 0 AND d.next_attempt_at <= ?1 AND coalesce(d.lease_until, 0) < ?1`,
			QueueDelayed:  `d.status = 'pending' AND d.attempts = 0 AND d.next_attempt_at > ?1`,
			QueueRunning:  `d.status = 'pending' AND d.lease_until >= ?1`,
			QueueRetrying: `d.status = 'pending' AND d.attempts > 0 AND coalesce(d.lease_until, 0) < ?1`,
			QueueFailed:   `d.status = 'failed'`,
			QueueDone:     `d.status = 'delivered' AND d.updated_at >= ?2`,
		},
		item: `d.id, w.url, e.type, w.id, d.attempts, CASE WHEN d.status IN ('delivered', 'failed') THEN d.updated_at ELSE d.next_attempt_at END,
	CASE WHEN d.status = 'delivered' THEN '' ELSE d.last_error END, w.enabled`,
		due:     `CASE WHEN d.status IN ('delivered', 'failed') THEN d.updated_at ELSE d.next_attempt_at END`,
		lastErr: `d.last_error`,
		// Retried as a redelivery is: its time to give up starts again.
		retry: `UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?1, retry_from = ?1, lease_until = NULL, updated_at = ?1
WHERE status = 'failed' AND webhook_id IN (SELECT id FROM webhooks WHERE enabled)`,
		discard:  `DELETE FROM webhook_deliveries WHERE status = 'failed' AND updated_at <= ?1`,
		pausable: true,
	},
}

// sourceDue is when a source runs next, since when it has been due, or,
// disabled, when it last ran.
const sourceDue = `CASE WHEN NOT x.enabled THEN coalesce(x.last_run_at, x.updated_at) ELSE coalesce(x.next_run_at, x.created_at) END`

// messageQueue is the transactional lane's messages of one kind. A message
// that reached some of its recipients is neither retried nor discarded:
// its history says who got it.
func messageQueue(kind string) queueDef {
	return queueDef{
		from: `messages m WHERE m.kind = '` + kind + `'`,
		states: map[string]string{
			QueueWaiting:  `m.status = 'queued' AND m.next_attempt_at <= ?1`,
			QueueDelayed:  `m.status = 'queued' AND m.next_attempt_at > ?1`,
			QueueRunning:  `m.status = 'sending'`,
			QueueRetrying: `m.status = 'retrying'`,
			QueueFailed:   `m.status = 'failed'`,
			// +status keeps the planner on messages_sent, a range of today.
			QueueDone: `+m.status = 'sent' AND m.sent_at >= ?2`,
		},
		item: `m.id, m.to_email, m.subject, 0, m.attempts, ` + messageDue + `,
	CASE WHEN m.status = 'sent' THEN '' ELSE m.last_response END, m.sent_to = 0`,
		due:     messageDue,
		lastErr: `m.last_response`,
		retry: `UPDATE messages SET status = 'queued', attempts = 0, pending_to = NULL, next_attempt_at = ?1, lease_until = NULL, updated_at = ?1
WHERE status = 'failed' AND sent_to = 0 AND kind = '` + kind + `'`,
		discard:  `DELETE FROM messages WHERE status = 'failed' AND sent_to = 0 AND updated_at <= ?1 AND kind = '` + kind + `'`,
		pausable: kind != "transactional",
	}
}

// messageDue is when a message is next tried, since when it has waited,
// or when it ended.
const messageDue = `CASE WHEN m.status = 'sent' THEN m.sent_at WHEN m.status = 'failed' THEN m.updated_at
	WHEN m.next_attempt_at > 0 THEN m.next_attempt_at ELSE m.created_at END`

// ErrNoQueue says a name is not a queue's.
var ErrNoQueue = fmt.Errorf("%w: no such queue", ErrNotFound)

func queueDefOf(name string) (queueDef, error) {
	d, ok := queueDefs[name]
	if !ok {
		return d, ErrNoQueue
	}
	return d, nil
}

// Retryable says whether a queue's failed items can be retried, and
// Discardable whether they can be discarded.
func Retryable(name string) bool   { return queueDefs[name].retry != "" }
func Discardable(name string) bool { return queueDefs[name].discard != "" }

// Pausable says whether the owner may pause a queue; the transactional
// lane can only be throttled.
func Pausable(name string) bool { return name == QueueCron || queueDefs[name].pausable }

// QueueStats counts a queue's items by state at now, its done items since
// dayStart.
func (s *Store) QueueStats(ctx context.Context, name string, now, dayStart time.Time) (QueueStats, error) {
	d, err := queueDefOf(name)
	if err != nil {
		return QueueStats{}, err
	}
	q := QueueStats{Name: name}
	counts := map[string]*int{QueueWaiting: &q.Waiting, QueueDelayed: &q.Delayed, QueueRunning: &q.Running, QueueRetrying: &q.Retrying,
		QueueFailed: &q.Failed, QueueDone: &q.Done}
	// One query a state, each a range of an index on the queue's status.
	for _, state := range QueueStates {
		var oldest sql.NullInt64
		sd := d.of(state)
		err := s.r.QueryRowContext(ctx, queueParams+`SELECT count(*), min(`+sd.due+`) FROM p, `+cmp.Or(sd.count, sd.from)+` AND `+sd.states[state],
			unix(now), unix(dayStart)).Scan(counts[state], &oldest)
		if err != nil {
			return q, fmt.Errorf("store: queue %s %s: %w", name, state, err)
		}
		if state == QueueWaiting && oldest.Valid && oldest.Int64 > 0 {
			q.OldestWaiting = fromUnix(oldest.Int64)
		}
	}
	// The last error: of what is retrying, or else of what failed.
	for _, state := range []string{QueueRetrying, QueueFailed} {
		err := s.r.QueryRowContext(ctx, queueParams+`SELECT `+d.lastErr+` FROM p, `+d.from+` AND `+d.states[state]+` AND `+d.lastErr+` != ''
ORDER BY `+d.due+` DESC LIMIT 1`, unix(now), unix(dayStart)).Scan(&q.LastError)
		if err == nil {
			break
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return q, fmt.Errorf("store: queue %s: %w", name, err)
		}
	}
	if name == QueueCampaigns {
		// A scheduled campaign is delayed work whose sends come later.
		var n int
		if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM campaigns WHERE status = 'scheduled'`).Scan(&n); err != nil {
			return q, err
		}
		q.Delayed += n
	}
	q.QueueControl, err = s.QueueControl(ctx, name)
	return q, err
}

// of is the definition that reads a state: the queue's own, or its done
// one's.
func (d queueDef) of(state string) queueDef {
	if state == QueueDone && d.done != nil {
		return *d.done
	}
	return d
}

// queueParams names a queue query's parameters, the time now (?1) and the
// start of the day (?2), so each query may use either or both.
const queueParams = `WITH p (now, day) AS (SELECT ?1, ?2) `

// QueueDone counts a queue's items done since a time, for its throughput.
func (s *Store) QueueDone(ctx context.Context, name string, now, since time.Time) (int, error) {
	d, err := queueDefOf(name)
	if err != nil {
		return 0, err
	}
	d = d.of(QueueDone)
	var n int
	if err := s.r.QueryRowContext(ctx, queueParams+`SELECT count(*) FROM p, `+cmp.Or(d.count, d.from)+` AND `+d.states[QueueDone], unix(now), unix(since)).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: queue %s done: %w", name, err)
	}
	return n, nil
}

// maxQueueItems caps a page of a queue's items.
const maxQueueItems = 200

// QueueItems lists up to limit of a queue's items in a state at now (done:
// since dayStart), next due first, or for done ones newest first, after
// skipping offset of them.
func (s *Store) QueueItems(ctx context.Context, name, state string, now, dayStart time.Time, limit, offset int) ([]QueueItem, error) {
	d, err := queueDefOf(name)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(QueueStates, state) {
		return nil, &ValidationError{Fields: map[string]string{"state": "Use waiting, delayed, running, retrying, failed or done."}}
	}
	d = d.of(state)
	cond := d.states[state]
	limit = min(max(limit, 1), maxQueueItems)
	order := d.due + `, 1`
	if state == QueueDone {
		order = `6 DESC, 1 DESC`
	}
	query := queueParams + `SELECT ` + d.item + ` FROM p, ` + d.from + ` AND ` + cond + ` ORDER BY ` + order + ` LIMIT ?3 OFFSET ?4`
	if name == QueueCampaigns && state == QueueDelayed {
		query = queueParams + `SELECT * FROM (SELECT ` + d.item + ` FROM p, ` + d.from + ` AND ` + cond + `
UNION ALL SELECT id, 'Scheduled campaign', name, id, 0, send_at, '', 0 FROM campaigns WHERE status = 'scheduled') ORDER BY 6, 1 LIMIT ?3 OFFSET ?4`
	}
	items, err := queryAll(ctx, s, "queue "+name, func(row scanner) (QueueItem, error) {
		it := QueueItem{State: state}
		var due sql.NullInt64
		err := row.Scan(&it.ID, &it.Title, &it.Detail, &it.RefID, &it.Attempts, &due, &it.LastError, &it.Retryable)
		it.Due = fromNullUnix(due)
		return it, err
	}, query, unix(now), unix(dayStart), limit, max(offset, 0))
	return items, err
}

// RetryFailed queues a queue's failed items again, one (id) or all
// (AllItems), and says how many. Failed sends are retried only while their
// campaign sends, and only to contacts still active and not suppressed; a
// message that reached some of its recipients is not retried; a failed
// source is enabled and due at once; a failed import is not retried
// (upload the file again).
func (s *Store) RetryFailed(ctx context.Context, name string, id int64) (int, error) {
	d, err := queueDefOf(name)
	if err != nil {
		return 0, err
	}
	if d.retry == "" {
		return 0, conflict("failed %s are not retried: start them again", name)
	}
	return s.onFailed(ctx, name, d.retry, id)
}

// DiscardFailed removes a queue's failed items, one (id) or all (AllItems),
// from the queue, and says how many: failed messages and deliveries are
// deleted, failed sends and imports marked cancelled.
func (s *Store) DiscardFailed(ctx context.Context, name string, id int64) (int, error) {
	d, err := queueDefOf(name)
	if err != nil {
		return 0, err
	}
	if d.discard == "" {
		return 0, conflict("failed %s are not discarded: delete or fix them instead", name)
	}
	return s.onFailed(ctx, name, d.discard, id)
}

// AllItems names every failed item of a queue, for RetryFailed and
// DiscardFailed.
const AllItems = -1

// onFailed runs a statement on a queue's failed items (?1 is the time now),
// one (id) or all (AllItems).
func (s *Store) onFailed(ctx context.Context, name, stmt string, id int64) (int, error) {
	if id <= 0 && id != AllItems {
		return 0, ErrNotFound
	}
	res, err := s.w.ExecContext(ctx, stmt+` AND (?2 = -1 OR id = ?2)`, unix(s.now()), id)
	if err != nil {
		return 0, fmt.Errorf("store: queue %s: %w", name, err)
	}
	n, _ := res.RowsAffected()
	if id != AllItems && n == 0 {
		return 0, ErrNotFound
	}
	return int(n), nil
}

// QueueControl returns what the owner set on a queue.
func (s *Store) QueueControl(ctx context.Context, name string) (QueueControl, error) {
	var c QueueControl
	var at sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT paused_at, paused_by, per_minute FROM queue_controls WHERE queue = ?`, name).Scan(&at, &c.PausedBy, &c.PerMinute)
	if errors.Is(err, sql.ErrNoRows) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("store: queue %s control: %w", name, err)
	}
	c.Paused, c.PausedAt = at.Valid, fromNullUnix(at)
	return c, nil
}

// PauseQueue pauses (or resumes) a queue as actor: its workers take no new
// item until it is resumed; what runs finishes. The transactional lane is
// never paused.
func (s *Store) PauseQueue(ctx context.Context, name string, paused bool, actor string) (QueueControl, error) {
	if _, err := queueDefOf(name); err != nil && name != QueueCron {
		return QueueControl{}, err
	}
	if !Pausable(name) {
		return QueueControl{}, conflict("the %s queue is never paused, so that receipts and password resets always leave: throttle it instead", name)
	}
	var at any
	if paused {
		at = unix(s.now())
	} else {
		actor = ""
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO queue_controls (queue, paused_at, paused_by) VALUES (?, ?, ?)
ON CONFLICT (queue) DO UPDATE SET paused_at = CASE WHEN excluded.paused_at IS NULL THEN NULL ELSE coalesce(paused_at, excluded.paused_at) END,
	paused_by = CASE WHEN excluded.paused_at IS NULL THEN '' WHEN paused_at IS NULL THEN excluded.paused_by ELSE paused_by END`, name, at, actor); err != nil {
		return QueueControl{}, fmt.Errorf("store: pause queue %s: %w", name, err)
	}
	return s.QueueControl(ctx, name)
}

// ThrottleQueue caps the transactional lane at perMinute messages a minute
// (0 lifts the cap).
func (s *Store) ThrottleQueue(ctx context.Context, name string, perMinute int) (QueueControl, error) {
	if name != QueueTransactional {
		return QueueControl{}, &ValidationError{Fields: map[string]string{"per_minute": "Only the transactional lane is throttled; pause the others."}}
	}
	if perMinute < 0 || perMinute > 1_000_000 {
		return QueueControl{}, &ValidationError{Fields: map[string]string{"per_minute": "Give 0 (no cap) to 1,000,000 messages a minute."}}
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO queue_controls (queue, per_minute) VALUES (?, ?)
ON CONFLICT (queue) DO UPDATE SET per_minute = excluded.per_minute`, name, perMinute); err != nil {
		return QueueControl{}, fmt.Errorf("store: throttle queue %s: %w", name, err)
	}
	return s.QueueControl(ctx, name)
}

// QueuePaused says whether a queue is paused.
func (s *Store) QueuePaused(ctx context.Context, name string) (bool, error) {
	var paused bool
	err := s.r.QueryRowContext(ctx, `SELECT NOT `+queueNotPaused(name)).Scan(&paused)
	if err != nil {
		return false, fmt.Errorf("store: queue %s paused: %w", name, err)
	}
	return paused, nil
}

// PausedQueues names the queues that are paused, highest priority first.
func (s *Store) PausedQueues(ctx context.Context) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT queue FROM queue_controls WHERE paused_at IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("store: paused queues: %w", err)
	}
	defer rows.Close()
	var paused []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		paused = append(paused, name)
	}
	order := append(slices.Clone(Queues), QueueCron)
	slices.SortFunc(paused, func(a, b string) int { return slices.Index(order, a) - slices.Index(order, b) })
	return paused, rows.Err()
}

// queueNotPaused is the condition, for a worker's claim, that a queue is not
// paused.
func queueNotPaused(name string) string {
	if !slices.Contains(Queues, name) && name != QueueCron {
		panic("store: no queue " + name)
	}
	return `NOT EXISTS (SELECT 1 FROM queue_controls WHERE queue = '` + name + `' AND paused_at IS NOT NULL)`
}
