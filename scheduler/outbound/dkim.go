package outbound

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"sync"
	"time"

	"herald/mailer"
	"herald/store"
)

// dnsCheckTimeout bounds all the lookups of one domain's DNS check.
const dnsCheckTimeout = 15 * time.Second

// signers remembers which key signs each domain's mail and each key
// parsed once, so sending does not read and parse a key per message. Every
// change to the keys made through Herald clears the domains (forget).
type signers struct {
	resolver mailer.TXTResolver

	mu sync.Mutex
	// gen counts forgets, so a lookup that raced one does not store what it
	// read before it.
	gen uint64
	// byDomain is the id of the key that signs a domain's mail, 0 for none.
	byDomain map[string]int64
	byID     map[int64]*mailer.DKIMSigner
}

// cached returns what is known about domain: its signer (nil for none) and
// whether anything is.
func (d *signers) cached(domain string) (sg *mailer.DKIMSigner, known bool, gen uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	id, ok := d.byDomain[domain]
	sg = d.byID[id]
	return sg, ok && (id == 0 || sg != nil), d.gen
}

// parsed returns key id's signer when it was parsed before, or nil.
func (d *signers) parsed(id int64) *mailer.DKIMSigner {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.byID[id]
}

// remember stores that key id signs domain with sg, unless the keys changed
// since gen.
func (d *signers) remember(gen uint64, domain string, id int64, sg *mailer.DKIMSigner) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.gen != gen {
		return
	}
	if d.byDomain == nil {
		d.byDomain, d.byID = map[string]int64{}, map[int64]*mailer.DKIMSigner{}
	}
	d.byDomain[domain] = id
	if sg != nil {
		d.byID[id] = sg
	}
}

// forget drops what is known about every domain, and the parsed key deleted,
// when one was.
func (d *signers) forget(deleted int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.gen++
	clear(d.byDomain)
	delete(d.byID, deleted)
}

// signer returns the DKIM signer for the domain of fromAddress: its newest
// enabled key, parsed once and then cached. It returns nil, nil when the
// domain has no enabled key, so its mail goes out unsigned.
func (s *Service) signer(ctx context.Context, fromAddress string) (*mailer.DKIMSigner, error) {
	domain := AddressDomain(fromAddress)
	if domain == "" {
		return nil, fmt.Errorf("dkim: the from address %q has no domain to sign for", fromAddress)
	}
	sg, known, gen := s.dkim.cached(domain)
	if known {
		return sg, nil
	}
	k, err := s.st.SigningKey(ctx, domain)
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.dkim.remember(gen, domain, 0, nil)
		return nil, nil
	case errors.Is(err, store.ErrSecretUnreadable):
		return nil, fmt.Errorf("the DKIM key of %s cannot be decrypted with this Herald's secret key (data/secret.key or HERALD_SECRET_KEY): "+
			"restore the key it was saved with, or delete it in Settings → Sending domains and generate a new one: %w", domain, err)
	case err != nil:
		return nil, err
	}
	if sg = s.dkim.parsed(k.ID); sg == nil {
		sg, err = mailer.NewDKIMSigner(mailer.DKIMKey{Domain: k.Domain, Selector: k.Selector, Algorithm: k.Algorithm, PrivatePEM: k.PrivatePEM})
		if err != nil {
			return nil, err
		}
	}
	s.dkim.remember(gen, domain, k.ID, sg)
	return sg, nil
}

// sign adds a DKIM signature to msg when the domain of from has a key.
func (s *Service) sign(ctx context.Context, from string, msg []byte) ([]byte, error) {
	sg, err := s.signer(ctx, from)
	if err != nil || sg == nil {
		return msg, err
	}
	return sg.Sign(msg)
}

// AddressDomain returns the lower-case domain of an address, bare or with a
// display name, or "".
func AddressDomain(addr string) string {
	if a, err := mail.ParseAddress(addr); err == nil {
		addr = a.Address
	}
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return ""
	}
	return store.NormalizeDKIMName(addr[at+1:])
}

// AddDKIMKey generates a key for domain and selector and stores it.
func (s *Service) AddDKIMKey(ctx context.Context, domain, selector, algorithm string) (store.DKIMKey, error) {
	in := store.NewDKIMKey{Domain: store.NormalizeDKIMName(domain), Selector: store.NormalizeDKIMName(selector),
		Algorithm: strings.ToLower(strings.TrimSpace(algorithm))}
	// The names are checked before a key is made for them; the key itself
	// comes next.
	errs := in.Validate()
	delete(errs, "key")
	if len(errs) > 0 {
		return store.DKIMKey{}, &store.ValidationError{Fields: errs}
	}
	k, err := mailer.GenerateDKIMKey(in.Domain, in.Selector, in.Algorithm)
	if err != nil {
		return store.DKIMKey{}, err
	}
	if in.DNSValue, err = k.DNSValue(); err != nil {
		return store.DKIMKey{}, err
	}
	in.PrivatePEM = k.PrivatePEM
	defer s.dkim.forget(0)
	return s.st.AddDKIMKey(ctx, in)
}

// SetDKIMKeyEnabled turns a key on or off for signing.
func (s *Service) SetDKIMKeyEnabled(ctx context.Context, id int64, enabled bool) (store.DKIMKey, error) {
	defer s.dkim.forget(0)
	return s.st.SetDKIMKeyEnabled(ctx, id, enabled)
}

// DeleteDKIMKey removes a key; mail from its domain is no longer signed
// with it.
func (s *Service) DeleteDKIMKey(ctx context.Context, id int64) error {
	defer s.dkim.forget(id)
	return s.st.DeleteDKIMKey(ctx, id)
}

// CheckDomain checks the SPF, DMARC and DKIM records of domain against its
// enabled keys.
func (s *Service) CheckDomain(ctx context.Context, domain string) (mailer.DomainReport, error) {
	domain = store.NormalizeDKIMName(domain)
	keys, err := s.st.DKIMKeysOf(ctx, domain)
	if err != nil {
		return mailer.DomainReport{}, err
	}
	var check []mailer.DKIMKey
	unreadable := map[string]bool{}
	for _, k := range keys {
		if !k.Enabled {
			continue
		}
		pem, err := s.st.DKIMPrivateKey(ctx, k.ID)
		if errors.Is(err, store.ErrSecretUnreadable) {
			unreadable[k.DNSName()] = true
		} else if err != nil {
			return mailer.DomainReport{}, err
		}
		check = append(check, mailer.DKIMKey{Domain: k.Domain, Selector: k.Selector, Algorithm: k.Algorithm, PrivatePEM: pem})
	}
	ctx, cancel := context.WithTimeout(ctx, dnsCheckTimeout)
	defer cancel()
	rep := mailer.CheckDomain(ctx, s.dkim.resolver, domain, check)
	for i, c := range rep.Checks {
		if c.Kind == "DKIM" && unreadable[c.Name] {
			rep.Checks[i].Status = mailer.DNSError
			rep.Checks[i].Found = ""
			rep.Checks[i].Advice = "Herald cannot decrypt this key with its secret key (data/secret.key or HERALD_SECRET_KEY): restore the key it was saved with, or delete this DKIM key and generate a new one."
		}
	}
	return rep, nil
}
