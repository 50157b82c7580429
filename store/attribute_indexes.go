package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// attributeIndexPrefix names the indexes Herald keeps on the attributes
// that segments compare.
const attributeIndexPrefix = "contacts_attr_"

// UsedAttributes are the attributes saved segments compare for equality
// (eq, neq, in, not_in): the ones an index speeds up.
func (s *Store) UsedAttributes(ctx context.Context) ([]string, error) {
	gs, err := s.Segments(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var walk func(r Rule)
	walk = func(r Rule) {
		if key, ok := strings.CutPrefix(r.Field, "attributes."); ok && AttributeKey.MatchString(key) {
			switch r.Op {
			case "eq", "neq", "in", "not_in":
				seen[key] = true
			}
		}
		for _, c := range r.Conditions {
			walk(c)
		}
	}
	for _, g := range gs {
		walk(g.Rules)
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	slices.Sort(out)
	return out, nil
}

// AttributeIndexes makes an index for each attribute saved segments
// compare (case-insensitively, as they compare text), and drops those no
// segment uses any more. It returns what it created and dropped. Creating
// one reads every contact once, holding writes back meanwhile; it runs in
// housekeeping, one index at a time.
func (s *Store) AttributeIndexes(ctx context.Context) (created, dropped []string, err error) {
	used, err := s.UsedAttributes(ctx)
	if err != nil {
		return nil, nil, err
	}
	have, err := queryAll(ctx, s, "attribute indexes", func(row scanner) (string, error) {
		var name string
		return name, row.Scan(&name)
	}, `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'contacts' AND name LIKE ? ESCAPE '\'`, likeEscape(attributeIndexPrefix)+"%")
	if err != nil {
		return nil, nil, err
	}
	for _, key := range used {
		name := attributeIndexPrefix + key
		if slices.Contains(have, name) {
			continue
		}
		if _, err := s.w.ExecContext(ctx, `CREATE INDEX IF NOT EXISTS `+name+` ON contacts(`+attributeExpr("", key)+` COLLATE NOCASE)`); err != nil {
			return created, dropped, fmt.Errorf("store: index attribute %s: %w", key, err)
		}
		created = append(created, key)
	}
	for _, name := range have {
		key := strings.TrimPrefix(name, attributeIndexPrefix)
		if slices.Contains(used, key) || !AttributeKey.MatchString(key) {
			continue
		}
		if _, err := s.w.ExecContext(ctx, `DROP INDEX IF EXISTS `+name); err != nil {
			return created, dropped, fmt.Errorf("store: drop index of attribute %s: %w", key, err)
		}
		dropped = append(dropped, key)
	}
	return created, dropped, nil
}
