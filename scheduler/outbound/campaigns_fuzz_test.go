package outbound

import (
	"strings"
	"testing"
	"time"
)

func TestParseSendAt(t *testing.T) {
	t.Parallel()
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in, want, err string
	}{
		{"2026-05-01T09:00", "2026-05-01T07:00:00Z", ""},
		{"2026-05-01 09:00", "2026-05-01T07:00:00Z", ""},
		{"2026-05-01T09:00:30", "2026-05-01T07:00:30Z", ""},
		{"2026-05-01T09:00:00+02:00", "2026-05-01T07:00:00Z", ""},
		{"", "", "Choose the day and time"},
		{"tomorrow", "", "Give a time like"},
		{"2000-01-01T0:00:00,1", "", "Give a time like"},
		{"2026-05-01T09:00:00.5", "", "Give a time like"},
		{"2026-03-29T02:30", "", "the clocks go forward then"},
	} {
		got, err := parseSendAt(tc.in, paris)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: got %v, %v; want an error saying %q", tc.in, got, err, tc.err)
		case tc.err == "" && (err != nil || got.UTC().Format(time.RFC3339) != tc.want):
			t.Errorf("%q: got %v, %v; want %s", tc.in, got.UTC(), err, tc.want)
		}
	}
	// The hour that happens twice when the clocks go back is one of the two.
	if got, err := parseSendAt("2026-10-25T02:30", paris); err != nil || got.Unix() != 1792888200 && got.Unix() != 1792891800 {
		t.Errorf("a time that happens twice: got %v, %v; want 00:30 or 01:30 UTC", got.UTC(), err)
	}
}

// FuzzParseSendAt checks the schedule time parser: it never panics, and a
// time it accepts means one instant, which it reads again from its RFC 3339
// form and, for a local time, from that time written in the organisation's
// timezone.
func FuzzParseSendAt(f *testing.F) {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{"2026-05-01T09:00", "2026-05-01 09:00", "2026-05-01T09:00:00", "2026-05-01T09:00:00+02:00",
		"2026-05-01T09:00:00Z", "2026-03-29T02:30", "2026-10-25T02:30", "0000-01-01T00:00", "9999-12-31T23:59:59+23:59",
		"2026-02-30T09:00", "", "tomorrow", "2026-05-01T09:00:00.123456789-07:00"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		at, err := parseSendAt(v, loc)
		if err != nil {
			return
		}
		if at.IsZero() {
			t.Fatalf("%q: accepted as the zero time", v)
		}
		// Before 1970 zones had offsets in seconds, which RFC 3339 cannot
		// write; such times are refused when scheduled in any case.
		if at.Year() < 1970 {
			return
		}
		back, err := parseSendAt(at.Format(time.RFC3339Nano), loc)
		if err != nil || !back.Equal(at) {
			t.Fatalf("%q: %v written as %q reads back as %v, %v", v, at, at.Format(time.RFC3339Nano), back, err)
		}
		if _, err := time.Parse(time.RFC3339, v); err != nil {
			local := at.In(loc).Format("2006-01-02T15:04:05")
			back, err := parseSendAt(local, loc)
			if err != nil || !back.Equal(at) {
				t.Fatalf("%q: %v written in its timezone as %q reads back as %v, %v", v, at, local, back, err)
			}
		}
	})
}
