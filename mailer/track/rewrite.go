package track

import (
	"html"
	"net/url"
	"strings"
)

// Message tracks one message: Clicks turns each link into a click redirect
// and Opens adds the open pixel. A nil *Message tracks nothing.
type Message struct {
	Signer *Signer
	// Base is Herald's public base URL, without a trailing slash.
	Base string
	Ref  Ref
	// Opens adds the pixel; Clicks rewrites the links.
	Opens, Clicks bool
	// Link returns the stored id of the link to href (with the campaign's
	// UTM parameters added, see UTM.Apply), storing it when new; false
	// leaves that link as it is (untracked). It is called for every link
	// of every message, so it should remember what it stored.
	Link func(href string) (int64, bool)
	// kept holds the destinations the HTML keeps out of tracking, so the
	// text part, often made from the HTML, keeps them out too.
	kept map[string]bool
	// redirects holds the redirect made for each link id.
	redirects map[int64]string
}

// notrack is the attribute that keeps a link out of tracking; it is
// removed from what is sent.
const notrack = "data-notrack"

// HTML returns the HTML part with its links rewritten and the pixel added.
func (m *Message) HTML(s string) string {
	if m == nil || s == "" {
		return s
	}
	// One copy: the links rewritten and the pixel put before the last
	// </body>, or at the end.
	e := splicer{s: s}
	if m.Opens {
		e.add = `<img src="` + html.EscapeString(m.pixel()) + `" width="1" height="1" alt="" style="display:block;border:0;width:1px;height:1px;">`
		e.at = bodyEnd(s)
	}
	if m.Clicks || strings.Contains(s, notrack) {
		rewriteAnchors(&e, m.redirect, m.keep)
	}
	return e.result()
}

// Text returns the text part with its web links rewritten.
func (m *Message) Text(s string) string {
	if m == nil || !m.Clicks || s == "" {
		return s
	}
	return rewriteText(s, m.redirect)
}

func (m *Message) keep(dest string) {
	if m.kept == nil {
		m.kept = map[string]bool{}
	}
	m.kept[dest] = true
}

// pixel is the open pixel's URL.
func (m *Message) pixel() string {
	return string(m.Signer.AppendToken([]byte(m.Base+"/o/"), m.Ref))
}

// redirect returns the click redirect for a destination, or false to leave
// the link alone: not a web link, one of Herald's own (unsubscribe,
// preferences, web view: each recorded as its own event), or not stored.
func (m *Message) redirect(dest string) (string, bool) {
	if !m.Clicks || !webLink(dest) || m.own(dest) || m.kept[dest] {
		return "", false
	}
	id, ok := m.Link(dest)
	if !ok {
		return "", false
	}
	// The same link again (a logo and a headline, or the text part) gets
	// the same redirect, signed once.
	if u, ok := m.redirects[id]; ok {
		return u, true
	}
	r := m.Ref
	r.Link = id
	b := make([]byte, 0, len(m.Base)+3+64)
	b = append(append(b, m.Base...), "/c/"...)
	u := string(m.Signer.AppendToken(b, r))
	if m.redirects == nil {
		m.redirects = map[int64]string{}
	}
	m.redirects[id] = u
	return u, true
}

func (m *Message) own(dest string) bool {
	if m.Base == "" || !strings.HasPrefix(dest, m.Base+"/") {
		return false
	}
	rest := dest[len(m.Base):]
	for _, p := range []string{"/u/", "/p/", "/view/", "/o/", "/c/"} {
		if strings.HasPrefix(rest, p) {
			return true
		}
	}
	return false
}

// webLink says whether a destination is an absolute http or https URL:
// mailto:, tel:, fragments and relative links are left alone.
func webLink(s string) bool {
	return webPrefix(s) && len(s) > len("https://")
}

func webPrefix(s string) bool {
	return prefixFold(s, "http://") || prefixFold(s, "https://")
}

func prefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// UTM holds the campaign's analytics parameters; empty ones are not added.
type UTM struct {
	Source   string `json:"source,omitempty"`
	Medium   string `json:"medium,omitempty"`
	Campaign string `json:"campaign,omitempty"`
}

// Apply adds the UTM parameters a destination lacks, keeping its own query
// string, including any utm_ parameter it already has, exactly as written.
func (u UTM) Apply(dest string) string {
	if u == (UTM{}) {
		return dest
	}
	base, frag, _ := strings.Cut(dest, "#")
	_, query, _ := strings.Cut(base, "?")
	have, _ := url.ParseQuery(query)
	var add []string
	for _, p := range [][2]string{{"utm_source", u.Source}, {"utm_medium", u.Medium}, {"utm_campaign", u.Campaign}} {
		if p[1] != "" && !have.Has(p[0]) {
			add = append(add, p[0]+"="+url.QueryEscape(p[1]))
		}
	}
	if len(add) == 0 {
		return dest
	}
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
		if strings.HasSuffix(base, "?") || strings.HasSuffix(base, "&") {
			sep = ""
		}
	}
	out := base + sep + strings.Join(add, "&")
	if frag != "" || strings.Contains(dest, "#") {
		out += "#" + frag
	}
	return out
}

// bodyEnd is the offset of the last </body> tag, or the end. It reads the
// document's tags from the start, so a "</body" in a comment or in an
// attribute's value is not taken for the tag.
func bodyEnd(s string) int {
	at := len(s)
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '<')
		if j < 0 || i+j+1 >= len(s) {
			break
		}
		i += j
		switch b := s[i+1]; {
		case strings.HasPrefix(s[i:], "<!--"):
			k := strings.Index(s[i+4:], "-->")
			if k < 0 {
				return at
			}
			i += 4 + k + 3
		case b == '/' || b == '!' || b|0x20 >= 'a' && b|0x20 <= 'z':
			if prefixFold(s[i:], "</body") {
				at = i
			}
			i = tagEnd(s, i+1)
		default:
			// A "<" in text, as in "5 < 6".
			i++
		}
	}
	return at
}

// tagEnd is the offset after the ">" that closes the tag read from i,
// passing over quoted attribute values.
func tagEnd(s string, i int) int {
	var quote byte
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			return i + 1
		}
	}
	return len(s)
}
