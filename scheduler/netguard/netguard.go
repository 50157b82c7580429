// Package netguard keeps Herald's outbound HTTP off the machine's own
// network: webhooks and import sources may reach public addresses only,
// unless the owner allows a host. The check is made on the address dialled,
// after the name is resolved, so a DNS name that resolves to 127.0.0.1 is
// refused like 127.0.0.1 itself, and an answer that changes between check
// and connection cannot slip past.
package netguard

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// Resolver looks up a host's addresses: net.DefaultResolver, or one a test
// gives.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Guard refuses connections to addresses that are not public.
type Guard struct {
	// Allowed reports whether the owner allows a host (a name or an
	// address, as written in the URL) though it is not public.
	Allowed func(host string) bool
	// Resolver finds a name's addresses; net.DefaultResolver when nil.
	Resolver Resolver
	// Dialer dials the address chosen; a plain net.Dialer when nil.
	Dialer *net.Dialer
}

// ErrRefused is the error of a connection the guard refused.
var ErrRefused = errors.New("refused")

// nonPublic are the ranges netip's own tests leave out: shared address
// space, benchmarking, documentation, the IPv4-in-IPv6 and NAT64 forms,
// and the reserved and broadcast ranges.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("2002::/16"),
	netip.MustParsePrefix("100::/64"),
	netip.MustParsePrefix("::/96"),           // IPv4-compatible, as ::127.0.0.1
	netip.MustParsePrefix("::ffff:0:0:0/96"), // IPv4-translated, as ::ffff:0:127.0.0.1
	netip.MustParsePrefix("2001::/32"),       // Teredo, which tunnels to an IPv4 address
}

// Public reports whether a is an address on the public internet: not
// loopback, private (10/8, 172.16/12, 192.168/16, fc00::/7), link-local
// (169.254/16, where cloud metadata lives, and fe80::/10), multicast,
// unspecified or reserved.
func Public(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// CheckHost returns what is wrong with a URL's host as a destination, or
// "": an address that is not public and not allowed. Names are resolved
// only when dialled.
func (g *Guard) CheckHost(host string) string {
	if g.allowed(host) {
		return ""
	}
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil && !Public(a) {
		return fmt.Sprintf("%s is not a public address. Herald reaches only the public internet, unless you allow the host in Settings → Webhooks.", host)
	}
	if h := strings.ToLower(strings.TrimSuffix(host, ".")); h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return fmt.Sprintf("%s is this machine. Herald reaches only the public internet, unless you allow the host in Settings → Webhooks.", host)
	}
	return ""
}

func (g *Guard) allowed(host string) bool { return g.Allowed != nil && g.Allowed(host) }

// DialContext dials addr's host at a public address, or at any address
// when the owner allows the host.
func (g *Guard) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		var r Resolver = net.DefaultResolver
		if g.Resolver != nil {
			r = g.Resolver
		}
		if addrs, err = r.LookupNetIP(ctx, "ip", host); err != nil {
			return nil, err
		}
	}
	d := g.Dialer
	if d == nil {
		d = &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	}
	allowed := g.allowed(host)
	var lastErr error
	for _, a := range addrs {
		if !allowed && !Public(a) {
			lastErr = fmt.Errorf("%w: %s resolves to %s, which is not a public address; allow the host in Settings → Webhooks to reach it", ErrRefused, host, a)
			continue
		}
		c, err := d.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
		if err == nil {
			return c, nil
		}
		lastErr = err
	}
	if lastErr == nil {
		lastErr = fmt.Errorf("%s has no address", host)
	}
	return nil, lastErr
}

// Client returns an HTTP client that dials through the guard, verifies
// TLS, uses no proxy, follows no redirect and gives up after timeout.
func (g *Guard) Client(timeout time.Duration, conns int) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         g.DialContext,
			TLSClientConfig:     &tls.Config{MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout: timeout,
			MaxIdleConns:        conns * 4,
			MaxIdleConnsPerHost: conns,
			IdleConnTimeout:     90 * time.Second,
			ForceAttemptHTTP2:   true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
