package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"herald/scheduler/sources"
	"herald/store"
	"herald/templates"
)

// Contacts → Sources: the JSON APIs Herald pulls contacts from. The pages
// read the form and call the store or the sources service, as the API does.

// lastFinished is the newest of runs (newest first) that has ended.
func lastFinished(runs []store.SourceRun) *store.SourceRun {
	for i := range runs {
		if runs[i].Status != store.SourceRunRunning {
			return &runs[i]
		}
	}
	return nil
}

// sourceRow is a source as its list and page show it, from its newest runs.
func (s *Server) sourceRow(src store.Source, runs []store.SourceRun, now time.Time) templates.SourceRow {
	row := templates.SourceRow{ID: src.ID, Name: src.Name, Host: hostOf(src.URL), Schedule: scheduleText(src, s.location()),
		Health: sourceHealth(src, lastFinished(runs)), LastError: src.LastError, Enabled: src.Enabled, DisabledReason: src.DisabledReason,
		LastRunAt: src.LastRunAt, NextRunAt: src.NextRunAt, NextIn: untilText(src.NextRunAt.Sub(now))}
	if len(runs) > 0 {
		row.Newest = runs[0].ID
		if runs[0].Status == store.SourceRunRunning {
			r := sourceRunRow(runs[0])
			row.Running = &r
		}
	}
	if last := lastFinished(runs); last != nil {
		row.LastStatus, row.LastWarning = last.Status, last.Warning
		if row.Health == "warning" && row.LastWarning == "" && last.Job.Invalid > 0 {
			row.LastWarning = fmt.Sprintf("The last run had %d invalid records: they are listed from its row below.", last.Job.Invalid)
		}
	}
	return row
}

func sourceRunRow(r store.SourceRun) templates.SourceRunRow {
	row := templates.SourceRunRow{ID: r.ID, Status: r.Status, Error: r.Error, Warning: r.Warning, Pages: r.Pages, Fetched: r.Fetched, Created: r.Job.Created,
		Updated: r.Job.Updated, Skipped: r.Job.Skipped, Invalid: r.Job.Invalid, Left: r.Left, Capped: r.Capped, ImportID: r.Job.ID, StartedAt: r.StartedAt}
	if !r.FinishedAt.IsZero() {
		row.Took = tookText(r.FinishedAt.Sub(r.StartedAt))
	}
	return row
}

func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Host
	}
	return raw
}

// scheduleText says when a source runs, in words.
func scheduleText(src store.Source, loc *time.Location) string {
	at := fmt.Sprintf("%02d:%02d", src.AtMinute/60, src.AtMinute%60)
	switch src.Schedule {
	case "hourly":
		return fmt.Sprintf("Every hour at :%02d", src.AtMinute%60)
	case "weekly":
		return "Mondays at " + at + " " + loc.String()
	case "monthly":
		return "The 1st of each month at " + at + " " + loc.String()
	}
	return "Every day at " + at + " " + loc.String()
}

// untilText says how long until something, in words: "in 2 h 5 min".
func untilText(d time.Duration) string {
	switch {
	case d <= 0:
		return "due now"
	case d < time.Minute:
		return "in under a minute"
	}
	return "in " + tookText(d)
}

// tookText says a duration in words: "2 h 5 min", "3 min", "12 s".
func tookText(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

func (s *Server) sourceList(c *echo.Context) error {
	ctx := c.Request().Context()
	srcs, err := s.store.Sources(ctx)
	if err != nil {
		return err
	}
	p := templates.SourcesProps{Shell: s.shell(c, "contacts", "Sources")}
	now := s.store.Now()
	for _, src := range srcs {
		runs, err := s.store.SourceRuns(ctx, src.ID, 2)
		if err != nil {
			return err
		}
		p.Sources = append(p.Sources, s.sourceRow(src, runs, now))
	}
	return s.render(c, http.StatusOK, templates.SourcesPage(p))
}

// sourceFormOf is a saved source as its form shows it; the secret stays out.
func sourceFormOf(src store.Source) templates.SourceForm {
	f := templates.SourceForm{ID: src.ID, Name: src.Name, URL: src.URL, AuthKind: src.AuthKind, AuthName: src.AuthName, RecordsPath: src.RecordsPath,
		Paging: src.Paging.Kind, PageParam: src.Paging.PageParam, SizeParam: src.Paging.SizeParam, CursorField: src.Paging.CursorField,
		CursorParam: src.Paging.CursorParam, SinceParam: src.SinceParam, Mode: src.Mapping.Mode, Tags: strings.Join(src.Mapping.Tags, ", "),
		Schedule: src.Schedule, At: fmt.Sprintf("%02d:%02d", src.AtMinute/60, src.AtMinute%60), ListIDs: idStrings(src.Mapping.ListIDs),
		LeaveLists: src.Mapping.LeaveLists, SecretSet: src.SecretSet, HeaderNames: src.HeaderNames}
	if src.Paging.Size > 0 {
		f.PageSize = strconv.Itoa(src.Paging.Size)
	}
	if src.Paging.MaxPages > 0 {
		f.MaxPages = strconv.Itoa(src.Paging.MaxPages)
	}
	for i, fl := range src.Mapping.Fields {
		f.Fields = append(f.Fields, mappedColumn(i, fl.Path, fl.Target, nil))
	}
	return f
}

// mappedColumn is a field of a source in the mapping table.
func mappedColumn(i int, path, target string, samples []string) templates.ImportColumn {
	col := templates.ImportColumn{Index: i, Header: path, Target: target, Samples: samples}
	if key, ok := strings.CutPrefix(target, "attribute:"); ok {
		col.Target, col.AttrKey = "attribute", key
	}
	return col
}

// sourceFormInput reads a source's form: the input it makes, the form as
// typed, and what could not be read. In a change, an empty secret or set
// of headers keeps what is kept.
func sourceFormInput(v url.Values, editing bool) (store.SourceInput, templates.SourceForm, templates.FieldErrors) {
	errs := templates.FieldErrors{}
	f := templates.SourceForm{Name: v.Get("name"), URL: strings.TrimSpace(v.Get("url")), AuthKind: v.Get("auth_kind"), AuthName: v.Get("auth_name"),
		Headers: v.Get("headers"), RecordsPath: v.Get("records_path"), Paging: v.Get("paging"), PageParam: v.Get("page_param"), SizeParam: v.Get("size_param"),
		PageSize: v.Get("page_size"), MaxPages: v.Get("max_pages"), CursorField: v.Get("cursor_field"), CursorParam: v.Get("cursor_param"),
		SinceParam: v.Get("since_param"), Mode: v.Get("mode"), Tags: v.Get("tags"), Schedule: v.Get("schedule"), At: v.Get("at"),
		ListIDs: v["list_ids"], LeaveLists: v.Get("leave_lists") == "1"}
	paging := store.SourcePaging{Kind: f.Paging, PageParam: strings.TrimSpace(f.PageParam), SizeParam: strings.TrimSpace(f.SizeParam),
		Size: formInt(errs, "paging.size", f.PageSize, true, "Give a number of records, like 100."), CursorField: strings.TrimSpace(f.CursorField),
		CursorParam: strings.TrimSpace(f.CursorParam), MaxPages: formInt(errs, "paging.max_pages", f.MaxPages, true, "Give a number of pages, like 1000.")}
	mapping := store.SourceMapping{Mode: f.Mode, Tags: splitList(f.Tags), LeaveLists: f.LeaveLists}
	for _, id := range f.ListIDs {
		if n, err := strconv.ParseInt(id, 10, 64); err == nil {
			mapping.ListIDs = append(mapping.ListIDs, n)
		}
	}
	for i := 0; v.Has("path_" + strconv.Itoa(i)); i++ {
		n := strconv.Itoa(i)
		target := v.Get("target_" + n)
		if target == "attribute" {
			target = "attribute:" + strings.TrimSpace(v.Get("attr_"+n))
		}
		mapping.Fields = append(mapping.Fields, store.SourceField{Path: v.Get("path_" + n), Target: target})
		f.Fields = append(f.Fields, mappedColumn(i, v.Get("path_"+n), target, nil))
	}
	at := sourceAt(errs, f.At, f.Schedule)
	in := store.SourceInput{Name: &f.Name, URL: &f.URL, AuthKind: &f.AuthKind, AuthName: &f.AuthName, RecordsPath: &f.RecordsPath, Paging: &paging,
		SinceParam: &f.SinceParam, Mapping: &mapping, Schedule: &f.Schedule, AtMinute: &at}
	if secret := v.Get("secret"); secret != "" || !editing {
		in.Secret = &secret
	}
	if strings.TrimSpace(f.Headers) != "" || !editing || v.Get("clear_headers") == "1" {
		headers, ok := parseHeaders(f.Headers)
		if !ok {
			errs["headers"] = "Write each header as Name: value, one a line."
		}
		in.Headers = &headers
	}
	return in, f, errs
}

// sourceAt reads the time a source runs at, as minutes from midnight (or,
// hourly, from the hour); empty is 06:00.
func sourceAt(errs templates.FieldErrors, at, schedule string) int {
	if strings.TrimSpace(at) == "" {
		return 6 * 60
	}
	t, err := time.Parse("15:04", strings.TrimSpace(at))
	if err != nil {
		errs["at_minute"] = "Give a time of day, like 06:00."
		return 0
	}
	if schedule == "hourly" {
		return t.Minute()
	}
	return t.Hour()*60 + t.Minute()
}

// parseHeaders reads "Name: value" lines.
func parseHeaders(text string) ([]store.SourceHeader, bool) {
	out := []store.SourceHeader{}
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return out, false
		}
		out = append(out, store.SourceHeader{Name: strings.TrimSpace(name), Value: strings.TrimSpace(value)})
	}
	return out, true
}

// guardSourceURL refuses, beside its field, a source URL the outbound
// guard would refuse.
func (s *Server) guardSourceURL(in store.SourceInput) error {
	if in.URL == nil {
		return nil
	}
	if msg := s.checkHookURL(*in.URL); msg != "" {
		return &store.ValidationError{Fields: map[string]string{"url": msg}}
	}
	return nil
}

func (s *Server) sourceFormPage(c *echo.Context, status int, f templates.SourceForm, errs templates.FieldErrors) error {
	lists, _, _, err := s.audienceOptions(c)
	if err != nil {
		return err
	}
	title := "Add a source"
	if f.ID != 0 {
		title = "Change " + f.Name
	}
	p := templates.SourceFormProps{Shell: s.shell(c, "contacts", title), Form: f, Errors: errs, Lists: lists, Test: &templates.SourceTest{Fields: f.Fields}}
	c.Response().Header().Set("Cache-Control", "no-store")
	return s.render(c, status, templates.SourceFormPage(p))
}

func (s *Server) sourceNew(c *echo.Context) error {
	return s.sourceFormPage(c, http.StatusOK, templates.SourceForm{Paging: "none", Mode: store.ImportUpsert, Schedule: "daily", At: "06:00"}, nil)
}

func (s *Server) sourceEdit(c *echo.Context) error {
	src, err := s.pathSource(c)
	if err != nil {
		return err
	}
	return s.sourceFormPage(c, http.StatusOK, sourceFormOf(src), nil)
}

func (s *Server) pathSource(c *echo.Context) (store.Source, error) {
	id, err := pathID(c)
	if err != nil {
		return store.Source{}, err
	}
	return s.store.Source(c.Request().Context(), id)
}

// sourceSave creates a source, or with an id changes it, from its form.
// Errors go back beside the form: into it for htmx, so that what was typed
// stays, or as the whole page again.
func (s *Server) sourceSave(c *echo.Context, id int64) error {
	v, err := formValues(c)
	if err != nil {
		return err
	}
	in, f, errs := sourceFormInput(v, id != 0)
	f.ID = id
	if len(in.Mapping.Fields) == 0 {
		errs["mapping.fields"] = "Test the connection: the fields its records hold appear under 2. Fields, to map to contacts."
	}
	var src store.Source
	if len(errs) == 0 {
		if err = s.guardSourceURL(in); err == nil {
			if id == 0 {
				src, err = s.store.CreateSource(c.Request().Context(), in, actor(c))
				if err == nil {
					s.sources.Wake()
				}
			} else {
				src, err = s.updateSource(c, id, in)
			}
		}
		var ve *store.ValidationError
		if errors.As(err, &ve) {
			errs = ve.Fields
		} else if err != nil {
			return err
		}
	}
	if len(errs) > 0 {
		if c.Request().Header.Get("HX-Request") == "true" {
			return s.render(c, http.StatusUnprocessableEntity, templates.SourceErrors(errs))
		}
		if id != 0 {
			before, err := s.store.Source(c.Request().Context(), id)
			if err != nil {
				return err
			}
			f.SecretSet, f.HeaderNames = before.SecretSet, before.HeaderNames
		}
		return s.sourceFormPage(c, http.StatusUnprocessableEntity, f, errs)
	}
	if id == 0 {
		s.flash(c, "success", "Source saved. Its first run starts now.")
	} else {
		s.flash(c, "success", "Source saved.")
	}
	return redirect(c, "/contacts/sources/"+itoa(src.ID))
}

func (s *Server) sourceCreate(c *echo.Context) error { return s.sourceSave(c, 0) }

func (s *Server) sourceUpdate(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if _, err := s.store.Source(c.Request().Context(), id); err != nil {
		return err
	}
	return s.sourceSave(c, id)
}

// sourceTestForm tests the connection the form describes and answers with
// what it found: the first records, and the fields to map, keeping the
// targets already chosen for fields the form had.
func (s *Server) sourceTestForm(c *echo.Context) error {
	var id int64
	if c.Param("id") != "" {
		var err error
		if id, err = pathID(c); err != nil {
			return err
		}
	}
	v, err := formValues(c)
	if err != nil {
		return err
	}
	in, f, errs := sourceFormInput(v, id != 0)
	t := &templates.SourceTest{Ran: true, Fields: f.Fields, Errors: errs}
	if len(errs) == 0 {
		err = s.guardSourceURL(in)
		var res sources.TestResult
		if err == nil {
			res, err = s.sources.Test(c.Request().Context(), id, in)
		}
		var ve *store.ValidationError
		switch {
		case errors.As(err, &ve):
			t.Errors = ve.Fields
		case errors.Is(err, sources.ErrTestBusy):
			t.Error = err.Error()
		case err != nil:
			return err
		default:
			fillSourceTest(t, res, f.Fields)
		}
	}
	return s.render(c, http.StatusOK, templates.SourceTestResult(t))
}

// maxTestColumns caps the columns of the first records' table.
const maxTestColumns = 12

// fillSourceTest puts a test's result in its view: the records as a table
// and the fields found, each with the target the form gave it or, when
// new, the one proposed; fields the form had that the test did not find
// stay at the end.
func fillSourceTest(t *templates.SourceTest, res sources.TestResult, had []templates.ImportColumn) {
	t.OK, t.Error, t.Status, t.TookMS, t.Count, t.More = res.OK, res.Error, res.Status, res.Took.Milliseconds(), res.Count, res.More
	if !res.OK {
		return
	}
	chosen := map[string]templates.ImportColumn{}
	for _, col := range had {
		chosen[col.Header] = col
	}
	t.Fields = nil
	for _, fs := range res.Fields {
		col := mappedColumn(len(t.Fields), fs.Path, fs.Target, []string{fs.Sample})
		if prev, ok := chosen[fs.Path]; ok {
			col.Target, col.AttrKey = prev.Target, prev.AttrKey
			delete(chosen, fs.Path)
		}
		t.Fields = append(t.Fields, col)
		if len(t.Columns) < maxTestColumns {
			t.Columns = append(t.Columns, fs.Path)
		}
	}
	for _, col := range had {
		if _, ok := chosen[col.Header]; ok {
			col.Index = len(t.Fields)
			t.Fields = append(t.Fields, col)
		}
	}
	for _, r := range res.Records {
		row := make([]string, len(t.Columns))
		for i, path := range t.Columns {
			v, _ := sources.Lookup(r, path)
			row[i] = sources.Text(v)
		}
		t.Rows = append(t.Rows, row)
	}
}

func (s *Server) sourceShow(c *echo.Context) error {
	src, err := s.pathSource(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	runs, err := s.store.SourceRuns(ctx, src.ID, store.KeptSourceRuns)
	if err != nil {
		return err
	}
	audit, err := s.store.SourceAudit(ctx, src.ID, 200)
	if err != nil {
		return err
	}
	facts, err := s.sourceFacts(ctx, src)
	if err != nil {
		return err
	}
	p := templates.SourceDetailProps{Shell: s.shell(c, "contacts", src.Name), Source: s.sourceRow(src, runs, s.store.Now()), Facts: facts,
		Auth: authText(src), SecretSet: src.SecretSet, HeaderNames: src.HeaderNames}
	for _, r := range runs {
		p.Runs = append(p.Runs, sourceRunRow(r))
	}
	for _, a := range audit {
		p.Audit = append(p.Audit, templates.SourceAuditRow{At: a.At, Actor: a.Actor, Action: a.Action, Detail: a.Detail})
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return s.render(c, http.StatusOK, templates.SourceDetailPage(p))
}

// authText says how a source signs in.
func authText(src store.Source) string {
	switch src.AuthKind {
	case "bearer":
		return "A bearer token."
	case "basic":
		return "Basic auth as " + src.AuthName + "."
	case "header":
		return "A key in the " + src.AuthName + " header."
	case "query":
		return "A key in the " + src.AuthName + " query parameter."
	}
	return "No authentication."
}

// sourceFacts are a source's settings, in words.
func (s *Server) sourceFacts(ctx context.Context, src store.Source) ([]templates.Option, error) {
	lists, err := s.store.ListNames(ctx)
	if err != nil {
		return nil, err
	}
	names := map[int64]string{}
	for _, l := range lists {
		names[l.ID] = l.Name
	}
	var joins []string
	for _, id := range src.Mapping.ListIDs {
		joins = append(joins, names[id])
	}
	var fields []string
	for _, f := range src.Mapping.Fields {
		if f.Target != "ignore" {
			fields = append(fields, f.Path+" → "+f.Target)
		}
	}
	or := func(v, none string) string {
		if v == "" {
			return none
		}
		return v
	}
	leave := "No"
	if src.Mapping.LeaveLists {
		leave = "Yes: contacts no longer in the source leave its lists"
	}
	return []templates.Option{
		{Label: "Address", Value: src.URL},
		{Label: "Records", Value: or(src.RecordsPath, "Found by themselves")},
		{Label: "Paging", Value: optionLabel(templates.SourcePagings(), src.Paging.Kind)},
		{Label: "Changed since", Value: or(src.SinceParam, "Everything each run")},
		{Label: "Fields", Value: strings.Join(fields, ", ")},
		{Label: "Mode", Value: optionLabel(templates.ImportModes(), src.Mapping.Mode)},
		{Label: "Lists", Value: or(strings.Join(joins, ", "), "None")},
		{Label: "Tags", Value: or(strings.Join(src.Mapping.Tags, ", "), "None")},
		{Label: "Leave lists", Value: leave},
		{Label: "Schedule", Value: scheduleText(src, s.location())},
	}, nil
}

// optionLabel is the label of the option whose value is v, or v.
func optionLabel(opts []templates.Option, v string) string {
	for _, o := range opts {
		if o.Value == v {
			return o.Label
		}
	}
	return v
}

// sourceStatus answers with a source's status card, which polls itself
// with the newest run it knew of and whether that was running.
func (s *Server) sourceStatus(c *echo.Context) error {
	src, err := s.pathSource(c)
	if err != nil {
		return err
	}
	runs, err := s.store.SourceRuns(c.Request().Context(), src.ID, 2)
	if err != nil {
		return err
	}
	row := s.sourceRow(src, runs, s.store.Now())
	if strconv.FormatInt(row.Newest, 10) != c.QueryParam("newest") || c.QueryParam("running") == "1" && row.Running == nil {
		// A run started or ended since the page was made: reload it, so
		// the run's row and the counts appear.
		c.Response().Header().Set("HX-Refresh", "true")
	}
	return s.render(c, http.StatusOK, templates.SourceStatus(row))
}

func (s *Server) sourceRunNow(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if err := s.sources.RunNow(c.Request().Context(), id); err != nil {
		if errors.Is(err, store.ErrConflict) {
			s.flash(c, "error", upperFirst(err.Error())+".")
			return redirect(c, "/contacts/sources/"+itoa(id))
		}
		return err
	}
	if paused, _ := s.store.QueuePaused(c.Request().Context(), store.QueueSources); paused {
		s.flash(c, "success", "The source runs first once sources are resumed: they are paused in Settings → Jobs.")
	} else {
		s.flash(c, "success", "The source runs now.")
	}
	return redirect(c, "/contacts/sources/"+itoa(id))
}

func (s *Server) sourceEnabled(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	on := c.FormValue("enabled") == "1"
	if _, err := s.updateSource(c, id, store.SourceInput{Enabled: &on}); err != nil {
		return err
	}
	if on {
		s.flash(c, "success", "Source enabled.")
	} else {
		s.flash(c, "success", "Source disabled: it does not run until you enable it.")
	}
	return redirect(c, "/contacts/sources/"+itoa(id))
}

func (s *Server) sourceDelete(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if err := s.store.DeleteSource(c.Request().Context(), id); err != nil {
		return err
	}
	s.flash(c, "success", "Source deleted. The contacts it brought stay.")
	return redirect(c, "/contacts/sources")
}

// sourceReveal shows a source's credentials to whoever asked, writing it in
// the audit trail; with ?for=copy it writes down a copy, which the browser
// makes from what is shown.
func (s *Server) sourceReveal(c *echo.Context) error {
	id, sec, copied, err := s.revealSource(c)
	if err != nil {
		return err
	}
	if copied {
		return c.NoContent(http.StatusNoContent)
	}
	v := templates.SourceSecretView{ID: id, Revealed: true, SecretSet: sec.Secret != "", Secret: sec.Secret}
	for _, h := range sec.Headers {
		v.Headers = append(v.Headers, templates.Option{Label: h.Name, Value: h.Value})
		v.HeaderNames = append(v.HeaderNames, h.Name)
	}
	return s.render(c, http.StatusOK, templates.SourceSecret(v))
}

// sourceSecretMasked answers with a source's credentials masked again.
func (s *Server) sourceSecretMasked(c *echo.Context) error {
	src, err := s.pathSource(c)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, templates.SourceSecret(templates.SourceSecretView{ID: src.ID, SecretSet: src.SecretSet, HeaderNames: src.HeaderNames}))
}
