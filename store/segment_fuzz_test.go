package store

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
)

// sqlLiterals are the only quoted strings the compiler writes itself; any
// other quote in a Where would be a value that escaped into the SQL.
var sqlLiterals = strings.NewReplacer(`'\'`, "", `''`, "", `'integer'`, "", `'real'`, "", `'text'`, "", `'unsubscribed'`, "",
	`'sent'`, "", `'click'`, "", `'soft_bounce'`, "", `'open'`, "", "'"+datePattern+"'", "")

// attributePaths are the JSON paths of checked attribute names, which the
// compiler writes into the SQL so that an index on the attribute serves it.
var attributePaths = regexp.MustCompile(`'\$\.[a-z0-9_]{1,64}'`)

func FuzzCompileRule(f *testing.F) {
	for _, seed := range []string{
		`{"match": "all", "conditions": []}`,
		`{"match": "any"}`,
		all1(`"field": "email", "op": "contains", "value": "50%_x"`),
		all1(`"field": "first_name", "op": "in", "value": ["a", 1, true]`),
		all1(`"field": "status", "op": "not_in", "value": ["active", "blocked"]`),
		all1(`"field": "created_at", "op": "within_days", "value": 30`),
		all1(`"field": "created_at", "op": "before", "value": "2024-05-31T09:00:00Z"`),
		all1(`"field": "attributes.age", "op": "gt", "value": 1.5`),
		all1(`"field": "attributes.city", "op": "not_in", "value": ["x'); DROP TABLE contacts; --"]`),
		all1(`"field": "attributes.signup", "op": "within_days", "value": 7`),
		all1(`"field": "attributes.vip", "op": "is_set", "value": null`),
		all1(`"field": "list", "op": "in", "value": [1, 2], "status": "confirmed"`),
		all1(`"field": "list", "op": "neq", "value": 1`),
		all1(`"field": "tag", "op": "eq", "value": "vip"`),
		all1(`"field": "opened", "op": "within_days", "value": 30`),
		all1(`"field": "opened", "op": "within_days", "value": 7, "campaign": 1`),
		all1(`"field": "opened", "op": "never"`),
		all1(`"field": "clicked", "op": "never", "campaign": 1`),
		all1(`"field": "clicked_link", "op": "contains", "value": "50%_x'--"`),
		all1(`"field": "soft_bounced", "op": "in_a_row", "value": 2`),
		all1(`"field": "soft_bounced", "op": "within_days", "value": 3650`),
		all1(`"field": "event", "event": "order_placed", "op": "at_least", "value": 2, "days": 30, "where": {"plan": "pro", "gift": true, "n": 1.5}`),
		all1(`"field": "event", "event": "x'); DROP TABLE custom_events; --", "op": "not_since", "value": "2026-01-31"`),
		all1(`"field": "event", "event": "login", "op": "not_since", "value": 30, "where": {"a'b": "c"}`),
		`{"match": "any", "conditions": [{"match": "all", "conditions": [{"field": "tag", "op": "eq", "value": "a"}, {"field": "list", "op": "eq", "value": 2, "status": "unsubscribed"}]}, {"field": "attributes.code", "op": "lt", "value": 10}]}`,
		// invalid ones
		`{"field": "email", "op": "eq", "value": "x"}`,
		`{"match": "all", "conditions": [{"match": "all", "conditions": [{"match": "all", "conditions": [{"match": "all", "conditions": [{"match": "all", "conditions": [{"match": "all", "conditions": [{"match": "all", "conditions": []}]}]}]}]}]}]}`,
		all1(`"field": "attributes.Bad-Key", "op": "eq", "value": "x"`),
		all1(`"field": "created_at", "op": "within_days", "value": "30"`),
		all1(`"field": "email", "op": "in", "value": []`),
		all1(`"field": "tag", "op": "eq", "value": "x", "status": "confirmed"`),
		all1(`"field": "list", "op": "eq", "value": 1, "status": "gone"`),
		all1(`"field": "opened", "op": "within_days", "value": 0, "campaign": -2`),
		all1(`"field": "email", "op": "eq", "value": "a", "campaign": 1`),
		`{"match": "most", "conditions": []}`,
		`{"match": "all", "conditions": [], "extra": 1}`,
		`[1, 2]`,
		`{"match": "all", "conditions": [{"field": "email", "op": "eq", "value": {"a": ["b"]}}]}`,
	} {
		f.Add([]byte(seed))
	}

	// One small store per fuzz process, so the SQL runs against real tables
	// with rows in them.
	ctx := context.Background()
	box, err := NewSecretBox(testKey)
	if err != nil {
		f.Fatal(err)
	}
	s, err := Open(ctx, f.TempDir(), box)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	s.now = func() time.Time { return testStart }
	list, err := s.CreateList(ctx, ListInput{Name: ptr("news")})
	if err != nil {
		f.Fatal(err)
	}
	for i, email := range []string{"ann@example.com", "bob@example.org", "cat@example.net"} {
		tags := []string{"vip", "a"}[:i]
		in := ContactInput{Email: ptr(email), FirstName: ptr("N"), Tags: &tags, Lists: []int64{list.ID},
			Attributes: map[string]any{"age": i * 20, "city": "Leeds", "signup": "2025-02-27", "code": "42", "vip": i == 1}}
		if _, _, err := s.CreateContact(ctx, in, false); err != nil {
			f.Fatal(err)
		}
	}

	f.Fuzz(func(t *testing.T, doc []byte) {
		r, err := ParseRule(doc)
		if err != nil {
			var re *RuleError
			if !errors.As(err, &re) || re.Path != "rules" {
				t.Fatalf("ParseRule error: got %v, want a *RuleError on rules", err)
			}
			return
		}
		c, err := CompileRule(r, testStart)
		if err != nil {
			var re *RuleError
			if !errors.As(err, &re) || !strings.HasPrefix(re.Path, "rules") || re.Message == "" {
				t.Fatalf("CompileRule error: got %#v, want a *RuleError with a path under rules and a message", err)
			}
			return
		}
		if got, want := strings.Count(c.Where, "?"), len(c.Args); got != want {
			t.Fatalf("placeholders in %q: got %v, want %v (one per argument)", c.Where, got, want)
		}
		if rest := attributePaths.ReplaceAllString(sqlLiterals.Replace(c.Where), ""); strings.Contains(rest, "'") {
			t.Fatalf("Where: got %q, want no quoted text but the compiler's own", c.Where)
		}
		var n int
		if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM contacts c WHERE `+c.Where, c.Args...).Scan(&n); err != nil {
			t.Fatalf("running %q with %v: %v", c.Where, c.Args, err)
		}
	})
}
