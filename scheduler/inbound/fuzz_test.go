package inbound

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// FuzzPOP3Lines checks the multi-line reply reader: it never panics nor
// returns more than its bound, and it gives back exactly the message that
// a server dot-stuffed and terminated.
func FuzzPOP3Lines(f *testing.F) {
	for _, seed := range append(mailbox, "", ".", "..\r\n.\r\n", ".\r\n", "a\nb\r\n.\n", "\r\n\r\n") {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 512
		out, err := readLines(bufio.NewReader(bytes.NewReader(data)), limit)
		if err == nil && len(out) > limit {
			t.Fatalf("read %d bytes, want at most %d", len(out), limit)
		}
		var msg strings.Builder
		for line := range strings.Lines(string(data)) {
			msg.WriteString(strings.TrimRight(line, "\r\n") + "\r\n")
		}
		wire := dotStuff(msg.String()) + ".\r\n"
		got, err := readLines(bufio.NewReader(strings.NewReader(wire)), msg.Len())
		if err != nil || string(got) != msg.String() {
			t.Fatalf("round trip of %q: got %q, %v, want it back", msg.String(), got, err)
		}
	})
}

// FuzzIMAPResponse checks the response reader: it never panics nor reads
// past its bound, and a literal a server sends comes back whole.
func FuzzIMAPResponse(f *testing.F) {
	for _, seed := range []string{"* OK ready\r\n", "* 1 FETCH (UID 7 BODY[] {3}\r\nabc)\r\n", "+ \r\n", "h1 BAD x\n",
		"* LIST (\\Noselect) \"/\" \"a\\\\b\"\r\n", "* 1 FETCH ((((\r\n", "* {5}\r\n"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 512
		r, err := readIMAP(bufio.NewReader(bytes.NewReader(data)), limit, limit/2)
		if err == nil && r.size > limit {
			t.Fatalf("took %d of its bound, want at most %d", r.size, limit)
		}
		wire := fmt.Sprintf("* 1 FETCH (UID 9 BODY[] {%d}\r\n%s)\r\n", len(data), data)
		r, err = readIMAP(bufio.NewReader(strings.NewReader(wire)), len(wire)+8*itemCost, len(data))
		items, ok := fetchItems(r)
		if err != nil || !ok || string(items["BODY[]"].([]byte)) != string(data) {
			t.Fatalf("literal %q: got %v, %v, want it back", data, r.fields, err)
		}
	})
}
