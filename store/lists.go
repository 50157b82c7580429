package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Opt-in modes and visibilities of a list.
const (
	OptInSingle       = "single"
	OptInDouble       = "double"
	VisibilityPublic  = "public"
	VisibilityPrivate = "private"
)

// List is a mailing list people subscribe to.
type List struct {
	ID          int64
	Name        string
	Description string
	OptIn       string
	Visibility  string
	// FormFields are the optional custom fields the public form asks for.
	FormFields []FormField
	// Challenge makes the public form's browser solve a small proof-of-work
	// puzzle before a sign-up counts, to slow down bots.
	Challenge bool
	CreatedAt time.Time
	UpdatedAt time.Time
	// Counts of members by status.
	Confirmed    int
	Unconfirmed  int
	Unsubscribed int
}

// FormField is one optional field on a list's public form, stored as an attribute.
type FormField struct {
	Key      string `json:"key"`
	Label    string `json:"label"`
	Required bool   `json:"required"`
}

// ListInput creates or changes a list; nil fields keep their value.
type ListInput struct {
	Name        *string
	Description *string
	OptIn       *string
	Visibility  *string
	FormFields  *[]FormField
	Challenge   *bool
}

// Validate reports what is wrong with the list l would become.
func (l List) Validate() map[string]string {
	errs := map[string]string{}
	if strings.TrimSpace(l.Name) == "" {
		errs["name"] = "Give the list a name, like \"Newsletter\"."
	} else if msg := CheckLine(l.Name, 100); msg != "" {
		errs["name"] = msg
	}
	if msg := CheckText(l.Description, 2000); msg != "" {
		errs["description"] = msg
	}
	if l.OptIn != OptInSingle && l.OptIn != OptInDouble {
		errs["opt_in"] = "Opt-in must be single or double."
	}
	if l.Visibility != VisibilityPublic && l.Visibility != VisibilityPrivate {
		errs["visibility"] = "Visibility must be public or private."
	}
	if len(l.FormFields) > 20 {
		errs["form_fields"] = "A form has at most 20 custom fields."
	}
	for _, f := range l.FormFields {
		if !AttributeKey.MatchString(f.Key) || strings.TrimSpace(f.Label) == "" || CheckLine(f.Label, 100) != "" {
			errs["form_fields"] = "Each form field needs a lower_snake_case key and a one-line label."
		}
	}
	return errs
}

func (in ListInput) apply(l *List) {
	set(&l.Name, in.Name)
	set(&l.Description, in.Description)
	set(&l.OptIn, in.OptIn)
	set(&l.Visibility, in.Visibility)
	set(&l.FormFields, in.FormFields)
	set(&l.Challenge, in.Challenge)
	l.Name = strings.TrimSpace(l.Name)
	l.Description = strings.TrimSpace(l.Description)
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// CreateList validates and stores a list; unset fields default to a private,
// single opt-in list.
func (s *Store) CreateList(ctx context.Context, in ListInput) (List, error) {
	l := List{OptIn: OptInSingle, Visibility: VisibilityPrivate}
	in.apply(&l)
	if errs := l.Validate(); len(errs) > 0 {
		return List{}, &ValidationError{Fields: errs}
	}
	fields, _ := json.Marshal(orEmpty(l.FormFields))
	now := unix(s.now())
	var id int64
	err := s.w.QueryRowContext(ctx, `INSERT INTO lists (name, description, opt_in, visibility, form_fields, challenge, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, l.Name, l.Description, l.OptIn, l.Visibility, string(fields), l.Challenge, now, now).Scan(&id)
	if isUniqueViolation(err) {
		return List{}, conflict("a list named %q already exists", l.Name)
	}
	if err != nil {
		return List{}, fmt.Errorf("store: create list: %w", err)
	}
	return s.List(ctx, id)
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// UpdateList validates and stores changes to a list.
func (s *Store) UpdateList(ctx context.Context, id int64, in ListInput) (List, error) {
	l, err := s.List(ctx, id)
	if err != nil {
		return List{}, err
	}
	in.apply(&l)
	if errs := l.Validate(); len(errs) > 0 {
		return List{}, &ValidationError{Fields: errs}
	}
	fields, _ := json.Marshal(orEmpty(l.FormFields))
	_, err = s.w.ExecContext(ctx, `UPDATE lists SET name = ?, description = ?, opt_in = ?, visibility = ?, form_fields = ?, challenge = ?, updated_at = ? WHERE id = ?`,
		l.Name, l.Description, l.OptIn, l.Visibility, string(fields), l.Challenge, unix(s.now()), id)
	if isUniqueViolation(err) {
		return List{}, conflict("a list named %q already exists", l.Name)
	}
	if err != nil {
		return List{}, fmt.Errorf("store: update list %d: %w", id, err)
	}
	return s.List(ctx, id)
}

// DeleteList removes a list and its memberships; the contacts stay.
func (s *Store) DeleteList(ctx context.Context, id int64) error {
	if err := s.inUse(ctx, "list_id", id, "list"); err != nil {
		return err
	}
	res, err := s.w.ExecContext(ctx, `DELETE FROM lists WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("store: delete list %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

const listColumns = `l.id, l.name, l.description, l.opt_in, l.visibility, l.form_fields, l.challenge, l.created_at, l.updated_at`

func scanList(row scanner) (List, error) {
	var l List
	var fields string
	var created, updated int64
	err := row.Scan(&l.ID, &l.Name, &l.Description, &l.OptIn, &l.Visibility, &fields, &l.Challenge, &created, &updated)
	if err != nil {
		return l, err
	}
	l.CreatedAt, l.UpdatedAt = fromUnix(created), fromUnix(updated)
	if err := json.Unmarshal([]byte(fields), &l.FormFields); err != nil {
		return l, fmt.Errorf("list %d form fields: %w", l.ID, err)
	}
	return l, nil
}

// countMembers fills in a list's member counts with one pass over its members.
func (s *Store) countMembers(ctx context.Context, l *List) error {
	rows, err := s.r.QueryContext(ctx, `SELECT status, COUNT(*) FROM list_members WHERE list_id = ? GROUP BY status`, l.ID)
	if err != nil {
		return fmt.Errorf("store: list %d counts: %w", l.ID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var status string
		var n int
		if err := rows.Scan(&status, &n); err != nil {
			return err
		}
		switch status {
		case MemberConfirmed:
			l.Confirmed = n
		case MemberUnconfirmed:
			l.Unconfirmed = n
		case MemberUnsubscribed:
			l.Unsubscribed = n
		}
	}
	return rows.Err()
}

// List returns one list with its member counts.
func (s *Store) List(ctx context.Context, id int64) (List, error) {
	l, err := s.ListHead(ctx, id)
	if err != nil {
		return l, err
	}
	return l, s.countMembers(ctx, &l)
}

// ListHead returns a list without counting its members, which reads them
// all: a tenth of a second or more for a million.
func (s *Store) ListHead(ctx context.Context, id int64) (List, error) {
	l, err := scanList(s.r.QueryRowContext(ctx, `SELECT `+listColumns+` FROM lists l WHERE l.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return List{}, ErrNotFound
	}
	if err != nil {
		return List{}, fmt.Errorf("store: list %d: %w", id, err)
	}
	return l, nil
}

// Lists returns every list by name, with member counts.
func (s *Store) Lists(ctx context.Context) ([]List, error) {
	out, err := s.ListNames(ctx)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if err := s.countMembers(ctx, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ListNames returns every list by name, without counting members, for menus.
func (s *Store) ListNames(ctx context.Context) ([]List, error) {
	return queryAll(ctx, s, "lists", scanList, `SELECT `+listColumns+` FROM lists l ORDER BY l.name`)
}

// Tags returns every tag name in use, sorted.
func (s *Store) Tags(ctx context.Context) ([]string, error) {
	return queryAll(ctx, s, "tags", scanString, `SELECT name FROM tags t WHERE EXISTS (SELECT 1 FROM contact_tags ct WHERE ct.tag_id = t.id) ORDER BY name`)
}
