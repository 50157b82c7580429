package netguard

import (
	"net/netip"
	"strings"
	"testing"
)

func TestPublic(t *testing.T) {
	t.Parallel()
	for addr, public := range map[string]bool{
		"93.184.216.34": true, "2606:4700::1111": true, "8.8.8.8": true,
		"127.0.0.1": false, "127.5.5.5": false, "10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false,
		"169.254.169.254": false, "100.64.0.1": false, "0.0.0.0": false, "255.255.255.255": false, "224.0.0.1": false,
		"::1": false, "::": false, "fd00::1": false, "fc00::1": false, "fe80::1": false, "ff02::1": false,
		"::ffff:127.0.0.1": false, "::ffff:10.0.0.1": false, "64:ff9b::a00:1": false, "192.0.2.1": false,
		"::127.0.0.1": false, "::ffff:0:127.0.0.1": false, "2001:0:4136:e378:8000:63bf:3fff:fdd2": false,
	} {
		if got := Public(netip.MustParseAddr(addr)); got != public {
			t.Errorf("Public(%s): got %v, want %v", addr, got, public)
		}
	}
	g := &Guard{}
	for _, host := range []string{"127.0.0.1", "[::1]", "169.254.169.254", "localhost", "api.localhost", "LOCALHOST."} {
		if g.CheckHost(host) == "" {
			t.Errorf("CheckHost(%s): got no objection", host)
		}
	}
	if msg := g.CheckHost("hooks.example.com"); msg != "" {
		t.Errorf("CheckHost of a name: got %q; names are checked when dialled", msg)
	}
	allow := &Guard{Allowed: func(h string) bool { return h == "127.0.0.1" }}
	if msg := allow.CheckHost("127.0.0.1"); msg != "" {
		t.Errorf("an allowed host: got %q", msg)
	}
}

// FuzzCheckHost: an address that is not public is refused unless allowed,
// and nothing panics whatever the host.
func FuzzCheckHost(f *testing.F) {
	for _, seed := range []string{"127.0.0.1", "[::1]", "::ffff:7f00:1", "0x7f.0.0.1", "2130706433", "localhost.", "hooks.example.com", "", "[", "1.2.3.4%eth0"} {
		f.Add(seed)
	}
	g := &Guard{}
	f.Fuzz(func(t *testing.T, host string) {
		msg := g.CheckHost(host)
		if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil && !Public(a) && msg == "" {
			t.Fatalf("%q is not public, and CheckHost let it through", host)
		}
	})
}
