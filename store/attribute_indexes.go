package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
)

// AttributeColumn is one column of an attribute index: an attribute, read
// as the kind of value its conditions compare. "text" serves eq with text
// and in (any case), "number" gt, lt and eq with a number, "date" before,
// after and within_days; neq, not_in, contains, starts_with, is_set and
// not_set read every contact.
type AttributeColumn struct {
	Key  string
	Kind string
}

// AttributeIndex is an index Herald keeps for saved segments: on one
// attribute, or on two that a segment's conditions compare together (the
// first for equality), so that both are searched in one range.
type AttributeIndex []AttributeColumn

// attributeIndexPrefix starts the name of every attribute index, of this
// form ("contacts_attr:text:city,number:age") or an earlier one
// ("contacts_attr_city").
const attributeIndexPrefix = "contacts_attr"

// attributeIndexExprs is the expression each kind of column indexes, the
// same one the segment compiler writes.
var attributeIndexExprs = map[string]func(prefix, key string) string{
	"text": attributeText, "number": attributeNumber, "date": attributeDate,
}

// Name is the index's name in the database.
func (ai AttributeIndex) Name() string {
	cols := make([]string, len(ai))
	for i, c := range ai {
		cols[i] = c.Kind + ":" + c.Key
	}
	return attributeIndexPrefix + ":" + strings.Join(cols, ",")
}

func (ai AttributeIndex) create() string {
	cols := make([]string, len(ai))
	for i, c := range ai {
		cols[i] = attributeIndexExprs[c.Kind]("", c.Key)
	}
	return `CREATE INDEX IF NOT EXISTS "` + ai.Name() + `" ON contacts(` + strings.Join(cols, ", ") + `)`
}

// maxAttributeIndexes is how many attribute indexes Herald keeps at most:
// each makes every write of a contact dearer, and making one holds the
// writer for a while.
const maxAttributeIndexes = 24

// UsedAttributes are the attribute indexes saved segments' conditions
// can search, those most segments use first, at most maxAttributeIndexes.
func (s *Store) UsedAttributes(ctx context.Context) ([]AttributeIndex, error) {
	gs, err := s.Segments(ctx)
	if err != nil {
		return nil, err
	}
	var out []AttributeIndex
	uses := map[string]int{}
	for _, g := range gs {
		c, err := CompileRule(g.Rules, s.now())
		if err != nil {
			continue // a segment that no longer compiles counts no one
		}
		for _, ai := range c.Indexes {
			if uses[ai.Name()]++; uses[ai.Name()] == 1 {
				out = append(out, ai)
			}
		}
	}
	slices.SortFunc(out, func(a, b AttributeIndex) int {
		return cmp.Or(uses[b.Name()]-uses[a.Name()], strings.Compare(a.Name(), b.Name()))
	})
	return out[:min(len(out), maxAttributeIndexes)], nil
}

// AttributeIndexes makes the indexes the saved segments' attribute
// conditions can search, and drops those no segment uses any more,
// returning the names of what it created and dropped. Making one reads
// every contact once, holding writes back meanwhile (about half a second
// for an attribute of 1M contacts, a second for two); it runs in
// housekeeping, one index at a time.
func (s *Store) AttributeIndexes(ctx context.Context) (created, dropped []string, err error) {
	used, err := s.UsedAttributes(ctx)
	if err != nil {
		return nil, nil, err
	}
	have, err := queryAll(ctx, s, "attribute indexes", func(row scanner) (string, error) {
		var name string
		return name, row.Scan(&name)
	}, `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'contacts' AND substr(name, 1, ?) = ?`,
		len(attributeIndexPrefix), attributeIndexPrefix)
	if err != nil {
		return nil, nil, err
	}
	names := make([]string, len(used))
	for i, ai := range used {
		names[i] = ai.Name()
		if slices.Contains(have, names[i]) {
			continue
		}
		if _, err := s.w.ExecContext(ctx, ai.create()); err != nil {
			return created, dropped, fmt.Errorf("store: make index %s: %w", names[i], err)
		}
		created = append(created, names[i])
	}
	for _, name := range have {
		if slices.Contains(names, name) {
			continue
		}
		if _, err := s.w.ExecContext(ctx, `DROP INDEX IF EXISTS "`+strings.ReplaceAll(name, `"`, `""`)+`"`); err != nil {
			return created, dropped, fmt.Errorf("store: drop index %s: %w", name, err)
		}
		dropped = append(dropped, name)
	}
	return created, dropped, nil
}
