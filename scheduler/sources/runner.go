package sources

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"herald/scheduler/imports"
	"herald/store"
)

// Runner runs sources: it fetches their pages and writes each page's
// contacts together with where the paging stands, so that a run cut short
// by a stop resumes at the next page and writes nothing twice.
type Runner struct {
	Store   *store.Store
	Fetcher *Fetcher
	Log     *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// DisableAfter failed runs in a row disable a source; 3 when 0.
	DisableAfter int
	// Notify tells the owners about a source that disabled itself; nil
	// tells nobody.
	Notify func(ctx context.Context, subject, text string)
	// MaxTime caps how long one run fetches, so that a slow API does not
	// hold back the other sources; DefaultMaxTime when 0.
	MaxTime time.Duration
}

// DefaultMaxTime is how long a run fetches at most: it then stops as at
// its cap on pages, and the next run asks again.
const DefaultMaxTime = time.Hour

// errOutOfTime stops a walk that reached its run's cap on time.
var errOutOfTime = errors.New("the run reached its cap on time")

// MaxRetryAfter caps how long a 429's Retry-After holds a source back.
const MaxRetryAfter = 6 * time.Hour

// Redact masks a source's credentials wherever a message repeats them,
// as an API's error answer may (see Spec.Redact).
func Redact(msg string, src store.Source, sec store.SourceSecret) string {
	return SpecOf(src, sec).Redact(msg)
}

// MinInterval is the least time from the end of a run to the next run
// its schedule brings: a schedule's next time closer than that is skipped.
const MinInterval = 10 * time.Minute

// DefaultDisableAfter is how many failed runs in a row disable a source.
const DefaultDisableAfter = 3

// RetryDelay is how long a source waits after its failures-th failed run
// in a row: 5, 10, 20, then 40 minutes.
func RetryDelay(failures int) time.Duration {
	return 5 * time.Minute << min(max(failures-1, 0), 3)
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Run runs source id once, or finishes the run a stop cut short, and
// records how it went; loc is the organisation's timezone, which the
// schedule follows. When ctx ends first the run stays open, to resume.
func (r *Runner) Run(ctx context.Context, id int64, loc *time.Location) (store.SourceRun, store.Source, error) {
	src, err := r.Store.Source(ctx, id)
	if err != nil {
		return store.SourceRun{}, store.Source{}, err
	}
	first, _ := json.Marshal(First(SpecOf(src, store.SourceSecret{}).Paging))
	run, resumed, err := r.Store.StartSourceRun(ctx, id, string(first))
	if err != nil {
		return run, src, err
	}
	var cur Cursor
	cursorErr := json.Unmarshal([]byte(run.Cursor), &cur)
	r.Log.Info("source run", "source", src.Name, "run", run.ID, "resumed", resumed, "page", cur.Pages+1)
	sec, walkErr := r.Store.SourceSecrets(ctx, id, "", "")
	switch {
	case cursorErr != nil:
		// The run ends, failed, rather than stand in every other's way.
		walkErr = fmt.Errorf("where the run stood cannot be read (%v): the next run starts afresh", cursorErr)
	case errors.Is(walkErr, store.ErrSecretUnreadable):
		walkErr = errors.New("the source's credentials cannot be decrypted with this Herald's secret key: enter them again")
	case cur.Done:
		// A stop came after the last page was written: nothing is left.
	case walkErr == nil:
		walkErr = r.walk(ctx, run, SpecOf(src, sec), cur)
		if errors.Is(walkErr, errOutOfTime) {
			walkErr = nil // it ends as capped
		}
	}
	if ctx.Err() != nil {
		return run, src, ctx.Err()
	}
	// The schedule as it is now: it may have changed during the run.
	if now, err := r.Store.Source(ctx, id); err == nil {
		src.Schedule, src.AtMinute = now.Schedule, now.AtMinute
	}
	o := store.SourceOutcome{DisableAfter: cmp.Or(r.DisableAfter, DefaultDisableAfter), Next: NextRun(src.Schedule, src.AtMinute, loc, r.now().Add(MinInterval))}
	if walkErr == nil {
		o.Resume = r.resumeFrom(ctx, id)
	}
	if walkErr != nil {
		o.Failure = Redact(walkErr.Error(), src, sec)
		wait := RetryDelay(src.Failures + 1)
		var later *RetryLater
		if errors.As(walkErr, &later) {
			wait = max(wait, min(later.Wait, MaxRetryAfter))
		}
		o.Next = r.now().Add(wait)
	}
	src, err = r.Store.FinishSourceRun(context.WithoutCancel(ctx), run, o)
	if err != nil {
		return run, src, err
	}
	if o.Failure != "" {
		r.Log.Warn("source run failed", "source", src.Name, "run", run.ID, "err", o.Failure, "failures", src.Failures, "enabled", src.Enabled)
		if !src.Enabled && r.Notify != nil {
			r.Notify(ctx, fmt.Sprintf("Source %q disabled itself", src.Name), src.DisabledReason+
				"\n\nHerald stopped asking its API. Open Contacts → Sources in Herald, fix the source, and enable it again.")
		}
	}
	runs, err := r.Store.SourceRuns(ctx, id, 1)
	if err == nil && len(runs) == 1 {
		run = runs[0]
	}
	return run, src, err
}

// resumeFrom is, for a run that stopped at a cap, the cursor the next run
// goes on from: where this one stopped, with the caps' counts afresh.
func (r *Runner) resumeFrom(ctx context.Context, id int64) string {
	runs, err := r.Store.SourceRuns(ctx, id, 1)
	if err != nil || len(runs) == 0 || !runs[0].Capped {
		return ""
	}
	if src, err := r.Store.Source(ctx, id); err != nil || src.Paging.Kind == PagingNone || src.Paging.Kind == "" {
		return "" // one answer holds everything: there is no page to go on from
	}
	var cur Cursor
	if err := json.Unmarshal([]byte(runs[0].Cursor), &cur); err != nil {
		return ""
	}
	cur.Done, cur.Pages, cur.Records = false, 0, 0
	b, err := json.Marshal(cur)
	if err != nil {
		return ""
	}
	return string(b)
}

// walk fetches the pages from cur and writes each with the next cursor.
func (r *Runner) walk(ctx context.Context, run store.SourceRun, spec Spec, cur Cursor) error {
	paths, m := run.Job.Headers, imports.NewMapper(run.Job.Mapping)
	warned := run.Warning != ""
	began := r.now() // a resumed run has its time again
	return r.Fetcher.Walk(ctx, spec, cur, func(p Page) error {
		missing, email := missingFields(p.Records, paths, run.Job.Mapping)
		if email != "" {
			return fmt.Errorf("the records no longer hold %s, which is mapped to the email address: the API's layout changed. Test the connection again and map its fields", email)
		}
		if len(missing) > 0 && !warned {
			warned = true
			if err := r.Store.WarnSourceRun(ctx, run.ID, "Mapped fields that no record of a page held: "+strings.Join(missing, ", ")+
				". The API's layout may have changed: test the connection again."); err != nil {
				return err
			}
		}
		var b store.ImportBatch
		values := make([]string, len(paths))
		for i, rec := range p.Records {
			for j, path := range paths {
				v, _ := Lookup(rec, path)
				values[j] = Text(v)
			}
			// A record's position in the run stands where a CSV line's
			// number would.
			pos := cur.Records + i + 1
			row, reason, blank := m.Row(values)
			if blank {
				// A record with none of the mapped fields is not a blank
				// line: it counts, as invalid.
				reason = "the record holds none of the mapped fields"
			}
			switch {
			case reason != "":
				b.Errors = append(b.Errors, store.ImportError{Line: pos, Reason: reason})
			default:
				row.Line = pos
				b.Rows = append(b.Rows, row)
			}
		}
		if p.Repeated && !warned {
			warned = true
			if err := r.Store.WarnSourceRun(ctx, run.ID, fmt.Sprintf("The API answered page %d as it did the page before, so the run stopped there: it does not seem to page as set. If it gives everything at once, set paging to none.", p.Next.Pages+1)); err != nil {
				return err
			}
		}
		b.NextLine = p.Next.Records + 1
		outOfTime := !p.Last && r.now().Sub(began) >= cmp.Or(r.MaxTime, DefaultMaxTime)
		p.Next.Done = p.Last || outOfTime
		p.Capped = p.Capped || outOfTime
		next, err := json.Marshal(p.Next)
		if err != nil {
			return err
		}
		if err := r.Store.ApplySourcePage(ctx, run, b, string(next), len(p.Records), p.Capped); err != nil {
			return err
		}
		cur = p.Next
		if outOfTime {
			return errOutOfTime
		}
		return nil
	})
}

// missingFields are the mapped paths that no record of a page holds, and
// of them the one mapped to the email address; a page without records
// misses nothing.
func missingFields(recs []Record, paths, targets []string) (missing []string, email string) {
	if len(recs) == 0 {
		return nil, ""
	}
	for j, path := range paths {
		if j >= len(targets) || targets[j] == "ignore" {
			continue
		}
		held := false
		for _, rec := range recs {
			if _, ok := Lookup(rec, path); ok {
				held = true
				break
			}
		}
		if held {
			continue
		}
		missing = append(missing, path)
		if targets[j] == "email" {
			email = path
		}
	}
	return missing, email
}

// SpecOf is what to fetch for a source, with its credentials.
func SpecOf(src store.Source, sec store.SourceSecret) Spec {
	s := Spec{URL: src.URL, RecordsPath: src.RecordsPath, SinceParam: src.SinceParam, Since: src.LastSuccessAt,
		Paging: Paging{Kind: src.Paging.Kind, PageParam: src.Paging.PageParam, SizeParam: src.Paging.SizeParam, Size: src.Paging.Size,
			CursorField: src.Paging.CursorField, CursorParam: src.Paging.CursorParam, MaxPages: src.Paging.MaxPages}}
	switch src.AuthKind {
	case "bearer":
		s.Auth = Auth{Kind: "bearer", Token: sec.Secret}
	case "basic":
		s.Auth = Auth{Kind: "basic", Username: src.AuthName, Password: sec.Secret}
	case "header", "query":
		s.Auth = Auth{Kind: src.AuthKind, Name: src.AuthName, Value: sec.Secret}
	}
	for _, h := range sec.Headers {
		s.Headers = append(s.Headers, Header{Name: h.Name, Value: h.Value})
	}
	return s
}

// NextRun is when a schedule next comes round after now, in loc: hourly
// at minute atMinute of the hour, daily at minute atMinute of the day,
// weekly on Mondays and monthly on the 1st at that time.
func NextRun(schedule string, atMinute int, loc *time.Location, now time.Time) time.Time {
	t := now.In(loc)
	y, mo, d := t.Date()
	var next time.Time
	switch schedule {
	case "hourly":
		next = time.Date(y, mo, d, t.Hour(), atMinute, 0, 0, loc)
		// Hours are added as elapsed time: when clocks go back, the hour
		// that repeats is not taken twice for the same one.
		for !next.After(now) {
			next = next.Add(time.Hour)
		}
		return next
	case "weekly":
		d -= (int(t.Weekday()) + 6) % 7 // back to Monday
		next = time.Date(y, mo, d, 0, atMinute, 0, 0, loc)
		if !next.After(now) {
			next = time.Date(y, mo, d+7, 0, atMinute, 0, 0, loc)
		}
		return next
	case "monthly":
		next = time.Date(y, mo, 1, 0, atMinute, 0, 0, loc)
		if !next.After(now) {
			next = time.Date(y, mo+1, 1, 0, atMinute, 0, 0, loc)
		}
		return next
	}
	next = time.Date(y, mo, d, 0, atMinute, 0, 0, loc)
	if !next.After(now) {
		next = time.Date(y, mo, d+1, 0, atMinute, 0, 0, loc)
	}
	return next
}
