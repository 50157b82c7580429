package sources

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestDecodeFindsTheRecords(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, body, path string
		want             int
		err              string
	}{
		{"a list", `[{"a":1},{"a":2}]`, "", 2, ""},
		{"one object", `{"email":"a@example.com"}`, "", 1, ""},
		{"under data", `{"data":[{"a":1}],"meta":{}}`, "", 1, ""},
		{"under results", `{"count":3,"results":[{"a":1},{"a":2},{"a":3}]}`, "", 3, ""},
		{"under items", `{"items":[]}`, "", 0, ""},
		{"under contacts", `{"contacts":[{"a":1}]}`, "", 1, ""},
		{"under records", `{"records":[{"a":1}]}`, "", 1, ""},
		{"null under data, past the last page", `{"data":null,"meta":{"page":5}}`, "", 0, ""},
		{"one object under data", `{"data":{"a":1}}`, "", 1, ""},
		{"the first usual key", `{"data":[{"a":1}],"items":[{"a":1},{"a":2}]}`, "", 1, ""},
		{"its only list of objects", `{"customers":[{"a":1},{"a":2}],"count":2}`, "", 2, ""},
		{"its only list, empty past the last page", `{"customers":[]}`, "", 0, ""},
		{"its only list beside _links", `{"members":[{"a":1},{"a":2}],"_links":[{"href":"/"}],"total_items":2}`, "", 2, ""},
		{"two lists of objects: the object itself", `{"customers":[{"a":1}],"orders":[{"a":1}]}`, "", 1, ""},
		{"a list of strings is a field", `{"email":"a@example.com","tags":["x","y"]}`, "", 1, ""},
		{"an empty list is a field", `{"email":"a@example.com","orders":[]}`, "", 1, ""},
		{"at a path", `{"payload":{"customers":[{"a":1},{"a":2}]}}`, "payload.customers", 2, ""},
		{"nothing at the path", `{"payload":{}}`, "payload.customers", 0, `nothing at "payload.customers"`},
		{"null at the path, past the last page", `{"payload":{"customers":null}}`, "payload.customers", 0, ""},
		{"a string", `"hello"`, "", 0, "text, not an object"},
		{"a list of numbers", `[1]`, "", 0, "record 1 is a number"},
		{"two values", `[] []`, "", 0, "more after"},
		{"cut short", `[{"a":`, "", 0, "ends too early"},
	} {
		a, err := Decode([]byte(c.body), c.path)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: got %v, want %q", c.name, err, c.err)
		case c.err == "" && (err != nil || len(a.Records) != c.want):
			t.Errorf("%s: got %d records, %v; want %d", c.name, len(a.Records), err, c.want)
		}
	}
	if _, err := Decode([]byte(`null`), ""); !errors.Is(err, ErrNoRecords) {
		t.Errorf("null: got %v", err)
	}
}

func TestLookupTextAndFields(t *testing.T) {
	t.Parallel()
	a, err := Decode([]byte(`{"id": 12345678901234567890, "vip": true, "address": {"city": "Paris", "geo": {"lat": 48.85}},
		"emails": ["a@example.com", "b@example.com"], "note": null}`), "")
	if err != nil {
		t.Fatal(err)
	}
	r := a.Records[0]
	for path, want := range map[string]string{"id": "12345678901234567890", "vip": "true", "address.city": "Paris", "address.geo.lat": "48.85",
		"emails.1": "b@example.com", "note": "", "address": `{"city":"Paris","geo":{"lat":48.85}}`, "emails": "a@example.com, b@example.com"} {
		v, ok := Lookup(r, path)
		if !ok || Text(v) != want {
			t.Errorf("%s: got %q (%v), want %q", path, Text(v), ok, want)
		}
	}
	for _, path := range []string{"missing", "address.zip", "emails.2", "emails.x", "id.x", "emails.-1"} {
		if v, ok := Lookup(r, path); ok {
			t.Errorf("%s: got %v, want nothing", path, v)
		}
	}
	if got := Fields(r); !slices.Equal(got, []string{"address.city", "address.geo.lat", "emails", "id", "note", "vip"}) {
		t.Errorf("fields: got %v", got)
	}
}

// FuzzDecode feeds arbitrary answers and paths to Decode: it never panics,
// and what it accepts is a list of objects found where it said.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{`[{"a":1}]`, `{"data":[{"a":{"b":[1,2]}}]}`, `{"x":{"y":[{}]}}`, `"s"`, `[1,{}]`, `{"results":null}`, `[[[[]]]]`, `{"a":1e400}`} {
		f.Add([]byte(seed), "")
		f.Add([]byte(seed), "x.y")
	}
	f.Fuzz(func(t *testing.T, body []byte, path string) {
		a, err := Decode(body, path)
		if err != nil {
			return
		}
		if !json.Valid(bytes.TrimSpace(body)) {
			t.Fatalf("accepted %q, which is not JSON", body)
		}
		for _, r := range a.Records {
			if r == nil {
				t.Fatalf("%q: a nil record", body)
			}
			for _, p := range Fields(r) {
				if _, ok := Lookup(r, p); !ok && !strings.Contains(p, ".") {
					t.Fatalf("%q: field %q cannot be looked up", body, p)
				}
			}
		}
	})
}
