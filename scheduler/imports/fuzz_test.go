package imports

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzReadCSV feeds arbitrary files through Inspect and the batch reader: it
// must never panic, must read the header whole, must make progress on every
// read, and every line number it reports must lie inside the file.
func FuzzReadCSV(f *testing.F) {
	for _, seed := range []string{
		awkward,
		"email\na@example.com\n",
		"\ufeffemail;name\r\n\"x;y\";\"multi\r\nline\"\r\n",
		"email,name\n\"unterminated,\n",
		"a\tb\n1\t2\t3\n\n\n4\n",
		"\"\"\"\",\"\n",
		"",
		"email," + strings.Repeat("\"A quoted, long column name that goes on and on for a good while\",", 990) + "\na@example.com\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, content string) {
		p := filepath.Join(t.TempDir(), "f.csv")
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		h, err := Inspect(p)
		if err != nil {
			return
		}
		if h.DataOffset < 0 || h.DataOffset > int64(len(content)) || h.DataLine < 2 {
			t.Fatalf("header: offset %d line %d in %d bytes", h.DataOffset, h.DataLine, len(content))
		}
		body := strings.TrimPrefix(content, "\ufeff")
		whole := newReader(strings.NewReader(body), h.Delimiter)
		first, err := whole.Read()
		if err != nil || len(first) != len(h.Columns) || int64(len(content)-len(body))+whole.InputOffset() != h.DataOffset {
			t.Fatalf("header: got %d columns ending at %d, but the whole file starts with %d columns ending at %d (%v)",
				len(h.Columns), h.DataOffset, len(first), whole.InputOffset(), err)
		}
		r, err := Open(p, h.Delimiter, h.DataOffset, h.DataLine)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		lines := 1
		for _, c := range content {
			if c == '\n' {
				lines++
			}
		}
		m := newMapper(AutoMap(h.Columns, nil))
		last := r.Offset()
		for i := 0; i < len(content)+2; i++ {
			rec, line, err := r.Read()
			if errors.Is(err, io.EOF) {
				return
			}
			if line < h.DataLine || line > lines {
				t.Fatalf("line %d outside %d..%d", line, h.DataLine, lines)
			}
			if err == nil {
				row, reason, _ := m.row(rec)
				if reason == "" && row.Email != "" && !utf8.ValidString(row.Email) {
					t.Fatalf("accepted invalid UTF-8 address %q", row.Email)
				}
			}
			if r.Offset() < last {
				t.Fatalf("offset went back from %d to %d", last, r.Offset())
			}
			last = r.Offset()
		}
		t.Fatal("the reader did not reach the end")
	})
}
