package mailer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"golang.org/x/net/publicsuffix"

	"herald/mailer/addr"
)

// TXTResolver looks up DNS TXT records; *net.Resolver satisfies it.
type TXTResolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// Statuses of a DNSCheck.
const (
	DNSOK      = "ok"
	DNSMissing = "missing"
	DNSWrong   = "wrong"
	DNSError   = "error"
)

// DNSCheck is what Herald found for one record a sending domain needs.
type DNSCheck struct {
	// Kind is SPF, DKIM or DMARC.
	Kind string
	// Name is the DNS name that was looked up.
	Name string
	// Status is DNSOK, DNSMissing, DNSWrong or DNSError.
	Status string
	// Found is the record text, one record per line.
	Found string
	// Advice says in plain English what to publish or fix; an ok check may
	// still carry some.
	Advice string
}

// DomainReport lists the checks of a sending domain: SPF, DKIM for each key,
// then DMARC.
type DomainReport struct {
	Domain string
	Checks []DNSCheck
}

// OK reports whether every check passed.
func (r DomainReport) OK() bool {
	for _, c := range r.Checks {
		if c.Status != DNSOK {
			return false
		}
	}
	return len(r.Checks) > 0
}

// CheckDomain looks up the SPF, DKIM and DMARC records of domain and says
// what is missing or wrong. keys are the DKIM keys Herald signs with.
func CheckDomain(ctx context.Context, r TXTResolver, domain string, keys []DKIMKey) DomainReport {
	domain = strings.TrimSuffix(strings.TrimSpace(domain), ".")
	ascii, err := addr.Domain(domain)
	if err != nil {
		return DomainReport{Domain: domain, Checks: []DNSCheck{{Kind: "domain", Name: domain, Status: DNSError,
			Advice: fmt.Sprintf("%q is not a domain. %v", domain, err)}}}
	}
	domain = ascii
	rep := DomainReport{Domain: domain}
	rep.Checks = append(rep.Checks, checkSPF(ctx, r, domain))
	for _, k := range keys {
		rep.Checks = append(rep.Checks, checkDKIM(ctx, r, k))
	}
	rep.Checks = append(rep.Checks, checkDMARC(ctx, r, domain))
	return rep
}

func checkSPF(ctx context.Context, r TXTResolver, domain string) DNSCheck {
	c := DNSCheck{Kind: "SPF", Name: domain}
	txts, err := lookupTXT(ctx, r, c.Name)
	if err != nil {
		return failed(c, err)
	}
	spf := withVersion(txts, "v=spf1")
	c.Found = strings.Join(spf, "\n")
	switch {
	case len(spf) == 0:
		c.Status = DNSMissing
		c.Advice = fmt.Sprintf("Publish a TXT record at %s such as v=spf1 include:<your relay's SPF domain> ~all, naming the relay or servers that send Herald's mail.", domain)
	case len(spf) > 1:
		c.Status = DNSError
		c.Advice = fmt.Sprintf("%s has %d SPF records, and receivers treat more than one as an error (RFC 7208): merge them into one v=spf1 record.", domain, len(spf))
	case allowsAll(spf[0]):
		c.Status = DNSWrong
		c.Advice = fmt.Sprintf("The SPF record passes every server (+all), so anyone on the internet can send mail as %s: end it with ~all or -all instead.", domain)
	default:
		c.Status = DNSOK
	}
	return c
}

// allowsAll reports whether an SPF record passes every sender: "all" with
// no qualifier means "+all".
func allowsAll(spf string) bool {
	for _, term := range strings.Fields(spf) {
		if strings.EqualFold(term, "all") || strings.EqualFold(term, "+all") {
			return true
		}
	}
	return false
}

func checkDKIM(ctx context.Context, r TXTResolver, k DKIMKey) DNSCheck {
	c := DNSCheck{Kind: "DKIM", Name: k.DNSName()}
	want, err := k.DNSValue()
	if err != nil {
		c.Status, c.Advice = DNSError, err.Error()
		return c
	}
	txts, err := lookupTXT(ctx, r, c.Name)
	if err != nil {
		return failed(c, err)
	}
	c.Found = strings.Join(txts, "\n")
	value := "the value " + want
	if len(want) > 255 {
		value += " (if your DNS host limits a string to 255 characters, split it into several quoted strings in the one record)"
	}
	switch {
	case len(txts) == 0:
		c.Status, c.Advice = DNSMissing, fmt.Sprintf("Publish a TXT record at %s with %s.", c.Name, value)
	case len(txts) > 1:
		c.Status, c.Advice = DNSWrong, fmt.Sprintf("%s has %d TXT records, and receivers cannot tell which holds the key: keep one, with %s.", c.Name, len(txts), value)
	case !sameDKIMKey(txts[0], want):
		c.Status, c.Advice = DNSWrong, fmt.Sprintf("The key published at %s does not match Herald's key for selector %s: replace the record with %s.", c.Name, k.Selector, value)
	default:
		c.Status = DNSOK
	}
	return c
}

// sameDKIMKey reports whether two DKIM key records hold the same key.
func sameDKIMKey(got, want string) bool {
	g, w := tags(got), tags(want)
	if g["k"] == "" {
		g["k"] = DKIMRSA
	}
	return (g["v"] == "" || g["v"] == w["v"]) && g["k"] == w["k"] && g["p"] != "" && g["p"] == w["p"]
}

// checkDMARC looks for a DMARC policy at _dmarc.domain and then, as receivers
// do (RFC 7489, section 6.6.3), at the organizational domain, whose subdomain
// policy then applies.
func checkDMARC(ctx context.Context, r TXTResolver, domain string) DNSCheck {
	c := dmarcAt(ctx, r, domain, "p")
	org, err := publicsuffix.EffectiveTLDPlusOne(domain)
	if c.Status != DNSMissing || err != nil || org == domain {
		return c
	}
	return dmarcAt(ctx, r, org, "sp")
}

// dmarcAt checks the DMARC record of domain, reading its policy from tag or,
// when that is absent, from p.
func dmarcAt(ctx context.Context, r TXTResolver, domain, tag string) DNSCheck {
	c := DNSCheck{Kind: "DMARC", Name: "_dmarc." + domain}
	txts, err := lookupTXT(ctx, r, c.Name)
	if err != nil {
		return failed(c, err)
	}
	dmarc := withVersion(txts, "v=DMARC1")
	c.Found = strings.Join(dmarc, "\n")
	example := fmt.Sprintf("v=DMARC1; p=none; rua=mailto:postmaster@%s", domain)
	if len(dmarc) != 1 {
		c.Status, c.Advice = DNSMissing, fmt.Sprintf("Publish a TXT record at %s such as %s", c.Name, example)
		if len(dmarc) > 1 {
			c.Status, c.Advice = DNSError, fmt.Sprintf("%s has %d DMARC records, and receivers ignore DMARC when there is more than one (RFC 7489): keep one.", c.Name, len(dmarc))
		}
		return c
	}
	t := tags(dmarc[0])
	policy, ok := t[tag]
	if !ok {
		policy = t["p"]
	}
	switch strings.ToLower(policy) {
	case "none":
		c.Status, c.Advice = DNSOK, "The policy none only monitors: once the aggregate reports show your mail passing SPF or DKIM, move to quarantine so receivers act on mail that fails."
	case "quarantine", "reject":
		c.Status = DNSOK
	default:
		c.Status, c.Advice = DNSWrong, fmt.Sprintf("The DMARC record at %s has no valid policy (p=none, quarantine or reject): start with %s", c.Name, example)
	}
	return c
}

// lookupTXT returns the TXT records at name; a name that does not exist has
// none.
func lookupTXT(ctx context.Context, r TXTResolver, name string) ([]string, error) {
	txts, err := r.LookupTXT(ctx, name)
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return nil, nil
	}
	return txts, err
}

func failed(c DNSCheck, err error) DNSCheck {
	c.Status = DNSError
	c.Advice = fmt.Sprintf("Herald could not look up %s (%v): check that the domain's DNS servers answer, then try again.", c.Name, err)
	return c
}

// withVersion returns the records whose first tag is version, like v=spf1.
func withVersion(txts []string, version string) []string {
	var out []string
	for _, txt := range txts {
		txt = strings.TrimSpace(txt)
		if len(txt) >= len(version) && strings.EqualFold(txt[:len(version)], version) &&
			(len(txt) == len(version) || strings.ContainsRune(" ;", rune(txt[len(version)]))) {
			out = append(out, txt)
		}
	}
	return out
}

// tags parses a tag list like "v=DKIM1; k=rsa; p=..." (RFC 6376, section
// 3.2), dropping the spaces a DNS host may insert into long values.
func tags(record string) map[string]string {
	t := map[string]string{}
	for part := range strings.SplitSeq(record, ";") {
		k, v, _ := strings.Cut(part, "=")
		t[strings.TrimSpace(k)] = strings.Join(strings.Fields(v), "")
	}
	return t
}
