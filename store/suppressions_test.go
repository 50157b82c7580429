package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestAddSuppression(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name                string
		in                  SuppressionInput
		kind, value, source string
	}{
		{"address", SuppressionInput{Value: " Ann@Example.COM "}, SuppressEmail, "ann@example.com", "manual"},
		{"domain", SuppressionInput{Value: "Example.org"}, SuppressDomain, "example.org", "manual"},
		{"domain with @", SuppressionInput{Value: "@example.com"}, SuppressDomain, "example.com", "manual"},
		{"explicit domain with @", SuppressionInput{Kind: "Domain", Value: "@mail.example.net"}, SuppressDomain, "mail.example.net", "manual"},
		{"source kept", SuppressionInput{Value: "bob@example.com", Source: "bounce"}, SuppressEmail, "bob@example.com", "bounce"},
	}
	s, _ := openTestStore(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sp, _, err := s.AddSuppression(context.Background(), tc.in)
			if err != nil {
				t.Fatalf("AddSuppression: %v", err)
			}
			if sp.Kind != tc.kind || sp.Value != tc.value || sp.Source != tc.source || !sp.CreatedAt.Equal(testStart) {
				t.Errorf("got %+v, want kind %v, value %v, source %v", sp, tc.kind, tc.value, tc.source)
			}
		})
	}
}

func TestAddSuppressionIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk := openTestStore(t)
	first, created, err := s.AddSuppression(ctx, SuppressionInput{Value: "ann@example.com", Reason: "asked"})
	if err != nil {
		t.Fatalf("AddSuppression: %v", err)
	}
	clk.advance(time.Hour)
	again, createdAgain, err := s.AddSuppression(ctx, SuppressionInput{Value: "ANN@example.com", Reason: "bounced"})
	if err != nil {
		t.Fatalf("AddSuppression again: %v", err)
	}
	if again != first || !created || createdAgain {
		t.Errorf("second add: got %+v (created %v then %v), want the first entry %+v, created once", again, created, createdAgain, first)
	}
	if got := countRows(t, s, `SELECT COUNT(*) FROM suppressions`); got != 1 {
		t.Errorf("suppressions: got %v, want 1", got)
	}
}

func TestAddSuppressionValidation(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   SuppressionInput
		want []string
	}{
		{"empty", SuppressionInput{}, []string{"value"}},
		{"bad address", SuppressionInput{Value: "ann@@example.com"}, []string{"value"}},
		{"address as domain", SuppressionInput{Kind: SuppressDomain, Value: "ann@example.com"}, []string{"value"}},
		{"domain without a dot", SuppressionInput{Value: "localhost"}, []string{"value"}},
		{"domain with a space", SuppressionInput{Value: "exa mple.com"}, []string{"value"}},
		{"domain starting with a dot", SuppressionInput{Value: ".example.com"}, []string{"value"}},
		{"unknown kind", SuppressionInput{Kind: "ip", Value: "192.0.2.1"}, []string{"kind"}},
		{"reason with a line break", SuppressionInput{Value: "ann@example.com", Reason: "a\nb"}, []string{"reason"}},
		{"long reason", SuppressionInput{Value: "ann@example.com", Reason: strings.Repeat("r", 501)}, []string{"reason"}},
	}
	s, _ := openTestStore(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := s.AddSuppression(context.Background(), tc.in)
			sameFields(t, err, tc.want...)
		})
	}
	if got := countRows(t, s, `SELECT COUNT(*) FROM suppressions`); got != 0 {
		t.Errorf("suppressions: got %v, want 0", got)
	}
}

func TestSuppressed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTestStore(t)
	for _, v := range []string{"ann@example.com", "@ample.com", "blocked.org"} {
		if _, _, err := s.AddSuppression(ctx, SuppressionInput{Value: v}); err != nil {
			t.Fatalf("AddSuppression(%s): %v", v, err)
		}
	}
	cases := []struct {
		email string
		want  string // the entry's value, or "" for not suppressed
	}{
		{"ann@example.com", "ann@example.com"},
		{" ANN@Example.com ", "ann@example.com"},
		{"bob@example.com", ""},
		{"x@ample.com", "ample.com"},
		{"X@AMPLE.COM", "ample.com"},
		// A suppressed domain does not reach a longer domain that ends with it...
		{"x@example.com", ""},
		// ...nor its subdomains: an entry names exactly the part after the @.
		{"x@mail.ample.com", ""},
		{"anyone@blocked.org", "blocked.org"},
		{"blocked.org@example.com", ""},
	}
	for _, tc := range cases {
		t.Run(tc.email, func(t *testing.T) {
			sp, ok, err := s.Suppressed(ctx, tc.email)
			if err != nil {
				t.Fatalf("Suppressed: %v", err)
			}
			if ok != (tc.want != "") || sp.Value != tc.want {
				t.Errorf("got %v %q, want %v %q", ok, sp.Value, tc.want != "", tc.want)
			}
		})
	}
}

func TestSuppressionsPagesAndDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTestStore(t)
	var ids []int64
	for i := 1; i <= 5; i++ {
		sp, _, err := s.AddSuppression(ctx, SuppressionInput{Value: fmt.Sprintf("b%d@example.com", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sp.ID)
	}
	for _, v := range []string{"a@example.com", "b_x@example.net"} {
		if _, _, err := s.AddSuppression(ctx, SuppressionInput{Value: v}); err != nil {
			t.Fatalf("AddSuppression(%s): %v", v, err)
		}
	}
	values := func(sps []Suppression) string {
		vs := make([]string, len(sps))
		for i, sp := range sps {
			vs[i] = sp.Value
		}
		return strings.Join(vs, " ")
	}
	cases := []struct {
		q             string
		page, perPage int
		want          string
		total         int
	}{
		{"", 1, 3, "b_x@example.net a@example.com b5@example.com", 7},
		{"", 3, 3, "b1@example.com", 7},
		{"", 4, 3, "", 7},
		{"B", 1, 10, "b_x@example.net b5@example.com b4@example.com b3@example.com b2@example.com b1@example.com", 6},
		{"b_", 1, 10, "b_x@example.net", 1},
		{"b%", 1, 10, "", 0},
		{"example", 1, 10, "", 0},
		{" b2@ ", 1, 10, "b2@example.com", 1},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%q page %d", tc.q, tc.page), func(t *testing.T) {
			got, total, err := s.Suppressions(ctx, tc.q, Newest, tc.page, tc.perPage)
			if err != nil {
				t.Fatalf("Suppressions: %v", err)
			}
			if values(got) != tc.want || total != tc.total {
				t.Errorf("got %q of %v, want %q of %v", values(got), total, tc.want, tc.total)
			}
		})
	}

	if err := s.DeleteSuppression(ctx, ids[1]); err != nil {
		t.Fatalf("DeleteSuppression: %v", err)
	}
	if _, ok, _ := s.Suppressed(ctx, "b2@example.com"); ok {
		t.Errorf("Suppressed after delete: got true, want false")
	}
	if err := s.DeleteSuppression(ctx, ids[1]); !errors.Is(err, ErrNotFound) {
		t.Errorf("DeleteSuppression again: got %v, want %v", err, ErrNotFound)
	}
	if got := countRows(t, s, `SELECT COUNT(*) FROM suppressions`); got != 6 {
		t.Errorf("suppressions: got %v, want 6", got)
	}
}
