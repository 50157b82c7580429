package store

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// FuzzRecordEvents: an event is recorded as given, or refused with a
// field error and nothing stored.
func FuzzRecordEvents(f *testing.F) {
	f.Add("ann@example.com", "order_placed", `{"total": 42.5}`, "key-1", int64(0))
	f.Add("", "x", `null`, "", int64(1))
	f.Add("ANN@EXAMPLE.COM ", " login ", `{"a": [1, {"b": null}]}`, "k\x00", int64(-3600))
	f.Add("bob@example.com", "\x7f", `{}`, "", int64(99999999))
	ctx := context.Background()
	s, clock := openTestStore(f)
	if _, _, err := s.CreateContact(ctx, ContactInput{Email: ptr("ann@example.com")}, false); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, email, name, props, key string, offset int64) {
		var p map[string]any
		json.Unmarshal([]byte(props), &p)
		before := countRows(t, s, `SELECT count(*) FROM custom_events`)
		in := EventInput{Email: email, Name: name, Properties: p, IdempotencyKey: key, CreateContact: true}
		if offset != 0 {
			in.OccurredAt = clock.now().Add(time.Duration(offset) * time.Second)
		}
		evs, err := s.RecordEvents(ctx, []EventInput{in})
		var ve *ValidationError
		switch {
		case errors.As(err, &ve):
			if len(ve.Fields) == 0 {
				t.Fatalf("refused with no field named")
			}
			if after := countRows(t, s, `SELECT count(*) FROM custom_events`); after != before {
				t.Fatalf("refused, yet %d events were stored", after-before)
			}
		case err != nil:
			t.Fatalf("%+v: %v", in, err)
		case len(evs) != 1 || evs[0].Name == "" || evs[0].ContactID == 0:
			t.Fatalf("%+v: recorded %+v", in, evs)
		}
	})
}
