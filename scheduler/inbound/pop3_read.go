package inbound

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// errTooLong is a reply longer than its bound.
var errTooLong = errors.New("the reply is longer than allowed")

// parseReply reads a status line: the text after +OK, or a serverError.
func parseReply(line []byte) (string, error) {
	s := string(trimEOL(line))
	switch {
	case s == "+OK" || strings.HasPrefix(s, "+OK "):
		return strings.TrimPrefix(s[3:], " "), nil
	case strings.HasPrefix(s, "-ERR"):
		return "", &serverError{reply: "-ERR", text: strings.TrimSpace(s[4:])}
	}
	return "", fmt.Errorf("not a POP3 reply: %.80q", s)
}

// readLine reads one line, with its line ending, of at most limit bytes.
func readLine(r *bufio.Reader, limit int) ([]byte, error) {
	var line []byte
	for {
		frag, err := r.ReadSlice('\n')
		if len(line)+len(frag) > limit {
			return nil, errTooLong
		}
		line = append(line, frag...)
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			return nil, io.ErrUnexpectedEOF
		}
		return line, err
	}
}

// readLines reads a multi-line body up to its terminating "." line,
// removing the dot that stuffs a line starting with one, and keeping line
// endings as they came. The body is at most limit bytes.
func readLines(r *bufio.Reader, limit int) ([]byte, error) {
	var out []byte
	for {
		// A line may carry a stuffing dot, or be the 3-byte terminator.
		line, err := readLine(r, limit-len(out)+3)
		if err != nil {
			return nil, err
		}
		if string(trimEOL(line)) == "." {
			return out, nil
		}
		if line[0] == '.' {
			line = line[1:]
		}
		if len(out)+len(line) > limit {
			return nil, errTooLong
		}
		out = append(out, line...)
	}
}

func trimEOL(line []byte) []byte {
	line = bytes.TrimSuffix(line, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r"))
}

// listing is one message of a mailbox.
type listing struct {
	n    int // its number in the session (POP3) or its UID (IMAP)
	size int
	uid  string // unique across sessions; "" when a POP3 server has no UIDL
}

// parseListing reads the body of LIST (number and size) and, when given,
// of UIDL (number and unique id) into the mailbox's messages.
func parseListing(list, uidl []byte) ([]listing, error) {
	var out []listing
	at := map[int]int{}
	for _, f := range fieldLines(list) {
		n, err1 := strconv.Atoi(f[0])
		size, err2 := strconv.Atoi(f[1])
		if err1 != nil || err2 != nil || n <= 0 || size < 0 {
			return nil, fmt.Errorf("LIST: not a message and size: %.80q", strings.Join(f, " "))
		}
		at[n] = len(out)
		out = append(out, listing{n: n, size: size})
	}
	for _, f := range fieldLines(uidl) {
		if n, err := strconv.Atoi(f[0]); err == nil {
			if i, ok := at[n]; ok {
				out[i].uid = f[1]
			}
		}
	}
	return out, nil
}

// fieldLines splits a body into lines of two or more fields.
func fieldLines(body []byte) [][]string {
	var out [][]string
	for line := range strings.Lines(string(body)) {
		if f := strings.Fields(line); len(f) >= 2 {
			out = append(out, f)
		}
	}
	return out
}
