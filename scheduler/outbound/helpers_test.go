package outbound

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"herald/store"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// testStore opens a store on a fresh database in a temporary directory.
func testStore(t testing.TB) *store.Store {
	t.Helper()
	box, _ := store.NewSecretBox([]byte("0123456789abcdef0123456789abcdef"))
	st, err := store.Open(context.Background(), t.TempDir(), box)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// newService builds the service over st as serve does, with retries after
// a second, looks every 100 ms and relays given 5 s to answer; edit
// changes the config further.
func newService(t testing.TB, st *store.Store, edit ...func(*Config)) *Service {
	t.Helper()
	cfg := Config{Store: st, Log: quietLog(), FirstRetry: time.Second, Every: 100 * time.Millisecond, RelayTimeout: 5 * time.Second}
	for _, e := range edit {
		e(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// run runs a worker until the test ends, and waits for it.
func run(t testing.TB, w interface{ Run(context.Context) error }) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
	})
}

// relayOf is the first relay in st.
func relayOf(t *testing.T, st *store.Store) store.Relay {
	t.Helper()
	rs, err := st.Relays(context.Background())
	if err != nil || len(rs) == 0 {
		t.Fatalf("relays: %v %v", rs, err)
	}
	return rs[0]
}

// addOwner makes the owner account, who is told when a campaign needs them.
func addOwner(t testing.TB, st *store.Store) {
	t.Helper()
	if _, err := st.CreateUser(context.Background(), store.NewUser{Email: "owner@bakery.example", Role: store.RoleOwner, Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
}

// ownerAlerts are the system emails queued so far, each its subject and
// text.
func ownerAlerts(t testing.TB, st *store.Store) []string {
	t.Helper()
	ms, _, err := st.Messages(context.Background(), store.MessageFilter{Kind: store.MessageSystem, Order: store.Newest}, 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		full, err := st.Message(context.Background(), m.ID)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, full.Subject+"\n"+full.Text)
	}
	return out
}

// clock is a clock a test moves by hand, for the store and the send path
// that follows its time; it starts at the real time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

// setClock gives st a clock the test moves by hand.
func setClock(st *store.Store) *clock {
	c := &clock{t: time.Now()}
	st.SetClock(c.Now)
	return c
}

// Now is the clock's time.
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock on by d.
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
