package feedback

import (
	"mime"
	"strings"
)

// maxTextRecipients bounds the addresses taken from free text: a bounce
// that lists more is listing something else.
const maxTextRecipients = 100

// failedRecipients finds the addresses a text bounce is about: the Exim
// header that lists them, else the addresses in the server's words that
// are neither the bounce's own nor the original sender's, else the To of
// the returned copy.
func failedRecipients(m *entity, text string) []string {
	if v := m.header.Get("X-Failed-Recipients"); v != "" {
		if list := addressList(strings.Split(v, ",")); len(list) > 0 {
			return list
		}
	}
	skip := map[string]bool{}
	for _, k := range []string{"From", "To", "Sender", "Return-Path", "Delivered-To", "Reply-To", "Cc"} {
		for _, a := range addressPattern.FindAllString(m.header.Get(k), 10) {
			skip[strings.ToLower(a)] = true
		}
	}
	orig := original(m)
	if orig != nil {
		for _, a := range addressPattern.FindAllString(orig.header.Get("From")+" "+orig.header.Get("Return-Path"), 10) {
			skip[strings.ToLower(a)] = true
		}
	}
	var found []string
	for _, a := range addressList(addressPattern.FindAllString(text, maxTextRecipients)) {
		if !skip[a] {
			found = append(found, a)
		}
	}
	if len(found) > 0 || orig == nil {
		return found
	}
	return addressList(strings.Split(orig.header.Get("To"), ","))
}

// addressList cleans each of vs to an address and drops the empty and the
// repeated, keeping the order.
func addressList(vs []string) []string {
	seen := map[string]bool{}
	var list []string
	for _, v := range vs {
		a := cleanAddress(v)
		if a != "" && !seen[a] && len(list) < maxRecipients {
			seen[a] = true
			list = append(list, a)
		}
	}
	return list
}

// decodeHeader decodes RFC 2047 words in a header value, or returns it as
// it came when they are in a charset the standard library does not read.
func decodeHeader(v string) string {
	if d, err := new(mime.WordDecoder).DecodeHeader(v); err == nil {
		return d
	}
	return v
}
