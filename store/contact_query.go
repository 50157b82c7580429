package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// ContactFilter narrows the contacts a query sees. Zero fields do not filter.
type ContactFilter struct {
	// Q matches the start of the email, first name or last name; two or more
	// words match first and last name.
	Q         string
	ListID    int64
	Tag       string
	Status    string
	SegmentID int64
	// Rule, when set, is applied like a segment that was not saved.
	Rule *Rule
	// IDs limits the query to these contacts.
	IDs []int64
	// Order sorts and windows a list of contacts (see ContactSorts).
	Order Order
}

// ContactSorts are the fields a list of contacts sorts by, beyond id.
var ContactSorts = map[string]string{"created_at": "c.created_at", "updated_at": "c.updated_at", "email": "c.email",
	"first_name": "c.first_name", "last_name": "c.last_name"}

// where compiles f to a SQL condition over contacts c.
func (s *Store) where(ctx context.Context, f ContactFilter) (string, []any, error) {
	conds := []string{"1"}
	var args []any
	add := func(cond string, a ...any) {
		conds = append(conds, cond)
		args = append(args, a...)
	}
	if q := strings.TrimSpace(f.Q); q != "" {
		words := strings.Fields(q)
		prefix := likeEscape(q) + "%"
		switch {
		case strings.Contains(q, "@") || len(words) == 1:
			add(`(c.email LIKE ? ESCAPE '\' OR c.first_name LIKE ? ESCAPE '\' OR c.last_name LIKE ? ESCAPE '\')`, prefix, prefix, prefix)
		default:
			first, last := likeEscape(words[0])+"%", likeEscape(strings.Join(words[1:], " "))+"%"
			add(`((c.first_name LIKE ? ESCAPE '\' AND c.last_name LIKE ? ESCAPE '\') OR c.email LIKE ? ESCAPE '\')`, first, last, prefix)
		}
	}
	if f.ListID != 0 {
		add(`c.id IN (SELECT contact_id FROM list_members WHERE list_id = ?)`, f.ListID)
	}
	if f.Tag != "" {
		add(`c.id IN (SELECT ct.contact_id FROM contact_tags ct JOIN tags t ON t.id = ct.tag_id WHERE t.name = ?)`, f.Tag)
	}
	if f.Status != "" {
		if !contains(ContactStatuses, f.Status) {
			return "", nil, &ValidationError{Fields: map[string]string{"status": "Status must be one of " + strings.Join(ContactStatuses, ", ") + "."}}
		}
		add(`c.status = ?`, f.Status)
	}
	rules := []Rule{}
	if f.SegmentID != 0 {
		seg, err := s.Segment(ctx, f.SegmentID)
		if err != nil {
			return "", nil, err
		}
		rules = append(rules, seg.Rules)
	}
	if f.Rule != nil {
		rules = append(rules, *f.Rule)
	}
	for _, r := range rules {
		c, err := CompileRule(r, s.now())
		if err != nil {
			return "", nil, err
		}
		add("("+c.Where+")", c.Args...)
	}
	if len(f.IDs) > 0 {
		ps := make([]string, len(f.IDs))
		for i, id := range f.IDs {
			ps[i] = "?"
			args = append(args, id)
		}
		conds = append(conds, "c.id IN ("+strings.Join(ps, ", ")+")")
	}
	window, wargs, _, _, _ := f.Order.sql(ContactSorts, "c.id", "c.created_at")
	return strings.Join(conds, " AND ") + window, append(args, wargs...), nil
}

// ContactPage is one page of contacts and how many match in all; a page
// read by cursor is not counted.
type ContactPage struct {
	Contacts []Contact
	Total    int
}

// Contacts returns the page-th page (from 1) of perPage contacts matching f,
// in f.Order (by id unless it says otherwise), with their tags and
// memberships. With a cursor, page is ignored and nothing is counted.
func (s *Store) Contacts(ctx context.Context, f ContactFilter, page, perPage int) (ContactPage, error) {
	where, args, err := s.where(ctx, f)
	if err != nil {
		return ContactPage{}, err
	}
	var p ContactPage
	_, _, cursor, cargs, orderBy := f.Order.sql(ContactSorts, "c.id", "c.created_at")
	offset := (page - 1) * perPage
	if f.Order.Cursor {
		offset = 0
	} else if p.Total, err = s.CountContacts(ctx, f); err != nil {
		return p, err
	}
	if f.Order.Sort == "" && f.Order.Desc && !f.Order.Cursor && p.Total > 0 && (f.SegmentID != 0 || f.Rule != nil) {
		// A segment's contacts, newest first: read the newest contacts
		// in id order, and see whether they hold the page. A segment's
		// index would find every match and sort them all first, tens of
		// milliseconds for 100,000; this reads pageScanRows at most.
		var last int64
		if err := s.r.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM contacts`).Scan(&last); err != nil {
			return p, fmt.Errorf("store: contacts: %w", err)
		}
		newest := append(append([]any{last - pageScanRows}, args...), perPage, offset)
		if p.Contacts, err = s.contactRows(ctx, `SELECT `+contactColumns+` FROM contacts c NOT INDEXED WHERE c.id > ? AND `+where+orderBy+` LIMIT ? OFFSET ?`, newest); err != nil {
			return p, err
		}
		if len(p.Contacts) == perPage {
			return p, s.fillRelations(ctx, p.Contacts)
		}
	}
	args = append(append(args, cargs...), perPage, offset)
	if p.Contacts, err = s.contactRows(ctx, `SELECT `+contactColumns+` FROM contacts c WHERE `+where+cursor+orderBy+` LIMIT ? OFFSET ?`, args); err != nil {
		return p, err
	}
	if len(p.Contacts) == 0 {
		return p, nil
	}
	return p, s.fillRelations(ctx, p.Contacts)
}

// contactRows reads the contacts a query returns, an empty list for none.
func (s *Store) contactRows(ctx context.Context, q string, args []any) ([]Contact, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: contacts: %w", err)
	}
	defer rows.Close()
	out := []Contact{}
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return nil, fmt.Errorf("store: contacts: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// pageScanRows is how many of the newest contacts a page of a segment's
// contacts, newest first, reads in id order before it searches an index.
const pageScanRows = 20000

// CountContacts returns how many contacts match f.
func (s *Store) CountContacts(ctx context.Context, f ContactFilter) (int, error) {
	if n, ok, err := s.fastCount(ctx, f); ok || err != nil {
		return n, err
	}
	where, args, err := s.where(ctx, f)
	if err != nil {
		return 0, err
	}
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM contacts c WHERE `+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count contacts: %w", err)
	}
	return n, nil
}

// exportBatch is how many contacts an export reads at a time.
const exportBatch = 1000

// EachContact calls fn for every contact matching f in id order, with tags and
// memberships, reading in batches so memory stays flat however many match.
func (s *Store) EachContact(ctx context.Context, f ContactFilter, fn func(Contact) error) error {
	where, args, err := s.where(ctx, f)
	if err != nil {
		return err
	}
	var after int64
	for {
		batch, err := s.contactBatch(ctx, where, args, after)
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		if err := s.fillRelations(ctx, batch); err != nil {
			return err
		}
		for _, c := range batch {
			if err := fn(c); err != nil {
				return err
			}
		}
		after = batch[len(batch)-1].ID
	}
}

func (s *Store) contactBatch(ctx context.Context, where string, args []any, after int64) ([]Contact, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+contactColumns+` FROM contacts c WHERE c.id > ? AND `+where+` ORDER BY c.id LIMIT ?`,
		append(append([]any{after}, args...), exportBatch)...)
	if err != nil {
		return nil, fmt.Errorf("store: export contacts: %w", err)
	}
	defer rows.Close()
	var out []Contact
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// fillRelations loads the tags and memberships of a batch of contacts in two queries.
func (s *Store) fillRelations(ctx context.Context, batch []Contact) error {
	byID := make(map[int64]*Contact, len(batch))
	ids := make([]int64, len(batch))
	for i := range batch {
		batch[i].Tags, batch[i].Memberships = []string{}, []Membership{}
		byID[batch[i].ID] = &batch[i]
		ids[i] = batch[i].ID
	}
	in := idList(ids)
	rows, err := s.r.QueryContext(ctx, `SELECT ct.contact_id, t.name FROM contact_tags ct JOIN tags t ON t.id = ct.tag_id
WHERE ct.contact_id IN (SELECT value FROM json_each(?)) ORDER BY ct.contact_id, t.name`, in)
	if err != nil {
		return fmt.Errorf("store: contact tags: %w", err)
	}
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			rows.Close()
			return err
		}
		byID[id].Tags = append(byID[id].Tags, name)
	}
	rows.Close()
	rows, err = s.r.QueryContext(ctx, `SELECT m.contact_id, l.id, l.name, m.status, m.created_at, m.updated_at
FROM list_members m JOIN lists l ON l.id = m.list_id WHERE m.contact_id IN (SELECT value FROM json_each(?))
ORDER BY m.contact_id, l.name`, in)
	if err != nil {
		return fmt.Errorf("store: contact lists: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, created, updated int64
		var m Membership
		if err := rows.Scan(&id, &m.ListID, &m.ListName, &m.Status, &created, &updated); err != nil {
			return err
		}
		m.CreatedAt, m.UpdatedAt = fromUnix(created), fromUnix(updated)
		byID[id].Memberships = append(byID[id].Memberships, m)
	}
	return rows.Err()
}

// AttributeKeys returns the attribute names used by contacts matching f, sorted.
func (s *Store) AttributeKeys(ctx context.Context, f ContactFilter) ([]string, error) {
	where, args, err := s.where(ctx, f)
	if err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT DISTINCT j.key FROM contacts c, json_each(c.attributes) j WHERE `+where+` ORDER BY j.key`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: attribute keys: %w", err)
	}
	defer rows.Close()
	keys := []string{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

// fastCount answers the commonest counts straight from the membership
// tables, without visiting a million contacts: a filter by one list or one
// tag alone, or a rule that is one list or tag condition. ok is false for
// anything else.
func (s *Store) fastCount(ctx context.Context, f ContactFilter) (n int, ok bool, err error) {
	only := func(g ContactFilter) bool {
		return g.Q == "" && g.Status == "" && g.SegmentID == 0 && len(g.IDs) == 0 && g.Order.CreatedFrom.IsZero() && g.Order.CreatedTo.IsZero()
	}
	var q string
	var args []any
	switch {
	case only(f) && f.Rule == nil && f.ListID != 0 && f.Tag == "":
		q, args = `SELECT COUNT(*) FROM list_members WHERE list_id = ?`, []any{f.ListID}
	case only(f) && f.Rule == nil && f.Tag != "" && f.ListID == 0:
		q, args = `SELECT COUNT(*) FROM contact_tags WHERE tag_id = (SELECT id FROM tags WHERE name = ?)`, []any{f.Tag}
	case only(f) && f.Rule != nil && f.ListID == 0 && f.Tag == "":
		r := *f.Rule
		if r.Match != "all" && r.Match != "any" || len(r.Conditions) != 1 || r.Conditions[0].isGroup() {
			return 0, false, nil
		}
		c := r.Conditions[0]
		if _, err := CompileRule(r, s.now()); err != nil {
			return 0, false, err
		}
		switch {
		case c.Field == "list" && c.Op == "eq":
			var id int64
			json.Unmarshal(c.Value, &id)
			q, args = `SELECT COUNT(*) FROM list_members WHERE list_id = ? AND status <> 'unsubscribed'`, []any{id}
			if c.Status != "" {
				q, args = `SELECT COUNT(*) FROM list_members WHERE list_id = ? AND status = ?`, []any{id, c.Status}
			}
		case c.Field == "tag" && c.Op == "eq":
			var name string
			json.Unmarshal(c.Value, &name)
			q, args = `SELECT COUNT(*) FROM contact_tags WHERE tag_id = (SELECT id FROM tags WHERE name = ?)`, []any{name}
		default:
			return 0, false, nil
		}
	default:
		return 0, false, nil
	}
	if err := s.r.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		return 0, false, fmt.Errorf("store: count: %w", err)
	}
	return n, true, nil
}
