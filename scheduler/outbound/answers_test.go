package outbound

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"herald/mailer/ses/sestest"
	"herald/mailer/smtptest"
	"herald/store"
)

// scripted is an SMTP server on loopback that answers from a script: the
// greeting, and the reply to each command by its verb. A missing reply to
// the greeting means it never says anything: a hung server.
type scripted struct {
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []net.Conn
}

func startScripted(t *testing.T, greeting string, replies map[string]string) *scripted {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &scripted{ln: ln}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			s.wg.Go(func() { s.serve(c, greeting, replies) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *scripted) serve(c net.Conn, greeting string, replies map[string]string) {
	defer c.Close()
	if greeting == "" {
		// Hung: read and say nothing until the client gives up.
		bufio.NewReader(c).ReadString(0)
		return
	}
	w := bufio.NewWriter(c)
	say := func(line string) { w.WriteString(line + "\r\n"); w.Flush() }
	say(greeting)
	if !strings.HasPrefix(greeting, "220") {
		return
	}
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		verb := strings.ToUpper(strings.Fields(line + " x")[0])
		if reply, ok := replies[verb]; ok {
			say(reply)
			continue
		}
		switch verb {
		case "EHLO":
			say("250-scripted\r\n250 AUTH PLAIN")
		case "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}

func (s *scripted) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// TestRelayAnswersAreRetriedOrFailed sends one message to relays that
// answer 421 at the greeting, 454 to AUTH, 451 to RCPT, 550 5.1.1 to RCPT,
// or hang: every temporary answer leaves the message to retry later with
// the answer shown, the unknown user fails it and suppresses the address.
func TestRelayAnswersAreRetriedOrFailed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		greeting string
		replies  map[string]string
		login    bool
		status   string
		answer   string
	}{
		{"421 at the greeting", "421 4.3.2 Service not available, closing channel", nil, false, store.SendRetrying, "421 4.3.2"},
		{"454 to AUTH", "220 scripted", map[string]string{"AUTH": "454 4.7.0 Temporary authentication failure"}, true, store.SendRetrying, "454 4.7.0"},
		{"451 to RCPT", "220 scripted", map[string]string{"RCPT": "451 4.7.1 Greylisted, try again"}, false, store.SendRetrying, "451 4.7.1"},
		{"550 5.1.1 to RCPT", "220 scripted", map[string]string{"RCPT": "550 5.1.1 No such user"}, false, store.SendFailed, "550 5.1.1"},
		{"a hung server", "", nil, false, store.SendRetrying, "timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startScripted(t, tc.greeting, tc.replies)
			st, d, c := dispatchFixture(t, nil, []string{"reader@example.com"})
			ctx := context.Background()
			in := store.RelayInput{Name: "Scripted", Kind: store.RelaySMTP, Host: "127.0.0.1", Port: srv.port(), TLS: store.TLSNone, MaxConnections: 1, Enabled: true}
			if tc.login {
				in.Username, in.Password = "user", new("secret")
			}
			if _, err := st.CreateRelay(ctx, in); err != nil {
				t.Fatal(err)
			}
			d = newService(t, st, func(c *Config) { c.RelayTimeout = 500 * time.Millisecond }).Dispatcher()
			if err := d.runCampaign(ctx, c.ID); err != nil {
				t.Fatal(err)
			}
			sends, _, _ := st.CampaignSends(ctx, c.ID, "", store.Order{}, 10, 0)
			if len(sends) != 1 || sends[0].Status != tc.status || !strings.Contains(sends[0].LastResponse, tc.answer) || sends[0].Attempts != 1 {
				t.Fatalf("send: %+v; want %s with %q after one attempt", sends, tc.status, tc.answer)
			}
			if tc.status == store.SendRetrying && !sends[0].NextAttempt.After(time.Now()) {
				t.Errorf("retry due at %v, want later", sends[0].NextAttempt)
			}
			contact, _ := st.ContactByEmail(ctx, "reader@example.com")
			if bounced := contact.Status == store.StatusBounced; bounced != (tc.status == store.SendFailed) {
				t.Errorf("contact status %s after %s", contact.Status, tc.name)
			}
		})
	}
}

// TestFailedCommitStopsTheRun makes the database refuse the sixth outcome:
// that message went out, but the next is abandoned before its relay gets it
// and the run stops with the error, the campaign paused with why. Once the
// database takes writes again and the campaign is resumed, a new run
// reaches everyone, and only the unrecorded message arrives twice.
func TestFailedCommitStopsTheRun(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	var emails []string
	for i := range 20 {
		emails = append(emails, fmt.Sprintf("r%02d@example.com", i))
	}
	st, d, c := dispatchFixture(t, srv, emails)
	ctx := context.Background()
	r := relayOf(t, st)
	in := r.InputOf()
	in.MaxConnections = 1
	if _, err := st.UpdateRelay(ctx, r.ID, in); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", st.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TRIGGER refuse BEFORE UPDATE OF status ON sends
WHEN NEW.status = 'sent' AND (SELECT count(*) FROM sends WHERE status = 'sent') >= 5
BEGIN SELECT RAISE(ABORT, 'disk full'); END`); err != nil {
		t.Fatal(err)
	}
	if err := d.runCampaign(ctx, c.ID); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("run: %v, want the failed commit", err)
	}
	if n := srv.Count(); n != 6 {
		t.Errorf("delivered %d before stopping, want 6: five recorded and the one whose record failed", n)
	}
	if got, err := st.Campaign(ctx, c.ID); err != nil || got.Status != store.CampaignPaused || !strings.Contains(got.PausedReason, "could not record") {
		t.Errorf("after the failed commit: campaign %q, %q (%v), want paused with why", got.Status, got.PausedReason, err)
	}
	if _, err := db.Exec(`DROP TRIGGER refuse`); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ChangeCampaign(ctx, c.ID, store.ActionResume); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RequeueInFlight(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.runCampaign(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, m := range srv.Messages() {
		got[m.To[0]]++
	}
	dups := 0
	for _, e := range emails {
		if got[e] == 0 {
			t.Errorf("%s never got the message", e)
		}
		dups += got[e] - 1
	}
	if dups > 1 {
		t.Errorf("%d duplicates, want at most 1 (the one connection)", dups)
	}
}

// TestRefusedAccountPausesTheCampaign sends through an SES account whose
// sending is paused: nobody is failed, the campaign pauses itself with the
// reason, and the owners are told.
func TestRefusedAccountPausesTheCampaign(t *testing.T) {
	sestest.IsolateAWS(t)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-ErrorType", "SendingPausedException")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"message":"Sending is paused for this account."}`))
	}))
	defer api.Close()
	st, d, c := dispatchFixture(t, nil, []string{"a@example.com", "b@example.com", "c@example.com"})
	ctx := context.Background()
	if _, err := st.CreateRelay(ctx, store.RelayInput{Name: "SES", Kind: store.RelaySES, Region: "eu-west-1", Username: "AKIAEXAMPLE",
		Password: new("secret"), Endpoint: api.URL, MaxConnections: 2, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	addOwner(t, st)
	if err := d.runCampaign(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	got, _ := st.Campaign(ctx, c.ID)
	if got.Status != store.CampaignPaused || !strings.Contains(got.PausedReason, "refuses to send") || !strings.Contains(got.PausedReason, "Sending is paused") {
		t.Fatalf("campaign: %s %q, want paused with SES's reason", got.Status, got.PausedReason)
	}
	n, _ := st.SendCounts(ctx, c.ID)
	if n[store.SendQueued] != 3 || n[store.SendFailed] != 0 {
		t.Errorf("sends: %v, want all 3 queued, none failed", n)
	}
	if told := ownerAlerts(t, st); len(told) != 1 {
		t.Errorf("owners told %d times, want once", len(told))
	}
}

// TestHungRelayIsReportedAndItsRowsReleased sends through a relay that
// takes connections and never answers. The run records that the relay is
// failing, with its error, and puts the messages no connection tried back
// in the queue instead of leaving them "sending"; the next run tries one
// message a connection. Once the relay answers again, the campaign
// finishes and the failure is cleared.
func TestHungRelayIsReportedAndItsRowsReleased(t *testing.T) {
	t.Parallel()
	hung := startScripted(t, "", nil)
	var emails []string
	for i := range 30 {
		emails = append(emails, fmt.Sprintf("r%02d@example.com", i))
	}
	st, _, c := dispatchFixture(t, nil, emails)
	ctx := context.Background()
	r, err := st.CreateRelay(ctx, store.RelayInput{Name: "Hung", Kind: store.RelaySMTP, Host: "127.0.0.1", Port: hung.port(), TLS: store.TLSNone,
		MaxConnections: 2, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	d := newService(t, st, func(c *Config) { c.RelayTimeout = 300 * time.Millisecond }).Dispatcher()
	if err := d.runCampaign(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	got, _ := st.Relay(ctx, r.ID)
	if got.FailingSince.IsZero() || !strings.Contains(got.FailingError, "timeout") {
		t.Errorf("relay after the run: failing since %v with %q, want failing with the timeout", got.FailingSince, got.FailingError)
	}
	n, _ := st.SendCounts(ctx, c.ID)
	if n[store.SendSending] != 0 || n[store.SendRetrying] > 2 || n[store.SendQueued] < 28 {
		t.Errorf("after the run: %v, want at most one retrying a connection and the rest queued, none sending", n)
	}

	// The next run probes with one message a connection: never more than
	// two rows are "sending" while the relay stays silent.
	done := make(chan error, 1)
	go func() { done <- d.runCampaign(ctx, c.ID) }()
	most := 0
	for running := true; running; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			running = false
		case <-time.After(20 * time.Millisecond):
			n, _ := st.SendCounts(ctx, c.ID)
			most = max(most, n[store.SendSending])
		}
	}
	if most > 2 {
		t.Errorf("while the relay hung: %d rows sending at once, want at most 2, one a connection", most)
	}

	srv := smtptest.Start(t, smtptest.Options{})
	in := got.InputOf()
	in.Port = srv.Port()
	if _, err := st.UpdateRelay(ctx, r.ID, in); err != nil {
		t.Fatal(err)
	}
	// The retried messages fall due on the store's clock.
	setClock(st).Advance(time.Hour)
	if err := d.runCampaign(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if n, _ := st.SendCounts(ctx, c.ID); n[store.SendSent] != 30 {
		t.Errorf("once the relay answers: %v, want all 30 sent", n)
	}
	if got, _ := st.Relay(ctx, r.ID); !got.FailingSince.IsZero() || got.FailingError != "" {
		t.Errorf("relay answering again: still failing since %v with %q", got.FailingSince, got.FailingError)
	}
}

// accepted is how many connections the server has taken.
func (s *scripted) accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// TestHungRelayDoesNotHoldUpTheLane makes the first enabled relay hang and
// sends transactional mail. The first message waits for it to time out
// and falls over to the second relay; the next ones go straight through
// the second, without another connection to the hung one. A new service
// over the same store, as after a restart, knows the relay fails from the
// store and does the same, but for one probe.
func TestHungRelayDoesNotHoldUpTheLane(t *testing.T) {
	t.Parallel()
	hung := startScripted(t, "", nil)
	good := smtptest.Start(t, smtptest.Options{})
	st := testStore(t)
	ctx := context.Background()
	if _, err := st.CreateRelay(ctx, store.RelayInput{Name: "Hung", Kind: store.RelaySMTP, Host: "127.0.0.1", Port: hung.port(), TLS: store.TLSNone,
		MaxConnections: 1, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	sink(t, st, good, 1)
	timeout := func(c *Config) { c.RelayTimeout = 300 * time.Millisecond }
	l := newService(t, st, timeout).Lane()
	run(t, l)
	first := queueMessage(t, st, "first@example.com")
	l.Wake()
	waitStatus(t, st, first.ID, store.MessageSent)
	if n := hung.accepted(); n != 1 {
		t.Fatalf("the hung relay took %d connections for the first message, want 1", n)
	}
	for i := range 5 {
		m := queueMessage(t, st, fmt.Sprintf("next%d@example.com", i))
		l.Wake()
		waitStatus(t, st, m.ID, store.MessageSent)
	}
	if n := hung.accepted(); n != 1 {
		t.Errorf("after five more messages the hung relay took %d connections, want still 1: it is known to fail", n)
	}

	// After a restart, the store says the relay fails: one message may
	// try it, as the probe a failing relay gets every minute, and the rest
	// go straight through the second.
	restarted := newService(t, st, timeout).Lane()
	run(t, restarted)
	for i := range 3 {
		m := queueMessage(t, st, fmt.Sprintf("after-restart%d@example.com", i))
		restarted.Wake()
		waitStatus(t, st, m.ID, store.MessageSent)
	}
	if n := hung.accepted(); n > 2 {
		t.Errorf("after a restart the hung relay took %d connections in all, want at most 2: one probe", n)
	}
	if got := good.Count(); got != 9 {
		t.Errorf("the second relay got %d messages, want all 9", got)
	}
}

// TestStoppingDoesNotWaitForAHungRelay stops the lane while a message is
// under way to a relay that never answers and would wait an hour: the
// lane lets go of it within a few seconds, and the message goes back to
// the queue for the next start.
func TestStoppingDoesNotWaitForAHungRelay(t *testing.T) {
	t.Parallel()
	hung := startScripted(t, "", nil)
	st := testStore(t)
	ctx := context.Background()
	if _, err := st.CreateRelay(ctx, store.RelayInput{Name: "Hung", Kind: store.RelaySMTP, Host: "127.0.0.1", Port: hung.port(), TLS: store.TLSNone,
		MaxConnections: 1, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	l := newService(t, st, func(c *Config) { c.RelayTimeout = time.Hour }).Lane()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- l.Run(runCtx) }()
	m := queueMessage(t, st, "waiting@example.com")
	l.Wake()
	for deadline := time.Now().Add(10 * time.Second); hung.accepted() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the lane never reached the relay")
		}
	}
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the lane did not stop while a hung relay held a message")
	}
	if n, err := st.RequeueInFlightMessages(ctx); err != nil || n != 1 {
		t.Errorf("requeued at the next start: %d, %v; want the message left in flight", n, err)
	}
	if got, _ := st.Message(ctx, m.ID); got.Status != store.MessageQueued {
		t.Errorf("the message after the next start: %s, want queued again", got.Status)
	}
}
