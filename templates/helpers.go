package templates

import (
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// fmtTime formats t for people, or "never" for the zero time.
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2 Jan 2006 15:04 UTC")
}

func statusText(code int) string {
	return strconv.Itoa(code) + " " + http.StatusText(code)
}

// fmtDate formats the date of t for people.
func fmtDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2 Jan 2006")
}

func statusBadge(status string) string {
	switch status {
	case "active", "confirmed", "sent":
		return "badge badge-ok"
	case "unconfirmed", "retrying", "queued", "sending":
		return "badge badge-warn"
	case "bounced", "complained", "blocked", "failed":
		return "badge badge-error"
	}
	return "badge badge-muted"
}

func itoa(n int) string { return strconv.Itoa(n) }

func i64(n int64) string { return strconv.FormatInt(n, 10) }

func pageLink(base, query string, page int) string {
	if query != "" {
		query += "&"
	}
	return base + "?" + query + "page=" + strconv.Itoa(page)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// queryOf encodes one query parameter, or "" when the value is empty.
func queryOf(key, value string) string {
	if value == "" {
		return ""
	}
	return url.Values{key: {value}}.Encode()
}
