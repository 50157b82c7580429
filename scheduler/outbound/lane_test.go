package outbound

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-smtp"

	"herald/mailer"
	"herald/mailer/smtptest"
	"herald/store"
)

// laneFixture is a store with a relay to srv and a lane sending through it,
// started by run.
func laneFixture(t *testing.T, srv *smtptest.Server) (*store.Store, *Lane, store.Relay) {
	t.Helper()
	st := testStore(t)
	r := sink(t, st, srv, 2)
	return st, newService(t, st).Lane(), r
}

func queueMessage(t *testing.T, st *store.Store, to string, edit ...func(*store.NewMessage)) store.Message {
	t.Helper()
	in := store.NewMessage{Message: store.Message{ToEmail: to, FromName: "Shop", FromEmail: "shop@shop.example", Subject: "Your receipt",
		Text: "Thanks for your order.", HTML: "<p>Thanks for your order.</p>"}}
	for _, e := range edit {
		e(&in)
	}
	m, _, err := st.CreateMessage(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// waitStatus waits for a message to reach a status and returns it.
func waitStatus(t *testing.T, st *store.Store, id int64, status string) store.Message {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		m, err := st.Message(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if m.Status == status {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %d: got status %s (%s), want %s", id, m.Status, m.LastResponse, status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func history(t *testing.T, st *store.Store, id int64) string {
	t.Helper()
	evs, err := st.MessageEvents(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.Status)
	}
	return strings.Join(out, " ")
}

func TestLaneSendsASignedMessageWithAttachments(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	st, l, _ := laneFixture(t, srv)
	key, err := l.s.AddDKIMKey(context.Background(), "shop.example", "herald1", mailer.DKIMEd25519)
	if err != nil {
		t.Fatal(err)
	}
	run(t, l)
	m := queueMessage(t, st, "buyer@example.com", func(in *store.NewMessage) {
		in.ReplyTo = "help@shop.example"
		in.Headers = []store.Header{{Name: "X-Order-Id", Value: "1001"}}
		in.Attachments = []store.Attachment{{Filename: "receipt.pdf", ContentType: "application/pdf", Content: []byte("%PDF-1.4\x00\xff")}}
	})
	l.Wake()
	got := waitStatus(t, st, m.ID, store.MessageSent)
	if got.Attempts != 1 || got.LastCode != 250 || got.SentAt.IsZero() {
		t.Errorf("sent: got %+v", got)
	}
	msgs := srv.Wait(1, 5*time.Second)
	if len(msgs) != 1 || msgs[0].To[0] != "buyer@example.com" || msgs[0].From != "shop@shop.example" {
		t.Fatalf("delivered: got %d messages", len(msgs))
	}
	pm, err := mail.ReadMessage(bytes.NewReader(msgs[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(msgs[0].Data), &dkim.VerifyOptions{LookupTXT: func(name string) ([]string, error) {
		if name != key.DNSName() {
			return nil, fmt.Errorf("no TXT record at %s", name)
		}
		return []string{key.DNSValue}, nil
	}})
	if err != nil || len(verifs) != 1 || verifs[0].Err != nil || verifs[0].Domain != "shop.example" {
		t.Errorf("DKIM: %v %+v, want one good signature by shop.example", err, verifs)
	}
	for k, want := range map[string]string{"X-Order-Id": "1001", "Reply-To": "<help@shop.example>",
		"Message-Id": fmt.Sprintf("<m%d.%d.%s@shop.example>", m.ID, m.CreatedAt.Unix(), l.s.tracker.MessageTag(m.ID, m.CreatedAt.Unix()))} {
		if got := pm.Header.Get(k); got != want {
			t.Errorf("%s: got %q, want %q", k, got, want)
		}
	}
	_, params, _ := mime.ParseMediaType(pm.Header.Get("Content-Type"))
	mr := multipart.NewReader(pm.Body, params["boundary"])
	var names []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, p.FileName())
	}
	if fmt.Sprint(names) != "[ receipt.pdf]" {
		t.Errorf("parts: got file names %q, want the body and receipt.pdf", names)
	}
	if h := history(t, st, m.ID); h != "queued sent" {
		t.Errorf("history: got %q, want queued sent", h)
	}
}

func TestLaneRetriesATemporaryFailure(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	tries := 0
	srv := smtptest.Start(t, smtptest.Options{RejectRcpt: func(string) error {
		mu.Lock()
		defer mu.Unlock()
		if tries++; tries == 1 {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "greylisted, try again"}
		}
		return nil
	}})
	st, l, _ := laneFixture(t, srv)
	clock := setClock(st)
	run(t, l)
	m := queueMessage(t, st, "grey@example.com")
	l.Wake()
	retrying := waitStatus(t, st, m.ID, store.MessageRetrying)
	if retrying.Attempts != 1 || retrying.LastCode != 451 || !strings.Contains(retrying.LastResponse, "greylisted") {
		t.Errorf("after the first attempt: got %+v", retrying)
	}
	// The retry falls due on the store's clock, after 0.8 to 1.2 s stored
	// to the second, rounded up.
	clock.Advance(3 * time.Second)
	l.Wake()
	got := waitStatus(t, st, m.ID, store.MessageSent)
	if got.Attempts != 2 || got.LastCode != 250 {
		t.Errorf("after the retry: got %d attempts, code %d; want 2 and 250", got.Attempts, got.LastCode)
	}
	if h := history(t, st, m.ID); h != "queued retrying sent" {
		t.Errorf("history: got %q, want queued retrying sent", h)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("delivered: got %d, want 1", n)
	}
}

func TestLaneRequeuesAMessageLeftInFlight(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	st, l, _ := laneFixture(t, srv)
	m := queueMessage(t, st, "reset@example.com")
	// A process claimed it and stopped before it recorded anything.
	if claimed, err := st.ClaimMessages(context.Background(), 1, -time.Minute); err != nil || len(claimed) != 1 {
		t.Fatalf("claim: got %d, %v", len(claimed), err)
	}
	run(t, l)
	waitStatus(t, st, m.ID, store.MessageSent)
	// A few more rounds of the lane find nothing more to send.
	for range 3 {
		l.Wake()
		time.Sleep(150 * time.Millisecond)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("delivered: got %d, want exactly 1", n)
	}
	if h := history(t, st, m.ID); h != "queued requeued sent" {
		t.Errorf("history: got %q, want queued requeued sent", h)
	}
}

func TestLaneFailuresAndBounces(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{RejectRcpt: func(to string) error {
		switch to {
		case "gone@example.com", "stranger@example.com":
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		case "spam@example.com":
			return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "rejected as spam"}
		}
		return nil
	}})
	st, l, _ := laneFixture(t, srv)
	ctx := context.Background()
	email := "gone@example.com"
	contact, _, err := st.CreateContact(ctx, store.ContactInput{Email: &email, Source: "test"}, false)
	if err != nil {
		t.Fatal(err)
	}
	run(t, l)
	gone, spam, stranger := queueMessage(t, st, "gone@example.com"), queueMessage(t, st, "spam@example.com"), queueMessage(t, st, "stranger@example.com")
	l.Wake()
	for _, m := range []store.Message{gone, spam, stranger} {
		if got := waitStatus(t, st, m.ID, store.MessageFailed); got.Attempts != 1 || got.LastCode < 550 {
			t.Errorf("%s: got %d attempts, code %d; want one, refused", m.ToEmail, got.Attempts, got.LastCode)
		}
	}
	if c, _ := st.Contact(ctx, contact.ID); c.Status != store.StatusBounced {
		t.Errorf("bounced contact: got status %s, want bounced", c.Status)
	}
	if _, ok, _ := st.Suppressed(ctx, "gone@example.com"); !ok {
		t.Errorf("the contact's address: want it suppressed after a hard bounce")
	}
	if _, ok, _ := st.Suppressed(ctx, "stranger@example.com"); ok {
		t.Errorf("an address that is no contact's: want it only failed, not suppressed")
	}
}

func TestLaneSkipsAnAddressSuppressedSinceItWasQueued(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	st, l, _ := laneFixture(t, srv)
	ctx := context.Background()
	plain := queueMessage(t, st, "left@example.com")
	essential := queueMessage(t, st, "left@example.com", func(in *store.NewMessage) { in.Essential, in.Subject = true, "Reset your password" })
	if _, _, err := st.AddSuppression(ctx, store.SuppressionInput{Kind: store.SuppressEmail, Value: "left@example.com", Reason: "asked to"}); err != nil {
		t.Fatal(err)
	}
	run(t, l)
	got := waitStatus(t, st, plain.ID, store.MessageSuppressed)
	if got.Attempts != 0 || !strings.Contains(got.LastResponse, "suppressed") {
		t.Errorf("plain message: got %d attempts and %q", got.Attempts, got.LastResponse)
	}
	waitStatus(t, st, essential.ID, store.MessageSent)
	if msgs := srv.Messages(); len(msgs) != 1 || !strings.Contains(string(msgs[0].Data), "Subject: Reset your password") {
		t.Errorf("delivered: got %d messages, want only the essential one", len(msgs))
	}
}

func TestLaneFallsOverFromADownRelay(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	st, l, _ := laneFixture(t, srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dead, err := st.CreateRelay(context.Background(), store.RelayInput{Name: "Dead", Kind: store.RelaySMTP, Host: "127.0.0.1", Port: port,
		TLS: store.TLSNone, MaxConnections: 1, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	run(t, l)
	m := queueMessage(t, st, "buyer@example.com", func(in *store.NewMessage) { in.RelayID = dead.ID })
	l.Wake()
	if got := waitStatus(t, st, m.ID, store.MessageSent); got.Attempts != 1 {
		t.Errorf("attempts: got %d, want 1", got.Attempts)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("delivered through the working relay: got %d, want 1", n)
	}
}

// TestLaneSendsToSeveralRecipients sends one message to a list of To, Cc
// and Bcc recipients: one delivery reaches every envelope recipient, the
// headers name only To and Cc, a suppressed address is left out, and one
// the relay refuses for good is recorded as failed and bounced while the
// others get the message.
func TestLaneSendsToSeveralRecipients(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{RejectRcpt: func(to string) error {
		if to == "gone@example.com" || to == "stranger@example.com" || to == "nobody@example.com" {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}
		return nil
	}})
	st, l, relay := laneFixture(t, srv)
	ctx := context.Background()
	email := "gone@example.com"
	gone, _, err := st.CreateContact(ctx, store.ContactInput{Email: &email, Source: "test"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.AddSuppression(ctx, store.SuppressionInput{Kind: store.SuppressEmail, Value: "quiet@example.com", Reason: "asked to"}); err != nil {
		t.Fatal(err)
	}
	run(t, l)
	m, _, err := l.s.Queue(ctx, MessageRequest{
		To:      Addresses{"Ann Lee <Ann@Example.com>", "bob@example.com, gone@example.com"},
		Cc:      Addresses{"Cy Müller <cy@example.com>", "ann@example.com"},
		Bcc:     Addresses{"audit@shop.example", "quiet@example.com"},
		ReplyTo: Addresses{"help@shop.example, Sales <sales@shop.example>"},
		From:    "Shop <shop@shop.example>", Subject: new("Your order"), Text: new("It is on its way."),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := store.Recipients{To: []store.Address{{Email: "bob@example.com"}, {Email: "gone@example.com"}},
		Cc: []store.Address{{Name: "Cy Müller", Email: "cy@example.com"}}, Bcc: []store.Address{{Email: "audit@shop.example"}, {Email: "quiet@example.com"}}}
	if m.ToEmail != "ann@example.com" || m.ToName != "Ann Lee" || fmt.Sprint(m.Recipients) != fmt.Sprint(want) {
		t.Fatalf("stored: got %s %q %+v, want ann@example.com, Ann Lee and %+v", m.ToEmail, m.ToName, m.Recipients, want)
	}
	got := waitStatus(t, st, m.ID, store.MessageSent)
	msgs := srv.Wait(1, 5*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("delivered: got %d messages, want one", len(msgs))
	}
	if rcpt := strings.Join(msgs[0].To, " "); rcpt != "ann@example.com bob@example.com cy@example.com audit@shop.example" {
		t.Errorf("envelope: got %s, want every recipient but the suppressed and the refused one", rcpt)
	}
	pm, err := mail.ReadMessage(bytes.NewReader(msgs[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"To": "Ann Lee <ann@example.com>, <bob@example.com>, <gone@example.com>",
		"Cc": "Cy Müller <cy@example.com>", "Reply-To": "<help@shop.example>, Sales <sales@shop.example>", "Bcc": ""} {
		var names []string
		as, _ := pm.Header.AddressList(k)
		for _, a := range as {
			names = append(names, strings.TrimSpace(a.Name+" <"+a.Address+">"))
		}
		if got := strings.Join(names, ", "); got != want {
			t.Errorf("%s: got %q, want %q", k, got, want)
		}
	}
	if strings.Contains(string(msgs[0].Data), "audit@") || strings.Contains(string(msgs[0].Data), "quiet@") {
		t.Errorf("a Bcc recipient shows in the message")
	}
	if h := history(t, st, m.ID); h != "queued sent suppressed failed" {
		t.Errorf("history: got %q, want queued sent suppressed failed", h)
	}
	evs, _ := st.MessageEvents(ctx, m.ID)
	if len(evs) == 4 && (!strings.HasPrefix(evs[2].Detail, "quiet@example.com: ") || !strings.HasPrefix(evs[3].Detail, "gone@example.com: ") || !strings.Contains(evs[3].Detail, "550")) {
		t.Errorf("left out: got %q and %q, want the suppressed and the refused address with why", evs[2].Detail, evs[3].Detail)
	}
	if got.Attempts != 1 {
		t.Errorf("attempts: got %d, want 1", got.Attempts)
	}
	if r, _ := st.Relay(ctx, relay.ID); r.SentToday != 4 {
		t.Errorf("the relay's count today: got %d, want the 4 recipients the relay took", r.SentToday)
	}
	if c, _ := st.Contact(ctx, gone.ID); c.Status != store.StatusBounced {
		t.Errorf("the refused recipient's contact: got %s, want bounced", c.Status)
	}

	// Refused by every recipient, the message fails, and the history names
	// each one beyond the first To.
	m, _, err = l.s.Queue(ctx, MessageRequest{To: Addresses{"stranger@example.com"}, Cc: Addresses{"nobody@example.com"}, Bcc: Addresses{"quiet@example.com"},
		Subject: new("Again"), Text: new("x"), From: "shop@shop.example"})
	if err != nil {
		t.Fatal(err)
	}
	got = waitStatus(t, st, m.ID, store.MessageFailed)
	if !strings.HasPrefix(got.LastResponse, "no recipient taken; ") || got.LastCode != 550 {
		t.Errorf("all refused: got %d %q", got.LastCode, got.LastResponse)
	}
	if h := history(t, st, m.ID); h != "queued failed suppressed failed failed" {
		t.Errorf("all refused: history %q, want the message and each refused recipient failed", h)
	}
}

// TestLaneSendsLaterToARecipientWhoCannotTakeItYet: a recipient refused
// for now does not hold the others back. They get the message at once, and
// it goes to that recipient alone later, so nobody gets it twice.
func TestLaneSendsLaterToARecipientWhoCannotTakeItYet(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	full, gone := true, false
	srv := smtptest.Start(t, smtptest.Options{RejectRcpt: func(to string) error {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case to == "full@example.com" && full:
			return &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "mailbox full"}
		case to == "full@example.com" && gone:
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}
		return nil
	}})
	st, l, relay := laneFixture(t, srv)
	ctx := context.Background()
	run(t, l)
	m := queueMessage(t, st, "ann@example.com", func(in *store.NewMessage) {
		in.Recipients.Cc = []store.Address{{Email: "full@example.com"}, {Email: "bob@example.com"}}
	})
	l.Wake()
	got := waitStatus(t, st, m.ID, store.MessageRetrying)
	if !strings.HasPrefix(got.LastResponse, "sent to 2; not yet to full@example.com: ") || fmt.Sprint(got.PendingTo) != "[full@example.com]" {
		t.Errorf("after the first attempt: got %q, pending %v", got.LastResponse, got.PendingTo)
	}
	if msgs := srv.Wait(1, 5*time.Second); len(msgs) != 1 || strings.Join(msgs[0].To, " ") != "ann@example.com bob@example.com" {
		t.Fatalf("first attempt: got %d messages, want one to ann and bob", len(msgs))
	}
	mu.Lock()
	full = false
	mu.Unlock()
	got = waitStatus(t, st, m.ID, store.MessageSent)
	msgs := srv.Messages()
	if len(msgs) != 2 || strings.Join(msgs[1].To, " ") != "full@example.com" || messageID(t, msgs[0]) != messageID(t, msgs[1]) {
		t.Fatalf("delivered: got %d messages, want the same message again to full@example.com alone", len(msgs))
	}
	if len(got.PendingTo) != 0 || got.Attempts != 2 {
		t.Errorf("sent: pending %v after %d attempts", got.PendingTo, got.Attempts)
	}
	if r, _ := st.Relay(ctx, relay.ID); r.SentToday != 3 {
		t.Errorf("the relay's count today: got %d, want 3", r.SentToday)
	}

	// One who cannot take it yet and then refuses it for good: the others
	// have it, so the message is sent, and nobody is left waiting.
	mu.Lock()
	full = true
	mu.Unlock()
	m = queueMessage(t, st, "cy@example.com", func(in *store.NewMessage) {
		in.Recipients.Bcc = []store.Address{{Email: "full@example.com"}}
	})
	l.Wake()
	waitStatus(t, st, m.ID, store.MessageRetrying)
	mu.Lock()
	full, gone = false, true
	mu.Unlock()
	got = waitStatus(t, st, m.ID, store.MessageSent)
	if len(got.PendingTo) != 0 || got.PendingTo == nil || !strings.HasPrefix(got.LastResponse, "sent to the others; ") || got.SentTo != 1 {
		t.Errorf("refused at last: got pending %v, %q, sent to %d", got.PendingTo, got.LastResponse, got.SentTo)
	}
	if h := history(t, st, m.ID); h != "queued retrying sent failed" {
		t.Errorf("refused at last: history %q", h)
	}
}

func messageID(t *testing.T, m smtptest.Message) string {
	t.Helper()
	pm, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatal(err)
	}
	return pm.Header.Get("Message-Id")
}

// TestLaneSendsToMoreRecipientsThanTheRelayTakesAtOnce: a relay that takes
// 2 recipients a message answers 452 4.5.3 to the rest, which go in
// further transactions of the same attempt; one refused for good there is
// failed at once.
func TestLaneSendsToMoreRecipientsThanTheRelayTakesAtOnce(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{MaxRecipients: 2, RejectRcpt: func(to string) error {
		if to == "r4@example.com" {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}
		return nil
	}})
	st, l, _ := laneFixture(t, srv)
	run(t, l)
	m := queueMessage(t, st, "r0@example.com", func(in *store.NewMessage) {
		for i := 1; i < 6; i++ {
			in.Recipients.Bcc = append(in.Recipients.Bcc, store.Address{Email: fmt.Sprintf("r%d@example.com", i)})
		}
	})
	l.Wake()
	if got := waitStatus(t, st, m.ID, store.MessageSent); got.Attempts != 1 {
		t.Errorf("attempts: got %d, want 1", got.Attempts)
	}
	var got []string
	for _, msg := range srv.Messages() {
		got = append(got, strings.Join(msg.To, " "))
	}
	if want := []string{"r0@example.com r1@example.com", "r2@example.com r3@example.com", "r5@example.com"}; !slices.Equal(got, want) {
		t.Errorf("transactions: got %q, want %q", got, want)
	}
	// Refused for good in a later transaction is refused for good.
	if h := history(t, st, m.ID); h != "queued sent failed" {
		t.Errorf("history: got %q, want queued sent failed (r4 refused)", h)
	}
}

// TestLaneKeepsToTheOwnersCap: with the lane throttled to 2 messages a
// minute, a third waits for the next minute, while system mail goes.
func TestLaneKeepsToTheOwnersCap(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	st, l, _ := laneFixture(t, srv)
	clock := setClock(st)
	if _, err := st.ThrottleQueue(context.Background(), store.QueueTransactional, 2); err != nil {
		t.Fatal(err)
	}
	var ms []store.Message
	for _, to := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		ms = append(ms, queueMessage(t, st, to))
	}
	run(t, l)
	waitStatus(t, st, ms[0].ID, store.MessageSent)
	waitStatus(t, st, ms[1].ID, store.MessageSent)
	for range 3 {
		l.Wake()
		time.Sleep(100 * time.Millisecond)
	}
	if m, _ := st.Message(context.Background(), ms[2].ID); m.Status != store.MessageQueued {
		t.Fatalf("the third message in the same minute: %s, want it still queued", m.Status)
	}
	// System mail is not held back by the cap on transactional mail.
	alert := queueMessage(t, st, "owner@example.com", func(in *store.NewMessage) { in.Kind = store.MessageSystem })
	l.Wake()
	waitStatus(t, st, alert.ID, store.MessageSent)
	if m, _ := st.Message(context.Background(), ms[2].ID); m.Status != store.MessageQueued {
		t.Fatalf("the third message after the alert: %s, want it still queued", m.Status)
	}
	clock.Advance(time.Minute)
	l.Wake()
	waitStatus(t, st, ms[2].ID, store.MessageSent)
}
