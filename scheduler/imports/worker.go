package imports

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"herald/scheduler"
	"herald/store"
)

// DefaultBatchSize is how many lines a batch of a create-mode import
// holds. Large, as the addresses of a real file come in no order and land
// all over the email index: sorted, the larger the batch, the more of its
// rows share each page of the index it writes. The store writes it in
// short transactions all the same.
const DefaultBatchSize = 100_000

// mergeBatchSize and mergeBatchBytes bound the batches of the other
// modes, each written in one transaction, since a row may merge into
// what an earlier one wrote: short, so that other writers never wait long.
const (
	mergeBatchSize  = 5_000
	mergeBatchBytes = 4 << 20
)

// DefaultBatchBytes bounds what one batch holds in memory: a file with many
// or long columns flushes its batches before DefaultBatchSize lines, so an
// import's memory depends on this, not on the shape of the file.
const DefaultBatchBytes = 24 << 20

// DiskFullReason is why an import that met a full disk is paused.
const DiskFullReason = "the disk is full"

// Worker runs import jobs one at a time, in the background.
type Worker struct {
	st     *store.Store
	log    *slog.Logger
	signal scheduler.Signal
	// Idle is how long the worker sleeps when it has nothing to do and is not woken.
	Idle time.Duration
	// BatchSize is how many lines one transaction imports at most.
	BatchSize int
	// BatchBytes ends a batch early once the rows it holds pass this many bytes.
	BatchBytes int
	// Retry is how long a job paused by a full disk, or whose failure could
	// not be recorded, waits before it is tried again; each try that makes
	// no progress doubles the wait, up to RetryMax.
	Retry, RetryMax time.Duration
}

// NewWorker returns a worker; start it with Run.
func NewWorker(st *store.Store, log *slog.Logger) *Worker {
	return &Worker{st: st, log: log, Idle: 30 * time.Second, BatchSize: DefaultBatchSize,
		BatchBytes: DefaultBatchBytes, Retry: 15 * time.Second, RetryMax: 10 * time.Minute}
}

// Wake wakes the worker to look for a newly queued job.
func (w *Worker) Wake() { w.signal.Wake() }

// Run works through queued jobs until ctx ends. A job interrupted by the end
// of ctx, or by a crash, stays running and resumes on the next Run at the
// first line it had not committed. A job that meets a full disk is paused
// with its file kept, and tried again after a wait that grows while the
// disk stays full; it then resumes the same way.
func (w *Worker) Run(ctx context.Context) error {
	wait := w.Retry
	for {
		wake := w.signal.Next()
		j, err := w.st.NextImport(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, store.ErrNotFound):
			select {
			case <-ctx.Done():
				return nil
			case <-wake:
			case <-time.After(w.Idle):
			}
			continue
		case err != nil:
			w.log.Error("import: finding the next job", "err", err)
			if !sleep(ctx, 5*time.Second) {
				return nil
			}
			continue
		}
		progressed, err := w.process(ctx, j)
		if ctx.Err() != nil {
			return nil
		}
		if progressed {
			wait = w.Retry
		}
		if err == nil || w.settle(j, err, wait) {
			continue
		}
		if !sleep(ctx, wait) {
			return nil
		}
		wait = min(2*wait, w.RetryMax)
	}
}

// settle records how a job that stopped with err ended, and reports whether
// the worker may go straight on. A full disk pauses the job; any other
// error fails it, and its file is removed once the failure is recorded, so
// that a job is never left running without its file.
func (w *Worker) settle(j store.ImportJob, err error, wait time.Duration) bool {
	ctx := context.Background()
	if store.IsDiskFull(err) {
		if cur, cerr := w.st.Import(ctx, j.ID); cerr == nil {
			j = cur
		}
		paused, perr := w.st.PauseImport(ctx, j.ID, DiskFullReason)
		switch {
		case perr != nil:
			// It stays running, and is tried again all the same.
			w.log.Error("import: recording the pause", "job", j.ID, "err", perr)
		case !paused:
			w.log.Info("import cancelled", "job", j.ID)
			os.Remove(j.FilePath)
			return true
		}
		w.log.Error("import paused: the disk is full; free some space", "job", j.ID, "line", j.Line, "retry_in", wait)
		return false
	}
	w.log.Error("import failed", "job", j.ID, "err", err)
	if ferr := w.st.FinishImport(ctx, j.ID, store.ImportFailed, err.Error()); ferr != nil {
		w.log.Error("import: recording failure", "job", j.ID, "err", ferr)
		return false
	}
	os.Remove(j.FilePath)
	return true
}

// sleep waits for d, and reports false if ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// process imports a job from where it stands until the file ends, the job
// is cancelled, ctx ends or an error stops it; progressed is true once a
// batch was committed.
func (w *Worker) process(ctx context.Context, j store.ImportJob) (progressed bool, err error) {
	live, err := w.st.StartImport(ctx, j.ID)
	if err != nil {
		return false, err
	}
	if !live {
		// It ended, cancelled most likely, since NextImport chose it.
		os.Remove(j.FilePath)
		return false, nil
	}
	j.Status = store.ImportRunning
	if err := w.st.ImportCache(ctx, j, true); err != nil {
		return false, err
	}
	defer func() {
		w.st.ImportCache(context.Background(), j, false)
		if progressed {
			store.ReleaseMemory()
		}
	}()
	delim, _ := utf8.DecodeRuneInString(j.Delimiter)
	r, err := Open(j.FilePath, delim, j.Offset, j.Line)
	if err != nil {
		return false, fmt.Errorf("the uploaded file cannot be read any more: %v", err)
	}
	defer r.Close()
	w.log.Info("import running", "job", j.ID, "file", j.FileName, "from_line", j.Line)
	m := newMapper(j.Mapping)
	// The next batch is read and prepared while the last one is written,
	// on the other core: two batches at most are held at once.
	type read struct {
		b   store.ImportBatch
		eof bool
		err error
	}
	size, budget := w.BatchSize, w.BatchBytes
	if j.Mode != store.ImportCreate {
		size, budget = min(size, mergeBatchSize), min(budget, mergeBatchBytes)
	}
	batches, stop := make(chan read), make(chan struct{})
	go func() {
		defer close(batches)
		// A batch cut short by a crash is read again to the same end, so
		// that the rows it had written are the same ones.
		end := j.WindowEnd
		for {
			b, eof, err := readBatch(r, m, size, budget, end)
			end = 0
			b.Prepare(j.Mode)
			select {
			case batches <- read{b, eof, err}:
			case <-stop:
				return
			}
			if eof || err != nil {
				return
			}
		}
	}()
	defer func() {
		close(stop)
		for range batches {
		}
	}()
	for next := range batches {
		b, eof, err := next.b, next.eof, next.err
		if err != nil {
			return progressed, err
		}
		live, err := w.st.ApplyImportBatch(ctx, j, b)
		if err != nil {
			return progressed, err
		}
		if !live {
			w.log.Info("import cancelled", "job", j.ID)
			os.Remove(j.FilePath)
			return progressed, nil
		}
		progressed = true
		if eof {
			w.log.Info("import done", "job", j.ID)
			if err := w.st.FinishImport(ctx, j.ID, store.ImportDone, ""); err != nil {
				return progressed, err
			}
			os.Remove(j.FilePath)
			return progressed, nil
		}
		if ctx.Err() != nil {
			w.log.Info("import paused; it resumes at the next start", "job", j.ID, "line", b.NextLine)
			return progressed, ctx.Err()
		}
	}
	return progressed, errors.New("the file's reader stopped before its end") // it never does
}

// readBatch reads up to size lines, stopping early once the rows and errors
// read hold more than budget bytes, or, when end is not 0, exactly to the
// file offset end, whatever size and budget say; eof is true when the file
// is done.
func readBatch(r *Reader, m mapper, size, budget int, end int64) (store.ImportBatch, bool, error) {
	var b store.ImportBatch
	eof := false
	for held := 0; len(b.Rows)+len(b.Errors) < size && held <= budget || end > 0; {
		if end > 0 && r.Offset() >= end {
			break
		}
		rec, line, err := r.Read()
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			b.Errors = append(b.Errors, store.ImportError{Line: line, Reason: "This line is not valid CSV: " + pe.Err.Error() + "."})
			if errors.Is(pe.Err, io.ErrUnexpectedEOF) || errors.Is(pe.Err, csv.ErrQuote) {
				eof = true
				break
			}
			continue
		}
		if errors.Is(err, io.EOF) {
			eof = true
			break
		}
		if err != nil {
			return b, false, fmt.Errorf("reading line %d: %w", line, err)
		}
		row, reason, blank := m.row(rec)
		switch {
		case blank:
		case reason != "":
			b.Errors = append(b.Errors, store.ImportError{Line: line, Reason: reason})
			held += errorBytes + len(reason)
		default:
			row.Line = line
			b.Rows = append(b.Rows, row)
			held += rowBytes(rec, row)
		}
	}
	b.NextOffset, b.NextLine = r.Offset(), r.NextLine()
	return b, eof, nil
}

// Rough sizes, in bytes, of what a batch holds beyond the text itself: a
// row, a bad line, and one attribute or tag in a row.
const (
	rowOverhead  = 160
	errorBytes   = 48
	attrOverhead = 64
)

// rowBytes estimates the memory a row read from rec holds. The CSV reader
// keeps a record's fields in one string, so a row that keeps any of its text
// holds the whole record, ignored columns too.
func rowBytes(rec []string, r store.ImportRow) int {
	n := rowOverhead + attrOverhead*(len(r.Attributes)+len(r.Tags))
	for _, f := range rec {
		n += len(f)
	}
	return n
}

// mapper turns records into contacts according to a job's mapping.
type mapper struct {
	targets []string
	hasName bool
}

// emailColumn returns the index of the email column.
func (m mapper) emailColumn() int {
	for i, t := range m.targets {
		if t == TargetEmail {
			return i
		}
	}
	return 0
}

func newMapper(targets []string) mapper {
	m := mapper{targets: targets}
	for _, t := range targets {
		if t == TargetFirstName || t == TargetLastName {
			m.hasName = true
		}
	}
	return m
}

// row converts one record. blank is true for a record with nothing in it.
func (m mapper) row(rec []string) (row store.ImportRow, reason string, blank bool) {
	blank = true
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			blank = false
			break
		}
	}
	if blank {
		return row, "", true
	}
	for i, t := range m.targets {
		if i >= len(rec) {
			break
		}
		v := strings.TrimSpace(rec[i])
		if v == "" {
			continue
		}
		if !utf8.ValidString(v) {
			return row, fmt.Sprintf("Column %d is not valid UTF-8 text; save the file as UTF-8.", i+1), false
		}
		switch {
		case t == TargetEmail:
			row.Email = store.NormalizeEmail(v)
		case t == TargetFirstName:
			row.FirstName = v
		case t == TargetLastName:
			row.LastName = v
		case t == TargetFullName && !m.hasName:
			row.FirstName, row.LastName, _ = strings.Cut(v, " ")
			row.LastName = strings.TrimSpace(row.LastName)
		case t == TargetTags:
			// Mailchimp writes tags quoted: "a","b".
			for _, tag := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' }) {
				if tag = strings.Trim(strings.TrimSpace(tag), `"`); tag != "" {
					row.Tags = append(row.Tags, tag)
				}
			}
		case t == TargetAttributes:
			var obj map[string]any
			if err := json.Unmarshal([]byte(v), &obj); err != nil {
				return row, fmt.Sprintf("Column %d should hold a JSON object of attributes: %v.", i+1, err), false
			}
			for k, val := range obj {
				if msg := setAttribute(&row, AttributeKeyFor(k, i), val); msg != "" {
					return row, msg, false
				}
			}
		case strings.HasPrefix(t, "attribute:"):
			if msg := setAttribute(&row, strings.TrimPrefix(t, "attribute:"), Typed(v)); msg != "" {
				return row, msg, false
			}
		}
	}
	if row.Email == "" {
		return row, "There is no email address on this line.", false
	}
	if n := len(row.Attributes); n > store.MaxAttributes {
		return row, fmt.Sprintf("This line has %d attributes; a contact has at most %d. Import fewer columns or JSON keys as attributes.", n, store.MaxAttributes), false
	}
	if msg := store.CheckEmail(row.Email); msg != "" {
		return row, fmt.Sprintf("%q is not a valid email address.", rec[m.emailColumn()]), false
	}
	row.FirstName, row.LastName = store.CleanLine(row.FirstName), store.CleanLine(row.LastName)
	for name, v := range map[string]string{"first name": row.FirstName, "last name": row.LastName} {
		if len(v) > 200 || strings.ContainsFunc(v, unicode.IsControl) {
			return row, fmt.Sprintf("The %s must be one line of at most 200 characters.", name), false
		}
	}
	return row, "", false
}

// Typed reads a cell as the value it plainly is: true and false, numbers
// written plainly (42, -3.5; not 007, 1e3 or 12 digits and more, which are
// codes rather than amounts), or text.
func Typed(v string) any {
	switch v {
	case "true", "TRUE", "True":
		return true
	case "false", "FALSE", "False":
		return false
	}
	if len(strings.TrimLeft(v, "-")) > 11 {
		return v
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && strconv.FormatFloat(f, 'f', -1, 64) == v {
		return f
	}
	return v
}

// setAttribute adds an attribute; only text, numbers and true/false fit in one.
func setAttribute(row *store.ImportRow, k string, v any) string {
	switch v.(type) {
	case string, float64, bool:
	default:
		return fmt.Sprintf("Attribute %s must be text, a number or true/false.", k)
	}
	if row.Attributes == nil {
		row.Attributes = map[string]any{}
	}
	if s, ok := v.(string); ok {
		v = store.CleanText(s)
	}
	if msg := store.CheckAttribute(k, v); msg != "" {
		return msg
	}
	row.Attributes[k] = v
	return ""
}

// Mapper turns records, their values in the order of the targets it was
// made with, into contacts exactly as a CSV import does; import sources
// use it for the fields of their records.
type Mapper struct{ m mapper }

// NewMapper makes a Mapper for targets, as an import's mapping holds them.
func NewMapper(targets []string) Mapper { return Mapper{newMapper(targets)} }

// Row converts one record; reason says why it is not a contact, and blank
// marks one with nothing in it.
func (m Mapper) Row(rec []string) (row store.ImportRow, reason string, blank bool) {
	return m.m.row(rec)
}
