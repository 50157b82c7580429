package feedback

import (
	"strconv"
	"strings"
)

// phraseRule names the category a server's words point to.
type phraseRule struct {
	category string
	// generic rules hold words servers add to every refusal ("rejected"):
	// they count only when the status code says nothing more precise.
	generic bool
	phrases []string
}

// phraseRules is the one table of words that say why a message bounced,
// matched in lower case, first rule first: the specific causes come before
// the generic ones ("blocked", "policy") that servers add to everything.
var phraseRules = []phraseRule{
	{MailboxFull, false, []string{
		"mailbox full", "mailbox is full", "mailbox has exceeded", "over quota", "overquota",
		"quota exceeded", "exceeded storage", "exceeds quota", "exceed the quota", "exceeded quota",
		"insufficient disk space", "mailbox size limit", "not enough space", "mail box full",
		"mailfolder is full", "would exceed mailbox quota", "user's storage", "out of storage",
		"quota full", "account is full", "disk quota", "inbox is full", "mailbox exceeds",
		"mailbox exceeded",
	}},
	{MailboxDisabled, false, []string{
		"account disabled", "account is disabled", "mailbox disabled", "mailbox is disabled",
		"account has been disabled", "account is inactive", "mailbox is inactive",
		"account inactive", "mailbox unavailable due to inactivity", "account has been suspended",
		"account suspended", "account is suspended", "mailbox is frozen", "account is locked",
		"mailbox has been blocked", "account is not active", "deactivated",
		"is no longer in service", "expired account", "mailbox not active", "has been disabled",
	}},
	{UserUnknown, false, []string{
		"user unknown", "unknown user", "no such user", "does not exist", "doesn't exist",
		"recipient not found", "recipient address rejected: access denied", "recipient unknown", "unknown recipient",
		"no mailbox here", "mailbox not found", "mailbox unavailable", "invalid recipient",
		"invalid mailbox", "not a valid mailbox", "no such mailbox", "no such recipient",
		"user not found", "unknown address", "user doesn't have", "address unknown",
		"wasn't found at", "was not found", "unknown local part", "unrouteable address",
		"no such account", "mailbox does not", "is not a valid", "not our customer",
		"user is unknown", "recipient does not", "no longer available", "bad destination mailbox",
		"unknown or illegal alias", "invalid address", "address does not",
		"not listed in", "couldn't be found", "could not be found", "no valid recipients",
		"addressee unknown", "unknown mailbox", "mailbox does not exist", "no longer valid", "not exist",
		"recipient rejected", "user invalid",
		"illegal alias", "invalid user", "not recognized", "may not exist", "invalid final delivery userid",
		"check if address is correct", "malformed address", "incorrectly constructed",
		// The same in the languages bounces most often come in.
		"n'existe pas", "nicht vorhanden", "existiert nicht", "no existe", "no exista", "non esiste",
		"neexistuje", "не существует", "存在しない", "不存在",
	}},
	{DomainNotFound, false, []string{
		"host not found", "domain not found", "no mx", "host unknown", "unknown host",
		"name or service not known", "domain does not exist", "no such domain",
		"unrouteable mail domain", "host or domain name not found", "domain name not found",
		"mx record", "dns error", "non-existent domain", "nxdomain", "unknown domain",
		"domain is not", "name server", "no route to host",
		"hostname lookup failed", "illegal host/domain", "domain not exist", "dns lookup failure",
		"name service error", "no smtp service", "could not find a gateway",
	}},
	{TooLarge, false, []string{
		"message too large", "message too big", "message size exceeds", "message is too large",
		"exceeds size limit", "size limit", "message length exceeds", "too large",
		"exceeds the maximum size", "message size", "maximum allowed size", "mail size",
	}},
	{RateLimited, false, []string{
		"rate limit", "too many messages", "too many connections", "try again later",
		"too many recipients", "temporarily deferred", "throttl", "exceeded the rate",
		"sending rate", "too many emails", "greylist", "graylist", "please try again",
	}},
	{Expired, false, []string{
		"timeout", "timed out", "expired", "retry time", "too long in queue", "delivery time",
		"could not be delivered within", "retry timeout",
		"failing for a long time", "multiple retries", "could not deliver for the last", "aborted after", "not delivered within",
		"delivery attempts", "failed attempts", "message is too old", "queue too long",
	}},
	{SpamBlocked, false, []string{
		"spam", "blacklist", "blocklist", "block list", "black list", "spamhaus",
		"listed at", "rbl", "dnsbl", "junk mail", "bulk mail", "reputation",
		"ip blocked", "ip address has been blocked", "blocked using", "poor reputation",
		"suspicious", "mail from your ip", "message filtered",
	}},
	{ContentRejected, false, []string{
		"virus", "content rejected", "message content", "malware", "attachment",
		"banned", "prohibited", "infected", "phishing",
	}},
	{Network, false, []string{
		"connection refused", "connection reset", "connection timed out", "network",
		"unreachable", "lost connection", "connection closed", "could not connect",
		"unable to connect", "refused to talk", "not reachable", "not responding",
		"requests to connect", "socket error", "not accepting connections",
	}},
	{Policy, false, []string{
		"policy", "not authorized", "access denied", "authentication", "spf", "dkim", "dmarc",
		"unauthenticated", "administrative prohibition", "sender address rejected",
		"sender verify failed", "reverse dns", "ptr record", "rdns", "unroutable sender",
		"invalid ip", "relaying", "relay access", "relay not permitted",
	}},
	{Policy, true, []string{
		"blocked", "denied", "rejected", "refused", "not allowed", "not accepted", "forbidden",
		"permission",
	}},
}

// phraseCategory returns the category the first matching phrase names
// among the generic or the specific rules, or "" when none matches.
func phraseCategory(text string, generic bool) string {
	if text == "" {
		return ""
	}
	// Servers wrap their words anywhere: match over single spaces.
	text = strings.Join(strings.Fields(strings.ToLower(text)), " ")
	for _, r := range phraseRules {
		if r.generic != generic {
			continue
		}
		for _, p := range r.phrases {
			if strings.Contains(text, p) {
				return r.category
			}
		}
	}
	return ""
}

// statusCategories maps the subject and detail of an enhanced status code
// (RFC 3463) to a category; subject-only keys ("4.") catch the rest.
var statusCategories = map[string]string{
	"1.1": UserUnknown, "1.0": UserUnknown, "1.3": UserUnknown, "1.6": UserUnknown,
	"1.2": DomainNotFound, "1.10": DomainNotFound, "4.4": DomainNotFound,
	"2.1": MailboxDisabled, "2.2": MailboxFull, "2.3": TooLarge, "3.4": TooLarge,
	"4.7": Expired, "4.1": Network, "4.2": Network, "4.3": Network, "4.6": Network,
	"3.0": Other, "3.1": MailboxFull, "3.2": Network, "5.3": RateLimited,
	"7.1": Policy, "7.0": Policy, "7.26": Policy, "7.25": Policy, "7.23": Policy,
	"7.27": DomainNotFound, "7.28": SpamBlocked, "7.9": Policy,
	"6.": ContentRejected, "7.": Policy, "4.": Network,
}

// statusCategory returns the category an enhanced status code names, or "".
func statusCategory(status string) string {
	_, rest, ok := strings.Cut(status, ".")
	if !ok {
		return ""
	}
	if c, ok := statusCategories[rest]; ok {
		return c
	}
	subject, _, _ := strings.Cut(rest, ".")
	return statusCategories[subject+"."]
}

// alwaysSoft are the categories that say nothing against the address
// itself: the mailbox, the message or the sending server is the trouble,
// so even a 5xx is no reason to stop mailing the address for good. A
// sender whose DMARC or reputation fails would otherwise see every address
// at the provider suppressed; the campaign's bounce-rate pause is what
// catches that.
var alwaysSoft = map[string]bool{
	MailboxFull: true, Expired: true, Network: true, RateLimited: true,
	TooLarge: true, SpamBlocked: true, Policy: true, ContentRejected: true,
}

// hardWithoutCode are the categories that are final when the server gave
// no code at all to say otherwise.
var hardWithoutCode = map[string]bool{
	UserUnknown: true, DomainNotFound: true, MailboxDisabled: true,
}

// finalWords say in plain words that a failure is final, for servers that
// give no code.
var finalWords = []string{
	"permanent error", "failed permanently", "permanent fatal", "permanent failure",
	"permanently rejected", "fatal error",
}

// classify sets r's Category and Severity from the server's reason first
// (servers use generic status codes for specific causes), then its Status,
// then any further text it wrote.
func classify(r *Report, reason string, more ...string) {
	r.Category = phraseCategory(reason, false)
	if r.Category == "" {
		r.Category = statusCategory(r.Status)
	}
	if r.Category == "" {
		r.Category = phraseCategory(reason, true)
	}
	for _, t := range more {
		if r.Category == "" {
			r.Category = phraseCategory(t, false)
		}
		if r.Category == "" {
			r.Category = phraseCategory(t, true)
		}
	}
	if r.Category == "" {
		r.Category = Other
	}
	r.Severity = severity(r.Category, r.Status, r.Code)
	if r.Severity == Undetermined && saysFinal(reason, more) {
		r.Severity = Hard
	}
}

// saysFinal says whether any of the texts calls the failure final.
func saysFinal(reason string, more []string) bool {
	for _, t := range append([]string{reason}, more...) {
		if containsAny(strings.ToLower(t), finalWords) {
			return true
		}
	}
	return false
}

// severity decides whether a bounce is final: by category first, then by
// the class of the status or SMTP code.
func severity(category, status string, code int) Severity {
	if alwaysSoft[category] {
		return Soft
	}
	class := byte(0)
	if status != "" {
		class = status[0]
	} else if code >= 200 && code < 600 {
		class = strconv.Itoa(code)[0]
	}
	switch {
	case class == '5':
		return Hard
	case class == '4':
		return Soft
	case hardWithoutCode[category]:
		return Hard
	case category != Other:
		return Soft
	}
	return Undetermined
}
