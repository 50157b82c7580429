package web

import (
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/labstack/echo/v5"

	"herald/mailer"
	"herald/scheduler/outbound"
	"herald/store"
	"herald/templates"
)

// defaultSelector is the selector offered for a new key.
const defaultSelector = "herald1"

func (s *Server) domainList(c *echo.Context) error {
	return s.domainsPage(c, http.StatusOK, templates.DKIMKeyForm{Selector: defaultSelector, Algorithm: store.DKIMRSA}, nil, nil)
}

// domainsPage renders Settings → Sending domains: each domain's keys, and
// report under its domain when there is one.
func (s *Server) domainsPage(c *echo.Context, status int, f templates.DKIMKeyForm, errs templates.FieldErrors, report *mailer.DomainReport) error {
	keys, err := s.store.DKIMKeys(c.Request().Context())
	if err != nil {
		return err
	}
	p := templates.DomainsProps{Shell: s.shell(c, "settings", "Sending domains"), Form: f, Errors: errs}
	signing := signingKeys(keys)
	signed := map[string]bool{}
	for _, k := range keys {
		if n := len(p.Domains); n == 0 || p.Domains[n-1].Domain != k.Domain {
			p.Domains = append(p.Domains, templates.DomainGroup{Domain: k.Domain})
		}
		g := &p.Domains[len(p.Domains)-1]
		g.Keys = append(g.Keys, templates.DKIMKeyRow{ID: k.ID, Selector: k.Selector, Algorithm: k.Algorithm, Enabled: k.Enabled,
			Signs: signing[k.ID], CreatedAt: k.CreatedAt, DNSName: k.DNSName(), DNSValue: k.DNSValue})
		signed[k.Domain] = signed[k.Domain] || signing[k.ID]
	}
	if report != nil {
		view := dnsReportView(*report)
		i := slices.IndexFunc(p.Domains, func(g templates.DomainGroup) bool { return g.Domain == report.Domain })
		if i < 0 {
			p.Domains, i = append(p.Domains, templates.DomainGroup{Domain: report.Domain}), len(p.Domains)
		}
		p.Domains[i].Report = &view
	}
	if from := s.general().FromEmail; from != "" {
		if d := outbound.AddressDomain(from); d != "" && !signed[d] {
			p.UnsignedFrom = from
			if p.Form.Domain == "" {
				p.Form.Domain = d
			}
		}
	}
	return s.render(c, status, templates.DomainsPage(p))
}

func dnsReportView(r mailer.DomainReport) templates.DNSReport {
	v := templates.DNSReport{Domain: r.Domain, OK: r.OK()}
	for _, c := range r.Checks {
		v.Checks = append(v.Checks, templates.DNSCheckRow{Kind: c.Kind, Name: c.Name, Status: c.Status, Found: c.Found, Advice: c.Advice})
	}
	return v
}

func (s *Server) domainKeyCreate(c *echo.Context) error {
	f := templates.DKIMKeyForm{Domain: c.FormValue("domain"), Selector: c.FormValue("selector"), Algorithm: c.FormValue("algorithm")}
	k, err := s.out.AddDKIMKey(c.Request().Context(), f.Domain, f.Selector, f.Algorithm)
	var ve *store.ValidationError
	switch {
	case errors.As(err, &ve):
		return s.domainsPage(c, http.StatusUnprocessableEntity, f, ve.Fields, nil)
	case errors.Is(err, store.ErrConflict):
		return s.domainsPage(c, http.StatusConflict, f, templates.FieldErrors{"selector": upperFirst(err.Error()) + "."}, nil)
	case err != nil:
		return err
	}
	s.flash(c, "success", fmt.Sprintf("Key %s for %s generated; Herald signs with it from now on. Publish its TXT record at %s now, then check DNS.", k.Selector, k.Domain, k.DNSName()))
	return redirect(c, "/settings/domains")
}

// dkimKeyEnable turns a key on or off.
func (s *Server) dkimKeyEnable(on bool) echo.HandlerFunc {
	return func(c *echo.Context) error {
		id, err := pathID(c)
		if err != nil {
			return err
		}
		k, err := s.out.SetDKIMKeyEnabled(c.Request().Context(), id, on)
		if err != nil {
			return err
		}
		if on {
			s.flash(c, "success", fmt.Sprintf("Key %s of %s enabled.", k.Selector, k.Domain))
		} else {
			s.flash(c, "success", fmt.Sprintf("Key %s of %s disabled: Herald no longer signs with it.", k.Selector, k.Domain))
		}
		return redirect(c, "/settings/domains")
	}
}

func (s *Server) dkimKeyDelete(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	k, err := s.store.DKIMKey(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if err := s.out.DeleteDKIMKey(c.Request().Context(), id); err != nil {
		return err
	}
	s.flash(c, "success", fmt.Sprintf("Key %s of %s deleted. Remove its DNS record in a few days, once mail it signed has arrived.", k.Selector, k.Domain))
	return redirect(c, "/settings/domains")
}

// domainCheck runs the DNS check of a domain: htmx gets the result as a
// fragment, a plain request the whole page with the result in place.
func (s *Server) domainCheck(c *echo.Context) error {
	domain := store.NormalizeDKIMName(c.Param("domain"))
	if store.CheckDKIMDomain(domain) != "" {
		return store.ErrNotFound
	}
	rep, err := s.out.CheckDomain(c.Request().Context(), domain)
	if err != nil {
		return err
	}
	c.Response().Header().Add("Vary", "HX-Request")
	if c.Request().Header.Get("HX-Request") == "true" {
		return s.render(c, http.StatusOK, templates.DNSReportView(dnsReportView(rep)))
	}
	return s.domainsPage(c, http.StatusOK, templates.DKIMKeyForm{Selector: defaultSelector, Algorithm: store.DKIMRSA}, nil, &rep)
}
