package outbound

import (
	"context"
	"slices"
	"testing"
	"time"

	"herald/store"
)

// TestRecorderGathers checks when the recorder commits a group: once one
// outcome has come from each worker, however long gathering could last;
// once gathering has lasted; or once it closes; and that each outcome is
// in the database by the time its wait returns.
func TestRecorderGathers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	emails := []string{"a@example.com", "b@example.com", "c@example.com", "d@example.com", "e@example.com"}
	st, _, c := dispatchFixture(t, nil, emails)
	a, err := st.CampaignAudience(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Materialise(ctx, c.ID, a); err != nil {
		t.Fatal(err)
	}
	sends, err := st.ClaimSends(ctx, c.ID, len(emails), time.Minute)
	if err != nil || len(sends) != len(emails) {
		t.Fatalf("claimed %d sends (%v), want %d", len(sends), err, len(emails))
	}
	submit := func(r *recorder, i int) *commit {
		return r.submit(store.Outcome{SendID: sends[i].ID, Status: store.SendSent, Response: "250 ok"})
	}
	sent := func() int {
		_, n, err := st.CampaignSends(ctx, c.ID, store.SendSent, store.Order{}, 10, 0)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	// Gathering would last an hour: only a full group, or closing, commits.
	var groups []int
	r := newRecorder(st, 3)
	r.gather = time.Hour
	r.committed = func(n int) { groups = append(groups, n) }
	first := submit(r, 0)
	// Time for a recorder that did not gather to commit the first alone.
	time.Sleep(20 * time.Millisecond)
	second, third := submit(r, 1), submit(r, 2)
	if err := third.wait(); err != nil {
		t.Fatal(err)
	}
	if !isDone(first) || !isDone(second) {
		t.Error("the group of three was not committed as one")
	}
	if n := sent(); n != 3 {
		t.Errorf("%d sends recorded as sent after the full group, want 3", n)
	}
	fourth := submit(r, 3)
	if err := r.close(); err != nil {
		t.Fatal(err)
	}
	if !isDone(fourth) || sent() != 4 {
		t.Errorf("closing the recorder left an outcome uncommitted: %d sent, want 4", sent())
	}
	// Read after close, as the recorder's goroutine has ended.
	if !slices.Equal(groups, []int{3, 1}) {
		t.Errorf("groups committed: got %v, want [3 1]: one of each worker's, then the rest at closing", groups)
	}

	// As it gathers: one outcome of three workers' is committed alone.
	r = newRecorder(st, 3)
	defer r.close()
	if err := submit(r, 4).before()(); err != nil {
		t.Fatal(err)
	}
	if n := sent(); n != 5 {
		t.Errorf("%d sends recorded as sent once a lone outcome's wait returned, want 5", n)
	}
}

// isDone says whether c's group is committed.
func isDone(c *commit) bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}
