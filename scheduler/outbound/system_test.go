package outbound

import (
	"context"
	"strings"
	"testing"
	"time"

	"herald/mailer/smtptest"
	"herald/store"
)

// TestSystemMailWaitsForARelay queues a sign-up's confirmation and an
// owner alert while no relay is enabled: both are kept on the lane as
// system mail, and go once a relay is added. A confirmation that was
// queued holds the next one back for ten minutes; nothing else does.
func TestSystemMailWaitsForARelay(t *testing.T) {
	t.Parallel()
	st := testStore(t)
	ctx := context.Background()
	if _, err := st.SaveGeneral(ctx, store.General{OrgName: "Bakery", FromEmail: "news@bakery.example", BaseURL: "https://news.bakery.example"}); err != nil {
		t.Fatal(err)
	}
	addOwner(t, st)
	s := newService(t, st)
	l, err := st.CreateList(ctx, store.ListInput{Name: new("News")})
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := st.CreateContact(ctx, store.ContactInput{Email: new("new@example.com"), Source: "test"}, false)
	if err != nil {
		t.Fatal(err)
	}
	sign := Confirmation{ContactID: c.ID, Email: c.Email, List: l}
	if queued, err := s.Confirm(ctx, sign); err != nil || !queued {
		t.Fatalf("confirmation with no relay: queued %v, %v; want queued", queued, err)
	}
	if queued, err := s.Confirm(ctx, sign); err != nil || queued {
		t.Errorf("a second confirmation at once: queued %v, %v; want held back", queued, err)
	}
	s.NotifyOwners(ctx, "Something to see", "Hello.")
	ms, _, err := st.Messages(ctx, store.MessageFilter{Kind: store.MessageSystem, Status: store.MessageQueued}, 10, 0)
	if err != nil || len(ms) != 2 {
		t.Fatalf("queued system mail: got %d, %v; want the confirmation and the alert", len(ms), err)
	}

	// The lane tries them with no relay to send through, and retries.
	clock := setClock(st)
	run(t, s.Lane())
	s.Lane().Wake()
	for _, m := range ms {
		if got := waitStatus(t, st, m.ID, store.MessageRetrying); !strings.Contains(got.LastResponse, "no relay is enabled") {
			t.Errorf("message %d with no relay: %q, want it to say no relay is enabled", m.ID, got.LastResponse)
		}
	}
	srv := smtptest.Start(t, smtptest.Options{})
	sink(t, st, srv, 1)
	clock.Advance(3 * time.Second)
	s.Lane().Wake()
	for _, m := range ms {
		waitStatus(t, st, m.ID, store.MessageSent)
	}
	to := map[string]bool{}
	for _, m := range srv.Messages() {
		to[m.To[0]] = true
	}
	if !to["new@example.com"] || !to["owner@bakery.example"] || len(to) != 2 {
		t.Errorf("delivered once a relay was added: %v, want the confirmation and the alert", to)
	}
}

// TestSystemMailGoesAfterTransactionalMail: an owner alert queued before a
// receipt leaves after it: system mail ranks below transactional mail of
// normal priority.
func TestSystemMailGoesAfterTransactionalMail(t *testing.T) {
	t.Parallel()
	st := testStore(t)
	ctx := context.Background()
	if _, err := st.SaveGeneral(ctx, store.General{OrgName: "Bakery", FromEmail: "news@bakery.example"}); err != nil {
		t.Fatal(err)
	}
	addOwner(t, st)
	newService(t, st).NotifyOwners(ctx, "Something needs you", "Look.")
	receipt, _, err := st.CreateMessage(ctx, store.NewMessage{Message: store.Message{ToEmail: "ann@example.com", FromEmail: "shop@bakery.example",
		Subject: "Receipt", Text: "Thanks"}})
	if err != nil {
		t.Fatal(err)
	}
	first, err := st.ClaimMessages(ctx, 1, time.Minute)
	if err != nil || len(first) != 1 || first[0].ID != receipt.ID {
		t.Fatalf("first claimed: %+v, %v; want the receipt", first, err)
	}
	next, err := st.ClaimMessages(ctx, 1, time.Minute)
	if err != nil || len(next) != 1 || next[0].Kind != store.MessageSystem || next[0].Priority != store.PriorityLow {
		t.Errorf("next claimed: %+v, %v; want the alert, at low priority", next, err)
	}
}
