package inbound

// The IMAP client is written here, like the POP3 one, for the few commands
// a bounce mailbox needs (RFC 9051, and RFC 3501 which most servers still
// speak): STARTTLS, LOGIN, CAPABILITY, SELECT, FETCH, UID FETCH, UID STORE,
// EXPUNGE or UID EXPUNGE (RFC 4315), and LOGOUT.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// imapClient is one IMAP session.
type imapClient struct {
	wire
	tag      int
	caps     map[string]bool
	preauth  bool
	validity string // the UIDVALIDITY of the selected folder
	// completion is the text of the last command's tagged OK.
	completion string
	folder     string
	marked     []int // the UIDs flagged \Deleted in this session
	listed     int   // how many messages list found
}

// dialIMAP connects to the IMAP server of cfg, securing the connection as
// cfg.TLS says, and reads the greeting.
func dialIMAP(ctx context.Context, cfg PollerConfig, timeout time.Duration) (*imapClient, error) {
	c := &imapClient{folder: cfg.folder()}
	err := c.dial(ctx, cfg, timeout, c.greeting, func() error {
		_, err := c.run(0, "STARTTLS")
		return err
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (c *imapClient) greeting() error {
	r, err := readIMAP(c.r, maxIMAPLine, 0)
	switch {
	case err != nil:
		return err
	case r.tag != "*" || (r.status != "OK" && r.status != "PREAUTH"):
		return fmt.Errorf("not an IMAP greeting: %.80q", r.tag+" "+r.status+" "+r.text)
	}
	c.preauth = r.status == "PREAUTH"
	return nil
}

// maxIMAPLine bounds one response without its literals.
const maxIMAPLine = 64 << 10

// imapLiteral is a command argument sent as a literal: a password with
// characters a quoted string cannot carry.
type imapLiteral string

// run sends one command, made of args (text, or imapLiteral) joined by
// spaces, and reads the responses up to its completion. It returns the
// untagged data; a NO or BAD is a serverError. Literals in the responses
// are at most maxLiteral bytes, and all of them together at most that
// plus maxListing.
func (c *imapClient) run(maxLiteral int, args ...any) ([]imapResp, error) {
	c.tag++
	tag := "h" + strconv.Itoa(c.tag)
	budget := maxListing + maxLiteral
	var untagged []imapResp
	var bye string
	read := func() (imapResp, error) {
		r, err := readIMAP(c.r, min(budget, maxIMAPLine+maxLiteral), maxLiteral)
		if err != nil && bye != "" {
			return r, fmt.Errorf("the server closed the session: %s", bye)
		}
		budget -= r.size
		if budget < 0 {
			return r, errTooLong
		}
		return r, err
	}
	line := []byte(tag)
	for _, a := range args {
		line = append(line, ' ')
		switch a := a.(type) {
		case string:
			if strings.ContainsAny(a, "\r\n") {
				return nil, errors.New("a line break in a command")
			}
			line = append(line, a...)
		case imapLiteral:
			line = fmt.Appendf(line, "{%d}\r\n", len(a))
			if _, err := c.conn.Write(line); err != nil {
				return nil, err
			}
			for {
				r, err := read()
				if err != nil {
					return nil, err
				}
				if r.tag == tag {
					return nil, refusal(r)
				}
				if r.tag == "+" {
					break
				}
				untagged = append(untagged, r)
			}
			line = []byte(a)
		}
	}
	if _, err := c.conn.Write(append(line, "\r\n"...)); err != nil {
		return nil, err
	}
	for {
		r, err := read()
		switch {
		case err != nil:
			return nil, err
		case r.tag == tag && r.status == "OK":
			c.completion = r.text
			return untagged, nil
		case r.tag == tag:
			return nil, refusal(r)
		case r.status == "BYE":
			bye = r.text
		case r.tag == "*":
			untagged = append(untagged, r)
		}
	}
}

// refusal is the error of a tagged response other than OK.
func refusal(r imapResp) error {
	if r.status == "" {
		return fmt.Errorf("not an IMAP completion: %.80q", r.tag)
	}
	return &serverError{reply: r.status, text: r.text}
}

// quoted is s as an IMAP quoted string; s is printable ASCII.
func quoted(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// imapString is s as a command argument: quoted when it can be, else a
// literal.
func imapString(s string) any {
	if printable(s) {
		return quoted(s)
	}
	return imapLiteral(s)
}

// login authenticates with LOGIN, unless the server greeted with PREAUTH,
// and learns the server's capabilities.
func (c *imapClient) login(user, pass string) error {
	if !c.preauth {
		if _, err := c.run(0, "LOGIN", imapString(user), imapString(pass)); err != nil {
			return fmt.Errorf("log in: the server refused the user name or password: %w", err)
		}
	}
	resps, err := c.run(0, "CAPABILITY")
	if err != nil {
		return fmt.Errorf("CAPABILITY: %w", err)
	}
	c.caps = map[string]bool{}
	for _, r := range resps {
		if len(r.fields) > 0 && strings.EqualFold(atom(r.fields[0]), "CAPABILITY") {
			for _, f := range r.fields[1:] {
				c.caps[strings.ToUpper(atom(f))] = true
			}
		}
	}
	return nil
}

// list selects the folder and lists its messages by UID, with their
// sizes. A message flagged \Deleted is listed like any other: another
// client may have flagged it, and one that Herald flagged in a poll cut
// short is counted once however often it is read.
func (c *imapClient) list() ([]listing, error) {
	resps, err := c.run(0, "SELECT", quoted(c.folder))
	if err != nil {
		return nil, fmt.Errorf("SELECT %s: %w", c.folder, err)
	}
	if strings.HasPrefix(strings.ToUpper(c.completion), "[READ-ONLY]") {
		return nil, fmt.Errorf("SELECT %s: the folder is read-only, and Herald deletes what it takes: give the account the right to delete there", c.folder)
	}
	exists := 0
	for _, r := range resps {
		if code, ok := strings.CutPrefix(r.text, "[UIDVALIDITY "); ok && r.status == "OK" {
			c.validity, _, _ = strings.Cut(code, "]")
		}
		if len(r.fields) == 2 && strings.EqualFold(atom(r.fields[1]), "EXISTS") {
			exists, _ = strconv.Atoi(atom(r.fields[0]))
		}
	}
	if exists == 0 {
		return nil, nil
	}
	var out []listing
	// A window of messages at a time, each reply within its bound
	// however full the folder.
	for lo := 1; lo <= exists; lo += listWindow {
		var err error
		if out, err = c.listWindow(out, lo, min(lo+listWindow-1, exists)); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out, func(a, b listing) int { return a.n - b.n })
	out = slices.CompactFunc(out, func(a, b listing) bool { return a.n == b.n })
	c.listed = len(out)
	return out, nil
}

// listWindow is how many messages list asks about in one command.
var listWindow = 10_000

// listWindow appends the messages lo to hi, by sequence number, to out.
func (c *imapClient) listWindow(out []listing, lo, hi int) ([]listing, error) {
	set := strconv.Itoa(lo) + ":" + strconv.Itoa(hi)
	resps, err := c.run(0, "FETCH", set, "(UID RFC822.SIZE)")
	if err != nil {
		return nil, fmt.Errorf("FETCH %s: %w", set, err)
	}
	for _, r := range resps {
		items, ok := fetchItems(r)
		if !ok {
			continue
		}
		uid, err1 := strconv.Atoi(atom(items["UID"]))
		size, err2 := strconv.Atoi(atom(items["RFC822.SIZE"]))
		if _, asked := items["RFC822.SIZE"]; !asked {
			// An unsolicited FETCH, of flags that changed.
			continue
		}
		if err1 != nil || err2 != nil || uid <= 0 || size < 0 {
			return nil, fmt.Errorf("FETCH %s: no UID and size in a response for message %s", set, atom(r.fields[0]))
		}
		out = append(out, listing{n: uid, size: size, uid: c.folder + "/" + c.validity + "/" + strconv.Itoa(uid)})
	}
	return out, nil
}

// fetchItems reads a FETCH response's data items, by upper-case name.
func fetchItems(r imapResp) (map[string]any, bool) {
	if r.tag != "*" || len(r.fields) != 3 || !strings.EqualFold(atom(r.fields[1]), "FETCH") {
		return nil, false
	}
	list, ok := r.fields[2].([]any)
	if !ok {
		return nil, false
	}
	items := map[string]any{}
	for i := 0; i+1 < len(list); i += 2 {
		items[strings.ToUpper(atom(list[i]))] = list[i+1]
	}
	return items, true
}

// errNoMessage is a fetch that brought no message (a body of NIL, or
// nothing): the message is left, and the poll goes on.
var errNoMessage = errors.New("the server sent no message; it may have been deleted meanwhile, or the server cannot read it")

// fetch retrieves the message with UID m.n, without setting \Seen.
func (c *imapClient) fetch(m listing, limit int) ([]byte, error) {
	// RFC822.SIZE may count line ends as one byte where the body has two.
	resps, err := c.run(2*limit, "UID FETCH", strconv.Itoa(m.n), "(UID BODY.PEEK[])")
	if err != nil {
		return nil, fmt.Errorf("UID FETCH %d: %w", m.n, err)
	}
	for _, r := range resps {
		items, ok := fetchItems(r)
		if !ok || atom(items["UID"]) != strconv.Itoa(m.n) {
			continue
		}
		switch body := items["BODY[]"].(type) {
		case []byte:
			return body, nil
		case quotedString:
			return []byte(body), nil
		}
	}
	return nil, fmt.Errorf("UID FETCH %d: %w", m.n, errNoMessage)
}

// remove flags the message with UID m.n \Deleted.
func (c *imapClient) remove(m listing) error {
	if _, err := c.run(0, "UID STORE", strconv.Itoa(m.n), `+FLAGS.SILENT (\Deleted)`); err != nil {
		return fmt.Errorf("UID STORE %d: %w", m.n, err)
	}
	c.marked = append(c.marked, m.n)
	return nil
}

// commit expunges the messages flagged in this session and logs out.
func (c *imapClient) commit() error {
	if len(c.marked) > 0 {
		if c.caps["UIDPLUS"] {
			for _, set := range uidSets(c.marked, 2000) {
				if _, err := c.run(0, "UID EXPUNGE", set); err != nil {
					return fmt.Errorf("UID EXPUNGE: %w", err)
				}
			}
		} else if len(c.marked) == c.listed {
			// EXPUNGE takes every message flagged \Deleted, so only when
			// every one listed was taken: one left may be flagged by
			// another client. The next poll reads those taken again, and
			// each report in them counts once.
			if _, err := c.run(0, "EXPUNGE"); err != nil {
				return fmt.Errorf("EXPUNGE: %w", err)
			}
		}
		c.marked = nil
	}
	// What is expunged is gone; a failed LOGOUT changes nothing.
	c.run(0, "LOGOUT")
	return nil
}

// uidSets writes uids as IMAP sequence sets ("3:7,9"), each at most about
// max bytes long so that no command line is too long for a server.
func uidSets(uids []int, max int) []string {
	uids = slices.Compact(slices.Sorted(slices.Values(uids)))
	var out []string
	var b strings.Builder
	for i := 0; i < len(uids); {
		j := i
		for j+1 < len(uids) && uids[j+1] == uids[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(uids[i]))
		if j > i {
			b.WriteString(":" + strconv.Itoa(uids[j]))
		}
		if b.Len() >= max {
			out, b = append(out, b.String()), strings.Builder{}
		}
		i = j + 1
	}
	if b.Len() > 0 {
		out = append(out, b.String())
	}
	return out
}
