package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Source is a JSON API Herald pulls contacts from. Its credentials are
// never here in the clear: SecretSet and HeaderNames say what is kept,
// and SourceSecrets reveals them, writing down who asked.
type Source struct {
	ID          int64
	Name        string
	URL         string
	AuthKind    string
	AuthName    string
	SecretSet   bool
	HeaderNames []string
	// RecordsPath is where an answer holds its records; "" finds them.
	RecordsPath string
	Paging      SourcePaging
	// SinceParam is the query parameter given the start of the last
	// successful run, for an API that can answer what changed since.
	SinceParam string
	Mapping    SourceMapping
	// Schedule is hourly, daily, weekly or monthly; AtMinute the minute of
	// the day (or, hourly, of the hour) it runs at, in the organisation's
	// timezone.
	Schedule       string
	AtMinute       int
	Enabled        bool
	DisabledReason string
	Failures       int
	NextRunAt      time.Time
	LastRunAt      time.Time
	LastSuccessAt  time.Time
	LastError      string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// SourcePaging is how a source's API pages its records; see
// scheduler/sources.Paging, which it becomes.
type SourcePaging struct {
	Kind        string `json:"kind"`
	PageParam   string `json:"page_param,omitempty"`
	SizeParam   string `json:"size_param,omitempty"`
	Size        int    `json:"size,omitempty"`
	CursorField string `json:"cursor_field,omitempty"`
	CursorParam string `json:"cursor_param,omitempty"`
	MaxPages    int    `json:"max_pages,omitempty"`
}

// SourceMapping is what a source's records become: each field path's
// target (as the CSV importer's), the lists and tags every contact gets,
// and the import mode.
type SourceMapping struct {
	Fields  []SourceField `json:"fields"`
	ListIDs []int64       `json:"list_ids"`
	Tags    []string      `json:"tags"`
	Mode    string        `json:"mode"`
	// LeaveLists takes contacts that an earlier run had but this one did
	// not out of the source's lists.
	LeaveLists bool `json:"leave_lists"`
}

// SourceField maps one field of the records, by path, to a target.
type SourceField struct {
	Path   string `json:"path"`
	Target string `json:"target"`
}

// SourceHeader is an extra header sent to the source's API.
type SourceHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// SourceSecret is a source's credentials in the clear.
type SourceSecret struct {
	Secret  string
	Headers []SourceHeader
}

// SourceInput creates or changes a source; a nil field stays as it is.
// Secret and Headers, when given, replace what is kept.
type SourceInput struct {
	Name        *string
	URL         *string
	AuthKind    *string
	AuthName    *string
	Secret      *string
	Headers     *[]SourceHeader
	RecordsPath *string
	Paging      *SourcePaging
	SinceParam  *string
	Mapping     *SourceMapping
	Schedule    *string
	AtMinute    *int
	Enabled     *bool
}

// Source schedules, auth kinds and paging kinds.
var (
	SourceSchedules = []string{"hourly", "daily", "weekly", "monthly"}
	SourceAuthKinds = []string{"", "bearer", "basic", "header", "query"}
	SourcePagings   = []string{"none", "page", "offset", "cursor", "link"}
)

// Limits of a source.
const (
	MaxSourceHeaders = 20
	maxSourceName    = 200
	maxSourceURL     = 2000
	maxSourceSecret  = 4096
)

// validate checks a source as it would be saved.
func (src *Source) validate(sec SourceSecret) map[string]string {
	errs := map[string]string{}
	if src.Name == "" {
		errs["name"] = "Give the source a name, like \"Shop customers\"."
	} else if msg := CheckLine(src.Name, maxSourceName); msg != "" {
		errs["name"] = msg
	}
	if u, err := url.Parse(src.URL); err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.Fragment != "" || len(src.URL) > maxSourceURL {
		errs["url"] = "Give the API's https address, like https://shop.example/api/customers, without a login or a #fragment."
	}
	if !slices.Contains(SourceAuthKinds, src.AuthKind) {
		errs["auth_kind"] = "Use bearer, basic, header, query, or none."
	}
	switch src.AuthKind {
	case "basic":
		if src.AuthName == "" || len(src.AuthName) > 200 || strings.Contains(src.AuthName, ":") || hasControl(src.AuthName) {
			errs["auth_name"] = "Give the username: up to 200 characters, without a colon."
		}
	case "header":
		if !headerName(src.AuthName) {
			errs["auth_name"] = "Give the header's name, like X-Api-Key."
		} else if reservedHeader(src.AuthName) {
			errs["auth_name"] = src.AuthName + " is Herald's to set: choose bearer or basic authentication, or another header."
		}
	case "query":
		if msg := checkToken(src.AuthName, 200); msg != "" {
			errs["auth_name"] = "Give the parameter's name, like api_key."
		}
	}
	if src.AuthKind != "" && sec.Secret == "" {
		errs["secret"] = "Give the token, password or key."
	}
	if len(sec.Secret) > maxSourceSecret || hasControl(sec.Secret) {
		errs["secret"] = fmt.Sprintf("Use one line of at most %d characters, without control characters.", maxSourceSecret)
	}
	if len(sec.Headers) > MaxSourceHeaders {
		errs["headers"] = fmt.Sprintf("Send at most %d extra headers.", MaxSourceHeaders)
	}
	for i, h := range sec.Headers {
		if !headerName(h.Name) {
			errs[fmt.Sprintf("headers[%d].name", i)] = "Give a header name of letters, digits and dashes, like X-Shop."
		} else if reservedHeader(h.Name) || strings.EqualFold(h.Name, src.AuthName) && src.AuthKind == "header" {
			errs[fmt.Sprintf("headers[%d].name", i)] = h.Name + " is Herald's to set: use the authentication fields."
		}
		if len(h.Value) > maxSourceSecret || hasControl(h.Value) {
			errs[fmt.Sprintf("headers[%d].value", i)] = fmt.Sprintf("Use one line of at most %d characters, without control characters.", maxSourceSecret)
		}
	}
	if msg := CheckLine(src.RecordsPath, 200); msg != "" {
		errs["records_path"] = msg
	}
	p := &src.Paging
	if p.Kind == "" {
		p.Kind = "none"
	}
	if !slices.Contains(SourcePagings, p.Kind) {
		errs["paging.kind"] = "Use none, page, offset, cursor or link."
	}
	if p.Kind == "cursor" && strings.TrimSpace(p.CursorField) == "" {
		errs["paging.cursor_field"] = "Give where the answer holds the next page's cursor, like meta.next_cursor."
	}
	if p.Size < 0 || p.Size > 10000 {
		errs["paging.size"] = "Ask for 1 to 10,000 records a page."
	}
	if p.MaxPages < 0 || p.MaxPages > 100000 {
		errs["paging.max_pages"] = "Allow 1 to 100,000 pages a run."
	}
	for field, v := range map[string]string{"paging.page_param": p.PageParam, "paging.size_param": p.SizeParam, "paging.cursor_param": p.CursorParam, "since_param": src.SinceParam} {
		if v != "" && checkToken(v, 100) != "" {
			errs[field] = "Use a parameter name of letters, digits, _, - and ., like updated_since."
		}
	}
	if m := src.Mapping; m.LeaveLists {
		switch {
		case m.Mode != ImportCreate && m.Mode != ImportUpsert:
			errs["mapping.leave_lists"] = "Only a source that adds contacts can take those it no longer has out of its lists."
		case len(m.ListIDs) == 0:
			errs["mapping.leave_lists"] = "Choose the lists the source's contacts join: those are the lists they leave."
		case src.SinceParam != "":
			errs["mapping.leave_lists"] = "An incremental source gets only what changed, so a contact it does not get has not gone: leave the since parameter empty, or the lists as they are."
		}
	}
	if !slices.Contains(SourceSchedules, src.Schedule) {
		errs["schedule"] = "Use hourly, daily, weekly or monthly."
	}
	if src.AtMinute < 0 || src.AtMinute >= 24*60 || src.Schedule == "hourly" && src.AtMinute >= 60 {
		errs["at_minute"] = "Give a time of day (or, hourly, a minute of the hour)."
	}
	return errs
}

// checkSourceMapping checks what a source's records become, as an
// import's setup is checked: one field for the email, known targets, an
// import mode, and lists that exist.
func (s *Store) checkSourceMapping(ctx context.Context, m SourceMapping) error {
	paths, targets := make([]string, len(m.Fields)), make([]string, len(m.Fields))
	errs := map[string]string{}
	for i, f := range m.Fields {
		paths[i], targets[i] = f.Path, f.Target
		if msg := CheckLine(f.Path, 200); msg != "" || f.Path == "" {
			errs[fmt.Sprintf("mapping.fields[%d].path", i)] = "Give the field's path in a record, like email or address.city."
		}
	}
	err := s.checkSetup(ctx, ImportSetup{Mode: m.Mode, ListIDs: m.ListIDs, Tags: m.Tags, Mapping: targets}, paths)
	var ve *ValidationError
	if errors.As(err, &ve) {
		for k, v := range ve.Fields {
			if k == "mapping" {
				k = "fields"
			}
			errs["mapping."+k] = strings.ReplaceAll(strings.ReplaceAll(v, "Column ", "Field "), "column", "field")
		}
	} else if err != nil {
		return err
	}
	if len(errs) > 0 {
		return &ValidationError{Fields: errs}
	}
	return nil
}

// checkToken checks a name made of letters, digits and -_.[].
func checkToken(s string, max int) string {
	if s == "" || len(s) > max || strings.TrimLeft(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.[]") != "" {
		return "bad"
	}
	return ""
}

// headerName checks an HTTP header's name (RFC 9110's token), of at most
// 100 characters.
func headerName(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", r)) {
			return false
		}
	}
	return true
}

// reservedHeader names the headers an extra header may not replace.
func reservedHeader(name string) bool {
	switch strings.ToLower(name) {
	case "host", "content-length", "transfer-encoding", "connection", "authorization", "cookie", "user-agent", "accept", "te", "upgrade",
		"proxy-authorization", "expect", "trailer":
		return true
	}
	return false
}

// apply puts an input's fields on a source and its secrets.
func (in SourceInput) apply(src *Source, sec *SourceSecret) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = strings.TrimSpace(*v)
		}
	}
	set(&src.Name, in.Name)
	set(&src.URL, in.URL)
	set(&src.AuthKind, in.AuthKind)
	set(&src.AuthName, in.AuthName)
	set(&src.RecordsPath, in.RecordsPath)
	set(&src.SinceParam, in.SinceParam)
	set(&src.Schedule, in.Schedule)
	if in.Secret != nil {
		sec.Secret = strings.TrimSpace(*in.Secret)
	}
	if in.Headers != nil {
		sec.Headers = *in.Headers
	}
	if in.Paging != nil {
		src.Paging = *in.Paging
	}
	if in.Mapping != nil {
		src.Mapping = *in.Mapping
	}
	if in.AtMinute != nil {
		src.AtMinute = *in.AtMinute
	} else if src.Schedule == "hourly" {
		src.AtMinute %= 60 // a daily time's minutes, for a source made hourly
	}
	if in.Enabled != nil {
		src.Enabled = *in.Enabled
	}
	if src.AuthKind == "" {
		src.AuthName, sec.Secret = "", ""
	}
	src.HeaderNames = src.HeaderNames[:0]
	for _, h := range sec.Headers {
		src.HeaderNames = append(src.HeaderNames, h.Name)
	}
	src.SecretSet = sec.Secret != ""
}

const sourceColumns = `id, name, url, auth_kind, auth_name, auth_secret IS NOT NULL, header_names, records_path, paging, since_param, mapping,
schedule, at_minute, enabled, disabled_reason, failures, next_run_at, last_run_at, last_success_at, last_error, created_at, updated_at`

func scanSource(row scanner) (Source, error) {
	var src Source
	var names, paging, mapping string
	var next, last, success sql.NullInt64
	var created, updated int64
	err := row.Scan(&src.ID, &src.Name, &src.URL, &src.AuthKind, &src.AuthName, &src.SecretSet, &names, &src.RecordsPath, &paging, &src.SinceParam,
		&mapping, &src.Schedule, &src.AtMinute, &src.Enabled, &src.DisabledReason, &src.Failures, &next, &last, &success, &src.LastError, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return Source{}, ErrNotFound
	}
	if err != nil {
		return Source{}, err
	}
	for _, part := range []struct {
		text string
		into any
	}{{names, &src.HeaderNames}, {paging, &src.Paging}, {mapping, &src.Mapping}} {
		if err := json.Unmarshal([]byte(part.text), part.into); err != nil {
			return Source{}, fmt.Errorf("source %d: %w", src.ID, err)
		}
	}
	m := &src.Mapping
	m.Fields, m.ListIDs, m.Tags = orEmpty(m.Fields), orEmpty(m.ListIDs), orEmpty(m.Tags)
	src.NextRunAt, src.LastRunAt, src.LastSuccessAt = fromNullUnix(next), fromNullUnix(last), fromNullUnix(success)
	src.CreatedAt, src.UpdatedAt = fromUnix(created), fromUnix(updated)
	return src, nil
}

// Sources lists every source, by name.
func (s *Store) Sources(ctx context.Context) ([]Source, error) {
	return queryAll(ctx, s, "sources", scanSource, `SELECT `+sourceColumns+` FROM sources ORDER BY name COLLATE NOCASE, id`)
}

// Source returns one source.
func (s *Store) Source(ctx context.Context, id int64) (Source, error) {
	src, err := scanSource(s.r.QueryRowContext(ctx, `SELECT `+sourceColumns+` FROM sources WHERE id = ?`, id))
	if err != nil && !errors.Is(err, ErrNotFound) {
		err = fmt.Errorf("store: source %d: %w", id, err)
	}
	return src, err
}

// CheckSource is the source an input would create, with its credentials,
// or a ValidationError naming what is wrong; nothing is stored.
func CheckSource(in SourceInput) (Source, SourceSecret, error) {
	src := Source{Schedule: "daily", AtMinute: 6 * 60, Enabled: true, Mapping: SourceMapping{Mode: "upsert"}}
	var sec SourceSecret
	in.apply(&src, &sec)
	if errs := src.validate(sec); len(errs) > 0 {
		return Source{}, SourceSecret{}, &ValidationError{Fields: errs}
	}
	return src, sec, nil
}

// CreateSource checks and stores a source, its credentials sealed, and
// writes its creation in its audit trail as actor's.
func (s *Store) CreateSource(ctx context.Context, in SourceInput, actor string) (Source, error) {
	src, sec, err := CheckSource(in)
	if err != nil {
		return Source{}, err
	}
	if err := s.checkSourceMapping(ctx, src.Mapping); err != nil {
		return Source{}, err
	}
	secret, headers, err := s.sealSource(sec)
	if err != nil {
		return Source{}, err
	}
	now := unix(s.now())
	var id int64
	err = s.Tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO sources (name, url, auth_kind, auth_name, auth_secret, header_names, header_values, records_path, paging,
	since_param, mapping, schedule, at_minute, enabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			src.Name, src.URL, src.AuthKind, src.AuthName, secret, jsonText(orEmpty(src.HeaderNames)), headers, src.RecordsPath, jsonText(src.Paging),
			src.SinceParam, jsonText(src.Mapping), src.Schedule, src.AtMinute, src.Enabled, now, now).Scan(&id)
		if err != nil {
			return err
		}
		return sourceAudit(ctx, tx, id, now, actor, "created", "")
	})
	if err != nil {
		return Source{}, fmt.Errorf("store: create source: %w", err)
	}
	return s.Source(ctx, id)
}

// UpdateSource changes a source; a change of its credentials is written in
// its audit trail as actor's.
func (s *Store) UpdateSource(ctx context.Context, id int64, in SourceInput, actor string) (Source, error) {
	var out Source
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		old, err := scanSource(tx.QueryRowContext(ctx, `SELECT `+sourceColumns+` FROM sources WHERE id = ?`, id))
		if err != nil {
			return err
		}
		src, sec, before, err := s.changedSource(ctx, tx, id, in)
		if err != nil {
			return err
		}
		secret, headers, err := s.sealSource(sec)
		if err != nil {
			return err
		}
		now := unix(s.now())
		if _, err := tx.ExecContext(ctx, `UPDATE sources SET name = ?, url = ?, auth_kind = ?, auth_name = ?, auth_secret = ?, header_names = ?, header_values = ?,
	records_path = ?, paging = ?, since_param = ?, mapping = ?, schedule = ?, at_minute = ?, enabled = ?, updated_at = ?,
	disabled_reason = CASE WHEN ? AND NOT enabled THEN '' ELSE disabled_reason END, failures = CASE WHEN ? AND NOT enabled THEN 0 ELSE failures END WHERE id = ?`,
			src.Name, src.URL, src.AuthKind, src.AuthName, secret, jsonText(orEmpty(src.HeaderNames)), headers, src.RecordsPath, jsonText(src.Paging),
			src.SinceParam, jsonText(src.Mapping), src.Schedule, src.AtMinute, src.Enabled, now, src.Enabled, src.Enabled, id); err != nil {
			return err
		}
		// What a capped run handed on is of the old address and paging.
		// So is a held-back leaving of lists.
		if src.URL != old.URL || src.Paging != old.Paging || src.SinceParam != old.SinceParam || src.RecordsPath != old.RecordsPath ||
			src.Mapping.LeaveLists != old.Mapping.LeaveLists {
			if _, err := tx.ExecContext(ctx, `UPDATE sources SET resume_cursor = '', resume_since = NULL, resume_run = NULL, held_from = NULL WHERE id = ?`, id); err != nil {
				return err
			}
		}
		if changed := credentialChanges(before, sec); changed != "" {
			if err := sourceAudit(ctx, tx, id, now, actor, "changed", changed); err != nil {
				return err
			}
		}
		out, err = scanSource(tx.QueryRowContext(ctx, `SELECT `+sourceColumns+` FROM sources WHERE id = ?`, id))
		return err
	})
	var ve *ValidationError
	if err != nil && !errors.Is(err, ErrNotFound) && !errors.As(err, &ve) {
		err = fmt.Errorf("store: update source %d: %w", id, err)
	}
	return out, err
}

// changedSource is source id as in would change it, with its credentials
// before and after, or a ValidationError naming what is wrong.
func (s *Store) changedSource(ctx context.Context, tx *sql.Tx, id int64, in SourceInput) (src Source, sec, before SourceSecret, err error) {
	src, err = scanSource(tx.QueryRowContext(ctx, `SELECT `+sourceColumns+` FROM sources WHERE id = ?`, id))
	if err != nil {
		return
	}
	if sec, err = s.openSource(ctx, tx, id); err != nil {
		return
	}
	before, old := sec, src
	in.apply(&src, &sec)
	errs := src.validate(sec)
	// Kept credentials go only where, and as, they were saved for: whoever
	// changes the address, or how the secret is sent, may not be whoever
	// set them, and must type them again.
	if src.URL != old.URL || src.AuthKind != old.AuthKind || src.AuthName != old.AuthName {
		if in.Secret == nil && sec.Secret != "" {
			errs["secret"] = "The address or the authentication changed: type the token, password or key again to send it there."
		}
		if in.Headers == nil && len(sec.Headers) > 0 {
			errs["headers"] = "The address or the authentication changed: give the extra headers again to send them there."
		}
	}
	if len(errs) > 0 {
		return src, sec, before, &ValidationError{Fields: errs}
	}
	if in.Mapping == nil {
		// Kept as it was: a list deleted since does not stop other changes
		// (a run leaves it out).
		return src, sec, before, nil
	}
	return src, sec, before, s.checkSourceMapping(ctx, src.Mapping)
}

// CheckSourceChange is source id as in would change it, with its
// credentials, or a ValidationError naming what is wrong; nothing is
// stored, and the credentials are only for asking the source's API.
func (s *Store) CheckSourceChange(ctx context.Context, id int64, in SourceInput) (Source, SourceSecret, error) {
	var src Source
	var sec SourceSecret
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		src, sec, _, err = s.changedSource(ctx, tx, id, in)
		return err
	})
	return src, sec, err
}

// credentialChanges says which credentials differ, without their values.
func credentialChanges(a, b SourceSecret) string {
	var parts []string
	if a.Secret != b.Secret {
		parts = append(parts, "the secret")
	}
	if !slices.Equal(a.Headers, b.Headers) {
		parts = append(parts, "the extra headers")
	}
	return strings.Join(parts, " and ")
}

// DeleteSource removes a source with its audit trail.
func (s *Store) DeleteSource(ctx context.Context, id int64) error {
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		// A run under way ends with its source; its import says so.
		if _, err := tx.ExecContext(ctx, `UPDATE import_jobs SET status = 'cancelled', error = 'its source was deleted', finished_at = ?
WHERE status = 'running' AND id IN (SELECT job_id FROM source_runs WHERE source_id = ?)`, unix(s.now()), id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM sources WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		err = fmt.Errorf("store: delete source %d: %w", id, err)
	}
	return err
}

// SourceSecrets returns a source's credentials in the clear for a run, or,
// with an action ("revealed", "copied"), for a person, whose asking is
// written in the audit trail first.
func (s *Store) SourceSecrets(ctx context.Context, id int64, actor, action string) (SourceSecret, error) {
	var sec SourceSecret
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if sec, err = s.openSource(ctx, tx, id); err != nil {
			return err
		}
		if action == "" {
			return nil
		}
		return sourceAudit(ctx, tx, id, unix(s.now()), actor, action, "")
	})
	if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrSecretUnreadable) {
		err = fmt.Errorf("store: source %d secrets: %w", id, err)
	}
	return sec, err
}

// SourceAuditEntry is one line of a source's audit trail.
type SourceAuditEntry struct {
	At                    time.Time
	Actor, Action, Detail string
}

// SourceAudit lists a source's audit trail, newest first.
func (s *Store) SourceAudit(ctx context.Context, id int64, limit int) ([]SourceAuditEntry, error) {
	return queryAll(ctx, s, "source audit", func(row scanner) (SourceAuditEntry, error) {
		var e SourceAuditEntry
		var at int64
		err := row.Scan(&at, &e.Actor, &e.Action, &e.Detail)
		e.At = fromUnix(at)
		return e, err
	}, `SELECT at, actor, action, detail FROM source_audit WHERE source_id = ? ORDER BY id DESC LIMIT ?`, id, limit)
}

func sourceAudit(ctx context.Context, tx *sql.Tx, id, at int64, actor, action, detail string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO source_audit (source_id, at, actor, action, detail) VALUES (?, ?, ?, ?, ?)`, id, at, actor, action, detail)
	return err
}

// sealSource seals a source's secret and header values.
func (s *Store) sealSource(sec SourceSecret) (secret, headers []byte, err error) {
	if secret, err = s.sealPassword(sec.Secret); err != nil {
		return nil, nil, err
	}
	if len(sec.Headers) == 0 {
		return secret, nil, nil
	}
	values := make([]string, len(sec.Headers))
	for i, h := range sec.Headers {
		values[i] = h.Value
	}
	headers, err = s.box.Seal(jsonText(values))
	return secret, headers, err
}

// openSource opens a source's sealed credentials inside a transaction.
func (s *Store) openSource(ctx context.Context, tx *sql.Tx, id int64) (SourceSecret, error) {
	var secret, headers []byte
	var names string
	err := tx.QueryRowContext(ctx, `SELECT auth_secret, header_values, header_names FROM sources WHERE id = ?`, id).Scan(&secret, &headers, &names)
	if errors.Is(err, sql.ErrNoRows) {
		return SourceSecret{}, ErrNotFound
	}
	if err != nil {
		return SourceSecret{}, err
	}
	var sec SourceSecret
	if secret != nil {
		if sec.Secret, err = s.box.Open(secret); err != nil {
			return SourceSecret{}, ErrSecretUnreadable
		}
	}
	var hn []string
	if err := json.Unmarshal([]byte(names), &hn); err != nil {
		return SourceSecret{}, err
	}
	if headers != nil {
		text, err := s.box.Open(headers)
		if err != nil {
			return SourceSecret{}, ErrSecretUnreadable
		}
		var values []string
		if err := json.Unmarshal([]byte(text), &values); err != nil || len(values) != len(hn) {
			return SourceSecret{}, fmt.Errorf("source %d: its header values do not match their names", id)
		}
		for i, n := range hn {
			sec.Headers = append(sec.Headers, SourceHeader{Name: n, Value: values[i]})
		}
	}
	return sec, nil
}

// DueSource returns the source to run next at now: one whose run a stop
// cut short, then the enabled one due longest ago (a new one is due at
// once); ErrNotFound when none is, or the sources queue is paused.
func (s *Store) DueSource(ctx context.Context, now time.Time) (int64, error) {
	var id int64
	err := s.r.QueryRowContext(ctx, `SELECT id FROM (
	SELECT source_id AS id, 0 AS rank, 0 AS due FROM source_runs WHERE status = 'running'
	UNION ALL
	SELECT id, 1, coalesce(next_run_at, 0) FROM sources WHERE enabled = 1 AND coalesce(next_run_at, 0) <= ?)
WHERE `+queueNotPaused(QueueSources)+` ORDER BY rank, due, id LIMIT 1`, unix(now)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("store: due source: %w", err)
	}
	return id, nil
}

// RescheduleSource sets when a source runs next, unless it has never run
// (it is due at once) or waits to retry a failed run.
func (s *Store) RescheduleSource(ctx context.Context, id int64, next time.Time) error {
	if _, err := s.w.ExecContext(ctx, `UPDATE sources SET next_run_at = ? WHERE id = ? AND next_run_at IS NOT NULL AND failures = 0`, unix(next), id); err != nil {
		return fmt.Errorf("store: reschedule source %d: %w", id, err)
	}
	return nil
}

// RunSourceNow makes an enabled source due at once; a disabled one is a
// conflict, to be enabled first.
func (s *Store) RunSourceNow(ctx context.Context, id int64) error {
	src, err := s.Source(ctx, id)
	if err != nil {
		return err
	}
	if !src.Enabled {
		return conflict("the source %s is disabled: enable it first", src.Name)
	}
	if _, err := s.w.ExecContext(ctx, `UPDATE sources SET next_run_at = ? WHERE id = ?`, unix(s.now()), id); err != nil {
		return fmt.Errorf("store: run source %d now: %w", id, err)
	}
	return nil
}
