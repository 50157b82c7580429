package web

import (
	"strings"
	"testing"
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
