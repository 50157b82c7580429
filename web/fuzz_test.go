package web

import (
	"context"
	"strings"
	"testing"
	"time"

	"herald/store"
)

// FuzzParseProxies checks --trusted-proxies: whatever it accepts names only
// real networks, one for each item, that read back the same.
func FuzzParseProxies(f *testing.F) {
	for _, seed := range []string{"", "127.0.0.1", " 127.0.0.1, 10.0.0.0/8 ,::1,", "::ffff:10.0.0.1", "::ffff:10.0.0.0/104",
		"fe80::1%eth0", "10.0.0.0/33", "1.2.3", "0.0.0.0/0,::/0", "2001:db8::/32", "1.2.3.4/", "/8", ",,,"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, list string) {
		nets, err := ParseProxies(list)
		if err != nil {
			return
		}
		items := 0
		for _, it := range strings.Split(list, ",") {
			if strings.TrimSpace(it) != "" {
				items++
			}
		}
		if len(nets) != items {
			t.Fatalf("%q: got %d networks, want one for each of its %d items", list, len(nets), items)
		}
		var again []string
		for _, n := range nets {
			if n == nil || n.IP == nil || len(n.Mask) == 0 {
				t.Fatalf("%q: got an empty network %v", list, n)
			}
			if !n.Contains(n.IP) {
				t.Fatalf("%q: %v does not contain its own address", list, n)
			}
			again = append(again, n.String())
		}
		round, err := ParseProxies(strings.Join(again, ","))
		if err != nil {
			t.Fatalf("%q: its networks %v do not parse again: %v", list, again, err)
		}
		for i := range nets {
			if round[i].String() != nets[i].String() {
				t.Fatalf("%q: network %v reads back as %v", list, nets[i], round[i])
			}
		}
		// A single address is trusted alone.
		if !strings.Contains(list, "/") {
			for _, n := range nets {
				if ones, bits := n.Mask.Size(); ones != bits {
					t.Fatalf("%q: address became the range %v", list, n)
				}
			}
		}
	})
}

// FuzzParseSendAt checks the schedule time parser: it never panics, and a
// time it accepts means one instant, which it reads again from its RFC 3339
// form and, for a local time, from that time written in the organisation's
// timezone.
func FuzzParseSendAt(f *testing.F) {
	h := newHarness(f)
	if _, err := h.st.SaveGeneral(context.Background(), store.General{Timezone: "Europe/Paris"}); err != nil {
		f.Fatal(err)
	}
	h.srv.generalCache.Store(nil)
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
		at, err := h.srv.parseSendAt(v)
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
		back, err := h.srv.parseSendAt(at.Format(time.RFC3339Nano))
		if err != nil || !back.Equal(at) {
			t.Fatalf("%q: %v written as %q reads back as %v, %v", v, at, at.Format(time.RFC3339Nano), back, err)
		}
		if _, err := time.Parse(time.RFC3339, v); err != nil {
			// Go's parser also takes fractions of a second the layouts do
			// not name; campaigns are scheduled to the second.
			local := at.In(loc).Format("2006-01-02T15:04:05")
			back, err := h.srv.parseSendAt(local)
			if err != nil || back.Unix() != at.Unix() {
				t.Fatalf("%q: %v written in its timezone as %q reads back as %v, %v", v, at, local, back, err)
			}
		}
	})
}
