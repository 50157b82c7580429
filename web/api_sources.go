package web

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v5"

	"herald/scheduler/sources"
	"herald/store"
)

// sourceJSON is a source as the API shows it: its credentials masked, the
// secret as whether one is kept and the extra headers by name.
type sourceJSON struct {
	ID          int64               `json:"id"`
	Name        string              `json:"name"`
	URL         string              `json:"url"`
	Auth        sourceAuthJSON      `json:"auth"`
	Headers     []string            `json:"headers"`
	RecordsPath string              `json:"records_path"`
	Paging      store.SourcePaging  `json:"paging"`
	SinceParam  string              `json:"since_param"`
	Mapping     store.SourceMapping `json:"mapping"`
	Schedule    string              `json:"schedule"`
	// AtMinute is the minute of the day it runs at (of the hour, hourly),
	// in the organisation's timezone.
	AtMinute       int    `json:"at_minute"`
	Enabled        bool   `json:"enabled"`
	DisabledReason string `json:"disabled_reason"`
	// Health is healthy, warning (the last run had invalid records, missed
	// mapped fields or was slow), error (failing or disabled) or unknown
	// (never run).
	Health        string     `json:"health"`
	Failures      int        `json:"failures"`
	LastError     string     `json:"last_error"`
	NextRunAt     *time.Time `json:"next_run_at"`
	LastRunAt     *time.Time `json:"last_run_at"`
	LastSuccessAt *time.Time `json:"last_success_at"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

type sourceAuthJSON struct {
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	SecretSet bool   `json:"secret_set"`
}

// sourceBody creates or changes a source; in a change, what is left out
// stays. secret and headers, when given, replace what is kept.
type sourceBody struct {
	Name        *string               `json:"name"`
	URL         *string               `json:"url"`
	Auth        *sourceAuthBody       `json:"auth"`
	Headers     *[]store.SourceHeader `json:"headers"`
	RecordsPath *string               `json:"records_path"`
	Paging      *store.SourcePaging   `json:"paging"`
	SinceParam  *string               `json:"since_param"`
	Mapping     *store.SourceMapping  `json:"mapping"`
	Schedule    *string               `json:"schedule"`
	AtMinute    *int                  `json:"at_minute"`
	Enabled     *bool                 `json:"enabled"`
}

// sourceAuthBody is how the source signs in: kind bearer (secret is the
// token), basic (name and password), header or query (the key's name and
// value), or "" for none.
type sourceAuthBody struct {
	Kind   string  `json:"kind"`
	Name   string  `json:"name"`
	Secret *string `json:"secret"`
}

func (b sourceBody) input() store.SourceInput {
	in := store.SourceInput{Name: b.Name, URL: b.URL, Headers: b.Headers, RecordsPath: b.RecordsPath, Paging: b.Paging, SinceParam: b.SinceParam,
		Mapping: b.Mapping, Schedule: b.Schedule, AtMinute: b.AtMinute, Enabled: b.Enabled}
	if b.Auth != nil {
		in.AuthKind, in.AuthName, in.Secret = &b.Auth.Kind, &b.Auth.Name, b.Auth.Secret
	}
	return in
}

// sourceTestJSON is what testing a source's connection found.
type sourceTestJSON struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	// Status is the HTTP status of the answer; 0 when none came.
	Status  int                     `json:"status"`
	TookMS  int64                   `json:"took_ms"`
	Count   int                     `json:"count"`
	More    bool                    `json:"more"`
	Records []map[string]any        `json:"records"`
	Fields  []sourceFieldSampleJSON `json:"fields"`
}

type sourceFieldSampleJSON struct {
	Path   string `json:"path"`
	Sample string `json:"sample"`
	// Target is what the importer proposes the field becomes.
	Target string `json:"target"`
}

// sourceRunJSON is one run of a source.
type sourceRunJSON struct {
	ID      int64  `json:"id"`
	Status  string `json:"status"`
	Pages   int    `json:"pages"`
	Fetched int    `json:"fetched"`
	Created int    `json:"created"`
	Updated int    `json:"updated"`
	Skipped int    `json:"skipped"`
	Invalid int    `json:"invalid"`
	// Left counts the contacts earlier runs had and this one did not,
	// which left the source's lists (when it is set to take them out).
	Left   int  `json:"left"`
	Capped bool `json:"capped"`
	// Warning is what a run noticed without failing, such as mapped fields
	// its records no longer hold.
	Warning    string     `json:"warning"`
	Error      string     `json:"error"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	// ImportID is the import that holds the run's bad records.
	ImportID int64 `json:"import_id"`
}

func toSourceRunJSON(r store.SourceRun) sourceRunJSON {
	return sourceRunJSON{ID: r.ID, Status: r.Status, Pages: r.Pages, Fetched: r.Fetched, Created: r.Job.Created, Updated: r.Job.Updated,
		Skipped: r.Job.Skipped, Invalid: r.Job.Invalid, Left: r.Left, Capped: r.Capped, Warning: r.Warning, Error: r.Error, StartedAt: r.StartedAt, FinishedAt: optTime(r.FinishedAt),
		ImportID: r.Job.ID}
}

// sourceSecretJSON is a source's credentials in the clear.
type sourceSecretJSON struct {
	Secret  string               `json:"secret"`
	Headers []store.SourceHeader `json:"headers"`
}

// slowRun is how long a successful run may take before its source is
// shown with a warning.
const slowRun = 10 * time.Minute

// sourceHealth says how a source is doing, from its last run.
func sourceHealth(src store.Source, last *store.SourceRun) string {
	switch {
	case !src.Enabled || src.Failures > 0:
		return "error"
	case last == nil:
		return "unknown"
	case last.Status == store.SourceRunFailed:
		return "error" // enabled again, it has not yet run well
	case last.Job.Invalid > 0 || last.Warning != "" || last.FinishedAt.Sub(last.StartedAt) > slowRun:
		return "warning"
	}
	return "healthy"
}

func (s *Server) toSourceJSON(c *echo.Context, src store.Source) (sourceJSON, error) {
	runs, err := s.store.SourceRuns(c.Request().Context(), src.ID, 2)
	if err != nil {
		return sourceJSON{}, err
	}
	last := lastFinished(runs)
	return sourceJSON{ID: src.ID, Name: src.Name, URL: src.URL, Auth: sourceAuthJSON{Kind: src.AuthKind, Name: src.AuthName, SecretSet: src.SecretSet},
		Headers: orEmpty(src.HeaderNames), RecordsPath: src.RecordsPath, Paging: src.Paging, SinceParam: src.SinceParam, Mapping: src.Mapping,
		Schedule: src.Schedule, AtMinute: src.AtMinute, Enabled: src.Enabled, DisabledReason: src.DisabledReason, Health: sourceHealth(src, last),
		Failures: src.Failures, LastError: src.LastError, NextRunAt: optTime(src.NextRunAt), LastRunAt: optTime(src.LastRunAt),
		LastSuccessAt: optTime(src.LastSuccessAt), CreatedAt: src.CreatedAt, UpdatedAt: src.UpdatedAt}, nil
}

// readSourceBody reads a source's body, refusing beside its field a URL
// the guard would refuse.
func (s *Server) readSourceBody(c *echo.Context) (sourceBody, error) {
	var b sourceBody
	if err := bindJSON(c, &b); err != nil {
		return b, err
	}
	return b, s.guardSourceURL(b.input())
}

// answerSource answers with a source, or the error that came instead.
func (s *Server) answerSource(c *echo.Context, status int, src store.Source, err error) error {
	if err != nil {
		return err
	}
	out, err := s.toSourceJSON(c, src)
	if err != nil {
		return err
	}
	if status == http.StatusCreated {
		c.Response().Header().Set("Location", "/api/v1/sources/"+itoa(src.ID))
	}
	return apiData(c, status, out)
}

func (s *Server) apiSourceList(c *echo.Context) error {
	q, err := readList(c, namedList, s.location())
	if err != nil {
		return err
	}
	srcs, err := s.store.Sources(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]sourceJSON, len(srcs))
	for i, src := range srcs {
		if out[i], err = s.toSourceJSON(c, src); err != nil {
			return err
		}
	}
	out, m := pageOf(out, q, func(j sourceJSON) listed { return named(j.ID, j.CreatedAt, j.Name) })
	return apiList(c, out, m)
}

func (s *Server) apiSourceCreate(c *echo.Context) error {
	b, err := s.readSourceBody(c)
	if err != nil {
		return err
	}
	src, err := s.store.CreateSource(c.Request().Context(), b.input(), actor(c))
	if err == nil {
		s.sources.Wake()
	}
	return s.answerSource(c, http.StatusCreated, src, err)
}

func (s *Server) apiSourceGet(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	src, err := s.store.Source(c.Request().Context(), id)
	return s.answerSource(c, http.StatusOK, src, err)
}

func (s *Server) apiSourceUpdate(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	b, err := s.readSourceBody(c)
	if err != nil {
		return err
	}
	src, err := s.updateSource(c, id, b.input())
	return s.answerSource(c, http.StatusOK, src, err)
}

// updateSource changes a source and, when its schedule changed, when it
// runs next.
func (s *Server) updateSource(c *echo.Context, id int64, in store.SourceInput) (store.Source, error) {
	ctx := c.Request().Context()
	before, err := s.store.Source(ctx, id)
	if err != nil {
		return before, err
	}
	src, err := s.store.UpdateSource(ctx, id, in, actor(c))
	if err != nil {
		return src, err
	}
	if src.Schedule != before.Schedule || src.AtMinute != before.AtMinute {
		if err := s.sources.Reschedule(ctx, id); err != nil {
			return src, err
		}
		return s.store.Source(ctx, id)
	}
	if src.Enabled && !before.Enabled {
		s.sources.Wake()
	}
	return src, nil
}

// apiSourceTest asks the API a source describes (a new one, or with an id
// in the path a change to one) for its first page, saving nothing; a
// connection that fails answers 200 with ok false and why.
func (s *Server) apiSourceTest(c *echo.Context) error {
	var id int64
	if c.Param("id") != "" {
		var err error
		if id, err = pathID(c); err != nil {
			return err
		}
	}
	b, err := s.readSourceBody(c)
	if err != nil {
		return err
	}
	res, err := s.sources.Test(c.Request().Context(), id, b.input())
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, toSourceTestJSON(res))
}

func toSourceTestJSON(res sources.TestResult) sourceTestJSON {
	out := sourceTestJSON{OK: res.OK, Error: res.Error, Status: res.Status, TookMS: res.Took.Milliseconds(), Count: res.Count, More: res.More,
		Records: make([]map[string]any, len(res.Records)), Fields: []sourceFieldSampleJSON{}}
	for i, r := range res.Records {
		out.Records[i] = r
	}
	for _, f := range res.Fields {
		out.Fields = append(out.Fields, sourceFieldSampleJSON{Path: f.Path, Sample: f.Sample, Target: f.Target})
	}
	return out
}

// apiSourceRun makes a source run now: 202, and its runs show how it goes.
func (s *Server) apiSourceRun(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if err := s.sources.RunNow(c.Request().Context(), id); err != nil {
		return err
	}
	c.Response().Header().Set("Location", "/api/v1/sources/"+itoa(id)+"/runs")
	return c.NoContent(http.StatusAccepted)
}

func (s *Server) apiSourceRuns(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if _, err := s.store.Source(c.Request().Context(), id); err != nil {
		return err
	}
	runs, err := s.store.SourceRuns(c.Request().Context(), id, store.KeptSourceRuns)
	if err != nil {
		return err
	}
	out := make([]sourceRunJSON, len(runs))
	for i, r := range runs {
		out[i] = toSourceRunJSON(r)
	}
	return apiData(c, http.StatusOK, out)
}

// apiSourceReveal shows a source's credentials, writing in its audit trail
// who asked: "revealed", or with ?for=copy "copied".
func (s *Server) apiSourceReveal(c *echo.Context) error {
	_, sec, _, err := s.revealSource(c)
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, sourceSecretJSON{Secret: sec.Secret, Headers: orEmpty(sec.Headers)})
}

// revealSource opens the credentials of the source the path names for
// whoever asks, writing in its audit trail that they were revealed, or
// with ?for=copy copied, and keeps the answer out of every cache.
func (s *Server) revealSource(c *echo.Context) (id int64, sec store.SourceSecret, copied bool, err error) {
	if id, err = pathID(c); err != nil {
		return
	}
	action := "revealed"
	if copied = c.QueryParam("for") == "copy"; copied {
		action = "copied"
	}
	// Written down even when the asker leaves at once: a copy is made from
	// what the page already shows.
	if sec, err = s.store.SourceSecrets(context.WithoutCancel(c.Request().Context()), id, actor(c), action); err != nil {
		return
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return id, sec, copied, nil
}

// sourceAuditJSON is one line of a source's audit trail.
type sourceAuditJSON struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Detail string    `json:"detail"`
}

func (s *Server) apiSourceAudit(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if _, err := s.store.Source(c.Request().Context(), id); err != nil {
		return err
	}
	entries, err := s.store.SourceAudit(c.Request().Context(), id, 200)
	if err != nil {
		return err
	}
	out := make([]sourceAuditJSON, len(entries))
	for i, e := range entries {
		out[i] = sourceAuditJSON{At: e.At, Actor: e.Actor, Action: e.Action, Detail: e.Detail}
	}
	return apiData(c, http.StatusOK, out)
}
