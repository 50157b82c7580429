package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"
)

// SourceRun is one run of a source: the import job that holds its counts
// and bad records, and where the remote API's paging stands.
type SourceRun struct {
	ID, SourceID int64
	Job          ImportJob
	Status       string
	// Cursor is the paging cursor of the next page, as JSON.
	Cursor         string
	Pages, Fetched int
	// Capped says the run stopped at its cap on pages or records.
	Capped bool
	// LeaveLists says the run takes the contacts earlier runs had and it
	// did not out of the source's lists, as the source said when it
	// started; Left counts them.
	LeaveLists bool
	// Left counts the list memberships the run ended.
	Left int
	// Warning is what the run noticed without failing, such as mapped
	// fields its records no longer hold.
	Warning    string
	Error      string
	StartedAt  time.Time
	FinishedAt time.Time
}

// Source run statuses.
const (
	SourceRunRunning = "running"
	SourceRunDone    = "done"
	SourceRunFailed  = "failed"
)

// KeptSourceRuns is how many runs a source keeps in its history.
const KeptSourceRuns = 100

const sourceRunColumns = `id, source_id, job_id, status, cursor, pages, fetched, capped, leave_lists, left_lists, warning, error, started_at, finished_at`

func (s *Store) scanSourceRun(ctx context.Context, q querier, row scanner) (SourceRun, error) {
	var r SourceRun
	var jobID, started int64
	var finished sql.NullInt64
	err := row.Scan(&r.ID, &r.SourceID, &jobID, &r.Status, &r.Cursor, &r.Pages, &r.Fetched, &r.Capped, &r.LeaveLists, &r.Left, &r.Warning, &r.Error, &started, &finished)
	if errors.Is(err, sql.ErrNoRows) {
		return SourceRun{}, ErrNotFound
	}
	if err != nil {
		return SourceRun{}, err
	}
	r.StartedAt, r.FinishedAt = fromUnix(started), fromNullUnix(finished)
	r.Job, err = scanImport(q.QueryRowContext(ctx, `SELECT `+importColumns+` FROM import_jobs WHERE id = ?`, jobID))
	return r, err
}

// querier is a pool or a transaction.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// StartSourceRun begins a run of a source with the paging cursor first, or
// returns the run a stop left running, to resume; resumed says which. The
// run's import job takes the source's mapping, mode, lists and tags.
func (s *Store) StartSourceRun(ctx context.Context, sourceID int64, first string) (run SourceRun, resumed bool, err error) {
	err = s.Tx(ctx, func(tx *sql.Tx) error {
		run, err = s.scanSourceRun(ctx, tx, tx.QueryRowContext(ctx, `SELECT `+sourceRunColumns+` FROM source_runs WHERE source_id = ? AND status = 'running'`, sourceID))
		if err == nil {
			resumed = true
			return nil
		}
		if !errors.Is(err, ErrNotFound) {
			return err
		}
		src, err := scanSource(tx.QueryRowContext(ctx, `SELECT `+sourceColumns+` FROM sources WHERE id = ?`, sourceID))
		if err != nil {
			return err
		}
		// A run stopped at its cap handed on where it stopped.
		var resume string
		if err := tx.QueryRowContext(ctx, `SELECT resume_cursor FROM sources WHERE id = ?`, sourceID).Scan(&resume); err != nil {
			return err
		}
		if resume != "" {
			first = resume
		}
		m := src.Mapping
		// A list deleted since the source was saved is left out.
		var lists []int64
		for _, id := range m.ListIDs {
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM lists WHERE id = ?`, id).Scan(&one); err == nil {
				lists = append(lists, id)
			} else if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		m.ListIDs = lists
		paths, targets := make([]string, len(m.Fields)), make([]string, len(m.Fields))
		for i, f := range m.Fields {
			paths[i], targets[i] = f.Path, f.Target
		}
		now := unix(s.now())
		var jobID int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO import_jobs (status, file_name, file_path, file_size, mode, list_ids, tags, headers, mapping,
	delimiter, line, origin, created_at, started_at) VALUES ('running', ?, '', 0, ?, ?, ?, ?, ?, '', 1, 'source', ?, ?) RETURNING id`,
			"Source: "+src.Name, m.Mode, jsonText(orEmpty(m.ListIDs)), jsonText(normalizeTags(m.Tags)), jsonText(paths), jsonText(targets), now, now).Scan(&jobID); err != nil {
			return err
		}
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO source_runs (source_id, job_id, status, cursor, leave_lists, started_at) VALUES (?, ?, 'running', ?, ?, ?) RETURNING id`,
			sourceID, jobID, first, m.LeaveLists && len(m.ListIDs) > 0, now).Scan(&id); err != nil {
			return err
		}
		// No next run while this one goes: one set meanwhile ("Run now")
		// stands when it ends.
		if _, err := tx.ExecContext(ctx, `UPDATE sources SET last_run_at = ?, next_run_at = NULL WHERE id = ?`, now, sourceID); err != nil {
			return err
		}
		run, err = s.scanSourceRun(ctx, tx, tx.QueryRowContext(ctx, `SELECT `+sourceRunColumns+` FROM source_runs WHERE id = ?`, id))
		return err
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		err = fmt.Errorf("store: start a run of source %d: %w", sourceID, err)
	}
	return run, resumed, err
}

// ApplySourcePage writes a page's contacts, its bad records and the run's
// next cursor in one transaction, so a run cut short resumes after the
// last page written and writes none twice.
func (s *Store) ApplySourcePage(ctx context.Context, run SourceRun, b ImportBatch, cursor string, fetched int, capped bool) error {
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		var mine []sourcePair
		if run.LeaveLists {
			var err error
			if mine, err = ownPairs(ctx, tx, run, b.Rows); err != nil {
				return err
			}
		}
		applied, err := s.applyImportBatch(ctx, tx, run.Job, b)
		if err != nil {
			return err
		}
		if !applied {
			return errors.New("its import was stopped: run the source again")
		}
		if run.LeaveLists {
			if err := markSourceMembers(ctx, tx, run, mine); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `UPDATE source_runs SET cursor = ?, pages = pages + 1, fetched = fetched + ?, capped = ? WHERE id = ? AND status = 'running'`,
			cursor, fetched, capped, run.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("run %d is no longer running", run.ID)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: source run %d page: %w", run.ID, err)
	}
	return nil
}

// WarnSourceRun notes what a run noticed without failing; a run keeps the
// first warning it was given.
func (s *Store) WarnSourceRun(ctx context.Context, runID int64, warning string) error {
	if _, err := s.w.ExecContext(ctx, `UPDATE source_runs SET warning = ? WHERE id = ? AND warning = ''`, warning, runID); err != nil {
		return fmt.Errorf("store: warn source run %d: %w", runID, err)
	}
	return nil
}

// SourceOutcome is how a run ended and what follows for its source.
type SourceOutcome struct {
	// Failure says why the run failed; "" for a run that succeeded.
	Failure string
	// Next is when the source runs next: its schedule's next time, or a
	// retry's.
	Next time.Time
	// DisableAfter is how many failed runs in a row disable the source.
	DisableAfter int
	// Resume, for a run stopped at its cap, is the cursor the next run
	// goes on from.
	Resume string
}

// FinishSourceRun ends a run and records on its source how it went: a
// success clears its failures; a failure counts, and DisableAfter of them
// in a row disable it, saying why. It returns the source as it is now.
func (s *Store) FinishSourceRun(ctx context.Context, run SourceRun, o SourceOutcome) (Source, error) {
	var src Source
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		now := unix(s.now())
		status, jobStatus := SourceRunDone, ImportDone
		if o.Failure != "" {
			status, jobStatus = SourceRunFailed, ImportFailed
		}
		if err := s.finishImport(ctx, tx, run.Job.ID, jobStatus, o.Failure); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE source_runs SET status = ?, error = ?, finished_at = ? WHERE id = ?`, status, o.Failure, now, run.ID); err != nil {
			return err
		}
		var err error
		if o.Failure == "" && run.LeaveLists {
			if err := s.leaveSourceLists(ctx, tx, run); err != nil {
				return err
			}
		}
		var capped bool
		if err := tx.QueryRowContext(ctx, `SELECT capped FROM source_runs WHERE id = ?`, run.ID).Scan(&capped); err != nil {
			return err
		}
		// A next run set during the run ("Run now") stands.
		next := `coalesce(next_run_at, ?)`
		if o.Failure == "" && capped {
			// What the cap left out is asked for again: the next run's
			// "changed since" stays at the last complete run.
			_, err = tx.ExecContext(ctx, `UPDATE sources SET failures = 0, last_error = '', next_run_at = `+next+`,
	resume_cursor = ?, resume_since = coalesce(resume_since, ?), resume_run = coalesce(resume_run, ?) WHERE id = ?`,
				unix(o.Next), o.Resume, unix(run.StartedAt), run.ID, run.SourceID)
			if err == nil {
				_, err = tx.ExecContext(ctx, `UPDATE source_runs SET warning = ? WHERE id = ? AND warning = ''`,
					"The run stopped at its cap on pages, records or time: the next run goes on from where it stopped.", run.ID)
			}
		} else if o.Failure == "" {
			// Read to its end, over one run or several: changes are asked
			// for from the start of the first.
			_, err = tx.ExecContext(ctx, `UPDATE sources SET failures = 0, last_error = '', last_success_at = coalesce(resume_since, ?),
	next_run_at = `+next+`, resume_cursor = '', resume_since = NULL, resume_run = NULL WHERE id = ?`,
				unix(run.StartedAt), unix(o.Next), run.SourceID)
		} else {
			// A failed run starts afresh next: where the chain stood (a
			// remote cursor, a signed link) may have expired.
			_, err = tx.ExecContext(ctx, `UPDATE sources SET failures = failures + 1, last_error = ?, next_run_at = `+next+`,
	resume_cursor = '', resume_since = NULL, resume_run = NULL,
	enabled = CASE WHEN failures + 1 >= ? THEN 0 ELSE enabled END,
	disabled_reason = CASE WHEN failures + 1 >= ? THEN printf('Disabled after %d failed runs in a row; the last: %s', failures + 1, ?) ELSE disabled_reason END
WHERE id = ?`, o.Failure, unix(o.Next), max(o.DisableAfter, 1), max(o.DisableAfter, 1), o.Failure, run.SourceID)
		}
		if err != nil {
			return err
		}
		// The history keeps the last KeptSourceRuns runs, and their imports
		// go with them.
		rows, err := tx.QueryContext(ctx, `DELETE FROM source_runs WHERE source_id = ? AND status != 'running' AND id <= (
	SELECT id FROM source_runs WHERE source_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?) RETURNING job_id`, run.SourceID, run.SourceID, KeptSourceRuns)
		if err != nil {
			return err
		}
		var jobs []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			jobs = append(jobs, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM import_jobs WHERE id IN (SELECT value FROM json_each(?))`, idList(jobs)); err != nil {
			return err
		}
		src, err = scanSource(tx.QueryRowContext(ctx, `SELECT `+sourceColumns+` FROM sources WHERE id = ?`, run.SourceID))
		return err
	})
	if err != nil {
		return Source{}, fmt.Errorf("store: finish source run %d: %w", run.ID, err)
	}
	return src, nil
}

// SourceRuns lists a source's runs, newest first.
func (s *Store) SourceRuns(ctx context.Context, sourceID int64, limit int) ([]SourceRun, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+sourceRunColumns+` FROM source_runs WHERE source_id = ? ORDER BY id DESC LIMIT ?`, sourceID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: source %d runs: %w", sourceID, err)
	}
	defer rows.Close()
	var out []SourceRun
	for rows.Next() {
		r, err := s.scanSourceRun(ctx, s.r, rows)
		if err != nil {
			return nil, fmt.Errorf("store: source %d runs: %w", sourceID, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// sourcePair is a contact, by address, on one of a source's lists.
type sourcePair struct {
	list  int64
	email string
}

// ownPairs are the lists and contacts of rows the source may later take
// out again: those it brings to a list, or brought before, not a contact
// already on that list before it first brought them (who signed up by a
// form, say, or before the list was the source's).
func ownPairs(ctx context.Context, tx *sql.Tx, run SourceRun, rows []ImportRow) ([]sourcePair, error) {
	stmt, err := tx.PrepareContext(ctx, `SELECT NOT EXISTS (SELECT 1 FROM contacts c JOIN list_members m ON m.contact_id = c.id AND m.list_id = ?1 WHERE c.email = ?2)
	OR EXISTS (SELECT 1 FROM source_list_members x JOIN contacts c ON c.id = x.contact_id WHERE x.source_id = ?3 AND x.list_id = ?1 AND c.email = ?2)`)
	if err != nil {
		return nil, err
	}
	defer stmt.Close()
	var out []sourcePair
	for _, list := range run.Job.ListIDs {
		for _, r := range rows {
			var own bool
			if err := stmt.QueryRowContext(ctx, list, r.Email, run.SourceID).Scan(&own); err != nil {
				return nil, err
			}
			if own {
				out = append(out, sourcePair{list, r.Email})
			}
		}
	}
	return out, nil
}

// heldBack leads the warning of a run that would have taken most of the
// source's contacts out of its lists at once.
const heldBack = "Held back"

// markSourceMembers writes down that run had the contacts of pairs on
// their lists.
func markSourceMembers(ctx context.Context, tx *sql.Tx, run SourceRun, pairs []sourcePair) error {
	// Only who is on the list now: a contact the import skipped (adding
	// new ones only) was not brought there.
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO source_list_members (source_id, list_id, contact_id, run_id)
SELECT ?1, ?2, c.id, ?3 FROM contacts c JOIN list_members m ON m.contact_id = c.id AND m.list_id = ?2 WHERE c.email = ?4
ON CONFLICT (source_id, list_id, contact_id) DO UPDATE SET run_id = excluded.run_id`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, p := range pairs {
		if _, err := stmt.ExecContext(ctx, run.SourceID, p.list, run.ID, p.email); err != nil {
			return err
		}
	}
	return nil
}

// leaveSourceLists takes the contacts earlier runs of a source had and run
// did not out of the lists the run's contacts join (an unsubscribe stays,
// as a bulk removal leaves it), and counts those contacts on the run; a
// run that stopped at its cap, or had invalid records, takes nobody out.
func (s *Store) leaveSourceLists(ctx context.Context, tx *sql.Tx, run SourceRun) error {
	var capped bool
	if err := tx.QueryRowContext(ctx, `SELECT capped FROM source_runs WHERE id = ?`, run.ID).Scan(&capped); err != nil || capped {
		return err // a capped run did not see the whole source
	}
	// The runs that read the source to its end count as one, from the
	// first: their records, and their invalid ones, add up.
	var from int64
	var held sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(resume_run, ?), held_from FROM sources WHERE id = ?`, run.ID, run.SourceID).Scan(&from, &held); err != nil {
		return err
	}
	lists := jsonText(run.Job.ListIDs)
	var fetched, invalid, kept int
	var tracked bool
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(sum(r.fetched), 0), coalesce(sum(j.invalid), 0), coalesce(min(r.leave_lists), 0),
	(SELECT count(*) FROM source_list_members WHERE source_id = ?1 AND list_id IN (SELECT value FROM json_each(?3)))
FROM source_runs r JOIN import_jobs j ON j.id = r.job_id WHERE r.source_id = ?1 AND r.id >= ?2`, run.SourceID, from, lists).Scan(&fetched, &invalid, &tracked, &kept); err != nil {
		return err
	}
	warn := func(format string, args ...any) error {
		_, err := tx.ExecContext(ctx, `UPDATE source_runs SET warning = ? WHERE id = ? AND warning = ''`, fmt.Sprintf(format, args...), run.ID)
		return err
	}
	switch {
	case !tracked:
		return warn("Nobody left the lists: the option was off for part of this reading of the source.")
	case fetched == 0:
		return warn("The API answered no records: nobody left the lists.")
	case invalid > 0:
		// An invalid record may be a contact still there: nobody leaves.
		return warn("Nobody left the lists: %d records were invalid, and a contact among them may still be in the source.", invalid)
	}
	// After a run that held them back, who leaves is who both runs missed.
	upto := from
	if held.Valid {
		upto = held.Int64
	}
	gone := map[int64][]int64{} // by list
	contacts := map[int64]bool{}
	pairs := 0
	rows, err := tx.QueryContext(ctx, `SELECT list_id, contact_id FROM source_list_members WHERE source_id = ? AND run_id < ?
	AND list_id IN (SELECT value FROM json_each(?))`, run.SourceID, upto, lists)
	if err != nil {
		return err
	}
	for rows.Next() {
		var list, contact int64
		if err := rows.Scan(&list, &contact); err != nil {
			rows.Close()
			return err
		}
		gone[list] = append(gone[list], contact)
		contacts[contact] = true
		pairs++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if !held.Valid && pairs > 10 && 2*pairs > kept {
		// Most of them at once looks like an API that answered part: only
		// the next complete run, if it misses them too, takes them out.
		if _, err := tx.ExecContext(ctx, `UPDATE sources SET held_from = ? WHERE id = ?`, from, run.SourceID); err != nil {
			return err
		}
		return warn(heldBack+": %d contacts the source brought are missing from this run, so nobody left the lists, in case the API answered only part. Those the next complete run misses too leave then.",
			len(contacts))
	}
	ended := 0
	for list, ids := range gone {
		var name string
		err := tx.QueryRowContext(ctx, `SELECT name FROM lists WHERE id = ?`, list).Scan(&name)
		if errors.Is(err, sql.ErrNoRows) {
			continue // the list went since the run started
		}
		if err != nil {
			return err
		}
		for chunk := range slices.Chunk(ids, 1000) {
			n, err := s.bulkApply(ctx, tx, chunk, BulkAction{Kind: BulkRemoveFromList, ListID: list}, name)
			if err != nil {
				return err
			}
			ended += n
		}
	}
	// Who left is no longer the source's on that list; neither is anyone
	// on a list the source no longer feeds.
	if _, err := tx.ExecContext(ctx, `DELETE FROM source_list_members WHERE source_id = ? AND (run_id < ? OR list_id NOT IN (SELECT value FROM json_each(?)))`,
		run.SourceID, upto, lists); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE sources SET held_from = NULL WHERE id = ?`, run.SourceID); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE source_runs SET left_lists = ? WHERE id = ?`, ended, run.ID)
	return err
}
