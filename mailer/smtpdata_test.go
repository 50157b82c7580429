package mailer

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/textproto"
	"strings"
	"testing"
)

// dotWriterData is DATA as textproto's DotWriter writes msg, end included.
func dotWriterData(msg []byte) []byte {
	var b bytes.Buffer
	w := textproto.NewWriter(bufio.NewWriter(&b)).DotWriter()
	w.Write(msg)
	w.Close()
	return b.Bytes()
}

// dataContent is the message that DATA carries, dot-stuffed as on the
// wire: without the line with the lone dot that ends it, and without the
// dot stuffed at the start of a line (RFC 5321, 4.5.2).
func dataContent(data []byte) []byte {
	data = bytes.TrimSuffix(data, []byte(".\r\n"))
	var out []byte
	for i, b := range data {
		if b == '.' && (i == 0 || data[i-1] == '\n') {
			continue
		}
		out = append(out, b)
	}
	return out
}

// FuzzDotStuffing checks the DATA that appendDotStuffed and appendDataEnd
// make against textproto's DotWriter, byte for byte, also when a message
// is stuffed in two chunks split after a LF; that textproto's DotReader,
// which go-smtp's server reads DATA with, gives back the message, where its
// line ends are CRLF or LF; and that what BDAT carries of it, its lines
// made CRLF by appendLines and its end by lastLineEnd, is what that DATA
// stands for, hasBareLF saying when the message had to change.
func FuzzDotStuffing(f *testing.F) {
	for _, s := range []string{
		"", ".", "..", "a", "a\r\n", ".a\r\n..b\r\n.\r\n", "a\nb", "a\n.b\n", "a\r", "a\r\r", "a\r\r\n", "\r\r\r\n.x",
		"\r\n.\r\n", "a\rb\r\n", "\n\n.\n", "Subject: x\r\n\r\n.\r\nLine after a lone dot.\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		want := dotWriterData(msg)
		got := appendDataEnd(appendDotStuffed(nil, msg), msg)
		if !bytes.Equal(got, want) {
			t.Fatalf("DATA of %q: got %q, want %q", msg, got, want)
		}
		if i := bytes.IndexByte(msg, '\n'); i >= 0 {
			split := appendDotStuffed(appendDotStuffed(nil, msg[:i+1]), msg[i+1:])
			if split = appendDataEnd(split, msg); !bytes.Equal(split, want) {
				t.Fatalf("DATA of %q in two chunks: got %q, want %q", msg, split, want)
			}
		}

		chunk := append(appendLines(nil, msg, false), lastLineEnd(msg)...)
		if content := dataContent(want); !bytes.Equal(chunk, content) {
			t.Fatalf("BDAT of %q: got %q, want %q as DATA carries it", msg, chunk, content)
		}
		if changed := !bytes.Equal(appendLines(nil, msg, false), msg); hasBareLF(msg) != changed {
			t.Fatalf("hasBareLF(%q): got %t, want %t", msg, !changed, changed)
		}

		r := bufio.NewReader(bytes.NewReader(got))
		decoded, err := io.ReadAll(textproto.NewReader(r).DotReader())
		if err != nil {
			t.Fatalf("DotReader of %q: got %v, want nil", got, err)
		}
		if rest, _ := io.ReadAll(r); len(rest) > 0 {
			t.Fatalf("DotReader of %q: left %q after the end of data, want nothing", got, rest)
		}
		lf := strings.ReplaceAll(string(msg), "\r\n", "\n")
		if strings.Contains(lf, "\r") {
			return // a bare CR: DotWriter and DotReader each have their own way with it
		}
		if !strings.HasSuffix(lf, "\n") {
			lf += "\n"
		}
		if string(decoded) != lf {
			t.Fatalf("DotReader of %q: got %q, want %q", got, decoded, lf)
		}
	})
}

func TestChunkEnd(t *testing.T) {
	line := strings.Repeat("x", 998) + "\r\n"
	long := strings.Repeat("y", dataChunk+10) + "\r\nz"
	tests := []struct {
		name string
		msg  string
		want int
	}{
		{"small", "a\r\nb", 4},
		{"at most a chunk", strings.Repeat("x", dataChunk), dataChunk},
		{"lines", strings.Repeat(line, 100), len(line) * (dataChunk / len(line))},
		{"a line longer than a chunk", long, dataChunk + 12},
		{"no LF", strings.Repeat("x", dataChunk+1), dataChunk + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := chunkEnd([]byte(tt.msg)); got != tt.want {
				t.Errorf("chunkEnd: got %d, want %d", got, tt.want)
			}
		})
	}
}

// FuzzReadReply reads whatever a relay might send as replies: no panic, a
// reply that is kept is no longer than maxReply and a line, and one that
// is taken starts with its code.
func FuzzReadReply(f *testing.F) {
	for _, s := range []string{"250 ok\r\n", "250\r\n", "250-a\r\n250 b\r\n", "250-a\r\n251 b\r\n250 c\r\n", "25", "abc\r\n", "250-\r\n250\r\n", "550 5.1.1 no\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &SMTPConn{r: bufio.NewReader(bytes.NewReader(data))}
		for range 64 {
			reply, err := c.readReply(250, true)
			if err != nil {
				if errors.Is(err, io.EOF) {
					return
				}
				continue
			}
			if len(reply) > maxReply+4096 || !strings.HasPrefix(reply, "250") {
				t.Fatalf("reply of %d bytes %.40q from %q", len(reply), reply, data)
			}
		}
	})
}
