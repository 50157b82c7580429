package store

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"
)

// queuedEvents returns the events queued for endpoint id, oldest first, as
// type and decoded payload.
func queuedEvents(t *testing.T, s *Store, id int64) []map[string]any {
	t.Helper()
	ds, _, err := s.Deliveries(context.Background(), id, DeliveryFilter{}, 1000, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, d := range ds {
		var p map[string]any
		if err := json.Unmarshal(d.Payload, &p); err != nil {
			t.Fatal(err)
		}
		if p["type"] != d.EventType || p["id"] != d.EventUID || p["created_at"] == nil {
			t.Fatalf("payload %v: want {id, type, created_at, data} matching the delivery", p)
		}
		out = append(out, p)
	}
	return out
}

func eventTypes(events []map[string]any) []string {
	var out []string
	for _, e := range events {
		out = append(out, e["type"].(string))
	}
	return out
}

// TestChangesEmitTheirEvents: each change queues its event, in its own
// transaction, for the endpoints that want it and no other.
func TestChangesEmitTheirEvents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clock := openTestStore(t)
	all, _, err := s.CreateWebhook(ctx, WebhookInput{URL: ptr("https://hooks.example.com/all"), Events: &EventTypes}, nil)
	if err != nil {
		t.Fatal(err)
	}
	some, _, err := s.CreateWebhook(ctx, WebhookInput{URL: ptr("https://hooks.example.com/some"), Events: &[]string{EventContactDeleted}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	off, _, err := s.CreateWebhook(ctx, WebhookInput{URL: ptr("https://hooks.example.com/off"), Events: &EventTypes, Enabled: new(false)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	expect := func(want ...string) {
		t.Helper()
		got := eventTypes(queuedEvents(t, s, all.ID))
		if !slices.Equal(got, want) {
			t.Fatalf("events: got %v, want %v", got, want)
		}
	}

	l, err := s.CreateList(ctx, ListInput{Name: ptr("News")})
	if err != nil {
		t.Fatal(err)
	}
	ann, _, err := s.CreateContact(ctx, ContactInput{Email: ptr("ann@example.com"), Tags: &[]string{"vip"}, Lists: []int64{l.ID}, Source: "test"}, false)
	if err != nil {
		t.Fatal(err)
	}
	expect(EventListSubscribed, EventContactCreated)
	created := queuedEvents(t, s, all.ID)[1]["data"].(map[string]any)
	if created["email"] != "ann@example.com" || !slices.Equal(created["tags"].([]any), []any{"vip"}) {
		t.Fatalf("contact.created data: got %v", created)
	}
	if _, err := s.UpdateContact(ctx, ann.ID, ContactInput{FirstName: ptr("Ann")}); err != nil {
		t.Fatal(err)
	}
	if err := s.Unsubscribe(ctx, ann.ID, l.ID, "by a test"); err != nil {
		t.Fatal(err)
	}
	if err := s.Unsubscribe(ctx, ann.ID, 0, "by a test"); err != nil {
		t.Fatal(err)
	}
	expect(EventListSubscribed, EventContactCreated, EventContactUpdated, EventListUnsubscribed, EventContactUnsubscribed)

	// A campaign to Bob: started, sent to him, bounced, then sent.
	bob, _, err := s.CreateContact(ctx, ContactInput{Email: ptr("bob@example.com"), Lists: []int64{l.ID}}, false)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.CreateCampaign(ctx, CampaignInput{Name: ptr("May"), Subject: ptr("News"), ListIDs: &[]int64{l.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartCampaign(ctx, c.ID, `{}`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Materialise(ctx, c.ID, Audience{Lists: c.ListIDs}); err != nil {
		t.Fatal(err)
	}
	sends, err := s.ClaimSends(ctx, c.ID, 10, time.Minute)
	if err != nil || len(sends) != 1 {
		t.Fatalf("claim: %v %v", sends, err)
	}
	if err := s.RecordOutcomes(ctx, []Outcome{{SendID: sends[0].ID, Status: SendSent, Code: 250, Response: "2.0.0 ok"}}); err != nil {
		t.Fatal(err)
	}
	clock.advance(time.Minute)
	if _, err := s.RecordFeedback(ctx, []Feedback{{Kind: ResultHardBounce, At: clock.now(), CampaignID: c.ID, SendID: sends[0].ID, Detail: "5.1.1 no such user", Source: "dsn"}}, 3); err != nil {
		t.Fatal(err)
	}
	if done, err := s.FinishCampaign(ctx, c.ID); err != nil || !done {
		t.Fatalf("finish: %v %v", done, err)
	}
	events := queuedEvents(t, s, all.ID)
	got := eventTypes(events)[5:]
	if want := []string{EventListSubscribed, EventContactCreated, EventCampaignStarted, EventEmailSent, EventEmailBounced, EventCampaignSent}; !slices.Equal(got[:len(want)], want) {
		t.Fatalf("campaign events: got %v, want %v first", got, want)
	}
	sent, bounced := events[8]["data"].(map[string]any), events[9]["data"].(map[string]any)
	if sent["email"] != "bob@example.com" || sent["campaign_id"] != float64(c.ID) || sent["contact_id"] != float64(bob.ID) || sent["code"] != 250.0 {
		t.Errorf("email.sent: got %v", sent)
	}
	if bounced["bounce"] != "hard" || bounced["detail"] != "5.1.1 no such user" || bounced["send_id"] != float64(sends[0].ID) {
		t.Errorf("email.bounced: got %v", bounced)
	}

	// Deleting reaches the endpoint that wants only deletions; the
	// disabled one is sent nothing at all.
	if err := s.DeleteContact(ctx, ann.ID); err != nil {
		t.Fatal(err)
	}
	if got := eventTypes(queuedEvents(t, s, some.ID)); !slices.Equal(got, []string{EventContactDeleted}) {
		t.Errorf("the endpoint for deletions: got %v", got)
	}
	if got := queuedEvents(t, s, off.ID); len(got) != 0 {
		t.Errorf("the disabled endpoint: got %v", eventTypes(got))
	}

	// An import that ends says so.
	j, err := s.CreateImport(ctx, ImportJob{FileName: "people.csv", Headers: []string{"email"}, Delimiter: ","}, &ImportSetup{Mode: ImportCreate, Mapping: []string{"email"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.FinishImport(ctx, j.ID, ImportFailed, "the file went"); err != nil {
		t.Fatal(err)
	}
	events = queuedEvents(t, s, all.ID)
	if last := events[len(events)-1]; last["type"] != EventImportFinished || last["data"].(map[string]any)["error"] != "the file went" ||
		last["data"].(map[string]any)["file_name"] != "people.csv" {
		t.Errorf("import.finished: got %v", last)
	}
}

// TestMessageToSeveralEmitsPerRecipient: a message sent to several emits
// email.sent for each recipient the relay took and email.failed for each
// it refused, naming that recipient.
func TestMessageToSeveralEmitsPerRecipient(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTestStore(t)
	hook, _, err := s.CreateWebhook(ctx, WebhookInput{URL: ptr("https://hooks.example.com/mail"), Events: &[]string{EventEmailSent, EventEmailFailed}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := s.CreateMessage(ctx, NewMessage{Message: Message{ToEmail: "ann@example.com", FromEmail: "shop@example.com", Subject: "Receipt", Text: "Thanks",
		Category: "billing", Recipients: Recipients{Cc: []Address{{Email: "gone@example.com"}, {Email: "quiet@example.com"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RecordMessageOutcome(ctx, MessageOutcome{ID: m.ID, Status: MessageSent, Code: 250, Response: "250 ok; and more", Reply: "250 ok",
		PerRecipient: true, Delivered: []string{"ann@example.com"}, Pending: []string{},
		Left: []LeftOut{{Email: "quiet@example.com", Status: MessageSuppressed, Why: "suppressed"}, {Email: "gone@example.com", Status: MessageFailed, Why: "rcpt: 550 5.1.1 no such user"}}}); err != nil {
		t.Fatal(err)
	}
	events := queuedEvents(t, s, hook.ID)
	if got := eventTypes(events); !slices.Equal(got, []string{EventEmailFailed, EventEmailSent}) {
		t.Fatalf("events: got %v, want email.failed for the refused recipient, then email.sent", got)
	}
	failed, sent := events[0]["data"].(map[string]any), events[1]["data"].(map[string]any)
	if failed["email"] != "gone@example.com" || failed["response"] != "rcpt: 550 5.1.1 no such user" || failed["category"] != "billing" || sent["email"] != "ann@example.com" || sent["response"] != "250 ok" {
		t.Errorf("got failed %v and sent %v", failed, sent)
	}
	if h, _ := s.MessageEvents(ctx, m.ID); len(h) != 4 || h[2].Status != MessageSuppressed || h[3].Detail != "gone@example.com: rcpt: 550 5.1.1 no such user" {
		t.Errorf("history: got %+v", h)
	}
}
