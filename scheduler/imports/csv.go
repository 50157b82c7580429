// Package imports reads contact CSV files and runs import jobs in the
// background, resuming exactly where they stopped.
package imports

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"herald/store"
)

// utf8BOM starts files saved by Excel and some other tools.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// MaxColumns is the most columns a file may have. A contact holds at most
// store.MaxAttributes attributes besides its email, names and tags, so a
// wider file is mostly columns to ignore, and past this many its mapping
// step could not be worked through: such a file is refused at upload.
const MaxColumns = 1000

// MaxHeaderBytes is the longest first line Inspect reads. Column names are
// short, so a longer first line is not a header: it has no line break, or
// it opens a quote that never closes.
const MaxHeaderBytes = 1 << 20

// Header is what Inspect learns from the start of a file.
type Header struct {
	Columns   []string
	Delimiter rune
	// DataOffset is where the first record after the header starts.
	DataOffset int64
	// DataLine is the line number of that record; the header is line 1.
	DataLine int
}

// Inspect reads a file's header: it skips a UTF-8 byte order mark, picks the
// delimiter (comma, semicolon or tab) the header line uses most, and reads the
// column names, all of them or none.
func Inspect(path string) (Header, error) {
	f, err := os.Open(path)
	if err != nil {
		return Header{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Header{}, err
	}
	// One byte past the limit tells a header that ends at the limit from
	// one that goes on.
	start := make([]byte, min(fi.Size(), int64(len(utf8BOM)+MaxHeaderBytes+1)))
	n, err := io.ReadFull(f, start)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return Header{}, err
	}
	start = start[:n]
	var bom int64
	if bytes.HasPrefix(start, utf8BOM) {
		start, bom = start[len(utf8BOM):], int64(len(utf8BOM))
	}
	if len(bytes.TrimSpace(start)) == 0 {
		return Header{}, errors.New("the file is empty")
	}
	h := Header{Delimiter: sniffDelimiter(start)}
	r := newReader(bytes.NewReader(start), h.Delimiter)
	cols, err := r.Read()
	if err != nil {
		return Header{}, fmt.Errorf("the first line cannot be read as CSV column names: %v", err)
	}
	if r.InputOffset() > MaxHeaderBytes {
		return Header{}, fmt.Errorf("the first line is longer than %d MB, the most Herald reads of it. The first line must be the column names, "+
			"such as email and first name, with each contact on a line after it; check that it closes every quote it opens", MaxHeaderBytes>>20)
	}
	if len(cols) > MaxColumns {
		return Header{}, fmt.Errorf("the first line has %d columns, and Herald reads at most %d (a contact holds at most %d attributes besides its email, names and tags). "+
			"Remove the columns you do not need, then upload the file again", len(cols), MaxColumns, store.MaxAttributes)
	}
	h.DataOffset = bom + r.InputOffset()
	h.DataLine = lineAfter(r, cols, 0)
	for i, c := range cols {
		c = strings.TrimSpace(c)
		if c == "" {
			c = fmt.Sprintf("Column %d", i+1)
		}
		h.Columns = append(h.Columns, c)
	}
	return h, nil
}

// sniffDelimiter counts the candidates on the first line, outside quotes.
func sniffDelimiter(b []byte) rune {
	counts := map[rune]int{}
	quoted := false
	for _, c := range string(b) {
		switch {
		case c == '"':
			quoted = !quoted
		case c == '\n' && !quoted:
			goto done
		case !quoted && (c == ',' || c == ';' || c == '\t'):
			counts[c]++
		}
	}
done:
	best := ','
	for _, c := range []rune{';', '\t'} {
		if counts[c] > counts[best] {
			best = c
		}
	}
	return best
}

func newReader(r io.Reader, delim rune) *csv.Reader {
	cr := csv.NewReader(r)
	cr.Comma = delim
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = true
	return cr
}

// lineAfter returns the line on which the record after rec starts: a quoted
// field may span lines, so count the line breaks in the last field.
func lineAfter(r *csv.Reader, rec []string, firstLine int) int {
	last := len(rec) - 1
	line, _ := r.FieldPos(last)
	return firstLine + line + strings.Count(rec[last], "\n") + 1
}

// Reader reads records from a position in a file, reporting each record's
// line number and where the next one starts.
type Reader struct {
	f        *os.File
	cr       *csv.Reader
	base     int64
	lineBase int
	next     int
}

// Open starts reading path at offset, whose record is on line.
func Open(path string, delim rune, offset int64, line int) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return &Reader{f: f, cr: newReader(bufio.NewReaderSize(f, 256<<10), delim), base: offset, lineBase: line - 1, next: line}, nil
}

// Close closes the file.
func (r *Reader) Close() error { return r.f.Close() }

// Read returns the next record and the line it starts on. At the end of the
// file it returns io.EOF; a record that cannot be parsed returns a
// *csv.ParseError, after which reading can go on.
func (r *Reader) Read() ([]string, int, error) {
	line := r.next
	rec, err := r.cr.Read()
	var pe *csv.ParseError
	switch {
	case errors.As(err, &pe):
		r.next = r.lineBase + pe.Line + 1
		return nil, r.lineBase + pe.StartLine, err
	case err != nil:
		return nil, line, err
	}
	start, _ := r.cr.FieldPos(0)
	r.next = lineAfter(r.cr, rec, r.lineBase)
	return rec, r.lineBase + start, nil
}

// Offset returns where the next unread record starts in the file.
func (r *Reader) Offset() int64 { return r.base + r.cr.InputOffset() }

// NextLine returns the line the next unread record starts on.
func (r *Reader) NextLine() int { return r.next }
