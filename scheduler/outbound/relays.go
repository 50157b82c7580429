package outbound

import (
	"cmp"
	"context"
	"errors"
	"net"
	"net/url"
	"slices"

	"herald/mailer"
	"herald/mailer/ses"
	"herald/store"
)

// errNoRelay says there is nothing to send through.
var errNoRelay = errors.New("no relay is enabled; add one in Settings → Sending relays")

// relayOrder is the one rule for which relay a message goes through: the
// relay asked for (id; 0 asks for none), then every other enabled relay,
// lowest id first. So "the first enabled relay", the default for
// everything that names none, is the enabled relay with the lowest id, and
// when the relay in use is down, mail falls over along the same order. A
// disabled relay carries nothing, even when asked for.
func relayOrder(all []store.Relay, id int64) []store.Relay {
	all = slices.SortedFunc(slices.Values(all), func(a, b store.Relay) int { return cmp.Compare(a.ID, b.ID) })
	var out []store.Relay
	for _, r := range all {
		if r.Enabled && r.ID == id {
			out = append(out, r)
		}
	}
	for _, r := range all {
		if r.Enabled && r.ID != id {
			out = append(out, r)
		}
	}
	return out
}

// route lines up the relays for a message that asks for relay id.
func (s *Service) relays(ctx context.Context, id int64) ([]store.Relay, error) {
	all, err := s.st.Relays(ctx)
	if err != nil {
		return nil, err
	}
	order := relayOrder(all, id)
	if len(order) == 0 {
		return nil, errNoRelay
	}
	return order, nil
}

// Relay returns the relay a message asking for id goes through first:
// relay id, or for 0 the first enabled relay. An id that names no relay
// is store.ErrNotFound; a disabled relay is an error that says so.
func (s *Service) Relay(ctx context.Context, id int64) (store.Relay, error) {
	if id != 0 {
		r, err := s.st.Relay(ctx, id)
		if err == nil && !r.Enabled {
			err = errors.New(disabled(r))
		}
		return r, err
	}
	rs, err := s.relays(ctx, 0)
	if err != nil {
		return store.Relay{}, err
	}
	return rs[0], nil
}

// disabled says that a relay asked for is disabled, and what to do.
func disabled(r store.Relay) string {
	return "Relay " + r.Name + " is disabled: enable it in Settings → Sending relays, or choose another."
}

// open opens a way out through a stored relay: a pool of up to its
// maximum of SMTP connections, or a client of its SES account.
func (s *Service) open(ctx context.Context, r store.Relay) (mailer.Transport, error) {
	secret, err := s.st.RelayPassword(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	if r.Kind == store.RelaySES {
		return ses.New(ctx, ses.Config{Region: r.Region, AccessKeyID: r.Username, SecretAccessKey: secret,
			ConfigurationSet: r.ConfigurationSet, Endpoint: r.Endpoint})
	}
	return mailer.NewPool(mailer.SMTPRelay{Host: r.Host, Port: r.Port, TLS: r.TLS, Username: r.Username, Password: secret,
		HelloName: helloName(s.general(ctx).BaseURL), TLSConfig: s.cfg.RelayTLS, Timeout: s.cfg.RelayTimeout}, r.MaxConnections), nil
}

// publicHost is the host of Herald's public URL, else localhost.
func publicHost(baseURL string) string {
	if u, err := url.Parse(baseURL); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return "localhost"
}

// helloName is the name Herald gives relays in EHLO: its public host, an
// IP address as the address literal EHLO wants.
func helloName(baseURL string) string {
	host := publicHost(baseURL)
	if ip := net.ParseIP(host); ip != nil {
		if ip.To4() != nil {
			return "[" + host + "]"
		}
		return "[IPv6:" + host + "]"
	}
	return host
}

// systemFrom is the sender of Herald's own mail (test sends, confirmations,
// alerts): the default from address, else the relay's username when it is
// an address, else a placeholder on this host.
func systemFrom(g store.General, r store.Relay) string {
	if g.FromEmail != "" {
		return g.FromEmail
	}
	if store.CheckEmail(r.Username) == "" {
		return r.Username
	}
	return "herald@" + publicHost(g.BaseURL)
}

// sendNow signs one message with the DKIM key of from's domain, when there
// is one, delivers it through relay r at once, and closes what it opened.
// Test sends use it: their answer is shown to the person waiting for it.
func (s *Service) sendNow(ctx context.Context, r store.Relay, from, to string, msg []byte) (mailer.Result, error) {
	msg, err := s.sign(ctx, from, msg)
	if err != nil {
		return mailer.Result{}, err
	}
	t, err := s.open(ctx, r)
	if err != nil {
		return mailer.Result{}, err
	}
	defer t.Close()
	return t.Deliver(ctx, from, to, msg)
}

// SystemFrom is the address Herald's own mail through relay r comes from.
func (s *Service) SystemFrom(ctx context.Context, r store.Relay) string {
	return systemFrom(s.general(ctx), r)
}
