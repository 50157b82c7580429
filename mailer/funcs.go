package mailer

import (
	"strings"
	"time"
	"unicode"
)

// urlFuncs are written like functions but read the recipient's links.
var urlFuncs = map[string]string{"unsubscribe_url": "Unsubscribe", "preferences_url": "Preferences", "web_view_url": "WebView"}

// funcs are the template functions besides the URL ones.
func funcs() map[string]any {
	m := map[string]any{
		// default and textout pass values through or print small ones, and
		// make nothing big: what uses their results is metered.
		"default": defaultValue,
		"textout": textOut,
		"dig":     dig,
		"loop":    loop,
		"steps":   steps,
		"charge":  charge,
		// In text parts the Outlook column is nothing; parseHTML swaps in
		// the HTML.
		"outlook_column_start": func() string { return "" },
		"outlook_column_end":   func() string { return "" },
	}
	for name := range urlFuncs {
		m[name] = func() string { return "" }
	}
	for name, f := range meteredFuncs() {
		m[name] = f
	}
	return m
}

var timeFormats = map[string]string{"short": "2 Jan 2006", "long": "Monday, 2 January 2006", "iso": "2006-01-02", "datetime": "2 Jan 2006 15:04"}

// formatDate formats a time, an RFC 3339 or YYYY-MM-DD string, or a Unix
// time, with a named format (short, long, iso, datetime) or a Go layout.
func formatDate(layout string, v any) string {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case string:
		var err error
		if t, err = time.Parse(time.RFC3339, x); err != nil {
			if t, err = time.Parse("2006-01-02", x); err != nil {
				return x
			}
		}
	case float64:
		t = time.Unix(int64(x), 0).UTC()
	case int64:
		t = time.Unix(x, 0).UTC()
	case int:
		t = time.Unix(int64(x), 0).UTC()
	default:
		return ""
	}
	if named, ok := timeFormats[layout]; ok {
		layout = named
	}
	return t.Format(layout)
}

// defaultValue returns v, or def when v is missing or empty.
func defaultValue(def, v any) any {
	switch x := v.(type) {
	case nil:
		return def
	case string:
		if strings.TrimSpace(x) == "" {
			return def
		}
	}
	return v
}

func titleCase(s string) string {
	prev := ' '
	return strings.Map(func(r rune) rune {
		out := r
		if unicode.IsSpace(prev) || prev == '-' {
			out = unicode.ToUpper(r)
		}
		prev = r
		return out
	}, s)
}

// truncate shortens s to n characters, ending with an ellipsis. It reads
// no further than it keeps, however long s is.
func truncate(n int, s string) string {
	if n < 1 || len(s) <= n {
		return s
	}
	cut, runes := 0, 0
	for i := range s {
		if runes == n-1 {
			cut = i
		}
		if runes == n {
			return strings.TrimSpace(s[:cut]) + "…"
		}
		runes++
	}
	return s
}
