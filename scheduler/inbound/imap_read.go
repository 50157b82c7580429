package inbound

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// imapResp is one server response: a status (tagged, or untagged OK, NO,
// BAD, BYE, PREAUTH) with its text, a continuation request ("+"), or
// untagged data as fields.
type imapResp struct {
	tag    string // "*", "+", or the command's tag
	status string // OK, NO, BAD, BYE or PREAUTH; "" for data
	text   string // a status's text, or a continuation's
	// fields are the data: string for atoms and NIL, quotedString,
	// []byte for literals, []any for parenthesized lists.
	fields []any
	size   int // the bytes it took on the wire
}

// quotedString is a quoted string of a response.
type quotedString string

// atom is a field's text: an atom's, a quoted string's or a literal's; ""
// for a list.
func atom(f any) string {
	switch f := f.(type) {
	case string:
		return f
	case quotedString:
		return string(f)
	case []byte:
		return string(f)
	}
	return ""
}

// maxIMAPDepth bounds nested lists; a FETCH response nests two or three.
const maxIMAPDepth = 16

// readIMAP reads one response of at most limit bytes, whose literals are
// each at most maxLiteral bytes.
func readIMAP(r *bufio.Reader, limit, maxLiteral int) (imapResp, error) {
	d := imapReader{r: r, left: limit, maxLiteral: maxLiteral}
	resp, err := d.response()
	resp.size = limit - d.left
	return resp, err
}

type imapReader struct {
	r          *bufio.Reader
	left       int
	maxLiteral int
}

func (d *imapReader) response() (imapResp, error) {
	tag, err := d.atom()
	if err != nil {
		return imapResp{}, err
	}
	resp := imapResp{tag: tag}
	if tag == "+" {
		resp.text, err = d.rest()
		return resp, err
	}
	if b, err := d.next(); err != nil || b != ' ' {
		return resp, cmp.Or(err, fmt.Errorf("no space after the tag %.40q", tag))
	}
	first, err := d.atom()
	if err != nil {
		return resp, err
	}
	switch strings.ToUpper(first) {
	case "OK", "NO", "BAD", "BYE", "PREAUTH":
		resp.status = strings.ToUpper(first)
		resp.text, err = d.rest()
		return resp, err
	}
	if tag != "*" {
		return resp, fmt.Errorf("a tagged response that is not a status: %.40q", tag+" "+first)
	}
	resp.fields, err = d.items(0)
	resp.fields = append([]any{first}, resp.fields...)
	return resp, err
}

func (d *imapReader) peek() (byte, error) {
	if d.left <= 0 {
		return 0, errTooLong
	}
	b, err := d.r.Peek(1)
	if errors.Is(err, io.EOF) {
		return 0, io.ErrUnexpectedEOF
	}
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

func (d *imapReader) next() (byte, error) {
	b, err := d.peek()
	if err == nil {
		d.left--
		d.r.Discard(1)
	}
	return b, err
}

// rest reads the rest of the line as text.
func (d *imapReader) rest() (string, error) {
	var b strings.Builder
	for {
		c, err := d.next()
		if err != nil {
			return "", err
		}
		if c == '\n' {
			return strings.TrimSpace(strings.TrimSuffix(b.String(), "\r")), nil
		}
		b.WriteByte(c)
	}
}

// itemCost is what an item costs of a response's bound beyond its bytes
// on the wire: "()" is two bytes there and some forty in memory.
const itemCost = 40

// items reads fields to the end of the line, or of the list at depth > 0.
func (d *imapReader) items(depth int) ([]any, error) {
	var out []any
	for {
		b, err := d.peek()
		if err != nil {
			return nil, err
		}
		var item any
		switch b {
		case ' ':
			d.next()
			continue
		case '\r', '\n':
			if depth > 0 {
				return nil, errors.New("a list that does not end on its line")
			}
			d.next()
			if b == '\r' {
				if b, err := d.next(); err != nil || b != '\n' {
					return nil, cmp.Or(err, errors.New("a carriage return without a line feed"))
				}
			}
			return out, nil
		case ')':
			if depth == 0 {
				return nil, errors.New("a list closed that was not open")
			}
			d.next()
			return out, nil
		case '(':
			if depth == maxIMAPDepth {
				return nil, errors.New("lists nested too deep")
			}
			d.next()
			item, err = d.items(depth + 1)
		case '"':
			item, err = d.quoted()
		case '{':
			item, err = d.literal()
		default:
			item, err = d.atom()
		}
		if err != nil {
			return nil, err
		}
		if d.left -= itemCost; d.left < 0 {
			return nil, errTooLong
		}
		out = append(out, item)
	}
}

// atom reads an atom, with any bracketed section in it ("BODY[]",
// "BODY[HEADER.FIELDS (TO)]") whole.
func (d *imapReader) atom() (string, error) {
	var b strings.Builder
	brackets := 0
	for {
		c, err := d.peek()
		if err != nil {
			return "", err
		}
		if c == '\r' || c == '\n' || c < ' ' || c == 0x7f || (brackets == 0 && (c == ' ' || c == '(' || c == ')' || c == '"' || c == '{')) {
			break
		}
		switch {
		case c == '[' && (brackets > 0 || sectioned(b.String())):
			brackets++
		case c == ']' && brackets > 0:
			brackets--
		}
		d.next()
		b.WriteByte(c)
	}
	if b.Len() == 0 {
		c, _ := d.peek()
		return "", fmt.Errorf("an unexpected byte %q in a response", c)
	}
	return b.String(), nil
}

// sectioned says whether an atom is a data item whose section, in
// brackets, may hold spaces and lists: BODY[HEADER.FIELDS (TO)]. Elsewhere
// a bracket is an ordinary character of an atom, as in a keyword.
func sectioned(atom string) bool {
	a := strings.ToUpper(atom)
	return a == "BODY" || a == "BODY.PEEK" || a == "BINARY" || a == "BINARY.PEEK" || a == "BINARY.SIZE"
}

// quoted reads a quoted string.
func (d *imapReader) quoted() (quotedString, error) {
	d.next()
	var b strings.Builder
	for {
		c, err := d.next()
		switch {
		case err != nil:
			return "", err
		case c == '"':
			return quotedString(b.String()), nil
		case c == '\r' || c == '\n':
			return "", errors.New("a line break in a quoted string")
		case c == '\\':
			if c, err = d.next(); err != nil {
				return "", err
			}
		}
		b.WriteByte(c)
	}
}

// literal reads a literal, {n} then a line break then n bytes.
func (d *imapReader) literal() ([]byte, error) {
	d.next()
	var digits []byte
	for {
		c, err := d.next()
		if err != nil {
			return nil, err
		}
		if c == '}' {
			break
		}
		if c < '0' || c > '9' || len(digits) == 10 {
			return nil, errors.New("not a literal's length")
		}
		digits = append(digits, c)
	}
	n, err := strconv.Atoi(string(digits))
	if err != nil {
		return nil, errors.New("not a literal's length")
	}
	for _, want := range []byte("\r\n") {
		if c, err := d.next(); err != nil || c != want {
			return nil, cmp.Or(err, errors.New("no line break after a literal's length"))
		}
	}
	if n > d.maxLiteral || n > d.left {
		return nil, errTooLong
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(d.r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	d.left -= n
	return buf, nil
}
