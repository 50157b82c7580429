package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kinds of template.
const (
	KindLayout        = "layout"
	KindCampaign      = "campaign"
	KindTransactional = "transactional"
)

// TemplateKinds lists the kinds of template.
var TemplateKinds = []string{KindLayout, KindCampaign, KindTransactional}

// Template is a layout, a reusable campaign design or a transactional email.
type Template struct {
	ID      int64
	Name    string
	Kind    string
	Format  string
	Subject string
	// Body is HTML, Markdown or plain text, as Format says.
	Body string
	// TextBody is an optional hand-written text part.
	TextBody string
	// LayoutID is the layout the body sits in; 0 means Herald's default
	// layout for campaigns, and no layout for transactional email.
	LayoutID int64
	// Essential transactional email, like a password reset, goes even to
	// suppressed addresses.
	Essential bool
	Version   int
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TemplateInput creates or changes a template; nil fields keep their value.
type TemplateInput struct {
	Name      *string
	Kind      *string
	Format    *string
	Subject   *string
	Body      *string
	TextBody  *string
	LayoutID  *int64
	Essential *bool
	// Author is who saved, for the version history.
	Author string
}

func (in TemplateInput) apply(t *Template) {
	set(&t.Name, in.Name)
	set(&t.Kind, in.Kind)
	set(&t.Format, in.Format)
	set(&t.Subject, in.Subject)
	set(&t.Body, in.Body)
	set(&t.TextBody, in.TextBody)
	set(&t.LayoutID, in.LayoutID)
	set(&t.Essential, in.Essential)
	t.Name = strings.TrimSpace(t.Name)
}

// validate checks what the store can; check, from the caller, compiles the
// template so nothing that cannot render is ever saved.
func (t Template) validate(check func(Template) map[string]string) error {
	errs := map[string]string{}
	if t.Name == "" {
		errs["name"] = "Give the template a name."
	} else if msg := CheckLine(t.Name, 100); msg != "" {
		errs["name"] = msg
	}
	if msg := CheckLine(t.Subject, 998); msg != "" {
		errs["subject"] = msg
	}
	if !contains(TemplateKinds, t.Kind) {
		errs["kind"] = "Kind must be layout, campaign or transactional."
	}
	if t.Format != "html" && t.Format != "markdown" && t.Format != "text" {
		errs["format"] = "Format must be html, markdown or text."
	}
	if t.Kind == KindLayout && t.Format != "html" {
		errs["format"] = "A layout is written in HTML."
	}
	if len(t.Body) > 1<<20 || len(t.TextBody) > 1<<20 {
		errs["body"] = "A template holds at most 1 MB."
	}
	if t.Essential && t.Kind != KindTransactional {
		errs["essential"] = "Only transactional templates can be essential."
	}
	if len(errs) == 0 && check != nil {
		errs = check(t)
	}
	if len(errs) > 0 {
		return &ValidationError{Fields: errs}
	}
	return nil
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// CreateTemplate validates and stores a template as its version 1.
func (s *Store) CreateTemplate(ctx context.Context, in TemplateInput, check func(Template) map[string]string) (Template, error) {
	t := Template{Kind: KindCampaign, Format: "html", Version: 1}
	in.apply(&t)
	if err := s.checkLayout(ctx, t); err != nil {
		return Template{}, err
	}
	if err := t.validate(check); err != nil {
		return Template{}, err
	}
	now := unix(s.now())
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO templates (name, kind, format, subject, body, text_body, layout_id, essential, version, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?) RETURNING id`, t.Name, t.Kind, t.Format, t.Subject, t.Body, t.TextBody, nullID(t.LayoutID), t.Essential, now, now).Scan(&t.ID)
		if isUniqueViolation(err) {
			return conflict("a template named %q already exists", t.Name)
		}
		if err != nil {
			return fmt.Errorf("store: create template: %w", err)
		}
		return saveVersion(ctx, tx, t, in.Author, now)
	})
	if err != nil {
		return Template{}, err
	}
	return s.Template(ctx, t.ID)
}

// checkLayout makes sure a template's layout exists and is a layout.
func (s *Store) checkLayout(ctx context.Context, t Template) error {
	if t.LayoutID == 0 {
		return nil
	}
	l, err := s.Template(ctx, t.LayoutID)
	if errors.Is(err, ErrNotFound) || (err == nil && l.Kind != KindLayout) || t.LayoutID == t.ID {
		return &ValidationError{Fields: map[string]string{"layout_id": fmt.Sprintf("Template %d is not a layout.", t.LayoutID)}}
	}
	return err
}

func saveVersion(ctx context.Context, tx *sql.Tx, t Template, author string, now int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO template_versions (template_id, version, name, format, subject, body, text_body, layout_id, essential, author, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, t.ID, t.Version, t.Name, t.Format, t.Subject, t.Body, t.TextBody, nullID(t.LayoutID), t.Essential, author, now)
	if err != nil {
		return fmt.Errorf("store: template %d version %d: %w", t.ID, t.Version, err)
	}
	return nil
}

// UpdateTemplate validates and stores a change as a new version. A save that
// changes nothing keeps the version it has.
func (s *Store) UpdateTemplate(ctx context.Context, id int64, in TemplateInput, check func(Template) map[string]string) (Template, error) {
	old, err := s.Template(ctx, id)
	if err != nil {
		return Template{}, err
	}
	t := old
	in.apply(&t)
	if t.Kind != old.Kind {
		return Template{}, &ValidationError{Fields: map[string]string{"kind": "The kind of a template cannot change; make a new template."}}
	}
	if err := s.checkLayout(ctx, t); err != nil {
		return Template{}, err
	}
	if err := t.validate(check); err != nil {
		return Template{}, err
	}
	if t.Name == old.Name && t.Format == old.Format && t.Subject == old.Subject && t.Body == old.Body && t.TextBody == old.TextBody &&
		t.LayoutID == old.LayoutID && t.Essential == old.Essential {
		return old, nil
	}
	t.Version = old.Version + 1
	now := unix(s.now())
	err = s.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE templates SET name = ?, format = ?, subject = ?, body = ?, text_body = ?, layout_id = ?, essential = ?,
version = ?, updated_at = ? WHERE id = ?`, t.Name, t.Format, t.Subject, t.Body, t.TextBody, nullID(t.LayoutID), t.Essential, t.Version, now, id)
		if isUniqueViolation(err) {
			return conflict("a template named %q already exists", t.Name)
		}
		if err != nil {
			return fmt.Errorf("store: update template %d: %w", id, err)
		}
		return saveVersion(ctx, tx, t, in.Author, now)
	})
	if err != nil {
		return Template{}, err
	}
	return s.Template(ctx, id)
}

// DeleteTemplate removes a template and its versions; templates that used it
// as their layout fall back to the default.
func (s *Store) DeleteTemplate(ctx context.Context, id int64) error {
	if err := s.inUse(ctx, "template_id", id, "template"); err != nil {
		return err
	}
	res, err := s.w.ExecContext(ctx, `DELETE FROM templates WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("store: delete template %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

const templateColumns = `id, name, kind, format, subject, body, text_body, COALESCE(layout_id, 0), essential, version, created_at, updated_at`

func scanTemplate(row scanner) (Template, error) {
	var t Template
	var created, updated int64
	err := row.Scan(&t.ID, &t.Name, &t.Kind, &t.Format, &t.Subject, &t.Body, &t.TextBody, &t.LayoutID, &t.Essential, &t.Version, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return t, ErrNotFound
	}
	t.CreatedAt, t.UpdatedAt = fromUnix(created), fromUnix(updated)
	return t, err
}

// Template returns one template.
func (s *Store) Template(ctx context.Context, id int64) (Template, error) {
	t, err := scanTemplate(s.r.QueryRowContext(ctx, `SELECT `+templateColumns+` FROM templates WHERE id = ?`, id))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return t, fmt.Errorf("store: template %d: %w", id, err)
	}
	return t, err
}

// Templates lists templates of a kind ("" for all), by name.
func (s *Store) Templates(ctx context.Context, kind string) ([]Template, error) {
	return queryAll(ctx, s, "templates", scanTemplate, `SELECT `+templateColumns+` FROM templates WHERE ? = '' OR kind = ? ORDER BY name`, kind, kind)
}

// TemplateVersion is one saved state of a template.
type TemplateVersion struct {
	Template
	Author string
}

// TemplateVersions lists a template's versions, newest first.
func (s *Store) TemplateVersions(ctx context.Context, id int64) ([]TemplateVersion, error) {
	if _, err := s.Template(ctx, id); err != nil {
		return nil, err
	}
	return queryAll(ctx, s, "template versions", scanVersion, `SELECT `+versionColumns+` FROM template_versions v JOIN templates t ON t.id = v.template_id
WHERE v.template_id = ? ORDER BY v.version DESC`, id)
}

const versionColumns = `v.template_id, v.name, t.kind, v.format, v.subject, v.body, v.text_body, COALESCE(v.layout_id, 0), v.essential, v.version, v.created_at, v.author`

func scanVersion(row scanner) (TemplateVersion, error) {
	var v TemplateVersion
	var created int64
	err := row.Scan(&v.ID, &v.Name, &v.Kind, &v.Format, &v.Subject, &v.Body, &v.TextBody, &v.LayoutID, &v.Essential, &v.Version, &created, &v.Author)
	if errors.Is(err, sql.ErrNoRows) {
		return v, ErrNotFound
	}
	v.CreatedAt, v.UpdatedAt = fromUnix(created), fromUnix(created)
	return v, err
}

// TemplateVersion returns one saved version of a template.
func (s *Store) TemplateVersion(ctx context.Context, id int64, version int) (TemplateVersion, error) {
	return scanVersion(s.r.QueryRowContext(ctx, `SELECT `+versionColumns+` FROM template_versions v JOIN templates t ON t.id = v.template_id
WHERE v.template_id = ? AND v.version = ?`, id, version))
}

// RestoreTemplateVersion saves an old version's content as the newest version.
func (s *Store) RestoreTemplateVersion(ctx context.Context, id int64, version int, author string, check func(Template) map[string]string) (Template, error) {
	v, err := s.TemplateVersion(ctx, id, version)
	if err != nil {
		return Template{}, err
	}
	if v.LayoutID != 0 {
		// A layout deleted since the version was saved falls back to the
		// default, as it did for the template itself.
		if _, err := s.Template(ctx, v.LayoutID); errors.Is(err, ErrNotFound) {
			v.LayoutID = 0
		}
	}
	return s.UpdateTemplate(ctx, id, TemplateInput{Name: &v.Name, Format: &v.Format, Subject: &v.Subject, Body: &v.Body, TextBody: &v.TextBody,
		LayoutID: &v.LayoutID, Essential: &v.Essential, Author: author}, check)
}
