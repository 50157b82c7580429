package templates

import (
	"strconv"
	"strings"
	"time"
)

// DomainsProps fill Settings → Sending domains.
type DomainsProps struct {
	Shell   Shell
	Domains []DomainGroup
	Form    DKIMKeyForm
	Errors  FieldErrors
	// UnsignedFrom is the default from address when its domain has no
	// enabled key, so its mail goes out unsigned.
	UnsignedFrom string
}

// DomainGroup is one sending domain with its keys, newest first, and the
// result of a DNS check when one was asked for without htmx.
type DomainGroup struct {
	Domain string
	Keys   []DKIMKeyRow
	Report *DNSReport
}

// DKIMKeyRow is one DKIM key with the record to publish for it.
type DKIMKeyRow struct {
	ID        int64
	Selector  string
	Algorithm string
	Enabled   bool
	// Signs is set on the key that signs the domain's mail: its newest
	// enabled one.
	Signs     bool
	CreatedAt time.Time
	DNSName   string
	DNSValue  string
}

// DKIMKeyForm is what was typed into the form that generates a key.
type DKIMKeyForm struct {
	Domain    string
	Selector  string
	Algorithm string
}

// DNSReport is what a DNS check of a sending domain found.
type DNSReport struct {
	Domain string
	OK     bool
	Checks []DNSCheckRow
}

// DNSCheckRow is one record a DNS check looked at.
type DNSCheckRow struct {
	Kind   string
	Name   string
	Status string
	Found  string
	Advice string
}

// DNSCheckTarget is the id of the element a domain's DNS check result is
// swapped into.
func DNSCheckTarget(domain string) string {
	return "dns-check-" + strings.ReplaceAll(domain, ".", "-")
}

// DomainCheckPath is where a domain's DNS check is asked for.
func DomainCheckPath(domain string) string { return "/settings/domains/" + domain + "/check" }

func dkimKeyPath(id int64, action string) string {
	return "/settings/domains/keys/" + strconv.FormatInt(id, 10) + "/" + action
}

func algorithmLabel(alg string) string {
	if alg == "ed25519" {
		return "Ed25519"
	}
	return "RSA-2048"
}

// dnsStatusBadge returns the badge class and label of a check status.
func dnsStatusBadge(status string) (string, string) {
	switch status {
	case "ok":
		return "badge badge-ok", "OK"
	case "missing":
		return "badge badge-warn", "Missing"
	case "wrong":
		return "badge badge-error", "Wrong"
	}
	return "badge badge-error", "Error"
}

// dnsStringLimit is the longest single string in a TXT record.
const dnsStringLimit = 255
