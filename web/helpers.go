package web

import (
	"errors"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"herald/store"
	"herald/templates"

	"github.com/labstack/echo/v5"
)

// publicURL is where people reach Herald: the configured base URL, or the
// address this request came to.
func (s *Server) publicURL(c *echo.Context) string {
	if base := s.general().BaseURL; base != "" {
		return base
	}
	return c.Scheme() + "://" + c.Request().Host
}

func idString(id int64) string {
	if id == 0 {
		return ""
	}
	return itoa(id)
}

func idStrings(ids []int64) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = itoa(id)
	}
	return out
}

// validationText is an error in words for a page, without the field names.
func validationText(err error) string {
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		return strings.Join(fieldMessages(ve), " ")
	}
	return err.Error()
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }

// audienceOptions loads the lists, tags and segments the filter menus offer.
func (s *Server) audienceOptions(c *echo.Context) (lists, segments []templates.Option, tags []string, err error) {
	ctx := c.Request().Context()
	ls, err := s.store.ListNames(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, l := range ls {
		lists = append(lists, templates.Option{Value: itoa(l.ID), Label: l.Name})
	}
	gs, err := s.store.Segments(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, g := range gs {
		segments = append(segments, templates.Option{Value: itoa(g.ID), Label: g.Name})
	}
	tags, err = s.store.Tags(ctx)
	return lists, segments, tags, err
}

func mustForm(q url.Values) templates.ContactFilterForm {
	form, _, _ := filterForm(q)
	return form
}

func fieldMessages(ve *store.ValidationError) []string {
	var out []string
	for _, k := range sortedKeys(ve.Fields) {
		out = append(out, ve.Fields[k])
	}
	return out
}

func pathID(c *echo.Context) (int64, error) { return parseID(c.Param("id")) }

// parseID reads an id from a path: anything else is a 404.
func parseID(v string) (int64, error) {
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id < 1 {
		return 0, store.ErrNotFound
	}
	return id, nil
}

func optID(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// sortedKeys returns m's keys in order, for stable output.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' }) {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// formInt reads a whole number from a form field, or records msg for it. An
// optional field left empty is 0.
func formInt(errs templates.FieldErrors, field, value string, optional bool, msg string) int {
	value = strings.TrimSpace(value)
	if value == "" && optional {
		return 0
	}
	n, err := strconv.Atoi(value)
	if err != nil {
		errs[field] = msg
	}
	return n
}

// formFloat reads a number field; what is not a number becomes -1, which
// validation refuses with its message.
func formFloat(c *echo.Context, name string) float64 {
	v := strings.TrimSpace(c.FormValue(name))
	if v == "" {
		return 0
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return -1
	}
	return f
}

// pct shows a rate from 0 to 1 as a percentage.
func pct(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + "%" }

// spanLabel names a span of a report starting at t: its hour, day, week
// or month, in loc.
func spanLabel(t time.Time, interval string, loc *time.Location) string {
	t = t.In(loc)
	switch interval {
	case store.IntervalHour:
		return t.Format("2 Jan 15:04")
	case store.IntervalWeek:
		return "week of " + t.Format("2 Jan 2006")
	case store.IntervalMonth:
		return t.Format("Jan 2006")
	}
	return t.Format("Mon 2 Jan 2006")
}

// opensClicksChart charts the unique opens and clicks of each point, of
// people only unless all. interval names each point's span.
func opensClicksChart(id string, points []store.Point, all bool, interval func(int) string, loc *time.Location) templates.ChartProps {
	ch := templates.ChartProps{ID: id, Title: "Unique opens and clicks",
		Series: []templates.ChartSeries{{Name: "Opens", Class: "chart-1"}, {Name: "Clicks", Class: "chart-2"}}}
	for i, p := range points {
		ch.Labels = append(ch.Labels, spanLabel(p.Start, interval(i), loc))
		for j, n := range []int{p.Counts.Opened(all), p.Counts.Clicked(all)} {
			ch.Series[j].Values = append(ch.Series[j].Values, float64(n))
			ch.Series[j].Texts = append(ch.Series[j].Texts, strconv.Itoa(n))
		}
	}
	return ch
}
