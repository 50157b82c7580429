package web

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"herald/store"
)

// listSpec is what one resource's list allows beyond page and per_page:
// the fields it sorts by (id, the default, and these), whether it runs
// oldest first by default, what q searches, whether it has a creation time
// to window, and whether it also pages by cursor.
type listSpec struct {
	Sorts   []string
	Asc     bool
	Search  string
	Created bool
	Cursor  bool
}

// The lists' specs, shared by their handlers and their documentation.
var (
	contactList     = listSpec{Sorts: []string{"created_at", "updated_at", "email", "first_name", "last_name"}, Search: "the start of the email, first or last name", Created: true, Cursor: true}
	messageList     = listSpec{Sorts: []string{"created_at", "to_email", "subject", "status"}, Search: "the start of the recipient's address, or any part of the subject", Created: true, Cursor: true}
	campaignList    = listSpec{Sorts: []string{"created_at", "updated_at", "name", "send_at", "status"}, Search: "the name and subject", Created: true}
	recipientList   = listSpec{Sorts: []string{"updated_at", "email", "status"}, Asc: true, Cursor: true}
	sendList        = listSpec{Sorts: []string{"updated_at", "status"}, Cursor: true}
	eventList       = listSpec{Created: true, Cursor: true}
	suppressList    = listSpec{Sorts: []string{"created_at", "value", "kind"}, Search: "the start of the address or domain", Created: true}
	importList      = listSpec{Sorts: []string{"created_at", "status", "file_name"}, Created: true}
	mediaList       = listSpec{Sorts: []string{"created_at", "file_name", "size"}, Created: true}
	templateList    = listSpec{Sorts: []string{"created_at", "updated_at", "name"}, Search: "the name and subject", Created: true}
	namedList       = listSpec{Sorts: []string{"created_at", "name"}, Search: "the name", Created: true}
	deliveryList    = listSpec{Sorts: []string{"updated_at", "status", "attempts"}, Created: true, Cursor: true}
	customEventList = listSpec{Sorts: []string{"occurred_at", "name"}, Created: true, Cursor: true}
	dkimList        = listSpec{Sorts: []string{"created_at", "domain"}, Search: "the domain", Created: true}
)

// listQuery is what a list call asks for.
type listQuery struct {
	meta
	Order store.Order
	Q     string
}

// readList reads page, per_page, sort, order, created_from, created_to, q
// and after as spec allows; times are RFC 3339 or dates in loc, and a
// created_to date includes its day.
func readList(c *echo.Context, spec listSpec, loc *time.Location) (listQuery, error) {
	m, err := page(c)
	if err != nil {
		return listQuery{}, err
	}
	q := listQuery{meta: m, Order: store.Order{Desc: !spec.Asc}}
	bad := func(name, msg string) error {
		return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Message: name + ": " + msg, Fields: map[string]string{name: msg}}
	}
	if v := c.QueryParam("sort"); v != "" && v != "id" {
		if !slices.Contains(spec.Sorts, v) {
			return q, bad("sort", "This list sorts by "+strings.Join(append([]string{"id"}, spec.Sorts...), ", ")+".")
		}
		q.Order.Sort = v
	}
	switch c.QueryParam("order") {
	case "":
	case "asc":
		q.Order.Desc = false
	case "desc":
		q.Order.Desc = true
	default:
		return q, bad("order", "Use asc or desc.")
	}
	for name, dst := range map[string]*time.Time{"created_from": &q.Order.CreatedFrom, "created_to": &q.Order.CreatedTo} {
		v := c.QueryParam(name)
		if v == "" {
			continue
		}
		if !spec.Created {
			return q, bad(name, "This list has no creation time to filter by.")
		}
		t, ok := parseDay(v, loc, name == "created_to")
		if !ok {
			return q, bad(name, "Give a date like 2026-05-01, or a time like 2026-05-01T09:00:00Z.")
		}
		*dst = t
	}
	if q.Q = strings.TrimSpace(c.QueryParam("q")); q.Q != "" && spec.Search == "" {
		return q, bad("q", "This list cannot be searched.")
	}
	if v := c.QueryParam("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		switch {
		case !spec.Cursor:
			return q, bad("after", "This list pages by page and per_page.")
		case err != nil || n < 0:
			return q, bad("after", "Give the next_after of the page before, or 0 to start.")
		case q.Order.Sort != "" || c.QueryParam("page") != "":
			return q, bad("after", "A cursor walks the list in id order: leave out sort and page.")
		}
		q.Order.Cursor, q.Order.After = true, n
	}
	return q, nil
}

// limit is how many rows to read for q's page: one more than it shows
// when walking by cursor, to know whether there is a next page.
func (q listQuery) limit() int {
	if q.Order.Cursor {
		return q.PerPage + 1
	}
	return q.PerPage
}

// cursorMeta describes a page read by cursor: next_after asks for the next
// page, and is null on the last.
type cursorMeta struct {
	PerPage   int    `json:"per_page"`
	NextAfter *int64 `json:"next_after"`
}

// apiPage answers a page of a list read by readList and the store: with
// its meta, or by cursor, with the next cursor taken from idOf.
func apiPage[T any](c *echo.Context, q listQuery, items []T, total int, idOf func(T) int64) error {
	if items == nil {
		items = []T{}
	}
	if !q.Order.Cursor {
		q.Total = total
		return apiList(c, items, q.meta)
	}
	cm := cursorMeta{PerPage: q.PerPage}
	if len(items) > q.PerPage {
		items = items[:q.PerPage]
		next := idOf(items[len(items)-1])
		cm.NextAfter = &next
	}
	return c.JSON(http.StatusOK, map[string]any{"data": items, "meta": cm})
}

// listed is how an in-memory list sorts, windows and searches one item.
type listed struct {
	id      int64
	created time.Time
	// keys are the values of the other sort fields: strings, numbers or times.
	keys map[string]any
	text string
}

// named is how most in-memory lists see an item: by id, creation and name.
func named(id int64, created time.Time, name string) listed {
	return listed{id: id, created: created, text: name, keys: map[string]any{"name": name}}
}

// pageOf sorts, windows, searches and pages a list held in memory.
func pageOf[T any](items []T, q listQuery, of func(T) listed) ([]T, meta) {
	type row struct {
		item T
		l    listed
	}
	rows := make([]row, 0, len(items))
	needle := strings.ToLower(q.Q)
	for _, it := range items {
		l := of(it)
		o := q.Order
		if !o.CreatedFrom.IsZero() && l.created.Before(o.CreatedFrom) || !o.CreatedTo.IsZero() && !l.created.Before(o.CreatedTo) ||
			needle != "" && !strings.Contains(strings.ToLower(l.text), needle) {
			continue
		}
		rows = append(rows, row{it, l})
	}
	slices.SortStableFunc(rows, func(a, b row) int {
		c := 0
		switch f := q.Order.Sort; f {
		case "":
		case "created_at":
			c = a.l.created.Compare(b.l.created)
		default:
			c = compareKeys(a.l.keys[f], b.l.keys[f])
		}
		c = cmp.Or(c, cmp.Compare(a.l.id, b.l.id))
		if q.Order.Desc {
			return -c
		}
		return c
	})
	out := make([]T, len(rows))
	for i, r := range rows {
		out[i] = r.item
	}
	m := q.meta
	return paginate(out, &m), m
}

func compareKeys(a, b any) int {
	switch x := a.(type) {
	case string:
		return strings.Compare(strings.ToLower(x), strings.ToLower(b.(string)))
	case int:
		return cmp.Compare(x, b.(int))
	case int64:
		return cmp.Compare(x, b.(int64))
	case time.Time:
		return x.Compare(b.(time.Time))
	}
	return 0
}
