package track

import (
	"html"
	"strings"
)

// attr is one attribute of a tag, as offsets into the document: the whole
// attribute (with the space before it) and its value (inside any quotes).
type attr struct {
	start, end       int
	name             string
	valStart, valEnd int
	hasValue         bool
}

// rewriteAnchors rewrites the href of each <a> tag of e's string through
// fn, which returns the new destination or false to keep it, and drops the
// notrack attribute (leaving that link untouched, and telling kept). It
// scans the bytes rather than parsing the document, so everything else in
// the HTML goes out exactly as it was written, and it costs little more
// than a copy.
func rewriteAnchors(e *splicer, fn func(string) (string, bool), kept func(string)) {
	s := e.s
	var buf [16]attr
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '<')
		if j < 0 {
			break
		}
		i += j
		if i+2 >= len(s) || s[i+1]|0x20 != 'a' || !space(s[i+2]) {
			i++
			continue
		}
		attrs, end := tagAttrs(s, i+2, buf[:0])
		if end < 0 {
			break
		}
		var href, skip *attr
		for k := range attrs {
			switch {
			case strings.EqualFold(attrs[k].name, "href") && href == nil:
				href = &attrs[k]
			case strings.EqualFold(attrs[k].name, notrack):
				skip = &attrs[k]
			}
		}
		switch {
		case skip != nil:
			e.replace(skip.start, skip.end)
			if href != nil {
				kept(strings.TrimSpace(html.UnescapeString(s[href.valStart:href.valEnd])))
			}
		case href != nil && href.hasValue:
			to, ok := fn(strings.TrimSpace(html.UnescapeString(s[href.valStart:href.valEnd])))
			if ok {
				e.replace(href.start, href.end, ` href="`, html.EscapeString(to), `"`)
			}
		}
		i = end
	}
}

// splicer copies a string with some of its spans replaced, left to right,
// and one text inserted; it copies nothing when nothing changes.
type splicer struct {
	s    string
	b    strings.Builder
	done int
	// add is inserted at offset at, once the copy reaches it.
	add string
	at  int
}

func (e *splicer) replace(from, to int, with ...string) {
	e.grow()
	switch {
	case e.add == "":
	case from >= e.at:
		e.insert()
	case to > e.at:
		// The offset is in the span replaced: insert at the end instead.
		e.at = len(e.s)
	}
	e.b.WriteString(e.s[e.done:from])
	for _, w := range with {
		e.b.WriteString(w)
	}
	e.done = to
}

func (e *splicer) grow() {
	if e.b.Cap() == 0 {
		e.b.Grow(len(e.s) + len(e.s)/4 + len(e.add))
	}
}

// insert writes add at its offset.
func (e *splicer) insert() {
	e.b.WriteString(e.s[e.done:e.at])
	e.done = e.at
	e.b.WriteString(e.add)
	e.add = ""
}

func (e *splicer) result() string {
	if e.add != "" {
		e.grow()
		e.insert()
	}
	if e.b.Cap() == 0 {
		return e.s
	}
	e.b.WriteString(e.s[e.done:])
	return e.b.String()
}

// tagAttrs reads the attributes of a tag from i (just after its name) to
// its closing '>', and returns them and the offset after the '>'; -1 when
// the tag never closes.
func tagAttrs(s string, i int, attrs []attr) ([]attr, int) {
	for len(attrs) < 64 {
		start := i
		for i < len(s) && (space(s[i]) || s[i] == '/') {
			i++
		}
		if i >= len(s) {
			return attrs, -1
		}
		if s[i] == '>' {
			return attrs, i + 1
		}
		a := attr{start: start}
		n := i
		for i < len(s) && !space(s[i]) && s[i] != '=' && s[i] != '>' && s[i] != '/' {
			i++
		}
		a.name = s[n:i]
		k := i
		for k < len(s) && space(s[k]) {
			k++
		}
		if k < len(s) && s[k] == '=' {
			k++
			for k < len(s) && space(s[k]) {
				k++
			}
			if k >= len(s) {
				return attrs, -1
			}
			a.hasValue = true
			if q := s[k]; q == '"' || q == '\'' {
				e := strings.IndexByte(s[k+1:], q)
				if e < 0 {
					return attrs, -1
				}
				a.valStart, a.valEnd, i = k+1, k+1+e, k+2+e
			} else {
				a.valStart = k
				for k < len(s) && !space(s[k]) && s[k] != '>' {
					k++
				}
				a.valEnd, i = k, k
			}
		}
		if i == n {
			// Not a name: a stray character. Step over it.
			i++
		}
		a.end = i
		attrs = append(attrs, a)
	}
	end := strings.IndexByte(s[i:], '>')
	if end < 0 {
		return attrs, -1
	}
	return attrs, i + end + 1
}

func space(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
}

// rewriteText rewrites the http and https URLs of a text part through fn.
// A URL runs to the next space or angle bracket, less trailing punctuation.
func rewriteText(s string, fn func(string) (string, bool)) string {
	ed := splicer{s: s}
	for i := 0; i < len(s); {
		j := strings.Index(s[i:], "http")
		if j < 0 {
			break
		}
		i += j
		if i > 0 && !textBoundary(s[i-1]) || !webPrefix(s[i:]) {
			i += 4
			continue
		}
		e := i
		for e < len(s) && !space(s[e]) && s[e] != '<' && s[e] != '>' && s[e] != '"' {
			e++
		}
		for e > i && strings.IndexByte(".,;:!?)]'", s[e-1]) >= 0 {
			e--
		}
		if to, ok := fn(s[i:e]); ok {
			ed.replace(i, e, to)
		}
		i = max(e, i+4)
	}
	return ed.result()
}

func textBoundary(c byte) bool {
	return space(c) || c == '<' || c == '(' || c == '[' || c == '"' || c == '\'' || c == ':'
}
