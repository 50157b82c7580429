package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Suppression kinds: one address, or every address at a domain.
const (
	SuppressEmail  = "email"
	SuppressDomain = "domain"
)

// Suppression is an entry on the global do-not-send list.
type Suppression struct {
	ID        int64
	Kind      string
	Value     string
	Reason    string
	Source    string
	CreatedAt time.Time
}

// SuppressionInput adds an address or a domain to the do-not-send list.
type SuppressionInput struct {
	Kind   string
	Value  string
	Reason string
	Source string
}

func (in *SuppressionInput) normalize() {
	in.Kind = strings.ToLower(strings.TrimSpace(in.Kind))
	in.Value = strings.ToLower(strings.TrimSpace(in.Value))
	in.Reason = strings.TrimSpace(in.Reason)
	if in.Kind == "" {
		in.Kind = SuppressEmail
		// Both "example.com" and "@example.com" name a domain.
		if !strings.Contains(in.Value, "@") || strings.HasPrefix(in.Value, "@") {
			in.Kind = SuppressDomain
		}
	}
	switch in.Kind {
	case SuppressDomain:
		in.Value = normalizeDomain(strings.TrimPrefix(in.Value, "@"))
	case SuppressEmail:
		in.Value = NormalizeEmail(in.Value)
	}
	if in.Source == "" {
		in.Source = "manual"
	}
}

// Validate reports what is wrong with in.
func (in SuppressionInput) Validate() map[string]string {
	errs := map[string]string{}
	switch in.Kind {
	case SuppressEmail:
		if msg := CheckEmail(in.Value); msg != "" {
			errs["value"] = msg
		}
	case SuppressDomain:
		if msg := checkDomain(in.Value); msg != "" {
			errs["value"] = msg
		}
	default:
		errs["kind"] = "Kind must be email or domain."
	}
	if len(in.Reason) > 500 || hasControl(in.Reason) {
		errs["reason"] = "Use one line of at most 500 characters."
	}
	return errs
}

// AddSuppression puts an address or domain on the do-not-send list. Adding one
// that is already there keeps the first entry and is not an error; created
// says whether the entry is new.
func (s *Store) AddSuppression(ctx context.Context, in SuppressionInput) (sp Suppression, created bool, err error) {
	in.normalize()
	if errs := in.Validate(); len(errs) > 0 {
		return Suppression{}, false, &ValidationError{Fields: errs}
	}
	res, err := s.w.ExecContext(ctx, `INSERT INTO suppressions (kind, value, reason, source, created_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (kind, value) DO NOTHING`, in.Kind, in.Value, in.Reason, in.Source, unix(s.now()))
	if err != nil {
		return Suppression{}, false, fmt.Errorf("store: add suppression: %w", err)
	}
	n, _ := res.RowsAffected()
	sp, err = scanSuppression(s.r.QueryRowContext(ctx, `SELECT `+suppressionColumns+` FROM suppressions WHERE kind = ? AND value = ?`, in.Kind, in.Value))
	return sp, n == 1, err
}

const suppressionColumns = `id, kind, value, reason, source, created_at`

func scanSuppression(row scanner) (Suppression, error) {
	var sp Suppression
	var created int64
	err := row.Scan(&sp.ID, &sp.Kind, &sp.Value, &sp.Reason, &sp.Source, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return sp, ErrNotFound
	}
	sp.CreatedAt = fromUnix(created)
	return sp, err
}

// Suppressions returns a page of the do-not-send list, newest first, matching q.
func (s *Store) Suppressions(ctx context.Context, q string, o Order, page, perPage int) ([]Suppression, int, error) {
	pattern := likeEscape(strings.ToLower(strings.TrimSpace(q))) + "%"
	window, wargs, _, _, orderBy := o.sql(SuppressionSorts, "id", "created_at")
	where := ` FROM suppressions WHERE value LIKE ? ESCAPE '\'` + window
	return queryPage(ctx, s, "suppressions", scanSuppression, `SELECT count(*)`+where, `SELECT `+suppressionColumns+where+orderBy+` LIMIT ? OFFSET ?`,
		append([]any{pattern}, wargs...), perPage, (page-1)*perPage)
}

// SuppressionSorts are the fields the suppressions sort by, beyond id.
var SuppressionSorts = map[string]string{"created_at": "created_at", "value": "value", "kind": "kind"}

// DeleteSuppression takes an entry off the do-not-send list.
func (s *Store) DeleteSuppression(ctx context.Context, id int64) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM suppressions WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("store: delete suppression %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// Suppressed reports whether email may not be sent to, and the entry that
// forbids it. Every send path asks this before sending.
func (s *Store) Suppressed(ctx context.Context, email string) (Suppression, bool, error) {
	// Contacts and suppressions hold addresses and domains in the form
	// NormalizeEmail and normalizeDomain give, so compare in that form.
	email = NormalizeEmail(email)
	domain := email[strings.LastIndexByte(email, '@')+1:]
	sp, err := scanSuppression(s.r.QueryRowContext(ctx, `SELECT `+suppressionColumns+` FROM suppressions
WHERE (kind = 'email' AND value = ?) OR (kind = 'domain' AND value = ?) LIMIT 1`, email, domain))
	if errors.Is(err, ErrNotFound) {
		return Suppression{}, false, nil
	}
	if err != nil {
		return Suppression{}, false, fmt.Errorf("store: suppressed %s: %w", email, err)
	}
	return sp, true, nil
}

// SuppressionImport is what importing a file of suppressions did.
type SuppressionImport struct {
	Added   int
	Already int
	Invalid []ImportError
}

// AddSuppressions adds many entries in one transaction. Invalid values are
// reported by their line and the rest are added.
func (s *Store) AddSuppressions(ctx context.Context, entries []SuppressionInput, lines []int) (SuppressionImport, error) {
	var out SuppressionImport
	now := unix(s.now())
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO suppressions (kind, value, reason, source, created_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (kind, value) DO NOTHING`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i, in := range entries {
			in.normalize()
			if errs := in.Validate(); len(errs) > 0 {
				if len(out.Invalid) < maxImportErrors {
					out.Invalid = append(out.Invalid, ImportError{Line: lines[i], Reason: fmt.Sprintf("%q is not an email address or a domain.", in.Value)})
				}
				continue
			}
			res, err := stmt.ExecContext(ctx, in.Kind, in.Value, in.Reason, in.Source, now)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 1 {
				out.Added++
			} else {
				out.Already++
			}
		}
		return nil
	})
	if err != nil {
		return SuppressionImport{}, fmt.Errorf("store: import suppressions: %w", err)
	}
	return out, nil
}
