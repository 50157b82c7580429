package mailer

import (
	"context"
	"net"
	"strings"
	"testing"
)

// fakeDNS answers TXT lookups from a map; a test cannot publish records in
// real DNS. Names absent from the map do not exist (NXDOMAIN).
type fakeDNS map[string][]string

// servfail is a name whose lookup fails as if its DNS servers were down.
const servfail = "SERVFAIL"

func (f fakeDNS) LookupTXT(_ context.Context, name string) ([]string, error) {
	txts, ok := f[name]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	}
	if len(txts) == 1 && txts[0] == servfail {
		return nil, &net.DNSError{Err: "server misbehaving", Name: name, IsTemporary: true}
	}
	return txts, nil
}

// checkOf returns the check of the given kind from CheckDomain's report.
func checkOf(t *testing.T, dns fakeDNS, domain, kind string, keys []DKIMKey) DNSCheck {
	t.Helper()
	for _, c := range CheckDomain(context.Background(), dns, domain, keys).Checks {
		if c.Kind == kind {
			return c
		}
	}
	t.Fatalf("CheckDomain(%s): got no %s check, want one", domain, kind)
	return DNSCheck{}
}

// wantCheck compares a check's status, and looks for text in its Advice; an
// empty advice wants none.
func wantCheck(t *testing.T, c DNSCheck, status, advice string) {
	t.Helper()
	if c.Status != status {
		t.Errorf("%s %s status: got %q (%s), want %q", c.Kind, c.Name, c.Status, c.Advice, status)
	}
	switch {
	case advice == "" && c.Advice != "":
		t.Errorf("%s %s advice: got %q, want none", c.Kind, c.Name, c.Advice)
	case !strings.Contains(c.Advice, advice):
		t.Errorf("%s %s advice: got %q, want it to contain %q", c.Kind, c.Name, c.Advice, advice)
	}
}

func TestCheckDomainSPF(t *testing.T) {
	t.Parallel()
	other := "google-site-verification=abc"
	tests := []struct {
		name, status, advice string
		txts                 []string
	}{
		{"ok", DNSOK, "", []string{other, "v=spf1 include:_spf.relay.example ~all"}},
		{"no record", DNSMissing, "v=spf1 include:<your relay's SPF domain> ~all", nil},
		{"other records only", DNSMissing, "Publish a TXT record at example.org", []string{other}},
		{"two records", DNSError, "merge them", []string{"v=spf1 mx -all", "v=spf1 a ~all"}},
		{"plus all", DNSWrong, "end it with ~all or -all", []string{"v=spf1 mx +all"}},
		{"bare all", DNSWrong, "end it with ~all or -all", []string{"V=SPF1 all"}},
		{"lookup fails", DNSError, "could not look up example.org", []string{servfail}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dns := fakeDNS{}
			if tt.txts != nil {
				dns["example.org"] = tt.txts
			}
			c := checkOf(t, dns, "example.org", "SPF", nil)
			wantCheck(t, c, tt.status, tt.advice)
			if tt.status == DNSOK && c.Found != tt.txts[1] {
				t.Errorf("Found: got %q, want %q", c.Found, tt.txts[1])
			}
		})
	}
}

func TestCheckDomainDKIM(t *testing.T) {
	t.Parallel()
	ed, rsaKey, other := mustKey(t, DKIMEd25519), mustKey(t, DKIMRSA), mustKey(t, DKIMEd25519)
	edValue, _ := ed.DNSValue()
	rsaValue, _ := rsaKey.DNSValue()
	otherValue, _ := other.DNSValue()
	broken := ed
	broken.PrivatePEM = ""
	tests := []struct {
		name, status, advice string
		key                  DKIMKey
		txts                 []string
	}{
		{"ok ed25519", DNSOK, "", ed, []string{edValue}},
		{"ok rsa split by the DNS host", DNSOK, "", rsaKey, []string{rsaValue[:200] + " " + rsaValue[200:]}},
		{"ok without v=", DNSOK, "", ed, []string{strings.TrimPrefix(edValue, "v=DKIM1; ")}},
		{"missing", DNSMissing, "Publish a TXT record at herald1._domainkey.example.org with the value " + edValue, ed, nil},
		{"missing rsa is long", DNSMissing, "split it into several quoted strings", rsaKey, nil},
		{"other key", DNSWrong, "does not match Herald's key", ed, []string{otherValue}},
		{"revoked", DNSWrong, "does not match Herald's key", ed, []string{"v=DKIM1; k=ed25519; p="}},
		{"wrong algorithm", DNSWrong, "does not match Herald's key", ed, []string{strings.Replace(edValue, "ed25519", "rsa", 1)}},
		{"two records", DNSWrong, "keep one", ed, []string{edValue, otherValue}},
		{"lookup fails", DNSError, "could not look up herald1._domainkey.example.org", ed, []string{servfail}},
		{"unusable key", DNSError, "generate a new key", broken, []string{edValue}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dns := fakeDNS{}
			if tt.txts != nil {
				dns[tt.key.DNSName()] = tt.txts
			}
			c := checkOf(t, dns, "example.org", "DKIM", []DKIMKey{tt.key})
			wantCheck(t, c, tt.status, tt.advice)
			if c.Name != tt.key.DNSName() {
				t.Errorf("Name: got %q, want %q", c.Name, tt.key.DNSName())
			}
		})
	}
}

func TestCheckDomainDMARC(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, domain, status, wantName, advice string
		dns                                    fakeDNS
	}{
		{"reject", "example.org", DNSOK, "_dmarc.example.org", "", fakeDNS{"_dmarc.example.org": {"v=DMARC1; p=reject"}}},
		{"none", "example.org", DNSOK, "_dmarc.example.org", "move to quarantine",
			fakeDNS{"_dmarc.example.org": {"v=DMARC1; p=none; rua=mailto:dmarc@example.org"}}},
		{"missing", "example.org", DNSMissing, "_dmarc.example.org",
			"Publish a TXT record at _dmarc.example.org such as v=DMARC1; p=none; rua=mailto:postmaster@example.org", fakeDNS{}},
		{"not dmarc", "example.org", DNSMissing, "_dmarc.example.org", "Publish", fakeDNS{"_dmarc.example.org": {"v=DMARC10; p=reject"}}},
		{"no policy", "example.org", DNSWrong, "_dmarc.example.org", "no valid policy", fakeDNS{"_dmarc.example.org": {"v=DMARC1; rua=mailto:a@example.org"}}},
		{"two records", "example.org", DNSError, "_dmarc.example.org", "keep one",
			fakeDNS{"_dmarc.example.org": {"v=DMARC1; p=none", "v=DMARC1; p=reject"}}},
		{"lookup fails", "example.org", DNSError, "_dmarc.example.org", "could not look up", fakeDNS{"_dmarc.example.org": {servfail}}},
		{"subdomain uses sp", "news.example.org", DNSOK, "_dmarc.example.org", "move to quarantine",
			fakeDNS{"_dmarc.example.org": {"v=DMARC1; p=reject; sp=none"}}},
		{"subdomain own record", "news.example.org", DNSOK, "_dmarc.news.example.org", "",
			fakeDNS{"_dmarc.news.example.org": {"v=DMARC1; p=quarantine"}, "_dmarc.example.org": {"v=DMARC1; p=none"}}},
		{"subdomain missing", "news.example.org", DNSMissing, "_dmarc.example.org", "Publish a TXT record at _dmarc.example.org", fakeDNS{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := checkOf(t, tt.dns, tt.domain, "DMARC", nil)
			wantCheck(t, c, tt.status, tt.advice)
			if c.Name != tt.wantName {
				t.Errorf("Name: got %q, want %q", c.Name, tt.wantName)
			}
		})
	}
}

func TestCheckDomainReport(t *testing.T) {
	t.Parallel()
	k := mustKey(t, DKIMEd25519)
	value, _ := k.DNSValue()
	dns := fakeDNS{
		"example.org":                    {"v=spf1 mx -all"},
		"herald1._domainkey.example.org": {value},
		"_dmarc.example.org":             {"v=DMARC1; p=quarantine"},
	}
	rep := CheckDomain(context.Background(), dns, " Example.ORG. ", []DKIMKey{k})
	var kinds []string
	for _, c := range rep.Checks {
		kinds = append(kinds, c.Kind)
	}
	if got, want := strings.Join(kinds, ","), "SPF,DKIM,DMARC"; got != want || !rep.OK() || rep.Domain != "example.org" {
		t.Errorf("report: got %s for %q with OK %v, want %s for example.org with OK true", got, rep.Domain, rep.OK(), want)
	}
	delete(dns, "example.org")
	if rep := CheckDomain(context.Background(), dns, "example.org", []DKIMKey{k}); rep.OK() {
		t.Errorf("report without SPF: got OK true, want false")
	}
	if rep := CheckDomain(context.Background(), dns, "Bücher.de", nil); rep.Domain != "xn--bcher-kva.de" || rep.Checks[0].Name != "xn--bcher-kva.de" {
		t.Errorf("international domain: got %q checking %q, want xn--bcher-kva.de for both", rep.Domain, rep.Checks[0].Name)
	}
	bad := CheckDomain(context.Background(), dns, "not a domain", nil)
	if len(bad.Checks) != 1 || bad.Checks[0].Status != DNSError || !strings.Contains(bad.Checks[0].Advice, "is not a domain") {
		t.Errorf("bad domain: got %+v, want one error check saying it is not a domain", bad.Checks)
	}
}
