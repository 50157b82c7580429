package store

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRecordEvents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clock := openTestStore(t)
	ann, _, err := s.CreateContact(ctx, ContactInput{Email: ptr("ann@example.com")}, false)
	if err != nil {
		t.Fatal(err)
	}
	hook, _, err := s.CreateWebhook(ctx, WebhookInput{URL: ptr("https://hooks.example.com/in"), Events: &[]string{EventReceived, EventContactCreated}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := s.RecordEvents(ctx, []EventInput{
		{Email: "ANN@example.com", Name: "order_placed", Properties: map[string]any{"total": 42.5, "plan": "pro"}, IdempotencyKey: "order-1"},
		{ContactID: ann.ID, Name: "login", OccurredAt: clock.now().Add(-48 * time.Hour)},
		{Email: "new@example.com", CreateContact: true, Name: "signup"},
		{Email: "ann@example.com", Name: "order_placed", IdempotencyKey: "order-1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if evs[0].ContactID != ann.ID || evs[0].Duplicate || evs[3].ID != evs[0].ID || !evs[3].Duplicate || evs[2].ContactID == 0 || evs[2].Email != "new@example.com" {
		t.Fatalf("recorded: got %+v", evs)
	}
	if !evs[1].OccurredAt.Equal(clock.now().Add(-48*time.Hour)) || !evs[0].OccurredAt.Equal(clock.now()) {
		t.Errorf("occurred_at: got %v and %v", evs[1].OccurredAt, evs[0].OccurredAt)
	}
	// Again, the key finds the first; nothing new is stored or announced.
	again, err := s.RecordEvents(ctx, []EventInput{{Email: "ann@example.com", Name: "order_placed", IdempotencyKey: "order-1"}})
	if err != nil || !again[0].Duplicate || again[0].ID != evs[0].ID {
		t.Fatalf("a retried event: got %+v (%v)", again, err)
	}
	list, total, err := s.CustomEvents(ctx, EventFilter{ContactID: ann.ID, Order: Newest}, 10, 0)
	if err != nil || total != 2 || list[1].Name != "order_placed" || list[1].Properties["plan"] != "pro" {
		t.Fatalf("ann's events: got %d %+v (%v)", total, list, err)
	}
	types := eventTypes(queuedEvents(t, s, hook.ID))
	if want := []string{EventContactCreated, EventReceived, EventReceived, EventReceived}; !slices.Equal(types, want) {
		t.Errorf("webhook events: got %v, want %v", types, want)
	}
	var data map[string]any
	ds, _, _ := s.Deliveries(ctx, hook.ID, DeliveryFilter{}, 1, 1)
	json.Unmarshal(ds[0].Payload, &data)
	if d := data["data"].(map[string]any); d["name"] != "order_placed" || d["contact"].(map[string]any)["email"] != "ann@example.com" {
		t.Errorf("event.received data: got %v", d)
	}
	timeline, err := s.ContactEvents(ctx, ann.ID, 10)
	if err != nil || !slices.ContainsFunc(timeline, func(e Event) bool { return e.Kind == "event" && strings.Contains(e.Detail, "order_placed") }) {
		t.Errorf("timeline: got %+v (%v), want the event on it", timeline, err)
	}

	// A batch with one bad event stores nothing, and names it.
	for _, tc := range []struct {
		in    EventInput
		field string
	}{
		{EventInput{Name: "x"}, "events[1].email"},
		{EventInput{Email: "nobody@example.com", Name: "x"}, "events[1].email"},
		{EventInput{ContactID: 999, Name: "x"}, "events[1].contact_id"},
		{EventInput{Email: "ann@example.com", Name: ""}, "events[1].name"},
		{EventInput{Email: "ann@example.com", Name: strings.Repeat("n", 101)}, "events[1].name"},
		{EventInput{Email: "ann@example.com", Name: "x", Properties: map[string]any{"blob": strings.Repeat("b", 9000)}}, "events[1].properties"},
		{EventInput{Email: "ann@example.com", Name: "x", OccurredAt: clock.now().Add(72 * time.Hour)}, "events[1].occurred_at"},
		{EventInput{ContactID: ann.ID, CreateContact: true, Name: "x"}, "events[1].create_contact"},
		{EventInput{Email: "not an email", Name: "x"}, "events[1].email"},
	} {
		_, err := s.RecordEvents(ctx, []EventInput{{Email: "ann@example.com", Name: "ok"}, tc.in})
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Fields[tc.field] == "" {
			t.Errorf("%+v: got %v, want an error on %s", tc.in, err, tc.field)
		}
	}
	if _, total, _ := s.CustomEvents(ctx, EventFilter{}, 10, 0); total != 3 {
		t.Errorf("events after refused batches: got %d, want the 3 first", total)
	}
	if _, err := s.RecordEvents(ctx, make([]EventInput, MaxEventBatch+1)); err == nil {
		t.Error("an oversized batch: got no error")
	}
}

func TestEventSegmentConditions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clock := openTestStore(t)
	now := clock.now()
	var batch []EventInput
	for _, e := range []struct {
		who, name string
		props     map[string]any
		ago       time.Duration
	}{
		{"ann", "order_placed", map[string]any{"plan": "pro"}, time.Hour},
		{"ann", "order_placed", map[string]any{"plan": "pro"}, 40 * 24 * time.Hour},
		{"ann", "login", nil, 2 * time.Hour},
		{"bob", "order_placed", map[string]any{"plan": "free"}, time.Hour},
		{"bob", "login", nil, 60 * 24 * time.Hour},
		{"cat", "order_placed", map[string]any{"plan": "pro", "gift": true}, 5 * 24 * time.Hour},
	} {
		batch = append(batch, EventInput{Email: e.who + "@example.com", CreateContact: true, Name: e.name, Properties: e.props, OccurredAt: now.Add(-e.ago)})
	}
	if _, err := s.RecordEvents(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateContact(ctx, ContactInput{Email: ptr("dan@example.com")}, false); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		rule string
		want string
	}{
		{`{"field":"event","event":"order_placed","op":"at_least","value":1}`, "ann bob cat"},
		{`{"field":"event","event":"order_placed","op":"at_least","value":2}`, "ann"},
		{`{"field":"event","event":"order_placed","op":"at_least","value":2,"days":30}`, ""},
		{`{"field":"event","event":"order_placed","op":"at_least","value":1,"where":{"plan":"pro"},"days":30}`, "ann cat"},
		{`{"field":"event","event":"order_placed","op":"at_least","value":1,"where":{"gift":true}}`, "cat"},
		{`{"field":"event","event":"login","op":"not_since","value":30}`, "bob cat dan"},
		{`{"field":"event","event":"login","op":"not_since","value":"2020-01-01"}`, "cat dan"},
	} {
		var r Rule
		if err := json.Unmarshal([]byte(tc.rule), &r); err != nil {
			t.Fatal(err)
		}
		p, err := s.Contacts(ctx, ContactFilter{Rule: &Rule{Match: "all", Conditions: []Rule{r}}, Order: Order{}}, 1, 100)
		if err != nil {
			t.Fatalf("%s: %v", tc.rule, err)
		}
		var got []string
		for _, c := range p.Contacts {
			got = append(got, strings.TrimSuffix(c.Email, "@example.com"))
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("%s: got %v, want %s", tc.rule, got, tc.want)
		}
	}
	for _, bad := range []string{
		`{"field":"event","op":"at_least","value":1}`,
		`{"field":"event","event":"x","op":"at_least","value":0}`,
		`{"field":"event","event":"x","op":"at_least","value":1,"where":{"Bad Key":1}}`,
		`{"field":"event","event":"x","op":"at_least","value":1,"where":{"k":[1]}}`,
		`{"field":"event","event":"x","op":"not_since","value":30,"days":3}`,
		`{"field":"event","event":"x","op":"not_since","value":"yesterday"}`,
		`{"field":"tag","op":"eq","value":"vip","event":"x"}`,
	} {
		var r Rule
		json.Unmarshal([]byte(bad), &r)
		if _, err := CompileRule(Rule{Match: "all", Conditions: []Rule{r}}, now); err == nil {
			t.Errorf("%s: got no error", bad)
		}
	}
}
