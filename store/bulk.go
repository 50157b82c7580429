package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// Bulk actions on contacts.
const (
	BulkAddToList      = "add_to_list"
	BulkRemoveFromList = "remove_from_list"
	BulkTag            = "tag"
	BulkUntag          = "untag"
	BulkUnsubscribe    = "unsubscribe"
	BulkDelete         = "delete"
)

// BulkActions lists the actions BulkContacts takes.
var BulkActions = []string{BulkAddToList, BulkRemoveFromList, BulkTag, BulkUntag, BulkUnsubscribe, BulkDelete}

// BulkAction is one change applied to many contacts.
type BulkAction struct {
	Kind   string
	ListID int64
	Tag    string
}

// Validate reports what is wrong with a.
func (a BulkAction) Validate() map[string]string {
	errs := map[string]string{}
	switch a.Kind {
	case BulkAddToList, BulkRemoveFromList:
		if a.ListID < 1 {
			errs["list_id"] = "Choose a list."
		}
	case BulkTag, BulkUntag:
		if msg := checkTags([]string{a.Tag}); msg != "" {
			errs["tag"] = msg
		}
	case BulkUnsubscribe, BulkDelete:
	default:
		errs["action"] = "Action must be one of " + strings.Join(BulkActions, ", ") + "."
	}
	return errs
}

// bulkBatch is how many contacts one bulk transaction changes, so the writer
// is never held for long.
const bulkBatch = 5000

// BulkError is a bulk action that stopped part way: the contacts it went
// through in the batches it committed are done, the rest are as they were.
type BulkError struct {
	// Done counts the matching contacts gone through, and Changed those of
	// them the action changed.
	Done, Changed int
	// Left counts the matching contacts not reached, or is -1 when they
	// could not be counted.
	Left int
	Err  error
}

func (e *BulkError) Error() string {
	return fmt.Sprintf("store: bulk action stopped after %d contacts: %v", e.Done, e.Err)
}

func (e *BulkError) Unwrap() error { return e.Err }

// Progress says in words how far the action got, for the person who ran it.
func (e *BulkError) Progress() string {
	if e.Done == 0 {
		return "No contact was changed."
	}
	left := "the rest are as they were"
	if e.Left >= 0 {
		left = fmt.Sprintf("the other %d are as they were", e.Left)
	}
	of := ""
	if e.Left >= 0 {
		of = fmt.Sprintf(" of the %d", e.Done+e.Left)
	}
	return fmt.Sprintf("The action stopped part way: %d%s matching contacts were done (%d changed) and %s. "+
		"Run it again to finish; it does not change a contact twice.", e.Done, of, e.Changed, left)
}

// BulkContacts applies a to every contact matching f, in batches, and returns
// how many contacts it changed.
//
// A bulk action may match millions of contacts. In one transaction it would
// hold the single writer for seconds or minutes (a delete cascades, every
// change adds a timeline event), stalling sending and tracking, and a
// delete cannot be undone afterwards. So each batch commits on its own and a
// failure returns a *BulkError saying exactly how far the action got; every
// action is idempotent, so running it again finishes the rest.
func (s *Store) BulkContacts(ctx context.Context, f ContactFilter, a BulkAction) (int, error) {
	a.Tag = strings.TrimSpace(a.Tag)
	if errs := a.Validate(); len(errs) > 0 {
		return 0, &ValidationError{Fields: errs}
	}
	var listName string
	if a.ListID != 0 {
		l, err := s.List(ctx, a.ListID)
		if err != nil {
			return 0, &ValidationError{Fields: map[string]string{"list_id": fmt.Sprintf("List %d does not exist.", a.ListID)}}
		}
		listName = l.Name
	}
	where, args, err := s.where(ctx, f)
	if err != nil {
		return 0, err
	}
	changed, done := 0, 0
	var after int64
	for {
		ids, err := s.idBatch(ctx, where, args, after)
		if err != nil {
			return changed, s.bulkStopped(ctx, where, args, after, done, changed, err)
		}
		if len(ids) == 0 {
			return changed, nil
		}
		err = s.Tx(ctx, func(tx *sql.Tx) error {
			n, err := s.bulkApply(ctx, tx, ids, a, listName)
			if err == nil {
				changed += n
			}
			return err
		})
		if err != nil {
			return changed, s.bulkStopped(ctx, where, args, after, done, changed, err)
		}
		after = ids[len(ids)-1]
		done += len(ids)
	}
}

// bulkStopped wraps err in a BulkError, counting the matching contacts past
// after, which the action did not reach.
func (s *Store) bulkStopped(ctx context.Context, where string, args []any, after int64, done, changed int, err error) error {
	left := -1
	if cerr := s.r.QueryRowContext(ctx, `SELECT count(*) FROM contacts c WHERE c.id > ? AND `+where,
		append([]any{after}, args...)...).Scan(&left); cerr != nil {
		left = -1
	}
	return &BulkError{Done: done, Changed: changed, Left: left, Err: err}
}

func (s *Store) idBatch(ctx context.Context, where string, args []any, after int64) ([]int64, error) {
	ids, err := queryIDs(ctx, s.r, `SELECT c.id FROM contacts c WHERE c.id > ? AND `+where+` ORDER BY c.id LIMIT ?`,
		append(append([]any{after}, args...), bulkBatch)...)
	if err != nil {
		return nil, fmt.Errorf("store: bulk select: %w", err)
	}
	return ids, nil
}

// idList renders ids as a JSON array for json_each, so a batch binds as one argument.
func idList(ids []int64) string {
	var j jsonArray
	for _, id := range ids {
		j.int(id)
	}
	return j.String()
}

func (s *Store) bulkApply(ctx context.Context, tx *sql.Tx, ids []int64, a BulkAction, listName string) (int, error) {
	now := unix(s.now())
	batch := idList(ids)
	var q string
	var args []any
	kind, detail := "", ""
	switch a.Kind {
	case BulkAddToList:
		// Members who unsubscribed stay unsubscribed: adding does not override consent.
		q = `INSERT INTO list_members (list_id, contact_id, status, created_at, updated_at)
SELECT ?, value, 'confirmed', ?, ? FROM json_each(?) WHERE true ON CONFLICT (list_id, contact_id) DO NOTHING RETURNING contact_id`
		args = []any{a.ListID, now, now, batch}
		kind, detail = EventSubscribed, "Added to "+listName
	case BulkRemoveFromList:
		// An unsubscribe is kept, so nobody is later re-added by accident.
		q = `DELETE FROM list_members WHERE list_id = ? AND status <> 'unsubscribed' AND contact_id IN (SELECT value FROM json_each(?)) RETURNING contact_id`
		args = []any{a.ListID, batch}
		kind, detail = EventRemoved, "Removed from "+listName
	case BulkTag:
		id, err := s.tagID(ctx, tx, a.Tag)
		if err != nil {
			return 0, err
		}
		q = `INSERT INTO contact_tags (tag_id, contact_id) SELECT ?, value FROM json_each(?) WHERE true
ON CONFLICT DO NOTHING RETURNING contact_id`
		args = []any{id, batch}
	case BulkUntag:
		q = `DELETE FROM contact_tags WHERE tag_id = (SELECT id FROM tags WHERE name = ?) AND contact_id IN (SELECT value FROM json_each(?)) RETURNING contact_id`
		args = []any{a.Tag, batch}
	case BulkUnsubscribe:
		if _, err := tx.ExecContext(ctx, `UPDATE list_members SET status = 'unsubscribed', updated_at = ? WHERE status <> 'unsubscribed'
AND contact_id IN (SELECT id FROM contacts WHERE status = 'active' AND id IN (SELECT value FROM json_each(?)))`, now, batch); err != nil {
			return 0, fmt.Errorf("store: bulk unsubscribe: %w", err)
		}
		q = `UPDATE contacts SET status = 'unsubscribed', updated_at = ? WHERE status = 'active' AND id IN (SELECT value FROM json_each(?)) RETURNING id`
		args = []any{now, batch}
		kind, detail = EventUnsubscribed, "Unsubscribed from all mail by an administrator"
	case BulkDelete:
		return s.bulkDelete(ctx, tx, batch)
	}
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("store: bulk %s: %w", a.Kind, err)
	}
	var touched []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		touched = append(touched, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if kind != "" {
		for _, id := range touched {
			if err := recordEvent(ctx, tx, id, kind, detail, now); err != nil {
				return 0, err
			}
			var err error
			switch a.Kind {
			case BulkAddToList:
				err = s.emitMembership(ctx, tx, id, a.ListID, MemberConfirmed)
			case BulkUnsubscribe:
				err = s.emitContact(ctx, tx, EventContactUnsubscribed, id)
			}
			if err != nil {
				return 0, err
			}
		}
	}
	switch a.Kind {
	case BulkAddToList:
		err = s.triggeredMany(ctx, tx, TriggerList, a.ListID, "", touched, "joined "+listName)
	case BulkTag:
		err = s.triggeredMany(ctx, tx, TriggerTag, 0, strings.ToLower(a.Tag), touched, "tag "+a.Tag)
	}
	if err != nil {
		return 0, err
	}
	return len(touched), nil
}

// bulkDelete deletes a batch of contacts, each with its contact.deleted event.
func (s *Store) bulkDelete(ctx context.Context, tx *sql.Tx, batch string) (int, error) {
	rows, err := tx.QueryContext(ctx, `DELETE FROM contacts WHERE id IN (SELECT value FROM json_each(?)) RETURNING id, email`, batch)
	if err != nil {
		return 0, fmt.Errorf("store: bulk delete: %w", err)
	}
	var gone []ContactDeletedData
	for rows.Next() {
		var d ContactDeletedData
		if err := rows.Scan(&d.ID, &d.Email); err != nil {
			rows.Close()
			return 0, err
		}
		gone = append(gone, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("store: bulk delete: %w", err)
	}
	for _, d := range gone {
		if err := s.emit(ctx, tx, EventContactDeleted, func() (any, error) { return d, nil }); err != nil {
			return 0, err
		}
	}
	return len(gone), nil
}
