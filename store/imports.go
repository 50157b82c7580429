package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Import modes: what an import does with the addresses in its file.
const (
	ImportCreate      = "create"
	ImportUpsert      = "upsert"
	ImportUnsubscribe = "unsubscribe"
	ImportBlock       = "block"
)

// ImportModes lists the modes an import can run in.
var ImportModes = []string{ImportCreate, ImportUpsert, ImportUnsubscribe, ImportBlock}

// Import job statuses. A draft waits for its column mapping; a paused job
// met a full disk, keeps its file and its place, and is tried again.
const (
	ImportDraft     = "draft"
	ImportQueued    = "queued"
	ImportRunning   = "running"
	ImportPaused    = "paused"
	ImportDone      = "done"
	ImportFailed    = "failed"
	ImportCancelled = "cancelled"
)

// maxImportErrors caps the row errors kept per job; the count goes on.
const maxImportErrors = 10000

// ImportJob is a CSV import, from upload to done. Offset and Line say where
// the next unread record starts, so an interrupted job resumes exactly there.
type ImportJob struct {
	ID       int64
	Status   string
	FileName string
	FilePath string
	FileSize int64
	Mode     string
	ListIDs  []int64
	Tags     []string
	Headers  []string
	// Mapping gives each column's target: email, first_name, last_name,
	// full_name, tags, attributes_json, attribute:<key> or ignore.
	Mapping   []string
	Delimiter string
	Offset    int64
	Line      int
	// WindowEnd, WindowRows and WindowDone say, while a window of the file
	// is being written (see ApplyImportBatch), where it ends, how many rows
	// it has and how many of them are written.
	WindowEnd  int64
	WindowRows int
	WindowDone int
	Total      int
	Created    int
	Updated    int
	Skipped    int
	Invalid    int
	Error      string
	CreatedAt  time.Time
	StartedAt  time.Time
	FinishedAt time.Time
	// Origin is "csv" for an uploaded file, "source" for a source's run.
	Origin string
}

// Progress is the share of the file read so far, from 0 to 1.
func (j ImportJob) Progress() float64 {
	if j.Status == ImportDone {
		return 1
	}
	if j.FileSize <= 0 {
		return 0
	}
	read := float64(j.Offset)
	if j.WindowEnd > j.Offset && j.WindowRows > 0 {
		read += float64(j.WindowEnd-j.Offset) * float64(j.WindowDone) / float64(j.WindowRows)
	}
	return min(read/float64(j.FileSize), 1)
}

// ImportError is why one line of a file was not imported.
type ImportError struct {
	Line   int
	Reason string
}

// ImportSetup is what the user chooses for an import.
type ImportSetup struct {
	Mode    string
	ListIDs []int64
	Tags    []string
	Mapping []string
}

// Validate checks the setup against the file's columns.
func (s ImportSetup) Validate(headers []string) map[string]string {
	errs := map[string]string{}
	if !contains(ImportModes, s.Mode) {
		errs["mode"] = "Mode must be one of " + strings.Join(ImportModes, ", ") + "."
	}
	if len(s.Mapping) != len(headers) {
		errs["mapping"] = fmt.Sprintf("The mapping names %d columns but the file has %d.", len(s.Mapping), len(headers))
		return errs
	}
	emails := 0
	seen := map[string]bool{}
	for i, t := range s.Mapping {
		switch {
		case t == "email":
			emails++
		case t == "ignore" || t == "first_name" || t == "last_name" || t == "full_name" || t == "tags" || t == "attributes_json":
		case strings.HasPrefix(t, "attribute:") && AttributeKey.MatchString(strings.TrimPrefix(t, "attribute:")):
		default:
			errs["mapping"] = fmt.Sprintf("Column %q: %q is not something a column can be imported as.", headers[i], t)
		}
		if t != "ignore" && seen[t] {
			errs["mapping"] = fmt.Sprintf("Two columns are both imported as %s; choose one.", strings.TrimPrefix(t, "attribute:"))
		}
		seen[t] = true
	}
	if emails != 1 {
		errs["mapping"] = "Choose exactly one column holding the email address."
	}
	if n := countPrefixed(s.Mapping, "attribute:"); n > MaxAttributes {
		errs["mapping"] = fmt.Sprintf("%d columns are imported as attributes, and a contact has at most %d. Set the columns you do not need to Ignore.",
			n, MaxAttributes)
	}
	if msg := checkTags(s.Tags); msg != "" && len(s.Tags) > 0 {
		errs["tags"] = msg
	}
	return errs
}

func countPrefixed(list []string, prefix string) int {
	n := 0
	for _, v := range list {
		if strings.HasPrefix(v, prefix) {
			n++
		}
	}
	return n
}

const importColumns = `id, status, file_name, file_path, file_size, mode, list_ids, tags, headers, mapping, delimiter,
read_offset, line, total, created, updated, skipped, invalid, error, created_at, started_at, finished_at, origin, window_end, window_rows, window_done`

func scanImport(row scanner) (ImportJob, error) {
	var j ImportJob
	var lists, tags, headers, mapping string
	var created int64
	var started, finished sql.NullInt64
	err := row.Scan(&j.ID, &j.Status, &j.FileName, &j.FilePath, &j.FileSize, &j.Mode, &lists, &tags, &headers, &mapping, &j.Delimiter,
		&j.Offset, &j.Line, &j.Total, &j.Created, &j.Updated, &j.Skipped, &j.Invalid, &j.Error, &created, &started, &finished, &j.Origin,
		&j.WindowEnd, &j.WindowRows, &j.WindowDone)
	if errors.Is(err, sql.ErrNoRows) {
		return j, ErrNotFound
	}
	if err != nil {
		return j, err
	}
	for _, f := range []struct {
		s   string
		dst any
	}{{lists, &j.ListIDs}, {tags, &j.Tags}, {headers, &j.Headers}, {mapping, &j.Mapping}} {
		if err := json.Unmarshal([]byte(f.s), f.dst); err != nil {
			return j, fmt.Errorf("import %d: %w", j.ID, err)
		}
	}
	j.CreatedAt, j.StartedAt, j.FinishedAt = fromUnix(created), fromNullUnix(started), fromNullUnix(finished)
	return j, nil
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// CreateImport records an uploaded file. With a setup the job is queued at
// once; without one it is a draft waiting for its mapping.
func (s *Store) CreateImport(ctx context.Context, j ImportJob, setup *ImportSetup) (ImportJob, error) {
	j.Status = ImportDraft
	j.Mode = ImportCreate
	j.Mapping = make([]string, len(j.Headers))
	if setup != nil {
		if err := s.checkSetup(ctx, *setup, j.Headers); err != nil {
			return ImportJob{}, err
		}
		j.Status, j.Mode, j.ListIDs, j.Tags, j.Mapping = ImportQueued, setup.Mode, setup.ListIDs, normalizeTags(setup.Tags), setup.Mapping
	}
	var id int64
	err := s.w.QueryRowContext(ctx, `INSERT INTO import_jobs (status, file_name, file_path, file_size, mode, list_ids, tags, headers, mapping,
delimiter, read_offset, line, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		j.Status, j.FileName, j.FilePath, j.FileSize, j.Mode, jsonText(orEmpty(j.ListIDs)), jsonText(orEmpty(j.Tags)), jsonText(orEmpty(j.Headers)),
		jsonText(j.Mapping), j.Delimiter, j.Offset, j.Line, unix(s.now())).Scan(&id)
	if err != nil {
		return ImportJob{}, fmt.Errorf("store: create import: %w", err)
	}
	return s.Import(ctx, id)
}

// checkSetup validates a setup, including that its lists exist.
func (s *Store) checkSetup(ctx context.Context, setup ImportSetup, headers []string) error {
	errs := setup.Validate(headers)
	for _, id := range setup.ListIDs {
		if _, err := s.List(ctx, id); errors.Is(err, ErrNotFound) {
			errs["list_ids"] = fmt.Sprintf("List %d does not exist.", id)
		} else if err != nil {
			return err
		}
	}
	if len(errs) > 0 {
		return &ValidationError{Fields: errs}
	}
	return nil
}

// QueueImport saves a draft's setup and queues it.
func (s *Store) QueueImport(ctx context.Context, id int64, setup ImportSetup) (ImportJob, error) {
	j, err := s.Import(ctx, id)
	if err != nil {
		return j, err
	}
	if j.Status != ImportDraft {
		return j, &ValidationError{Fields: map[string]string{"status": "This import has already started."}}
	}
	if err := s.checkSetup(ctx, setup, j.Headers); err != nil {
		return j, err
	}
	_, err = s.w.ExecContext(ctx, `UPDATE import_jobs SET status = 'queued', mode = ?, list_ids = ?, tags = ?, mapping = ? WHERE id = ? AND status = 'draft'`,
		setup.Mode, jsonText(orEmpty(setup.ListIDs)), jsonText(orEmpty(normalizeTags(setup.Tags))), jsonText(setup.Mapping), id)
	if err != nil {
		return j, fmt.Errorf("store: queue import %d: %w", id, err)
	}
	return s.Import(ctx, id)
}

// Import returns one import job.
func (s *Store) Import(ctx context.Context, id int64) (ImportJob, error) {
	j, err := scanImport(s.r.QueryRowContext(ctx, `SELECT `+importColumns+` FROM import_jobs WHERE id = ?`, id))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return j, fmt.Errorf("store: import %d: %w", id, err)
	}
	return j, err
}

// Imports returns the newest import jobs.
func (s *Store) Imports(ctx context.Context, limit int) ([]ImportJob, error) {
	return queryAll(ctx, s, "imports", scanImport, `SELECT `+importColumns+` FROM import_jobs ORDER BY id DESC LIMIT ?`, limit)
}

// ImportsPage returns one page of import jobs, newest first, and how many
// there are in all.
func (s *Store) ImportsPage(ctx context.Context, o Order, limit, offset int) ([]ImportJob, int, error) {
	window, args, _, _, orderBy := o.sql(ImportSorts, "id", "created_at")
	// A source's runs are listed with the source.
	return queryPage(ctx, s, "imports", scanImport, `SELECT count(*) FROM import_jobs WHERE origin = 'csv'`+window,
		`SELECT `+importColumns+` FROM import_jobs WHERE origin = 'csv'`+window+orderBy+` LIMIT ? OFFSET ?`, args, limit, offset)
}

// ImportSorts are the fields the imports sort by, beyond id.
var ImportSorts = map[string]string{"created_at": "created_at", "status": "status", "file_name": "file_name"}

// ImportErrors returns the first row errors of a job, by line.
func (s *Store) ImportErrors(ctx context.Context, id int64, limit int) ([]ImportError, error) {
	return queryAll(ctx, s, "import errors", func(row scanner) (ImportError, error) {
		var e ImportError
		return e, row.Scan(&e.Line, &e.Reason)
	}, `SELECT line, reason FROM import_errors WHERE job_id = ? ORDER BY line LIMIT ?`, id, limit)
}

// NextImport returns the job the importer should work on: one left running
// by a stop or crash, or paused, first, then the oldest queued one.
func (s *Store) NextImport(ctx context.Context) (ImportJob, error) {
	return scanImport(s.r.QueryRowContext(ctx, `SELECT `+importColumns+` FROM import_jobs
WHERE status IN ('running', 'paused', 'queued') AND origin = 'csv' AND `+queueNotPaused(QueueImports)+` ORDER BY status = 'queued', id LIMIT 1`))
}

// StartImport marks a queued, running or paused job running and clears why
// it was paused. It returns false when the job has ended meanwhile, as when
// it was cancelled.
func (s *Store) StartImport(ctx context.Context, id int64) (bool, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE import_jobs SET status = 'running', error = '', started_at = COALESCE(started_at, ?)
WHERE id = ? AND status IN ('queued', 'running', 'paused')`, unix(s.now()), id)
	if err != nil {
		return false, fmt.Errorf("store: start import %d: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// PauseImport marks a running job paused, saying why; the importer tries it
// again later, from where it stopped. It returns false when the job was no
// longer running, as when it was cancelled.
func (s *Store) PauseImport(ctx context.Context, id int64, reason string) (bool, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE import_jobs SET status = 'paused', error = ? WHERE id = ? AND status = 'running'`, reason, id)
	if err != nil {
		return false, fmt.Errorf("store: pause import %d: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// FinishImport ends a job that has not ended yet as done, failed or
// cancelled, with a reason for failure.
func (s *Store) FinishImport(ctx context.Context, id int64, status, reason string) error {
	err := s.Tx(ctx, func(tx *sql.Tx) error { return s.finishImport(ctx, tx, id, status, reason) })
	if err != nil {
		return fmt.Errorf("store: finish import %d: %w", id, err)
	}
	return nil
}

// finishImport is FinishImport inside a transaction.
func (s *Store) finishImport(ctx context.Context, tx *sql.Tx, id int64, status, reason string) error {
	res, err := tx.ExecContext(ctx, `UPDATE import_jobs SET status = ?, error = ?, finished_at = ? WHERE id = ? AND status IN ('queued', 'running', 'paused')`,
		status, reason, unix(s.now()), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	return s.emit(ctx, tx, EventImportFinished, func() (any, error) {
		d := ImportEventData{ID: id}
		var finished int64
		err := tx.QueryRowContext(ctx, `SELECT status, file_name, total, created, updated, skipped, invalid, error, finished_at FROM import_jobs WHERE id = ?`, id).
			Scan(&d.Status, &d.FileName, &d.Total, &d.Created, &d.Updated, &d.Skipped, &d.Invalid, &d.Error, &finished)
		d.FinishedAt = fromUnix(finished)
		return d, err
	})
}

// ImportEventData is what import.finished carries: how an import ended and
// what it did. Contacts an import creates or changes are not announced one
// by one; this event sums them up.
type ImportEventData struct {
	ID         int64     `json:"id"`
	Status     string    `json:"status"`
	FileName   string    `json:"file_name"`
	Total      int       `json:"total"`
	Created    int       `json:"created"`
	Updated    int       `json:"updated"`
	Skipped    int       `json:"skipped"`
	Invalid    int       `json:"invalid"`
	Error      string    `json:"error"`
	FinishedAt time.Time `json:"finished_at"`
}

// CancelImport stops a draft, queued, running or paused job; the rows
// already imported stay.
func (s *Store) CancelImport(ctx context.Context, id int64) error {
	res, err := s.w.ExecContext(ctx, `UPDATE import_jobs SET status = 'cancelled', finished_at = ? WHERE id = ? AND status IN ('draft', 'queued', 'running', 'paused')
	AND origin = 'csv'`, unix(s.now()), id)
	if err != nil {
		return fmt.Errorf("store: cancel import %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		j, err := s.Import(ctx, id)
		if err != nil {
			return err
		}
		if j.Origin == "source" && j.Status == ImportRunning {
			return conflict("this import is a source's run: disable or delete the source to stop it")
		}
		return &ValidationError{Fields: map[string]string{"status": "This import has already ended."}}
	}
	return nil
}

// ImportRow is one valid contact read from a file.
type ImportRow struct {
	Email      string         `json:"e"`
	FirstName  string         `json:"f,omitempty"`
	LastName   string         `json:"l,omitempty"`
	Attributes map[string]any `json:"a,omitempty"`
	Tags       []string       `json:"-"`
	// Line is the line of the file the row starts on.
	Line int `json:"-"`
}

// ImportBatch is the next stretch of a file: its valid rows, its bad lines,
// and where the file continues.
type ImportBatch struct {
	Rows       []ImportRow
	Errors     []ImportError
	NextOffset int64
	NextLine   int

	// prepared are Rows as they will be written, and docs their JSON, for
	// each part a transaction writes; Prepare makes them outside it.
	prepared []ImportRow
	docs     []string
}

// Prepare does before the batch's transaction what writing it needs no
// database for: one row per address, in the email index's order, and the
// JSON that carries them into SQLite. The importer does it for the next
// batch while the last is written.
func (b *ImportBatch) Prepare(mode string) {
	b.prepared = dedupeRows(b.Rows, mode != ImportCreate)
	sortByEmail(b.prepared)
	size := len(b.prepared)
	if mode == ImportCreate {
		size = importPart
	}
	b.docs = b.docs[:0]
	for i := 0; i < len(b.prepared); i += size {
		b.docs = append(b.docs, jsonText(b.prepared[i:min(i+size, len(b.prepared))]))
	}
}

// importPart is how many rows one transaction of a create-mode import
// writes: its batches, of many more lines, are written in parts, so that
// every other writer (a password reset, an open, a campaign's outcomes)
// waits for one short transaction at most. Sorted by address, the parts
// of a batch touch different pages of the email index, so a batch writes
// each page once all the same.
const importPart = 2_000

// The writer's page cache while an import runs holds the pages of the
// email and name indexes that a batch touches, which are all over them
// since a file's addresses come in no order: without it each is read again
// from the file and written out more than once a batch. It is sized to the
// contacts there will be, about 96 bytes of index each, from 64 MiB to
// 256 MiB; SQLite's default, 2 MiB, comes back when the import ends.
const (
	importCacheMin     = 64 << 20
	importCacheMax     = 256 << 20
	importCacheContact = 96
	// importLineBytes is a guess at a line's length, to count a file's
	// contacts from its size.
	importLineBytes = 64
)

// ImportCache gives the writer a larger page cache while import j runs
// (on), or its default back.
func (s *Store) ImportCache(ctx context.Context, j ImportJob, on bool) error {
	size := -2000 // SQLite's default, in KiB
	if on {
		var contacts int64
		if err := s.w.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM contacts`).Scan(&contacts); err != nil {
			return fmt.Errorf("store: import cache: %w", err)
		}
		bytes := min(max((contacts+j.FileSize/importLineBytes)*importCacheContact, importCacheMin), importCacheMax)
		size = -int(bytes >> 10)
	}
	_, err := s.w.ExecContext(ctx, fmt.Sprintf("PRAGMA cache_size = %d", size))
	return err
}

// ApplyImportBatch writes one batch with the job's progress, so that after
// a crash the job resumes at the first line not yet written. A create-mode
// batch is written in parts of importPart rows, each in a transaction of
// its own that counts them and records how many rows of the batch are done
// (the job's WindowDone; WindowEnd and WindowRows say which batch), the
// last moving the job past the batch; a job that finds itself in the
// middle of this batch, as after a crash, goes on from the next row. The
// worker reads that batch again to the same end. A batch of another mode, which may merge a
// row into what an earlier one wrote, is written in one transaction. It
// returns false if the job was cancelled meanwhile.
func (s *Store) ApplyImportBatch(ctx context.Context, j ImportJob, b ImportBatch) (bool, error) {
	live := true
	if j.Mode != ImportCreate {
		err := s.Tx(ctx, func(tx *sql.Tx) error {
			var err error
			live, err = s.applyImportBatch(ctx, tx, j, b)
			return err
		})
		if err != nil {
			return false, fmt.Errorf("store: import %d batch: %w", j.ID, err)
		}
		return live, nil
	}
	if b.prepared == nil {
		b.Prepare(j.Mode)
	}
	done := 0
	if j.WindowEnd == b.NextOffset && j.WindowRows == len(b.prepared) {
		done = min(j.WindowDone, len(b.prepared))
	}
	for live {
		end := min(done+importPart, len(b.prepared))
		err := s.Tx(ctx, func(tx *sql.Tx) error {
			var err error
			live, err = s.applyImportPart(ctx, tx, j, b, done, end)
			return err
		})
		if err != nil {
			return false, fmt.Errorf("store: import %d batch: %w", j.ID, err)
		}
		if done = end; done == len(b.prepared) {
			break
		}
	}
	return live, nil
}

// applyImportPart writes rows [from, to) of a prepared create-mode batch,
// counting them in the job's total as it goes, and with the last the
// batch's bad lines, its repeats and the job's move past it.
func (s *Store) applyImportPart(ctx context.Context, tx *sql.Tx, j ImportJob, b ImportBatch, from, to int) (bool, error) {
	if live, err := importRunning(ctx, tx, j.ID); !live || err != nil {
		return false, err
	}
	w := importWriter{s: s, tx: tx, ctx: ctx, job: j, now: unix(s.now())}
	var c importCounts
	if from < to {
		doc := ""
		if from%importPart == 0 && from/importPart < len(b.docs) {
			doc = b.docs[from/importPart]
		} else {
			doc = jsonText(b.prepared[from:to])
		}
		var err error
		if c, err = w.write(b.prepared[from:to], doc); err != nil {
			return false, err
		}
	}
	if to < len(b.prepared) {
		_, err := tx.ExecContext(ctx, `UPDATE import_jobs SET window_end = ?, window_rows = ?, window_done = ?, total = total + ?,
created = created + ?, skipped = skipped + ? WHERE id = ?`, b.NextOffset, len(b.prepared), to, to-from, c.created, c.skipped, j.ID)
		return err == nil, err
	}
	if err := w.rowErrors(b.Errors); err != nil {
		return false, err
	}
	// A repeat within the batch was skipped.
	repeats := len(b.Rows) - len(b.prepared)
	_, err := tx.ExecContext(ctx, `UPDATE import_jobs SET read_offset = ?, line = ?, window_end = 0, window_rows = 0, window_done = 0,
total = total + ?, created = created + ?, skipped = skipped + ?, invalid = invalid + ? WHERE id = ?`,
		b.NextOffset, b.NextLine, to-from+repeats+len(b.Errors), c.created, c.skipped+repeats, len(b.Errors), j.ID)
	return err == nil, err
}

// importRunning reports whether an import is still running, as one
// cancelled meanwhile writes nothing more.
func importRunning(ctx context.Context, tx *sql.Tx, id int64) (bool, error) {
	var status string
	if err := tx.QueryRowContext(ctx, `SELECT status FROM import_jobs WHERE id = ?`, id).Scan(&status); err != nil {
		return false, err
	}
	return status == ImportRunning, nil
}

// applyImportBatch writes a whole batch and the job's progress inside a
// transaction.
func (s *Store) applyImportBatch(ctx context.Context, tx *sql.Tx, j ImportJob, b ImportBatch) (bool, error) {
	if live, err := importRunning(ctx, tx, j.ID); !live || err != nil {
		return false, err
	}
	w := importWriter{s: s, tx: tx, ctx: ctx, job: j, now: unix(s.now())}
	kept, capped, err := w.capAttributes(b.Rows)
	if err != nil {
		return false, err
	}
	rows, doc := b.prepared, ""
	if len(capped) > 0 || len(b.docs) != 1 {
		rows = dedupeRows(kept, j.Mode != ImportCreate)
		sortByEmail(rows)
		doc = jsonText(rows)
	} else {
		doc = b.docs[0]
	}
	c, err := w.write(rows, doc)
	if err != nil {
		return false, err
	}
	bad := slices.Concat(b.Errors, capped)
	if err := w.rowErrors(bad); err != nil {
		return false, err
	}
	// A repeat within the batch was merged (counted as an update) or,
	// when only adding, skipped.
	if repeats := len(kept) - len(rows); j.Mode == ImportCreate {
		c.skipped += repeats
	} else {
		c.updated += repeats
	}
	_, err = tx.ExecContext(ctx, `UPDATE import_jobs SET read_offset = ?, line = ?, total = total + ?, created = created + ?,
updated = updated + ?, skipped = skipped + ?, invalid = invalid + ? WHERE id = ?`,
		b.NextOffset, b.NextLine, len(b.Rows)+len(b.Errors), c.created, c.updated, c.skipped, len(bad), j.ID)
	return err == nil, err
}

// sortByEmail sorts rows by address, ignoring case as the email index
// does. A file's addresses come in no order, and written as they come each
// would land on a page of the index far from the last; in order, each page
// is done with before the next, and the batch writes each page it touches
// once.
func sortByEmail(rows []ImportRow) {
	keys := make([]string, len(rows))
	order := make([]int, len(rows))
	for i, r := range rows {
		keys[i], order[i] = strings.ToLower(r.Email), i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(keys[a], keys[b]) })
	sorted := make([]ImportRow, len(rows))
	for i, o := range order {
		sorted[i] = rows[o]
	}
	copy(rows, sorted)
}

// dedupeRows keeps one row per address, ignoring case, the same way the
// database treats a repeat in a later batch: without merge the first row
// wins; with merge later non-empty values win and attributes and tags add up.
func dedupeRows(rows []ImportRow, merge bool) []ImportRow {
	index := make(map[string]int, len(rows))
	merged := map[int]bool{}
	out := make([]ImportRow, 0, len(rows))
	for _, r := range rows {
		key := strings.ToLower(r.Email)
		i, ok := index[key]
		if !ok {
			index[key] = len(out)
			out = append(out, r)
			continue
		}
		if !merge {
			continue
		}
		m := &out[i]
		if !merged[i] {
			// The first row's attributes and tags stay as they were in rows.
			merged[i] = true
			m.Attributes, m.Tags = maps.Clone(m.Attributes), slices.Clone(m.Tags)
		}
		if r.FirstName != "" {
			m.FirstName = r.FirstName
		}
		if r.LastName != "" {
			m.LastName = r.LastName
		}
		for k, v := range r.Attributes {
			if m.Attributes == nil {
				m.Attributes = map[string]any{}
			}
			m.Attributes[k] = v
		}
		m.Tags = append(m.Tags, r.Tags...)
	}
	return out
}

// capAttributes sets apart the rows whose attributes, merged into those
// their contact already has and those of earlier rows for the same address,
// would pass MaxAttributes: each becomes a bad line, and the others go on
// in order. Only modes that merge repeats can grow a contact this way.
func (w importWriter) capAttributes(rows []ImportRow) (kept []ImportRow, bad []ImportError, err error) {
	if w.job.Mode == ImportCreate {
		return rows, nil, nil
	}
	// What each address's rows bring is at most the sum of their attributes;
	// only addresses that could pass the cap with that are followed key by key.
	adds := map[string]int{}
	for _, r := range rows {
		adds[strings.ToLower(r.Email)] += len(r.Attributes)
	}
	followed := map[string]map[string]bool{}
	if w.job.Mode == ImportUpsert {
		if followed, err = w.fullContacts(adds); err != nil {
			return nil, nil, err
		}
	}
	for email, n := range adds {
		if n > MaxAttributes && followed[email] == nil {
			followed[email] = map[string]bool{}
		}
	}
	if len(followed) == 0 {
		return rows, nil, nil
	}
	kept = make([]ImportRow, 0, len(rows))
	for _, r := range rows {
		keys, ok := followed[strings.ToLower(r.Email)]
		if !ok {
			kept = append(kept, r)
			continue
		}
		n := len(keys)
		for k := range r.Attributes {
			if !keys[k] {
				n++
			}
		}
		if n > MaxAttributes {
			bad = append(bad, ImportError{Line: r.Line, Reason: fmt.Sprintf(
				"With this line, %s would have %d attributes; a contact has at most %d. Import fewer columns as attributes, or remove some from the contact first.",
				r.Email, n, MaxAttributes)})
			continue
		}
		for k := range r.Attributes {
			keys[k] = true
		}
		kept = append(kept, r)
	}
	return kept, bad, nil
}

// fullContacts returns the attribute names of the existing contacts whose
// attributes, with adds more, could pass MaxAttributes, by lower-cased address.
func (w importWriter) fullContacts(adds map[string]int) (map[string]map[string]bool, error) {
	pairs := make([][2]any, 0, len(adds))
	for email, n := range adds {
		if n > 0 {
			pairs = append(pairs, [2]any{email, n})
		}
	}
	out := map[string]map[string]bool{}
	if len(pairs) == 0 {
		return out, nil
	}
	rows, err := w.tx.QueryContext(w.ctx, `SELECT c.email, c.attributes FROM json_each(?) v JOIN contacts c ON c.email = v.value ->> 0
WHERE (SELECT count(*) FROM json_each(c.attributes)) + (v.value ->> 1) > ?`, jsonText(pairs), MaxAttributes)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var email, attrs string
		if err := rows.Scan(&email, &attrs); err != nil {
			return nil, err
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(attrs), &m); err != nil {
			return nil, fmt.Errorf("contact %s attributes: %w", email, err)
		}
		keys := make(map[string]bool, len(m))
		for k := range m {
			keys[k] = true
		}
		out[strings.ToLower(email)] = keys
	}
	return out, rows.Err()
}

type importCounts struct{ created, updated, skipped int }

// importWriter writes a batch with a handful of set-based statements: rows
// travel as one JSON argument and SQLite's json_each spreads them out.
type importWriter struct {
	s   *Store
	tx  *sql.Tx
	ctx context.Context
	job ImportJob
	now int64
}

func (w importWriter) write(rows []ImportRow, doc string) (importCounts, error) {
	var c importCounts
	if len(rows) == 0 {
		return c, nil
	}
	existing := map[string]int64{}
	if w.job.Mode != ImportCreate {
		// Create mode inserts only new addresses, so whatever it returns is new.
		var err error
		if existing, err = w.existing(doc); err != nil {
			return c, err
		}
	}
	var q string
	status := StatusActive
	switch w.job.Mode {
	case ImportCreate:
		q = `ON CONFLICT (email) DO NOTHING`
	case ImportUpsert:
		q = `ON CONFLICT (email) DO UPDATE SET
first_name = CASE WHEN excluded.first_name <> '' THEN excluded.first_name ELSE contacts.first_name END,
last_name = CASE WHEN excluded.last_name <> '' THEN excluded.last_name ELSE contacts.last_name END,
attributes = json_patch(contacts.attributes, excluded.attributes), updated_at = excluded.updated_at`
	case ImportUnsubscribe, ImportBlock:
		status = StatusUnsubscribed
		if w.job.Mode == ImportBlock {
			status = StatusBlocked
		}
		q = `ON CONFLICT (email) DO UPDATE SET updated_at = contacts.updated_at`
		if len(w.job.ListIDs) == 0 || w.job.Mode == ImportBlock {
			q = `ON CONFLICT (email) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at`
		}
	}
	ids, err := w.upsert(doc, status, q)
	if err != nil {
		return c, err
	}
	for _, r := range rows {
		key := strings.ToLower(r.Email)
		_, had := existing[key]
		_, touched := ids[key]
		switch {
		case !touched:
			c.skipped++
		case had:
			c.updated++
		default:
			c.created++
		}
	}
	if err := w.events(ids, existing); err != nil {
		return c, err
	}
	switch w.job.Mode {
	case ImportCreate, ImportUpsert:
		if err := w.memberships(ids, MemberConfirmed, "DO NOTHING"); err != nil {
			return c, err
		}
		return c, w.tags(rows, ids)
	case ImportUnsubscribe:
		return c, w.memberships(ids, MemberUnsubscribed, "DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at")
	default:
		_, err := w.tx.ExecContext(w.ctx, `INSERT INTO suppressions (kind, value, reason, source, created_at)
SELECT 'email', lower(value ->> 'e'), ?, 'import', ? FROM json_each(?) WHERE true ON CONFLICT (kind, value) DO NOTHING`,
			"Blocked by import of "+w.job.FileName, w.now, doc)
		return c, err
	}
}

// existing returns the addresses in doc that are already contacts, lower-cased.
func (w importWriter) existing(doc string) (map[string]int64, error) {
	rows, err := w.tx.QueryContext(w.ctx, `SELECT id, email FROM contacts WHERE email IN (SELECT value ->> 'e' FROM json_each(?))`, doc)
	if err != nil {
		return nil, err
	}
	return emailIDs(rows)
}

func emailIDs(rows *sql.Rows) (map[string]int64, error) {
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id int64
		var email string
		if err := rows.Scan(&id, &email); err != nil {
			return nil, err
		}
		out[strings.ToLower(email)] = id
	}
	return out, rows.Err()
}

// upsert inserts the rows with the given conflict clause and returns the ids
// of the contacts it inserted or updated, by lower-cased address.
func (w importWriter) upsert(doc, status, conflict string) (map[string]int64, error) {
	rows, err := w.tx.QueryContext(w.ctx, `INSERT INTO contacts (email, first_name, last_name, attributes, status, source, created_at, updated_at)
SELECT value ->> 'e', COALESCE(value ->> 'f', ''), COALESCE(value ->> 'l', ''), COALESCE(value -> 'a', '{}'), ?, ?, ?, ?
FROM json_each(?) WHERE true `+conflict+` RETURNING id, email`, status, "import: "+w.job.FileName, w.now, w.now, doc)
	if err != nil {
		return nil, err
	}
	return emailIDs(rows)
}

func idArray(ids map[string]int64) string {
	list := make([]int64, 0, len(ids))
	for _, id := range ids {
		list = append(list, id)
	}
	return idList(list)
}

// events records the import on the timeline of contacts that existed
// before; a new contact's timeline starts from its source.
func (w importWriter) events(ids, existing map[string]int64) error {
	var updated []int64
	for k, id := range ids {
		if _, had := existing[k]; had {
			updated = append(updated, id)
		}
	}
	if len(updated) == 0 {
		return nil
	}
	kind, verb := EventImported, "Updated by import"
	switch w.job.Mode {
	case ImportCreate:
		return nil
	case ImportUnsubscribe:
		kind, verb = EventUnsubscribed, "Unsubscribed by import"
	case ImportBlock:
		kind, verb = EventStatus, "Blocked by import"
	}
	_, err := w.tx.ExecContext(w.ctx, `INSERT INTO contact_events (contact_id, kind, detail, created_at) SELECT value, ?, ?, ? FROM json_each(?)`,
		kind, verb+" of "+w.job.FileName, w.now, idList(updated))
	return err
}

func (w importWriter) memberships(ids map[string]int64, status, onConflict string) error {
	arr := idArray(ids)
	for _, listID := range w.job.ListIDs {
		_, err := w.tx.ExecContext(w.ctx, `INSERT INTO list_members (list_id, contact_id, status, created_at, updated_at)
SELECT ?, value, ?, ?, ? FROM json_each(?) WHERE true ON CONFLICT (list_id, contact_id) `+onConflict, listID, status, w.now, w.now, arr)
		if err != nil {
			return err
		}
	}
	return nil
}

// tags gives every written contact the job's tags and its own row's tags.
func (w importWriter) tags(rows []ImportRow, ids map[string]int64) error {
	tagIDs := map[string]int64{}
	tagID := func(name string) (int64, error) {
		key := strings.ToLower(name)
		if id, ok := tagIDs[key]; ok {
			return id, nil
		}
		id, err := w.s.tagID(w.ctx, w.tx, name)
		tagIDs[key] = id
		return id, err
	}
	var pairs [][2]int64
	for _, r := range rows {
		cid, ok := ids[strings.ToLower(r.Email)]
		if !ok {
			continue
		}
		for _, t := range normalizeTags(append(append([]string{}, w.job.Tags...), r.Tags...)) {
			tid, err := tagID(t)
			if err != nil {
				return err
			}
			pairs = append(pairs, [2]int64{tid, cid})
		}
	}
	if len(pairs) == 0 {
		return nil
	}
	_, err := w.tx.ExecContext(w.ctx, `INSERT INTO contact_tags (tag_id, contact_id) SELECT value ->> 0, value ->> 1 FROM json_each(?) WHERE true
ON CONFLICT DO NOTHING`, jsonText(pairs))
	return err
}

func (w importWriter) rowErrors(errs []ImportError) error {
	if len(errs) == 0 {
		return nil
	}
	var kept int
	if err := w.tx.QueryRowContext(w.ctx, `SELECT COUNT(*) FROM import_errors WHERE job_id = ?`, w.job.ID).Scan(&kept); err != nil {
		return err
	}
	if room := maxImportErrors - kept; room < len(errs) {
		errs = errs[:max(room, 0)]
	}
	if len(errs) == 0 {
		return nil
	}
	pairs := make([][2]any, len(errs))
	for i, e := range errs {
		pairs[i] = [2]any{e.Line, e.Reason}
	}
	_, err := w.tx.ExecContext(w.ctx, `INSERT INTO import_errors (job_id, line, reason) SELECT ?, value ->> 0, value ->> 1 FROM json_each(?) WHERE true
ON CONFLICT DO NOTHING`, w.job.ID, jsonText(pairs))
	return err
}

// CancelStaleDrafts cancels uploads whose mapping was never finished and
// returns their files, so the caller can delete them.
func (s *Store) CancelStaleDrafts(ctx context.Context, olderThan time.Duration) ([]string, error) {
	rows, err := s.w.QueryContext(ctx, `UPDATE import_jobs SET status = 'cancelled', finished_at = ? WHERE status = 'draft' AND created_at < ?
RETURNING file_path`, unix(s.now()), unix(s.now().Add(-olderThan)))
	if err != nil {
		return nil, fmt.Errorf("store: stale drafts: %w", err)
	}
	defer rows.Close()
	var paths []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, rows.Err()
}
