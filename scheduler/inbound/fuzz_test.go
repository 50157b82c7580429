package inbound

import (
	"bufio"
	"bytes"
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
