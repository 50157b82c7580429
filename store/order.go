package store

import (
	"fmt"
	"time"
)

// Order sorts, windows and pages a list beyond its own filters. Sort is
// one of the list's sort fields, "" for its default; CreatedFrom and
// CreatedTo keep what was created in [from, to); with Cursor the list is
// walked in id order from After (0: from the start), in constant time a
// page.
type Order struct {
	Sort        string
	Desc        bool
	CreatedFrom time.Time
	CreatedTo   time.Time
	Cursor      bool
	After       int64
}

// Newest is the order of most lists in the admin: the last made first.
var Newest = Order{Desc: true}

// sql writes o for a table: sorts maps each sort field to its column, id
// and created name the id and creation columns. It returns conditions to
// AND to the list's own, their arguments, and the ORDER BY clause. The
// cursor's condition is kept apart in cursor, so that a count can leave
// it out.
func (o Order) sql(sorts map[string]string, id, created string) (conds string, args []any, cursor string, cursorArgs []any, orderBy string) {
	if created == "" && (!o.CreatedFrom.IsZero() || !o.CreatedTo.IsZero()) {
		panic("store: the list has no creation time to window")
	}
	if !o.CreatedFrom.IsZero() {
		conds, args = conds+" AND "+created+" >= ?", append(args, unix(o.CreatedFrom))
	}
	if !o.CreatedTo.IsZero() {
		conds, args = conds+" AND "+created+" < ?", append(args, unix(o.CreatedTo))
	}
	dir := " ASC"
	if o.Desc {
		dir = " DESC"
	}
	col := id
	if o.Sort != "" && o.Sort != "id" {
		c, ok := sorts[o.Sort]
		if !ok {
			panic(fmt.Sprintf("store: the list cannot sort by %q", o.Sort))
		}
		col = c
	}
	switch {
	case o.Cursor && o.Desc && o.After > 0:
		cursor, cursorArgs = " AND "+id+" < ?", []any{o.After}
	case o.Cursor && !o.Desc:
		cursor, cursorArgs = " AND "+id+" > ?", []any{o.After}
	}
	orderBy = " ORDER BY " + col + dir
	if col != id {
		orderBy += ", " + id + dir
	}
	return conds, args, cursor, cursorArgs, orderBy
}
