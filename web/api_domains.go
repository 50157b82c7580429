package web

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v5"

	"herald/mailer"
	"herald/store"
)

// dnsRecordJSON is a DNS record to publish.
type dnsRecordJSON struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Value string `json:"value"`
}

// dkimKeyJSON is a DKIM key as the API shows it; the private key never
// leaves Herald.
type dkimKeyJSON struct {
	ID        int64  `json:"id"`
	Domain    string `json:"domain"`
	Selector  string `json:"selector"`
	Algorithm string `json:"algorithm"`
	Enabled   bool   `json:"enabled"`
	// Signing is set on the key that signs its domain's mail: the newest
	// enabled one.
	Signing   bool          `json:"signing"`
	DNSRecord dnsRecordJSON `json:"dns_record"`
	CreatedAt time.Time     `json:"created_at"`
}

func toDKIMKeyJSON(k store.DKIMKey, signing bool) dkimKeyJSON {
	return dkimKeyJSON{ID: k.ID, Domain: k.Domain, Selector: k.Selector, Algorithm: k.Algorithm, Enabled: k.Enabled, Signing: signing,
		DNSRecord: dnsRecordJSON{Name: k.DNSName(), Type: "TXT", Value: k.DNSValue}, CreatedAt: k.CreatedAt}
}

// signingKeys returns the ids of the keys that sign, given keys by domain,
// newest first: each domain's first enabled key.
func signingKeys(keys []store.DKIMKey) map[int64]bool {
	ids, done := map[int64]bool{}, map[string]bool{}
	for _, k := range keys {
		if k.Enabled && !done[k.Domain] {
			ids[k.ID], done[k.Domain] = true, true
		}
	}
	return ids
}

// dkimKeyOut shows one key, finding out whether it is its domain's signing key.
func (s *Server) dkimKeyOut(c *echo.Context, status int, k store.DKIMKey) error {
	of, err := s.store.DKIMKeysOf(c.Request().Context(), k.Domain)
	if err != nil {
		return err
	}
	return apiData(c, status, toDKIMKeyJSON(k, signingKeys(of)[k.ID]))
}

func (s *Server) apiDKIMKeyList(c *echo.Context) error {
	q, err := readList(c, dkimList, s.location())
	if err != nil {
		return err
	}
	keys, err := s.store.DKIMKeys(c.Request().Context())
	if err != nil {
		return err
	}
	signing := signingKeys(keys)
	out := make([]dkimKeyJSON, 0, len(keys))
	for _, k := range keys {
		out = append(out, toDKIMKeyJSON(k, signing[k.ID]))
	}
	out, m := pageOf(out, q, func(k dkimKeyJSON) listed {
		return listed{id: k.ID, created: k.CreatedAt, text: k.Domain, keys: map[string]any{"domain": k.Domain}}
	})
	return apiList(c, out, m)
}

func (s *Server) apiDKIMKeyGet(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	k, err := s.store.DKIMKey(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return s.dkimKeyOut(c, http.StatusOK, k)
}

// apiDKIMKeyCreate generates a key; the selector defaults to herald1 and
// the algorithm to rsa.
func (s *Server) apiDKIMKeyCreate(c *echo.Context) error {
	var b dkimKeyBody
	if err := bindJSON(c, &b); err != nil {
		return err
	}
	if b.Selector == "" {
		b.Selector = defaultSelector
	}
	if b.Algorithm == "" {
		b.Algorithm = store.DKIMRSA
	}
	k, err := s.out.AddDKIMKey(c.Request().Context(), b.Domain, b.Selector, b.Algorithm)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", "/api/v1/dkim-keys/"+itoa(k.ID))
	return s.dkimKeyOut(c, http.StatusCreated, k)
}

// apiDKIMKeyUpdate turns a key on or off, the one thing about a key that
// changes.
func (s *Server) apiDKIMKeyUpdate(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var b dkimKeyPatch
	if err := bindJSON(c, &b); err != nil {
		return err
	}
	if b.Enabled == nil {
		if _, err := s.store.DKIMKey(c.Request().Context(), id); err != nil {
			return err
		}
		return &store.ValidationError{Fields: map[string]string{"enabled": "Give enabled as true or false."}}
	}
	k, err := s.out.SetDKIMKeyEnabled(c.Request().Context(), id, *b.Enabled)
	if err != nil {
		return err
	}
	return s.dkimKeyOut(c, http.StatusOK, k)
}

// dnsCheckJSON is one record a DNS check looked at.
type dnsCheckJSON struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Status string `json:"status"`
	Found  string `json:"found"`
	Advice string `json:"advice"`
}

// apiDomainCheck looks up the domain's SPF, DKIM and DMARC records now and
// says what is missing or wrong.
func (s *Server) apiDomainCheck(c *echo.Context) error {
	domain := store.NormalizeDKIMName(c.Param("domain"))
	if msg := store.CheckDKIMDomain(domain); msg != "" {
		return &store.ValidationError{Fields: map[string]string{"domain": msg}}
	}
	rep, err := s.out.CheckDomain(c.Request().Context(), domain)
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, toReportJSON(rep))
}

// domainReportJSON is how a domain's DNS records stand.
type domainReportJSON struct {
	Domain string         `json:"domain"`
	OK     bool           `json:"ok"`
	Checks []dnsCheckJSON `json:"checks"`
}

func toReportJSON(rep mailer.DomainReport) domainReportJSON {
	checks := make([]dnsCheckJSON, 0, len(rep.Checks))
	for _, ch := range rep.Checks {
		checks = append(checks, dnsCheckJSON{Kind: ch.Kind, Name: ch.Name, Status: ch.Status, Found: ch.Found, Advice: ch.Advice})
	}
	return domainReportJSON{Domain: rep.Domain, OK: rep.OK(), Checks: checks}
}

// dkimKeyBody makes a signing key for a domain; the selector defaults to
// "herald" and the algorithm to rsa.
type dkimKeyBody struct {
	Domain    string `json:"domain"`
	Selector  string `json:"selector"`
	Algorithm string `json:"algorithm"`
}

// dkimKeyPatch turns a key on or off.
type dkimKeyPatch struct {
	Enabled *bool `json:"enabled"`
}
