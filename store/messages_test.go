package store

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

func newTestMessage(to, key string) NewMessage {
	return NewMessage{Message: Message{IdempotencyKey: key, ToEmail: to, FromName: "Shop", FromEmail: "shop@example.com",
		Subject: "Your receipt", Text: "Thanks.", Data: map[string]any{"order": "1001"}, Headers: []Header{{Name: "X-Order", Value: "1001"}}}}
}

func TestCreateMessageIsIdempotent(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	in := newTestMessage("Buyer@Example.com", "order-1001")
	in.Attachments = []Attachment{{Filename: "receipt.pdf", ContentType: "application/pdf", Content: []byte("%PDF-1.4 receipt")},
		{Filename: "terms.txt", ContentType: "text/plain", Content: []byte("Terms")}}
	m, replay, err := s.CreateMessage(ctx, in)
	if err != nil || replay {
		t.Fatalf("create: got %v, replay %v; want no error and no replay", err, replay)
	}
	if m.Status != MessageQueued || m.ToEmail != "buyer@example.com" || m.Data["order"] != "1001" || len(m.Headers) != 1 || m.Headers[0].Name != "X-Order" {
		t.Errorf("created: got %+v", m)
	}
	atts, err := s.MessageAttachments(ctx, m.ID)
	if err != nil || len(atts) != 2 || atts[0].Filename != "receipt.pdf" || !bytes.Equal(atts[0].Content, in.Attachments[0].Content) {
		t.Errorf("attachments: got %+v, %v", atts, err)
	}
	again, replay, err := s.CreateMessage(ctx, newTestMessage("other@example.com", "order-1001"))
	if err != nil || !replay || again.ID != m.ID || again.ToEmail != "buyer@example.com" {
		t.Errorf("same key again: got %+v, replay %v, %v; want message %d as a replay", again, replay, err, m.ID)
	}
	if n := countRows(t, s, `SELECT count(*) FROM messages`); n != 1 {
		t.Errorf("rows after a replay: got %d, want 1", n)
	}
	if n := countRows(t, s, `SELECT count(*) FROM message_attachments`); n != 2 {
		t.Errorf("attachments after a replay: got %d, want 2", n)
	}
	// Messages without a key are never replays of each other.
	for range 2 {
		if _, replay, err := s.CreateMessage(ctx, newTestMessage("buyer@example.com", "")); err != nil || replay {
			t.Fatalf("without a key: got %v, replay %v", err, replay)
		}
	}
	if n := countRows(t, s, `SELECT count(*) FROM messages`); n != 3 {
		t.Errorf("rows: got %d, want 3", n)
	}
	evs, err := s.MessageEvents(ctx, m.ID)
	if err != nil || len(evs) != 1 || evs[0].Status != MessageQueued {
		t.Errorf("events: got %+v, %v; want one queued", evs, err)
	}
	if _, err := s.Message(ctx, 999); err != ErrNotFound {
		t.Errorf("missing message: got %v, want ErrNotFound", err)
	}
}

func TestSuppressedMessageIsStoredWithItsReason(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	in := newTestMessage("gone@example.com", "")
	in.Status, in.Reason = MessageSuppressed, "the email gone@example.com is suppressed"
	m, _, err := s.CreateMessage(ctx, in)
	if err != nil || m.Status != MessageSuppressed || m.LastResponse != in.Reason {
		t.Fatalf("create: got %+v, %v", m, err)
	}
	if claimed, _ := s.ClaimMessages(ctx, 10, time.Minute); len(claimed) != 0 {
		t.Errorf("claim: got %d suppressed messages, want none", len(claimed))
	}
	if evs, _ := s.MessageEvents(ctx, m.ID); len(evs) != 1 || evs[0].Status != MessageSuppressed || evs[0].Detail != in.Reason {
		t.Errorf("events: got %+v", evs)
	}
}

func TestClaimRetryAndSendAMessage(t *testing.T) {
	t.Parallel()
	s, clock := openTestStore(t)
	ctx := context.Background()
	m, _, _ := s.CreateMessage(ctx, newTestMessage("a@example.com", ""))
	claimed, err := s.ClaimMessages(ctx, 10, time.Minute)
	if err != nil || len(claimed) != 1 || claimed[0].ID != m.ID || claimed[0].Status != MessageSending {
		t.Fatalf("claim: got %+v, %v", claimed, err)
	}
	if again, _ := s.ClaimMessages(ctx, 10, time.Minute); len(again) != 0 {
		t.Errorf("claim while in flight: got %d, want none", len(again))
	}
	if err := s.RecordMessageOutcome(ctx, MessageOutcome{ID: m.ID, Status: MessageRetrying, Code: 451, Response: "rcpt: 451 try later",
		NextAttempt: clock.now().Add(30 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.ClaimMessages(ctx, 10, time.Minute); len(due) != 0 {
		t.Errorf("claim before the retry is due: got %d, want none", len(due))
	}
	clock.advance(31 * time.Second)
	claimed, _ = s.ClaimMessages(ctx, 10, time.Minute)
	if len(claimed) != 1 || claimed[0].Attempts != 1 || claimed[0].LastCode != 451 {
		t.Fatalf("claim the due retry: got %+v", claimed)
	}
	if err := s.RecordMessageOutcome(ctx, MessageOutcome{ID: m.ID, Status: MessageSent, Code: 250, Response: "250 ok", ProviderID: "p-1"}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Message(ctx, m.ID)
	if got.Status != MessageSent || got.Attempts != 2 || got.ProviderID != "p-1" || got.SentAt.IsZero() {
		t.Errorf("after sending: got %+v", got)
	}
	evs, _ := s.MessageEvents(ctx, m.ID)
	var statuses []string
	for _, e := range evs {
		statuses = append(statuses, e.Status)
	}
	if fmt.Sprint(statuses) != "[queued retrying sent]" {
		t.Errorf("history: got %v, want queued, retrying, sent", statuses)
	}
	if err := s.RecordMessageOutcome(ctx, MessageOutcome{ID: m.ID, Status: MessageQueued}); err == nil {
		t.Errorf("outcome with status queued: got no error")
	}
	if err := s.RecordMessageOutcome(ctx, MessageOutcome{ID: 999, Status: MessageSent}); err == nil {
		t.Errorf("outcome of a missing message: got no error")
	}
}

func TestRequeueMessagesInFlight(t *testing.T) {
	t.Parallel()
	s, clock := openTestStore(t)
	ctx := context.Background()
	a, _, _ := s.CreateMessage(ctx, newTestMessage("a@example.com", ""))
	if _, err := s.ClaimMessages(ctx, 1, time.Minute); err != nil {
		t.Fatal(err)
	}
	b, _, _ := s.CreateMessage(ctx, newTestMessage("b@example.com", ""))
	if n, err := s.RecoverMessageLeases(ctx); err != nil || n != 0 {
		t.Errorf("recover before the lease ends: got %d, %v; want 0", n, err)
	}
	clock.advance(2 * time.Minute)
	if n, err := s.RecoverMessageLeases(ctx); err != nil || n != 1 {
		t.Errorf("recover after the lease ends: got %d, %v; want 1", n, err)
	}
	if m, _ := s.Message(ctx, a.ID); m.Status != MessageQueued {
		t.Errorf("recovered: got %s, want queued", m.Status)
	}
	if claimed, _ := s.ClaimMessages(ctx, 10, time.Minute); len(claimed) != 2 {
		t.Fatalf("claim both: got %d", len(claimed))
	}
	if n, err := s.RequeueInFlightMessages(ctx); err != nil || n != 2 {
		t.Errorf("requeue at startup: got %d, %v; want 2", n, err)
	}
	evs, _ := s.MessageEvents(ctx, a.ID)
	if len(evs) != 3 || evs[1].Status != MessageRequeued || evs[2].Status != MessageRequeued {
		t.Errorf("history of a: got %+v, want queued and requeued twice", evs)
	}
	if m, _ := s.Message(ctx, b.ID); m.Status != MessageQueued || m.Attempts != 0 {
		t.Errorf("b after requeue: got %s with %d attempts, want queued with none", m.Status, m.Attempts)
	}
}

func TestMessagesPageNewestFirst(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	for i := range 5 {
		in := newTestMessage(fmt.Sprintf("p%d@example.com", i), "")
		if i%2 == 1 {
			in.Status, in.Reason = MessageSuppressed, "blocked"
		}
		if _, _, err := s.CreateMessage(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	ms, total, err := s.Messages(ctx, MessageFilter{Order: Newest}, 2, 0)
	if err != nil || total != 5 || len(ms) != 2 || ms[0].ToEmail != "p4@example.com" || ms[1].ToEmail != "p3@example.com" {
		t.Fatalf("first page: got %d of %d, %v", len(ms), total, err)
	}
	if ms[0].Text != "" || ms[0].Subject != "Your receipt" {
		t.Errorf("list row: got subject %q and text %q, want the subject without the body", ms[0].Subject, ms[0].Text)
	}
	ms, total, _ = s.Messages(ctx, MessageFilter{Status: MessageSuppressed, Order: Newest}, 10, 0)
	if total != 2 || len(ms) != 2 || ms[0].ToEmail != "p3@example.com" {
		t.Errorf("suppressed: got %d of %d", len(ms), total)
	}
	if ms, _, _ := s.Messages(ctx, MessageFilter{Order: Newest}, 10, 4); len(ms) != 1 || ms[0].ToEmail != "p0@example.com" {
		t.Errorf("last page: got %+v", ms)
	}
}

func TestMessageBlock(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	for email, status := range map[string]string{"ok@example.com": StatusActive, "left@example.com": StatusUnsubscribed, "bad@example.com": StatusBounced} {
		if _, _, err := s.CreateContact(ctx, ContactInput{Email: &email, Status: &status, Source: "test"}, false); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.AddSuppression(ctx, SuppressionInput{Kind: SuppressDomain, Value: "blocked.example", Reason: "spam trap"}); err != nil {
		t.Fatal(err)
	}
	for email, want := range map[string]string{
		"ok@example.com":       "",
		"stranger@example.com": "",
		"left@example.com":     "the contact unsubscribed from all email",
		"bad@example.com":      "the contact is bounced",
		"x@blocked.example":    "the domain blocked.example is suppressed: spam trap",
	} {
		if got, err := s.MessageBlock(ctx, email); err != nil || got != want {
			t.Errorf("%s: got %q, %v; want %q", email, got, err, want)
		}
	}
}

func TestDeletingATemplateKeepsItsMessages(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	name, kind, subject, body := "Receipt", KindTransactional, "Receipt", "Thanks"
	tpl, err := s.CreateTemplate(ctx, TemplateInput{Name: &name, Kind: &kind, Subject: &subject, Body: &body}, nil)
	if err != nil {
		t.Fatal(err)
	}
	in := newTestMessage("a@example.com", "")
	in.TemplateID = tpl.ID
	m, _, _ := s.CreateMessage(ctx, in)
	if m.TemplateID != tpl.ID {
		t.Fatalf("template id: got %d, want %d", m.TemplateID, tpl.ID)
	}
	if err := s.DeleteTemplate(ctx, tpl.ID); err != nil {
		t.Fatal(err)
	}
	if m, err := s.Message(ctx, m.ID); err != nil || m.TemplateID != 0 || m.Subject != "Your receipt" {
		t.Errorf("after deleting the template: got %+v, %v", m, err)
	}
}

// TestPruneAttachments drops the files of settled messages older than the
// cut-off, and keeps those of messages still waiting and of recent ones.
func TestPruneAttachments(t *testing.T) {
	t.Parallel()
	s, clock := openTestStore(t)
	ctx := context.Background()
	withFile := func(to string) Message {
		m, _, err := s.CreateMessage(ctx, NewMessage{Message: Message{ToEmail: to, FromEmail: "shop@example.com", Subject: "Receipt", Text: "Thanks"},
			Attachments: []Attachment{{Filename: "r.txt", ContentType: "text/plain", Content: []byte("receipt")}}})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	old, waiting := withFile("old@example.com"), withFile("waiting@example.com")
	if err := s.RecordMessageOutcome(ctx, MessageOutcome{ID: old.ID, Status: MessageSent, Code: 250}); err != nil {
		t.Fatal(err)
	}
	clock.advance(31 * 24 * time.Hour)
	recent := withFile("recent@example.com")
	if err := s.RecordMessageOutcome(ctx, MessageOutcome{ID: recent.ID, Status: MessageSent, Code: 250}); err != nil {
		t.Fatal(err)
	}
	n, err := s.PruneAttachments(ctx, clock.now().Add(-30*24*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("pruned %d, %v; want the old message's one file", n, err)
	}
	for m, want := range map[int64]int{old.ID: 0, waiting.ID: 1, recent.ID: 1} {
		if atts, _ := s.MessageAttachments(ctx, m); len(atts) != want {
			t.Errorf("message %d: %d files, want %d", m, len(atts), want)
		}
	}
}

// TestHighPriorityGoesFirst: the lane takes a high-priority message before
// older normal ones, and a low one last; the email.sent event carries the
// message's category, tags and metadata.
func TestHighPriorityGoesFirst(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clock := openTestStore(t)
	hook, _, err := s.CreateWebhook(ctx, WebhookInput{URL: ptr("https://hooks.example.com/in"), Events: &[]string{EventEmailSent}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, p := range []string{PriorityLow, "", PriorityNormal, PriorityHigh} {
		m, _, err := s.CreateMessage(ctx, NewMessage{Message: Message{ToEmail: p + "x@example.com", FromEmail: "shop@example.com", Subject: p, Text: "x",
			Priority: p, Category: "billing", Tags: []string{"receipt"}, Metadata: map[string]string{"order": p}}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
		clock.advance(time.Second)
	}
	var order []int64
	for range ids {
		ms, err := s.ClaimMessages(ctx, 1, time.Minute)
		if err != nil || len(ms) != 1 {
			t.Fatalf("claim: %v %v", ms, err)
		}
		order = append(order, ms[0].ID)
	}
	if want := []int64{ids[3], ids[1], ids[2], ids[0]}; !slices.Equal(order, want) {
		t.Fatalf("claimed %v, want high, then normal by age, then low: %v", order, want)
	}
	if err := s.RecordMessageOutcome(ctx, MessageOutcome{ID: ids[3], Status: MessageSent, Code: 250, Response: "ok", Size: 1234}); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.Message(ctx, ids[3]); m.Size != 1234 || m.Priority != PriorityHigh {
		t.Errorf("sent message: size %d, priority %q", m.Size, m.Priority)
	}
	events := queuedEvents(t, s, hook.ID)
	d := events[0]["data"].(map[string]any)
	if d["category"] != "billing" || fmt.Sprint(d["tags"]) != "[receipt]" || d["metadata"].(map[string]any)["order"] != "high" {
		t.Errorf("email.sent: got %v", d)
	}
}

// TestMessageStatsDaysFollowSummerTime: a message counts on the day it was
// made in the zone, summer or winter.
func TestMessageStatsDaysFollowSummerTime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clock := openTestStore(t)
	loc, err := time.LoadLocation("Pacific/Auckland")
	if err != nil {
		t.Skip("no timezone data")
	}
	// 2026-06-15T11:30Z is 23:30 on the 15th in Auckland's winter (+12),
	// 2026-01-15T10:30Z is 23:30 on the 15th in its summer (+13).
	for _, at := range []time.Time{time.Date(2026, 6, 15, 11, 30, 0, 0, time.UTC), time.Date(2026, 1, 15, 10, 30, 0, 0, time.UTC)} {
		clock.t = at
		if _, _, err := s.CreateMessage(ctx, NewMessage{Message: Message{ToEmail: "a@example.com", FromEmail: "s@example.com", Subject: "x", Text: "x"}}); err != nil {
			t.Fatal(err)
		}
	}
	st, err := s.MessageStats(ctx, MessageFilter{}, loc)
	if err != nil {
		t.Fatal(err)
	}
	var days []string
	for _, d := range st.ByDay {
		days = append(days, d.Day.Format(time.DateOnly))
	}
	if want := []string{"2026-01-15", "2026-06-15"}; !slices.Equal(days, want) {
		t.Fatalf("days: got %v, want %v", days, want)
	}
}

// TestMessageFilterFindsEveryRecipient: the recipient filter and the search
// find a message by any of its recipients, Cc and Bcc included, by the
// start of the address.
func TestMessageFilterFindsEveryRecipient(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTestStore(t)
	several, _, err := s.CreateMessage(ctx, NewMessage{Message: Message{ToEmail: "ann@example.com", FromEmail: "s@example.com", Subject: "Order", Text: "x",
		Recipients: Recipients{To: []Address{{Email: "bob@example.com"}}, Cc: []Address{{Name: "Cy", Email: "cy@example.com"}}, Bcc: []Address{{Email: "audit_1@shop.example"}, {Email: "amp&co@shop.example"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	single, _, err := s.CreateMessage(ctx, NewMessage{Message: Message{ToEmail: "cyril@example.com", FromEmail: "s@example.com", Subject: "Other", Text: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		f    MessageFilter
		want []int64
	}{
		{MessageFilter{To: "ann@"}, []int64{several.ID}},
		{MessageFilter{To: "bob@example.com"}, []int64{several.ID}},
		{MessageFilter{To: "CY"}, []int64{several.ID, single.ID}},
		{MessageFilter{To: "audit_1"}, []int64{several.ID}},
		{MessageFilter{To: "audit%"}, nil},
		{MessageFilter{To: "example.com"}, nil},
		{MessageFilter{Q: "audit"}, []int64{several.ID}},
		{MessageFilter{To: "amp&co@"}, []int64{several.ID}},
		{MessageFilter{Q: "AMP&co@shop.example"}, []int64{several.ID}},
		{MessageFilter{Q: "Other"}, []int64{single.ID}},
	} {
		ms, _, err := s.Messages(ctx, c.f, 10, 0)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, m := range ms {
			got = append(got, m.ID)
		}
		slices.Sort(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("%+v: got %v, want %v", c.f, got, c.want)
		}
	}
}
