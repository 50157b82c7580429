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

// Segment is a saved, live audience defined by rules.
type Segment struct {
	ID          int64
	Name        string
	Description string
	Rules       Rule
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// SegmentInput creates or changes a segment; nil fields keep their value.
type SegmentInput struct {
	Name        *string
	Description *string
	Rules       *Rule
}

// validate checks the segment g would become, compiling its rules so a rule
// that cannot run is never saved.
func (g Segment) validate(now time.Time) error {
	errs := map[string]string{}
	if strings.TrimSpace(g.Name) == "" {
		errs["name"] = "Give the segment a name, like \"Customers in Leeds\"."
	} else if msg := CheckLine(g.Name, 100); msg != "" {
		errs["name"] = msg
	}
	if msg := CheckText(g.Description, 2000); msg != "" {
		errs["description"] = msg
	}
	if _, err := CompileRule(g.Rules, now); err != nil {
		var re *RuleError
		if errors.As(err, &re) {
			errs[re.Path] = re.Message
		} else {
			errs["rules"] = err.Error()
		}
	}
	if len(errs) > 0 {
		return &ValidationError{Fields: errs}
	}
	return nil
}

func (in SegmentInput) apply(g *Segment) {
	set(&g.Name, in.Name)
	set(&g.Description, in.Description)
	set(&g.Rules, in.Rules)
	g.Name = strings.TrimSpace(g.Name)
	g.Description = strings.TrimSpace(g.Description)
}

// CreateSegment validates and stores a segment.
func (s *Store) CreateSegment(ctx context.Context, in SegmentInput) (Segment, error) {
	g := Segment{Rules: Rule{Match: "all", Conditions: []Rule{}}}
	in.apply(&g)
	if err := g.validate(s.now()); err != nil {
		return Segment{}, err
	}
	if err := s.checkRuleCampaigns(ctx, g.Rules); err != nil {
		return Segment{}, ruleCampaignError(err)
	}
	rules, err := json.Marshal(g.Rules)
	if err != nil {
		return Segment{}, &ValidationError{Fields: map[string]string{"rules": "The rules cannot be saved: " + err.Error()}}
	}
	now := unix(s.now())
	var id int64
	err = s.w.QueryRowContext(ctx, `INSERT INTO segments (name, description, rules, created_at, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
		g.Name, g.Description, string(rules), now, now).Scan(&id)
	if isUniqueViolation(err) {
		return Segment{}, conflict("a segment named %q already exists", g.Name)
	}
	if err != nil {
		return Segment{}, fmt.Errorf("store: create segment: %w", err)
	}
	return s.Segment(ctx, id)
}

// UpdateSegment validates and stores changes to a segment.
func (s *Store) UpdateSegment(ctx context.Context, id int64, in SegmentInput) (Segment, error) {
	g, err := s.Segment(ctx, id)
	if err != nil {
		return Segment{}, err
	}
	in.apply(&g)
	if err := g.validate(s.now()); err != nil {
		return Segment{}, err
	}
	if err := s.checkRuleCampaigns(ctx, g.Rules); err != nil {
		return Segment{}, ruleCampaignError(err)
	}
	rules, err := json.Marshal(g.Rules)
	if err != nil {
		return Segment{}, &ValidationError{Fields: map[string]string{"rules": "The rules cannot be saved: " + err.Error()}}
	}
	_, err = s.w.ExecContext(ctx, `UPDATE segments SET name = ?, description = ?, rules = ?, updated_at = ? WHERE id = ?`,
		g.Name, g.Description, string(rules), unix(s.now()), id)
	if isUniqueViolation(err) {
		return Segment{}, conflict("a segment named %q already exists", g.Name)
	}
	if err != nil {
		return Segment{}, fmt.Errorf("store: update segment %d: %w", id, err)
	}
	return s.Segment(ctx, id)
}

// DeleteSegment removes a segment; its contacts are untouched.
func (s *Store) DeleteSegment(ctx context.Context, id int64) error {
	if err := s.inUse(ctx, "segment_id", id, "segment"); err != nil {
		return err
	}
	res, err := s.w.ExecContext(ctx, `DELETE FROM segments WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("store: delete segment %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

func scanSegment(row scanner) (Segment, error) {
	var g Segment
	var rules string
	var created, updated int64
	if err := row.Scan(&g.ID, &g.Name, &g.Description, &rules, &created, &updated); err != nil {
		return g, err
	}
	g.CreatedAt, g.UpdatedAt = fromUnix(created), fromUnix(updated)
	if err := json.Unmarshal([]byte(rules), &g.Rules); err != nil {
		return g, fmt.Errorf("segment %d rules: %w", g.ID, err)
	}
	return g, nil
}

// Segment returns one segment.
func (s *Store) Segment(ctx context.Context, id int64) (Segment, error) {
	g, err := scanSegment(s.r.QueryRowContext(ctx, `SELECT id, name, description, rules, created_at, updated_at FROM segments WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Segment{}, ErrNotFound
	}
	if err != nil {
		return Segment{}, fmt.Errorf("store: segment %d: %w", id, err)
	}
	return g, nil
}

// Segments returns every segment by name.
func (s *Store) Segments(ctx context.Context) ([]Segment, error) {
	return queryAll(ctx, s, "segments", scanSegment, `SELECT id, name, description, rules, created_at, updated_at FROM segments ORDER BY name`)
}

// CountRule returns how many contacts a rule matches.
func (s *Store) CountRule(ctx context.Context, r Rule) (int, error) {
	if _, err := CompileRule(r, s.now()); err != nil {
		return 0, err
	}
	if err := s.checkRuleCampaigns(ctx, r); err != nil {
		return 0, err
	}
	return s.CountContacts(ctx, ContactFilter{Rule: &r})
}
