package feedback

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/textproto"
	"strings"
)

// Bounds on how much of a message's structure is read: a report that
// needs more than this is not one a mail server wrote.
const (
	maxParts        = 100
	maxDepth        = 5
	maxHeaderFields = 1000
)

// entity is one MIME entity of a message, decoded enough to read it.
type entity struct {
	header    textproto.MIMEHeader
	mediaType string
	params    map[string]string
	// body is the transfer-decoded body of a leaf.
	body []byte
	// children are the parts of a multipart, or the one message inside a
	// message/rfc822.
	children []*entity
}

// budget counts the entities read from one message so that no input can
// make the reader build an unbounded tree.
type budget struct{ parts int }

// readEntity reads raw as a MIME entity with its header, descending into
// multiparts and attached messages up to the bounds above.
func readEntity(raw []byte, depth int, b *budget) *entity {
	b.parts++
	header, body := splitHeader(raw)
	e := &entity{header: header}
	e.mediaType, e.params = mediaType(header.Get("Content-Type"))
	switch {
	case depth >= maxDepth || b.parts >= maxParts:
		e.body = decodeBody(header, body)
	case strings.HasPrefix(e.mediaType, "multipart/"):
		boundary := e.params["boundary"]
		if boundary == "" {
			boundary = guessBoundary(body)
		}
		for _, p := range splitParts(body, boundary) {
			if b.parts >= maxParts {
				break
			}
			e.children = append(e.children, readEntity(p, depth+1, b))
		}
		if len(e.children) == 0 {
			// No boundary found: keep the text so heuristics can still read it.
			e.body = body
		}
	case isAttachedMessage(e.mediaType):
		e.body = decodeBody(header, body)
		e.children = []*entity{readEntity(bytes.TrimLeft(e.body, "\r\n"), depth+1, b)}
	default:
		e.body = decodeBody(header, body)
	}
	return e
}

// isAttachedMessage says whether a part holds a whole message or its header.
func isAttachedMessage(mt string) bool {
	switch mt {
	case "message/rfc822", "message/global", "text/rfc822-headers",
		"message/rfc822-headers", "message/global-headers", "message/partial":
		return true
	}
	return false
}

// splitHeader cuts raw at its first empty line and reads the header
// leniently: bounces quote broken headers, start with an mbox "From " line
// or fold lines oddly, and net/textproto rejects all of these.
func splitHeader(raw []byte) (textproto.MIMEHeader, []byte) {
	header := textproto.MIMEHeader{}
	var key string
	rest := raw
	for n := 0; len(rest) > 0 && n < maxHeaderFields*4; n++ {
		line, next := cutLine(rest)
		trimmed := bytes.TrimRight(line, "\r")
		if len(trimmed) == 0 {
			return header, next
		}
		if !addField(header, &key, trimmed) && n == 0 && !bytes.HasPrefix(trimmed, []byte("From ")) {
			// Not a header at all: the whole entity is body.
			return header, raw
		}
		rest = next
	}
	return header, rest
}

// addField adds one header line to h: a new field, or the continuation of
// the field named by *key. It reports false for a line that is neither.
func addField(h textproto.MIMEHeader, key *string, line []byte) bool {
	if line[0] == ' ' || line[0] == '\t' {
		if vs := h[*key]; len(vs) > 0 {
			vs[len(vs)-1] += " " + string(bytes.TrimSpace(line))
			return true
		}
		return false
	}
	k, v, ok := bytes.Cut(line, []byte(":"))
	if !ok || !validKey(k) || len(h) >= maxHeaderFields {
		*key = ""
		return false
	}
	*key = textproto.CanonicalMIMEHeaderKey(string(k))
	h[*key] = append(h[*key], string(bytes.TrimSpace(v)))
	return true
}

// validKey says whether k can name a header field: printable ASCII
// without spaces.
func validKey(k []byte) bool {
	if len(k) == 0 || len(k) > 100 {
		return false
	}
	for _, c := range k {
		if c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

// cutLine returns the first line of b without its "\n", and what follows.
func cutLine(b []byte) (line, rest []byte) {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i], b[i+1:]
	}
	return b, nil
}

// mediaType parses a Content-Type leniently: a malformed parameter list
// still yields the type and the boundary.
func mediaType(v string) (string, map[string]string) {
	if v == "" {
		return "text/plain", map[string]string{}
	}
	mt, params, err := mime.ParseMediaType(v)
	if err == nil {
		return mt, params
	}
	mt, rest, _ := strings.Cut(v, ";")
	params = map[string]string{}
	for _, p := range strings.Split(rest, ";") {
		k, val, ok := strings.Cut(p, "=")
		if ok {
			params[strings.ToLower(strings.TrimSpace(k))] = strings.Trim(strings.TrimSpace(val), `"`)
		}
	}
	return strings.ToLower(strings.TrimSpace(mt)), params
}

// decodeBody undoes the Content-Transfer-Encoding; what cannot be decoded
// is kept as it came, because a half-readable bounce is still worth reading.
func decodeBody(header textproto.MIMEHeader, body []byte) []byte {
	var r io.Reader
	switch strings.ToLower(strings.TrimSpace(header.Get("Content-Transfer-Encoding"))) {
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, bytes.NewReader(bytes.TrimSpace(body)))
	case "quoted-printable":
		r = quotedprintable.NewReader(bytes.NewReader(body))
	default:
		return body
	}
	out, err := io.ReadAll(r)
	if err != nil && len(out) == 0 {
		return body
	}
	return out
}

// walk calls fn for e and every entity below it, depth first, until fn
// returns false.
func (e *entity) walk(fn func(*entity) bool) bool {
	if !fn(e) {
		return false
	}
	for _, c := range e.children {
		if !c.walk(fn) {
			return false
		}
	}
	return true
}

// find returns the first entity below or at e whose media type is one of
// types, or nil.
func (e *entity) find(types ...string) *entity {
	var found *entity
	e.walk(func(x *entity) bool {
		for _, t := range types {
			if x.mediaType == t {
				found = x
				return false
			}
		}
		return true
	})
	return found
}
