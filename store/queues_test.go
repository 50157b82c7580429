package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestQueueStatesRetryAndDiscard counts the transactional and system lanes'
// messages by state, lists them, retries and discards the failed ones, and
// pauses the system lane, which the lane's claim then passes over; the
// transactional lane is never paused.
func TestQueueStatesRetryAndDiscard(t *testing.T) {
	t.Parallel()
	s, clock := openTestStore(t)
	ctx := context.Background()
	mk := func(to, kind string, later time.Duration) Message {
		in := newTestMessage(to, "")
		in.Kind = kind
		if later > 0 {
			in.NextAttempt = clock.now().Add(later)
		}
		m, _, err := s.CreateMessage(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	failing := mk("fail@example.com", MessageTransactional, 0)
	claimed, err := s.ClaimMessages(ctx, 10, time.Minute)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v, %v", claimed, err)
	}
	if err := s.RecordMessageOutcome(ctx, MessageOutcome{ID: failing.ID, Status: MessageFailed, Code: 550, Response: "550 no such user"}); err != nil {
		t.Fatal(err)
	}
	mk("later@example.com", MessageTransactional, time.Hour)
	waiting := mk("now@example.com", MessageTransactional, 0)
	system := mk("owner@example.com", MessageSystem, 0)
	clock.advance(time.Minute)
	now := clock.now()
	day := now.Add(-12 * time.Hour)

	q, err := s.QueueStats(ctx, QueueTransactional, now, day)
	if err != nil {
		t.Fatal(err)
	}
	if q.Waiting != 1 || q.Delayed != 1 || q.Running != 0 || q.Failed != 1 || q.Done != 0 || q.LastError != "550 no such user" || q.OldestWaiting.IsZero() {
		t.Errorf("transactional: %+v", q)
	}
	if q, _ := s.QueueStats(ctx, QueueSystem, now, day); q.Waiting != 1 || q.Failed != 0 {
		t.Errorf("system: %+v", q)
	}
	items, err := s.QueueItems(ctx, QueueTransactional, QueueFailed, now, day, 10, 0)
	if err != nil || len(items) != 1 || items[0].ID != failing.ID || items[0].Title != "fail@example.com" || items[0].Attempts != 1 || items[0].LastError == "" {
		t.Errorf("failed items: %+v, %v", items, err)
	}
	if first, _ := s.QueueItems(ctx, QueueTransactional, QueueWaiting, now, day, 1, 0); len(first) != 1 || first[0].ID != waiting.ID {
		t.Errorf("first page of waiting: %+v", first)
	}
	if next, _ := s.QueueItems(ctx, QueueTransactional, QueueWaiting, now, day, 1, 1); len(next) != 0 {
		t.Errorf("second page of one waiting: %+v, want none", next)
	}
	if _, err := s.QueueItems(ctx, QueueTransactional, "lost", now, day, 10, 0); err == nil {
		t.Error("items in a state that is none: no error")
	}
	if _, err := s.QueueStats(ctx, "nope", now, day); !errors.Is(err, ErrNotFound) {
		t.Errorf("a queue that is none: %v", err)
	}

	// Paused, the system lane gives the claim nothing; the transactional
	// lane cannot be paused.
	if _, err := s.PauseQueue(ctx, QueueTransactional, true, "owner@example.com"); !errors.Is(err, ErrConflict) {
		t.Errorf("pausing the transactional lane: %v, want a conflict", err)
	}
	c, err := s.PauseQueue(ctx, QueueSystem, true, "owner@example.com")
	if err != nil || !c.Paused || c.PausedBy != "owner@example.com" {
		t.Fatalf("pause: %+v, %v", c, err)
	}
	claimed, err = s.ClaimMessages(ctx, 10, time.Minute)
	if err != nil || len(claimed) != 1 || claimed[0].ID != waiting.ID {
		t.Errorf("claim with the system lane paused: %+v, %v; want only the transactional message", claimed, err)
	}
	if q, _ := s.QueueStats(ctx, QueueTransactional, now, day); q.Running != 1 {
		t.Errorf("transactional while one is in flight: %+v", q)
	}
	if c, err := s.PauseQueue(ctx, QueueSystem, false, "owner@example.com"); err != nil || c.Paused {
		t.Errorf("resume: %+v, %v", c, err)
	}
	if claimed, _ := s.ClaimMessages(ctx, 10, time.Minute); len(claimed) != 1 || claimed[0].ID != system.ID {
		t.Errorf("claim after the resume: %+v, want the system message", claimed)
	}

	// The failed message is retried; failed again, it is discarded.
	if _, err := s.RetryFailed(ctx, QueueTransactional, 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("retry of id 0: %v, want not found (all is AllItems)", err)
	}
	if n, err := s.RetryFailed(ctx, QueueTransactional, AllItems); err != nil || n != 1 {
		t.Fatalf("retry: %d, %v", n, err)
	}
	if m, _ := s.Message(ctx, failing.ID); m.Status != MessageQueued {
		t.Errorf("retried message: %s", m.Status)
	}
	if _, err := s.RetryFailed(ctx, QueueTransactional, failing.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("retry of one no longer failed: %v, want not found", err)
	}
	if _, err := s.w.ExecContext(ctx, `UPDATE messages SET status = 'failed' WHERE id = ?`, failing.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := s.DiscardFailed(ctx, QueueTransactional, failing.ID); err != nil || n != 1 {
		t.Fatalf("discard: %d, %v", n, err)
	}
	if _, err := s.Message(ctx, failing.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("discarded message: %v, want it gone", err)
	}
	if _, err := s.RetryFailed(ctx, QueueImports, AllItems); !errors.Is(err, ErrConflict) {
		t.Errorf("retrying failed imports: %v, want a conflict", err)
	}
	if _, err := s.ThrottleQueue(ctx, QueueSystem, 10); err == nil {
		t.Error("throttling the system lane: no error")
	}
	if c, err := s.ThrottleQueue(ctx, QueueTransactional, 600); err != nil || c.PerMinute != 600 {
		t.Errorf("throttle: %+v, %v", c, err)
	}
}

// TestPausedQueuesHoldTheirWork: a paused imports, sources or webhooks
// queue gives its worker nothing, and resumed, its work again.
func TestPausedQueuesHoldTheirWork(t *testing.T) {
	t.Parallel()
	s, clock := openTestStore(t)
	ctx := context.Background()
	j, err := s.CreateImport(ctx, ImportJob{FileName: "a.csv", FilePath: "/nonexistent/a.csv", Headers: []string{"email"}, Delimiter: ","},
		&ImportSetup{Mode: ImportCreate, Mapping: []string{"email"}})
	if err != nil {
		t.Fatal(err)
	}
	name, u := "Shop", "https://shop.example/customers"
	src, err := s.CreateSource(ctx, SourceInput{Name: &name, URL: &u, Mapping: &SourceMapping{Mode: ImportUpsert, Fields: []SourceField{{Path: "email", Target: "email"}}}}, "owner")
	if err != nil {
		t.Fatal(err)
	}
	hook := "https://crm.example/hooks"
	if _, _, err := s.CreateWebhook(ctx, WebhookInput{URL: &hook, Events: &[]string{EventContactCreated}}, nil); err != nil {
		t.Fatal(err)
	}
	email := "ann@example.com"
	if _, _, err := s.CreateContact(ctx, ContactInput{Email: &email}, false); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		queue string
		next  func() (int64, error)
		want  int64
	}{
		{QueueImports, func() (int64, error) { got, err := s.NextImport(ctx); return got.ID, err }, j.ID},
		{QueueSources, func() (int64, error) { return s.DueSource(ctx, clock.now()) }, src.ID},
		{QueueWebhooks, func() (int64, error) {
			// A lease already over leaves the delivery to be claimed again.
			ds, err := s.ClaimDeliveries(ctx, 10, -time.Minute)
			if err == nil && len(ds) == 0 {
				err = ErrNotFound
			}
			if err != nil {
				return 0, err
			}
			return ds[0].ID, nil
		}, 1},
	} {
		if got, err := c.next(); err != nil || got != c.want {
			t.Errorf("%s before the pause: %d, %v; want %d", c.queue, got, err, c.want)
		}
		if _, err := s.PauseQueue(ctx, c.queue, true, "owner"); err != nil {
			t.Fatal(err)
		}
		if got, err := c.next(); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s paused: %d, %v; want nothing", c.queue, got, err)
		}
		if q, err := s.QueueStats(ctx, c.queue, clock.now(), clock.now().Add(-time.Hour)); err != nil || q.Waiting != 1 || !q.Paused {
			t.Errorf("%s paused, its stats: %+v, %v", c.queue, q, err)
		}
		if _, err := s.PauseQueue(ctx, c.queue, false, "owner"); err != nil {
			t.Fatal(err)
		}
		if got, err := c.next(); err != nil || got != c.want {
			t.Errorf("%s resumed: %d, %v; want %d", c.queue, got, err, c.want)
		}
	}
	if paused, err := s.QueuePaused(ctx, QueueWebhooks); err != nil || paused {
		t.Errorf("webhooks paused before any pause: %v, %v", paused, err)
	}
	// Every queue reads in every state.
	now := clock.now()
	for _, name := range Queues {
		if _, err := s.QueueStats(ctx, name, now, now.Add(-time.Hour)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := s.QueueDone(ctx, name, now, now.Add(-time.Minute)); err != nil {
			t.Errorf("%s done: %v", name, err)
		}
		for _, state := range QueueStates {
			if _, err := s.QueueItems(ctx, name, state, now, now.Add(-time.Hour), 10, 0); err != nil {
				t.Errorf("%s %s: %v", name, state, err)
			}
		}
	}
}

// TestRetryingFailedSendsKeepsTheRules: the campaigns queue retries a
// failed send only while its campaign sends, and only to a contact still
// active and not suppressed; it discards only its own campaigns' failures,
// never a finished campaign's.
func TestRetryingFailedSendsKeepsTheRules(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	l, err := s.CreateList(ctx, ListInput{Name: ptr("All")})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []string{"ok@example.com", "bounced@example.com", "blocked@example.com"} {
		if _, _, err := s.CreateContact(ctx, ContactInput{Email: new(e), Lists: []int64{l.ID}, Source: "test"}, false); err != nil {
			t.Fatal(err)
		}
	}
	campaign := func(name string) Campaign {
		c, err := s.CreateCampaign(ctx, CampaignInput{Name: ptr(name), ListIDs: &[]int64{l.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Materialise(ctx, c.ID, Audience{Lists: c.ListIDs}); err != nil {
			t.Fatal(err)
		}
		sends, err := s.ClaimSends(ctx, c.ID, 10, time.Minute)
		if err != nil || len(sends) != 3 {
			t.Fatalf("claim: %d, %v", len(sends), err)
		}
		var outs []Outcome
		for _, sd := range sends {
			outs = append(outs, Outcome{SendID: sd.ID, Status: SendFailed, Code: 550, Response: "550 no"})
		}
		if err := s.RecordOutcomes(ctx, outs); err != nil {
			t.Fatal(err)
		}
		return c
	}
	old := campaign("Old")
	if _, err := s.w.ExecContext(ctx, `UPDATE campaigns SET status = 'sent', finished_at = 1 WHERE id = ?`, old.ID); err != nil {
		t.Fatal(err)
	}
	live := campaign("Live")
	if _, err := s.w.ExecContext(ctx, `UPDATE campaigns SET status = 'sending' WHERE id = ?;
UPDATE contacts SET status = 'bounced' WHERE email = 'bounced@example.com';
INSERT INTO suppressions (kind, value, reason, created_at) VALUES ('email', 'blocked@example.com', 'test', 0)`, live.ID); err != nil {
		t.Fatal(err)
	}
	n, err := s.RetryFailed(ctx, QueueCampaigns, AllItems)
	if err != nil || n != 1 {
		t.Errorf("retry all: %d, %v; want only ok@ of the live campaign", n, err)
	}
	if n, err := s.DiscardFailed(ctx, QueueCampaigns, AllItems); err != nil || n != 2 {
		t.Errorf("discard all: %d, %v; want the live campaign's two", n, err)
	}
	var failed int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM sends WHERE campaign_id = ? AND status = 'failed'`, old.ID).Scan(&failed); err != nil || failed != 3 {
		t.Errorf("the finished campaign's failures: %d, %v; want all 3 kept for its report", failed, err)
	}
}
