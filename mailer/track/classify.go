package track

import (
	"strings"
	"time"
)

// MachineWindow is how soon after a message was sent an open or a click is
// taken for a machine's: no person opens a message, let alone follows its
// links, within seconds of it leaving, but a receiving server's image
// prefetch and link scanners do.
const MachineWindow = 10 * time.Second

// Hit is what a tracking request shows of who made it.
type Hit struct {
	Method    string
	UserAgent string
	// After is how long after the message was sent the request came.
	After time.Duration
}

// Each rule names the user agents it matches, in lower case, and why.
// Flagged opens and clicks are kept and shown, but rates count people's
// unless asked to include every event. The README lists these rules.
var (
	// proxyAgents fetch images for mail clients, often before or without
	// the recipient reading anything.
	proxyAgents = []string{
		"googleimageproxy", // Gmail's image proxy (ggpht.com)
		"yahoomailproxy",   // Yahoo Mail's image proxy
		"ymailimageproxy",  // Yahoo Mail, older
		"outlook-image-proxy",
		"bingpreview",
	}
	// scannerAgents follow every link of a message to check it.
	scannerAgents = []string{
		"barracuda", "proofpoint", "mimecast", "symantec", "messagelabs", "trendmicro",
		"forcepoint", "fireeye", "sophos", "bitdefender", "cisco", "ironport", "zscaler",
		"safelinks", "microsoft office", "ms-office", "python-requests", "python-urllib",
		"go-http-client", "curl/", "wget", "java/", "okhttp", "libwww", "httpclient",
		"headlesschrome", "phantomjs", "bot", "spider", "crawler", "scanner", "preview",
	}
)

// MachineOpen says whether an open came from a machine, and which rule
// said so: one of the rules shared with clicks (see machine), Apple Mail
// Privacy Protection (its proxy sends the bare agent "Mozilla/5.0"), or an
// image proxy (Gmail, Yahoo).
func MachineOpen(h Hit) (bool, string) {
	if why := machine(h); why != "" {
		return true, why
	}
	ua := strings.ToLower(strings.TrimSpace(h.UserAgent))
	if ua == "mozilla/5.0" {
		return true, "Apple Mail Privacy Protection"
	}
	if a := containsAny(ua, proxyAgents); a != "" {
		return true, "image proxy (" + a + ")"
	}
	return false, ""
}

// ScannerClick says whether a click came from a security scanner, and
// which rule said so: one of the rules shared with opens (see machine), or
// a known scanner's agent.
func ScannerClick(h Hit) (bool, string) {
	if why := machine(h); why != "" {
		return true, why
	}
	if a := containsAny(strings.ToLower(h.UserAgent), scannerAgents); a != "" {
		return true, "link scanner (" + a + ")"
	}
	return false, ""
}

// machine is the rule that marks any hit a machine's, or "": a HEAD
// request, no agent at all, or a hit within MachineWindow of sending.
func machine(h Hit) string {
	switch {
	case h.Method == "HEAD":
		return "HEAD request"
	case strings.TrimSpace(h.UserAgent) == "":
		return "no user agent"
	case h.After >= 0 && h.After < MachineWindow:
		return "within seconds of sending"
	}
	return ""
}

func containsAny(s string, subs []string) string {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return sub
		}
	}
	return ""
}
